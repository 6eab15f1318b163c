"""How `reviewbot review` ends: a review that saw none of what it had to is a failure, and
`--fail-on` turns findings into exit 3 (a CI gate that tells "found bugs" from "broke")."""

from __future__ import annotations

import sys
from dataclasses import replace

from reviewbot.errors import LLMError
from reviewbot.formats import content_decided
from reviewbot.kinds import SEVERITY_RANK, Status
from reviewbot.redact import inert_line
from reviewbot.review import Prepared, ReviewResult

NAMED = 5  # files a failure line names


def settle(prepared: Prepared, result: ReviewResult, fail_on: str | None = None) -> ReviewResult:
    """A review that reviewed none of the changes it had to is a failure, not "nothing to
    review": e.g. one hunk over the request budget. No reviewable changes stays a skip, except
    for a gate (`fail_on`) when a file was left out for what its own content says (a generated
    header, very long lines): the pull request chose that, so it cannot pass the gate unseen."""
    if result.status != Status.SKIPPED:
        return result
    cut = prepared.plan.not_reviewed
    if prepared.files or cut:
        why = f"{cut[0].path}: {cut[0].reason}" if cut else "no request was made"
        return _failed(result, f"every change to review was left out ({why})")
    hidden = [s for s in prepared.skipped if content_decided(s.reason)]
    if fail_on in (None, "none") or not hidden:
        return result
    names = "; ".join(f"{s.path} ({s.reason})" for s in hidden[:NAMED])
    more = f"; and {len(hidden) - NAMED} more" if len(hidden) > NAMED else ""
    return _failed(
        result,
        f"every changed file was skipped, {len(hidden)} for what its own content says: "
        f"{names}{more}; `--include GLOB` reviews them",
    )


def _failed(result: ReviewResult, failure: str) -> ReviewResult:
    return replace(
        result, status=Status.FAILED, failure=failure, summary=f"Nothing was reviewed: {failure}."
    )


def gate(result: ReviewResult, fail_on: str | None) -> int:
    """3 when a finding reaches `fail_on`. A finding on a path the diff does not touch is no
    reason to fail a change."""
    if fail_on in (None, "none"):
        return 0
    limit = SEVERITY_RANK[fail_on]
    worst = [p for p in result.placed if p.in_diff and SEVERITY_RANK[p.finding.severity] <= limit]
    if not worst:
        return 0
    print(inert_line(f"reviewbot: {len(worst)} finding(s) at or above {fail_on}"), file=sys.stderr)
    return 3


def raise_failed(result: ReviewResult) -> None:
    raise LLMError(f"nothing was reviewed: {result.failure or 'no request succeeded'}")

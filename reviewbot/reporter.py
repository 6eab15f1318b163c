"""What the Actions adapter writes besides the review: `$GITHUB_OUTPUT`, the step summary,
workflow commands (`::error::`, `::notice::`, ...) and a dry run's log group. Flows return an
`Outcome`; turning it into these is the adapter's, never a flow's."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Mapping, Sequence

from reviewbot import ledger
from reviewbot.markup import inline_code, sanitize
from reviewbot.outcome import Outcome
from reviewbot.redact import Redactor, inert_line, workflow_command
from reviewbot.render import ICONS, severity_counts, skipped_lines
from reviewbot.review import ReviewResult


def print_dry_run(what: str, *texts: str) -> None:
    """Print what would be posted, in a log group where model and PR text cannot be read as
    workflow commands (`::add-mask::`, `::error::`, ...)."""
    token = secrets.token_hex(16)
    print(workflow_command("group", f"reviewbot dry run: {what}"))
    print(f"::stop-commands::{token}")
    for text in texts:
        print(text)
    print(f"::{token}::")
    print("::endgroup::", flush=True)


def summary_lines(outcome: Outcome) -> list[str]:
    """The step summary of a run: the review's (every finding, what was not reviewed, the
    cost), or the outcome's own lines."""
    if outcome.review is not None:
        r = outcome.review
        lines = review_summary(r.result, r.number, r.head_sha, outcome.notes, outcome.review_url)
        return [*lines, *outcome.details]
    return [*(outcome.lines or [f"reviewbot: {outcome.message}"]), *outcome.details]


def review_summary(
    result: ReviewResult, number: int, head_sha: str, notes: Sequence[str], url: str
) -> list[str]:
    """The Actions step summary: what was reviewed, every finding, what was not, the cost."""
    u = result.usage
    lines = [
        f"### reviewbot: #{number} at `{head_sha[:7]}` — {result.status}",
        "",
        f"- Findings: {severity_counts(result.findings)} "
        f"({len(result.comments)} inline, {len(result.notes)} in the review body)",
        f"- Files reviewed: {result.files_reviewed}; not reviewed: {len(result.skipped)}",
        f"- Tokens: {u.input_tokens:,} in ({u.cached_tokens:,} cached), {u.output_tokens:,} out, "
        f"{u.requests} request(s)",
    ]
    if url:
        lines.append(f"- Review: {url}")
    lines += [f"- {n}" for n in notes]
    if result.placed:
        lines += ["", "| severity | where | finding |", "| --- | --- | --- |"]
        for p in result.placed:
            where = f"{p.path}:{p.line}" if p.line else p.path
            title = " ".join(sanitize(p.finding.title, 200).split()).replace("|", "\\|")
            placed = "inline" if p.inline else "review body"
            lines.append(
                f"| {ICONS[p.finding.severity]} {p.finding.severity} "
                f"| {inline_code(where)} ({placed}) | {title} |"
            )
    if result.skipped:
        lines += [
            "",
            "<details><summary>Not reviewed</summary>",
            "",
            *skipped_lines(result.skipped),
            "",
            "</details>",
        ]
    if result.problems:
        problems = [f"- {sanitize(p, 500)}" for p in result.problems[:10]]
        lines += ["", "Problems:", *problems]
    return [*lines, "", *ledger.summary_lines(result)]  # phases, money, findings not posted


class Reporter:
    """Writes $GITHUB_OUTPUT, $GITHUB_STEP_SUMMARY and workflow commands, all redacted."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._output = env.get("GITHUB_OUTPUT", "")
        self._summary = env.get("GITHUB_STEP_SUMMARY", "")
        self.redact = Redactor()

    def command(self, kind: str, text: str) -> None:
        """`::error::`, `::warning::` or `::notice::` with one line of text."""
        line = " ".join(self.redact(text).split())
        print(workflow_command(kind, f"reviewbot: {line}"), flush=True)

    def finish(self, outcome: Outcome) -> None:
        outputs = {
            "status": outcome.status,
            "review_url": outcome.review_url,
            "findings": str(outcome.findings),
            "inline_comments": str(outcome.inline_comments),
        }
        if self._output:
            with open(self._output, "a", encoding="utf-8") as fh:
                for k, v in outputs.items():
                    fh.write(f"{k}={' '.join(self.redact(v).split())}\n")
        if self._summary:
            text = "\n".join(summary_lines(outcome))
            with open(self._summary, "a", encoding="utf-8") as fh:
                fh.write(self.redact(text)[:1_000_000] + "\n")
        message = inert_line(self.redact(f"reviewbot: {outcome.status}: {outcome.message}"))
        print(message, file=sys.stderr, flush=True)

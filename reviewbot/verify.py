"""Verification: a second request checks the review's findings against the code they cite, and
says per finding `keep`, `drop` or `downgrade` (a lower severity) with a one-line reason.

Findings go in batches of about ten; each with its hunk and the enclosing scope the review saw.
The findings are untrusted data to the verifier (they were written after reading the PR), so
they sit inside the same fence as the code. Nothing is lost: a dropped finding is listed with
its reason, and a batch whose request fails leaves its findings as they were, said so.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from reviewbot.cost import COST_LIMIT, price_for
from reviewbot.diff import RIGHT, FileDiff, Hunk
from reviewbot.errors import LLMError
from reviewbot.findings import SEVERITIES, SEVERITY_RANK, Finding, MalformedOutput
from reviewbot.model import Model, ModelReply, ModelRequest, OutputSchema, Usage
from reviewbot.prompts import PromptRenderer

if TYPE_CHECKING:
    from reviewbot.config import Config

BATCH = 10  # findings per verification request
VERDICTS = ("keep", "drop", "downgrade")
CODE_LINES = 60  # most lines of one hunk shown around the lines its findings cite
BODY_CHARS = 3_000  # of a finding's body and suggestion
REASON_CHARS = 300

Key = tuple[str, str, int, int | None, str]  # Finding.key


def verify_schema() -> dict[str, Any]:
    """The strict schema of the verifier's answer."""
    verdict = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "id": {"type": "integer"},
            "verdict": {"type": "string", "enum": list(VERDICTS)},
            "severity": {"type": ["string", "null"], "enum": [*SEVERITIES, None]},
            "reason": {"type": "string"},
        },
        "required": ["id", "verdict", "severity", "reason"],
    }
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {"verdicts": {"type": "array", "items": verdict}},
        "required": ["verdicts"],
    }


@dataclass(frozen=True, slots=True)
class Verdict:
    verdict: str
    severity: str | None
    reason: str


def parse_verdicts(text: str) -> dict[int, Verdict]:
    """The verifier's answer by finding id; MalformedOutput when it is not usable. Ids the
    batch does not have are the caller's to ignore."""
    try:
        data = json.loads(text.strip().removeprefix("```json").removesuffix("```"))
    except (json.JSONDecodeError, RecursionError):
        raise MalformedOutput("the verifier's answer is not JSON") from None
    items = data.get("verdicts") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise MalformedOutput("the verifier's answer has no `verdicts` list")
    out: dict[int, Verdict] = {}
    for item in items:
        if not isinstance(item, dict):
            raise MalformedOutput("a verdict is not an object")
        fid, verdict = item.get("id"), item.get("verdict")
        if isinstance(fid, bool) or not isinstance(fid, int) or verdict not in VERDICTS:
            raise MalformedOutput(f"a verdict without a usable id or verdict ({str(item)[:80]})")
        severity = item.get("severity")
        reason = item.get("reason")
        out[fid] = Verdict(
            str(verdict),
            severity if severity in SEVERITIES else None,
            " ".join(reason.split())[:REASON_CHARS] if isinstance(reason, str) else "",
        )
    return out


def verdicts_problem(text: str) -> str | None:
    try:
        parse_verdicts(text)
    except MalformedOutput as exc:
        return f"malformed verifier output ({exc})"
    return None


VERIFY_OUTPUT = OutputSchema("finding_verdicts", verify_schema(), verdicts_problem)


# ------------------------------------------------------------------ the requests


def cited_code(f: FileDiff | None, finding: Finding) -> str:
    """The hunk a finding cites, with the enclosing scope the review saw; `>>` marks the
    cited lines."""
    if f is None:
        return "(this file is not in the reviewed diff)"
    hunk = _hunk_of(f, finding)
    if hunk is None:
        return f"(line {finding.line} ({finding.side}) is not in the diff of {f.path})"
    return hunk_text(hunk, [finding])


def _cited(finding: Finding) -> set[tuple[str, int]]:
    first = finding.start_line or finding.line
    return {
        (finding.side, n) for n in range(min(first, finding.line), max(first, finding.line) + 1)
    }


def hunk_text(hunk: Hunk, findings: Sequence[Finding]) -> str:
    """One hunk as the review showed it, the lines any of `findings` cite marked `>>`, cut to
    CODE_LINES around them."""
    cited = set().union(*(_cited(f) for f in findings))
    scope = "S" if hunk.context_side == RIGHT else "SL"
    rows: list[tuple[bool, str]] = []
    for n, text in hunk.before:
        rows.append(((hunk.context_side, n) in cited, f"{scope}{n}   {text}" if n else "…"))
    for ln in hunk.lines:
        deleted = ln.kind == "-"
        label = f"L{ln.old} -" if deleted else f"R{ln.new} {ln.kind}"
        hit = (("LEFT", ln.old) in cited) if deleted else ((RIGHT, ln.new) in cited)
        hit = hit or (ln.kind == " " and ("LEFT", ln.old) in cited)
        rows.append((hit, f"{label} {ln.text}"))
    for n, text in hunk.after:
        rows.append(((hunk.context_side, n) in cited, f"{scope}{n}   {text}" if n else "…"))
    hits = [i for i, (hit, _) in enumerate(rows) if hit] or [0]
    # Most of the window before the cited lines: what leads up to a line explains it.
    start = max(0, min(hits[0] - CODE_LINES * 2 // 3, len(rows) - CODE_LINES))
    stop = max(start + CODE_LINES, hits[-1] + 5)
    shown = [f"{'>> ' if hit else '   '}{text}" for hit, text in rows[start:stop]]
    return "\n".join(["   …"] * (start > 0) + shown + ["   …"] * (stop < len(rows)))


def _hunk_of(f: FileDiff, finding: Finding) -> Hunk | None:
    for hunk in f.hunks:
        numbers = {ln.old if finding.side != RIGHT else ln.new for ln in hunk.lines}
        scope = {n for n, _ in (*hunk.before, *hunk.after) if n}
        if finding.line in numbers or (finding.line in scope and hunk.context_side == finding.side):
            return hunk
    return None


def _where(finding: Finding) -> str:
    lines = (
        f"lines {finding.start_line}-{finding.line}"
        if finding.start_line
        else f"line {finding.line}"
    )
    return f"{lines} ({finding.side})" if finding.line else "no line"


def requests_for(
    findings: Sequence[Finding],
    files: Mapping[str, FileDiff],
    renderer: PromptRenderer,
    batch: int = BATCH,
    secrets: Sequence[str] = (),
) -> list[tuple[tuple[Finding, ...], ModelRequest]]:
    """One verification request per batch of findings (ids 1..n within a batch). Findings in
    the same hunk share one code block. A secret the model echoed into a finding is not sent
    back (it would land in the endpoint's logs)."""
    instructions = renderer.render_template("verify_instructions.j2")
    out = []
    for start in range(0, len(findings), batch):
        group = tuple(findings[start : start + batch])
        hunks: dict[tuple[str, int], tuple[Hunk, list[Finding]]] = {}
        shown = []
        for i, f in enumerate(group, 1):
            fd = files.get(f.path)
            hunk = _hunk_of(fd, f) if fd is not None else None
            if hunk is not None:
                hunks.setdefault((f.path, hunk.index), (hunk, []))[1].append(f)
                block = list(hunks).index((f.path, hunk.index)) + 1
                code = f"code block {block}"
            else:
                code = cited_code(fd, f)
            shown.append(
                {
                    "id": i,
                    "path": f.path or "(no path)",
                    "where": _where(f),
                    "severity": f.severity,
                    "title": f.title,
                    "body": f.body[:BODY_CHARS],
                    "suggestion": (f.suggestion or "")[:BODY_CHARS],
                    "code": code,
                }
            )
        blocks = [
            {"n": n, "path": path, "text": hunk_text(hunk, cited)}
            for n, ((path, _), (hunk, cited)) in enumerate(hunks.items(), 1)
        ]
        text = renderer.render_template(
            "verify_input.j2", nonce=_nonce([*shown, *blocks]), findings=shown, blocks=blocks
        )
        for secret in (s for s in secrets if len(s) >= 8):
            text = text.replace(secret, "***")
        out.append((group, ModelRequest.ask(instructions, text, VERIFY_OUTPUT)))
    return out


def _nonce(shown: Sequence[Mapping[str, object]]) -> str:
    """The fence's id: derived from everything inside it, so the data cannot predict it."""
    h = hashlib.sha256()
    for item in shown:
        h.update(json.dumps(item, sort_keys=True).encode("utf-8", "replace"))
    return h.hexdigest()[:20]


# ------------------------------------------------------------------ the outcome


@dataclass(frozen=True, slots=True)
class Withheld:
    """A finding that is not posted, and why (listed in the step summary and the JSON)."""

    finding: Finding
    reason: str


@dataclass(frozen=True, slots=True)
class Checked:
    """What verification, the confidence threshold and the cost cap did to one review."""

    enabled: bool = False  # verification was on
    withheld: tuple[Withheld, ...] = ()
    kept: frozenset[Key] = frozenset()  # findings the verifier kept (downgraded ones too)
    downgraded: tuple[tuple[Key, str], ...] = ()  # (finding, the severity it had)
    unverified: int = 0  # findings posted without a verdict (the verifier failed or was cut)
    notes: tuple[str, ...] = ()  # what went wrong, said in the body and the summary
    phases: tuple[tuple[str, Usage], ...] = ()  # (phase, what it spent)
    capped: bool = False  # the run stopped at the cost limit
    usd: float | None = None  # what the run cost, when the model has a price

    @property
    def dropped(self) -> int:
        return sum(1 for w in self.withheld if w.reason.startswith(DROPPED))

    def status_of(self, finding: Finding) -> bool | None:
        """`verified` in the JSON: True kept by the verifier, None not checked."""
        return True if finding.key in self.kept else None


DROPPED = "dropped by verification"


def low_confidence(
    findings: Sequence[Finding], minimum: float
) -> tuple[list[Finding], list[Withheld]]:
    """Findings the model itself rated below `minimum` are withheld (a missing rating is
    not a low one)."""
    keep, out = [], []
    for f in findings:
        if f.confidence is not None and f.confidence < minimum:
            out.append(Withheld(f, f"confidence {f.confidence:.2f} is below {minimum:g}"))
        else:
            keep.append(f)
    return keep, out


def verify(
    findings: Sequence[Finding],
    files: Mapping[str, FileDiff],
    renderer: PromptRenderer,
    model: Model,
    deadline: float | None,
    threshold: str = "nit",
    secrets: Sequence[str] = (),
) -> tuple[list[Finding], Checked]:
    """Ask the verifier about every finding and apply its verdicts: the findings to post, in
    order, and what happened (usage in phase `verification`)."""
    batches = requests_for(findings, files, renderer, secrets=secrets)
    if not batches:
        return list(findings), Checked(enabled=True)
    try:
        replies = model.run([req for _, req in batches], None, deadline)
    except LLMError as exc:  # the review is done: a verifier that cannot be reached loses nothing
        failed = ModelReply(None, Usage(), str(exc))
        replies = [failed] * len(batches)
    posted: list[Finding] = []
    withheld: list[Withheld] = []
    kept: set[Key] = set()
    downgraded: list[tuple[Key, str]] = []
    notes: list[str] = []
    usage, unverified, capped = Usage(), 0, False
    for (group, _), reply in zip(batches, replies, strict=True):
        usage = usage + reply.usage
        verdicts: dict[int, Verdict] = {}
        problem = reply.problem
        if reply.text is not None and problem is None:
            try:
                verdicts = parse_verdicts(reply.text)
            except MalformedOutput as exc:
                problem = f"malformed verifier output ({exc})"
        if problem is not None or reply.text is None:
            capped = capped or problem == COST_LIMIT
            why = "it stopped at the cost limit" if problem == COST_LIMIT else problem
            notes.append(
                f"Verification of {len(group)} finding(s) failed ({why or 'no answer'}); "
                "they are posted as the review found them."
            )
            posted.extend(group)
            unverified += len(group)
            continue
        for i, f in enumerate(group, 1):
            v = verdicts.get(i)
            if v is None:
                posted.append(f)
                unverified += 1
            elif v.verdict == "drop":
                withheld.append(Withheld(f, f"{DROPPED}: {v.reason or 'no reason given'}"))
            elif v.verdict == "downgrade" and v.severity and _lower(v.severity, f.severity):
                lowered = replace(f, severity=v.severity)
                if SEVERITY_RANK[v.severity] > SEVERITY_RANK[threshold]:
                    why = f"downgraded to {v.severity}, below the severity threshold"
                    withheld.append(Withheld(lowered, f"{DROPPED}: {why}: {v.reason}"))
                    continue
                posted.append(lowered)
                kept.add(lowered.key)
                downgraded.append((lowered.key, f.severity))
            else:  # keep, or a "downgrade" that is not lower
                posted.append(f)
                kept.add(f.key)
        missing = sum(1 for i in range(1, len(group) + 1) if i not in verdicts)
        if missing:
            notes.append(f"The verifier gave no verdict on {missing} finding(s); they are posted.")
    checked = Checked(
        True,
        tuple(withheld),
        frozenset(kept),
        tuple(downgraded),
        unverified,
        tuple(notes),
        (("verification", usage),),
        capped,
    )
    return posted, checked


def _lower(new: str, old: str) -> bool:
    return SEVERITY_RANK[new] > SEVERITY_RANK[old]


def check(
    findings: Sequence[Finding],
    files: Mapping[str, FileDiff],
    renderer: PromptRenderer,
    config: Config,
    model: Model,
    deadline: float | None,
    review: tuple[Usage, bool],
) -> tuple[list[Finding], Checked]:
    """The review's findings through the confidence threshold and (when on, and the cap was
    not reached) the verifier; `review` is the review phase's usage and whether it stopped at
    the cost limit."""
    review_usage, capped = review
    posted, withheld = low_confidence(findings, config.min_confidence)
    checked = Checked()
    if config.verify and posted and not capped:
        posted, checked = verify(
            posted, files, renderer, model, deadline, config.severity_threshold, (config.api_key,)
        )
    elif config.verify and posted:
        note = (
            f"Verification stopped at the cost limit: {len(posted)} finding(s) posted unverified."
        )
        checked = Checked(True, unverified=len(posted), notes=(note,))
    phases = (("review", review_usage), *checked.phases)
    price = price_for(config.prices, config.model)
    total = sum((u for _, u in phases), Usage())
    return posted, replace(
        checked,
        withheld=(*withheld, *checked.withheld),
        phases=phases,
        capped=capped or checked.capped,
        usd=price.of(total) if price else None,
    )

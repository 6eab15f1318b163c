"""Text for people and machines: comment bodies, the review body, markdown, JSON and SARIF."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from reviewbot import ledger
from reviewbot.anchor import Placed
from reviewbot.diff import RIGHT, FileDiff, Skipped
from reviewbot.findings import Finding
from reviewbot.kinds import Severity, Status
from reviewbot.markup import fence_for, inline_code, sanitize
from reviewbot.review import ReviewResult

GITHUB_BODY_LIMIT = 65_536
LIST_LIMIT = 40
ICONS: dict[str, str] = {
    Severity.CRITICAL: "🔴",
    Severity.MAJOR: "🟠",
    Severity.MINOR: "🟡",
    Severity.NIT: "⚪",
}


def finding_heading(f: Finding) -> str:
    title = sanitize(" ".join(f.title.split()), 500)
    return f"{ICONS[f.severity]} **{f.severity.capitalize()}**: {title}"


COMMENT_LIMIT = GITHUB_BODY_LIMIT - 100


def comment_body(c: Placed) -> str:
    """The markdown of one inline comment, with a suggestion block when the fix is concrete.

    Within GitHub's limit the suggestion is kept whole or dropped (said so), never cut."""
    tail = []
    fix = c.finding.suggestion
    if c.suggestion is not None:
        fence = fence_for(c.suggestion)
        tail.append(f"{fence}suggestion\n{c.suggestion.rstrip(chr(10))}\n{fence}")
    elif fix:
        fence = fence_for(fix)
        tail.append(f"Suggested fix:\n{fence}\n{fix.rstrip(chr(10))}\n{fence}")
    if tail and len(tail[0]) > COMMENT_LIMIT // 2:
        tail = ["<sub>The suggested fix is too long to show in a comment.</sub>"]
    if c.moved_from is not None:
        tail.append(
            f"<sub>The model cited line {c.moved_from}; placed on the line it quoted.</sub>"
        )
    if c.note:
        tail.append(f"<sub>{sanitize(c.note, 500)}</sub>")
    head = finding_heading(c.finding)
    room = COMMENT_LIMIT - len(head) - sum(len(t) + 2 for t in tail) - 2
    parts = [head]
    if c.finding.body:
        parts.append(sanitize(c.finding.body, min(20_000, room)))
    return "\n\n".join(parts + tail)


def note_line(n: Placed) -> str:
    f = n.finding
    where = inline_code(f"{f.path}:{f.line}" if f.line else f.path) if f.path else ""
    text = sanitize(" ".join(f.body.split()), 2_000)
    title = sanitize(" ".join(f.title.split()), 300)
    head = f"- {ICONS[f.severity]} **{f.severity}** {where} {title}".rstrip()
    reason = sanitize(n.reason or "", 500)
    return f"{head}: {text} _({reason})_" if text else f"{head} _({reason})_"


def _bullets(lines: list[str], limit: int = LIST_LIMIT) -> list[str]:
    if len(lines) <= limit:
        return lines
    return [*lines[:limit], f"- …and {len(lines) - limit} more"]


def severity_counts(findings: Iterable[Finding]) -> str:
    counts = Counter(f.severity for f in findings)
    return ", ".join(f"{counts[s]} {s}" for s in Severity if counts[s]) or "no findings"


def skipped_groups(skipped: Iterable[Skipped], names: int = 8) -> list[str]:
    """Files not reviewed, grouped by reason with counts; problems (a failed request, the
    budget) before the default skips, so a budget cut is never hidden among lock files."""
    groups: dict[str, list[str]] = {}
    for s in skipped:
        groups.setdefault(s.reason, []).append(s.path)
    order = sorted(groups, key=lambda r: ("(skipped by default)" in r, -len(groups[r]), r))
    out = []
    for reason in order:
        paths = groups[reason]
        shown = ", ".join(inline_code(p) for p in paths[:names])
        more = f" and {len(paths) - names} more" if len(paths) > names else ""
        count = f"{len(paths)} file{'s' if len(paths) != 1 else ''}"
        out.append(f"- {sanitize(' '.join(reason.split()), 500)} ({count}): {shown}{more}")
    return out


def skipped_lines(skipped: Iterable[Skipped]) -> list[str]:
    return [
        f"- {inline_code(s.path)}: {sanitize(' '.join(s.reason.split()), 500)}" for s in skipped
    ]


def review_body(
    result: ReviewResult, model: str, notes: Sequence[str] = (), marker: str = ""
) -> str:
    """The review's top-level body: summary, what is not inline, what was not reviewed, cost.

    `notes` are run facts (incremental, fallbacks); `marker` is the hidden line, kept whole.
    """
    out = ["### reviewbot", ""]
    if result.status == Status.SKIPPED:
        out.append(
            "**Nothing was reviewed**: every changed file was skipped (listed below)."
            if result.skipped
            else sanitize(result.summary or "Nothing to review.", 500)
        )
    else:
        if result.summary:
            out += [sanitize(result.summary, 8_000), ""]
        out.append(
            f"**{severity_counts(result.findings)}**; {len(result.comments)} inline "
            f"comment{'s' if len(result.comments) != 1 else ''}; "
            f"{result.files_reviewed} file{'s' if result.files_reviewed != 1 else ''} reviewed."
        )
    if result.status == Status.PARTIAL:
        out += ["", "⚠️ **Partial review**: some changes were not reviewed (listed below)."]
    if result.notes:
        out += [
            "",
            "<b>Findings not on the diff</b>",
            "",
            *_bullets([note_line(n) for n in result.notes]),
        ]
    if result.skipped:
        out += ["", "<b>Not reviewed</b>", "", *_bullets(skipped_groups(result.skipped))]
    if result.below_threshold:
        out += [
            "",
            f"{result.below_threshold} finding(s) below the severity threshold are not shown.",
        ]
    out += ledger.body_lines(result)  # the cost limit, findings not posted, verification
    # Parser diagnostics ("unknown severity") are for the log and step summary, not the PR.
    if notes:
        out += ["", *(f"_{n}_" for n in notes)]
    u = result.usage
    out += [
        "",
        f"<sub>{model} · {u.requests} request{'s' if u.requests != 1 else ''} · "
        f"{u.input_tokens:,} input tokens ({u.cached_tokens:,} cached) · "
        f"{u.output_tokens:,} output tokens</sub>",
    ]
    body = "\n".join(out)
    budget = GITHUB_BODY_LIMIT - 200 - len(marker)
    if len(body) > budget:
        body = body[: budget - 60].rstrip() + "\n\n…(review body truncated)"
    return body + (f"\n{marker}" if marker else "")


# ---------------------------------------------------------------- CLI formats


def markdown(result: ReviewResult, files: Mapping[str, FileDiff], model: str) -> str:
    """The review as GitHub would show it: the body, then each inline comment under its code."""
    out = [review_body(result, model)]
    for c in result.comments:
        side = "" if c.side == RIGHT else " (old side)"
        span = f"{c.start_line}-{c.line}" if c.start_line else str(c.line)
        out += ["", "---", f"**{inline_code(c.path)}** line {span}{side}", ""]
        excerpt = _excerpt(files.get(c.path), c)
        if excerpt:
            out += [f"{fence_for(excerpt)}diff", excerpt, fence_for(excerpt), ""]
        out.append(comment_body(c))
    return "\n".join(out) + "\n"


def _excerpt(f: FileDiff | None, c: Placed, context: int = 3) -> str:
    """The diff lines GitHub shows above a comment: the range, plus a little context."""
    if f is None:
        return ""
    lines = f.side_map(c.side)
    hunk_index = lines[c.line][0]
    hunk = f.hunks[hunk_index] if hunk_index < len(f.hunks) else None
    if hunk is None:
        return ""
    first = c.start_line or c.line
    rows = []
    for ln in hunk.lines:
        n = ln.new if c.side == RIGHT else ln.old
        if n is not None and first - context <= n <= c.line:
            rows.append(f"{ln.kind}{ln.text}")
    return "\n".join(rows)

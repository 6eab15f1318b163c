"""Finding → inline comment where GitHub accepts it, or a note for the review body (never lost)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from reviewbot.diff import LEFT, RIGHT, FileDiff
from reviewbot.findings import SEVERITY_RANK, Finding


@dataclass(frozen=True, slots=True)
class Placed:
    """One finding and where it went: inline on a diff line GitHub accepts, or the review body
    with the reason (reviewdog annotates one diagnostic the same way). Every renderer reads the
    placed position; the model's own numbers stay on `finding`."""

    finding: Finding
    inline: bool
    line: int  # inline: the diff line it sits on; in the body: the model's line (0: none)
    side: str
    start_line: int | None = None
    suggestion: str | None = None  # a suggestion block GitHub can apply (inline, RIGHT only)
    moved_from: int | None = None  # the model's line, when the quoted code moved the comment
    note: str | None = None  # shown under an inline comment
    reason: str | None = None  # why it is in the body
    new_line: int | None = None  # LEFT: the new-file line where the deletion sits
    in_diff: bool = True  # False: the finding names a path the diff does not have

    @property
    def path(self) -> str:
        return self.finding.path


def in_body(f: Finding, reason: str, in_diff: bool = True) -> Placed:
    """A finding that stays in the review body, and why."""
    return Placed(f, False, f.line, f.side, f.start_line, reason=reason, in_diff=in_diff)


def anchor_findings(
    findings: Iterable[Finding],
    files: Mapping[str, FileDiff],
    not_reviewed: Mapping[str, str] | None = None,
    max_comments: int = 25,
    right_only: bool = False,
) -> tuple[Placed, ...]:
    """Place each finding on its exact diff line, else in the body; cap inline comments.

    Inline comments come first (most severe first), then the body's findings."""
    not_reviewed = not_reviewed or {}
    comments: list[Placed] = []
    notes: list[Placed] = []
    for f in findings:
        if right_only and f.side != RIGHT:
            notes.append(in_body(f, "on the old side of a file; only new changes were reviewed"))
            continue
        placed = _anchor_one(f, files, not_reviewed)
        (comments if placed.inline else notes).append(placed)
    comments.sort(key=lambda c: (SEVERITY_RANK[c.finding.severity], c.path, c.line))
    if max_comments >= 0 and len(comments) > max_comments:
        for c in comments[max_comments:]:
            notes.append(in_body(c.finding, f"over the limit of {max_comments} inline comments"))
        comments = comments[:max_comments]
    return (*comments, *notes)


def _anchor_one(
    f: Finding, files: Mapping[str, FileDiff], not_reviewed: Mapping[str, str]
) -> Placed:
    file = files.get(f.path)
    if file is None:
        if f.path in not_reviewed:
            return in_body(f, f"file not reviewed inline ({not_reviewed[f.path]})")
        return in_body(
            f, "path is not in the diff" if f.path else "no file path given", in_diff=False
        )
    lines = file.side_map(f.side)
    line = f.line
    moved_from: int | None = None
    target = _line_of_quote(f.code, lines, near=line)
    if target is None and _quote(f.code):
        other = LEFT if f.side == RIGHT else RIGHT
        found = _line_of_quote(f.code, file.side_map(other), near=line)
        if found is not None:  # the model mixed up the sides: go where the quote is
            placed = _anchor_one(
                replace(f, side=other, line=found, start_line=None), files, not_reviewed
            )
            why = f"the model cited the {f.side} side; placed on the {other} line it quoted"
            said = f"{placed.note}; {why}" if placed.note else why
            return replace(placed, finding=f, moved_from=f.line or None, note=said)
    if line not in lines or (target is not None and _quote(f.code) != lines[line][1].strip()):
        if target is None:
            if not line:
                return in_body(f, "the model gave no line number")
            return in_body(f, f"line {line} is not on the diff for the {f.side} side")
        moved_from, line = (line or None), target
    hunk = lines[line][0]

    start = f.start_line
    note: str | None = None
    if start is not None and moved_from is not None:
        start = start + (line - moved_from)
    if start is not None and (start >= line or start not in lines or lines[start][0] != hunk):
        if start != line:
            note = "range shortened to its last line (the start was not in the same hunk)"
        start = None

    suggestion = f.suggestion
    if suggestion is not None and (f.side != RIGHT or (f.start_line is not None and start is None)):
        why = "on the old side" if f.side != RIGHT else "its range did not fit the diff"
        note = f"suggested fix shown as text ({why})"
        suggestion = None
    new_line = None if f.side == RIGHT else _new_line_at(file, hunk, line)
    return Placed(f, True, line, f.side, start, suggestion, moved_from, note, None, new_line)


def _new_line_at(file: FileDiff, hunk_index: int, old_line: int) -> int:
    """The new-file line where an old-side line sits: the next line the new file has."""
    hunk = file.hunks[hunk_index]
    seen = False
    last_new = max(hunk.new_start - 1, 0)
    for ln in hunk.lines:
        if ln.old == old_line:
            seen = True
        if ln.new is not None:
            if seen:
                return ln.new
            last_new = ln.new
    return max(last_new, 1)


def _quote(code: str | None) -> str:
    """The line of quoted code to look for: the last non-empty one, trimmed."""
    if not code:
        return ""
    parts = [p.strip() for p in code.splitlines() if p.strip()]
    return parts[-1] if parts else ""


def _line_of_quote(code: str | None, lines: Mapping[int, tuple[int, str]], near: int) -> int | None:
    """Diff line whose text is exactly the quoted code, nearest to `near` (lower on ties)."""
    quote = _quote(code)
    if not quote:
        return None
    matches = [n for n, (_, text) in lines.items() if text.strip() == quote]
    if not matches:
        return None
    return min(matches, key=lambda n: (abs(n - near), n))

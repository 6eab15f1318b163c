"""Finding → inline comment where GitHub accepts it, or a note for the review body (never lost)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from reviewbot.diff import RIGHT, FileDiff
from reviewbot.findings import SEVERITY_RANK, Finding


@dataclass(frozen=True, slots=True)
class Comment:
    """An inline comment GitHub will accept: `line` (and `start_line`) are on the diff."""

    finding: Finding
    path: str
    line: int
    side: str
    start_line: int | None = None
    suggestion: str | None = None
    moved_from: int | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class BodyNote:
    """A finding that stays in the review body, with the reason it could not be inline."""

    finding: Finding
    reason: str


@dataclass(frozen=True, slots=True)
class Anchored:
    comments: tuple[Comment, ...]
    notes: tuple[BodyNote, ...]


def anchor_findings(
    findings: Iterable[Finding],
    files: Mapping[str, FileDiff],
    not_reviewed: Mapping[str, str] | None = None,
    max_comments: int = 25,
    right_only: bool = False,
) -> Anchored:
    """Place each finding on its exact diff line, else in the body; cap inline comments."""
    not_reviewed = not_reviewed or {}
    comments: list[Comment] = []
    notes: list[BodyNote] = []
    for f in findings:
        if right_only and f.side != RIGHT:
            notes.append(BodyNote(f, "on the old side of a file; only new changes were reviewed"))
            continue
        placed = _anchor_one(f, files, not_reviewed)
        if isinstance(placed, Comment):
            comments.append(placed)
        else:
            notes.append(placed)
    comments.sort(key=lambda c: (SEVERITY_RANK[c.finding.severity], c.path, c.line))
    if max_comments >= 0 and len(comments) > max_comments:
        for c in comments[max_comments:]:
            notes.append(BodyNote(c.finding, f"over the limit of {max_comments} inline comments"))
        comments = comments[:max_comments]
    return Anchored(tuple(comments), tuple(notes))


def _anchor_one(
    f: Finding, files: Mapping[str, FileDiff], not_reviewed: Mapping[str, str]
) -> Comment | BodyNote:
    file = files.get(f.path)
    if file is None:
        if f.path in not_reviewed:
            return BodyNote(f, f"file not reviewed inline ({not_reviewed[f.path]})")
        return BodyNote(f, "path is not in the diff" if f.path else "no file path given")
    lines = file.side_map(f.side)
    line = f.line
    moved_from: int | None = None
    target = _line_of_quote(f.code, lines, near=line)
    if line not in lines or (target is not None and _quote(f.code) != lines[line][1].strip()):
        if target is None:
            if not line:
                return BodyNote(f, "the model gave no line number")
            return BodyNote(f, f"line {line} is not on the diff for the {f.side} side")
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
        return Comment(f, f.path, line, f.side, start, None, moved_from, note)
    return Comment(f, f.path, line, f.side, start, suggestion, moved_from, note)


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

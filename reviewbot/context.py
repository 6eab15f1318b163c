"""What a human reviewer would open around a change: each hunk widened to the function, method
or class it sits in (in the new file; in the old one for a hunk that only deletes), within a
line budget per hunk. Pure: file contents come in as text; nothing is run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from reviewbot.diff import LEFT, RIGHT, FileDiff, Hunk
from reviewbot.scopes import ScopeFinder


class RepoFiles(Protocol):
    """The repository around a diff: file texts on each side, and the base's guidance files.

    `prefetch` is called once with every (path, side) the context may need, so an adapter can
    read them in bulk (GitHub: one or two GraphQL requests) before `text` is asked file by file."""

    def prefetch(self, wanted: Sequence[tuple[str, str]]) -> None: ...

    def text(self, path: str, side: str) -> str | None: ...

    def guidance_texts(self) -> dict[str, str | None]: ...


def wanted_files(files: Sequence[FileDiff]) -> list[tuple[str, str]]:
    """The (path, side) texts widening these files may read."""
    out: list[tuple[str, str]] = []
    for f in files:
        sides = {RIGHT if any(ln.kind == "+" for ln in h.lines) else LEFT for h in f.hunks}
        out += [(f.path if s == RIGHT else (f.old_path or f.path), s) for s in sorted(sides)]
    return out


@dataclass(frozen=True, slots=True)
class ContextStats:
    """How much scope the model was shown: hunks widened, and those whose whole enclosing
    definition fitted the budget."""

    hunks: int = 0
    with_scope: int = 0
    whole_scope: int = 0
    lines: int = 0
    chars: int = 0

    def __add__(self, other: ContextStats) -> ContextStats:
        return ContextStats(
            self.hunks + other.hunks,
            self.with_scope + other.with_scope,
            self.whole_scope + other.whole_scope,
            self.lines + other.lines,
            self.chars + other.chars,
        )


def widen(
    files: Sequence[FileDiff], contents: RepoFiles, budget: int
) -> tuple[list[FileDiff], ContextStats]:
    """Every file's hunks with their enclosing scope added (at most `budget` lines a hunk)."""
    out: list[FileDiff] = []
    stats = ContextStats()
    for f in files:
        widened, more = widen_file(f, contents, budget)
        out.append(widened)
        stats = stats + more
    return out, stats


def widen_file(f: FileDiff, contents: RepoFiles, budget: int) -> tuple[FileDiff, ContextStats]:
    finders: dict[str, ScopeFinder | None] = {}
    texts: dict[str, list[str]] = {}

    def finder(side: str) -> ScopeFinder | None:
        if side not in finders:
            path = f.path if side == RIGHT else (f.old_path or f.path)
            text = contents.text(path, side)
            finders[side] = ScopeFinder(path, text) if text is not None else None
            texts[side] = text.split("\n") if text is not None else []
        return finders[side]

    hunks: list[Hunk] = []
    shown = {RIGHT: 0, LEFT: 0}  # last line of each side already in the prompt
    stats = ContextStats(hunks=len(f.hunks))
    for i, h in enumerate(f.hunks):
        side = RIGHT if any(ln.kind == "+" for ln in h.lines) else LEFT
        numbers = [ln.new if side == RIGHT else ln.old for ln in h.lines]
        changed = [
            n for ln, n in zip(h.lines, numbers, strict=True) if n is not None and ln.kind != " "
        ]
        find = finder(side) if changed else None
        scope = find.enclosing(min(changed), max(changed), h.header) if find else None
        if scope is None:
            hunks.append(h)
            continue
        lines = texts[side]
        if not _matches(h, lines, side):  # not the text this diff was made from: no context
            hunks.append(h)
            continue
        present = [n for n in numbers if n is not None]
        top, bottom = min(present), max(present)
        nxt = _next_start(f.hunks, i, side)
        above = list(range(max(scope.start, shown[side] + 1), top))
        below = list(range(bottom + 1, min(scope.end, nxt - 1, len(lines)) + 1))
        whole = len(above) + len(below) <= budget
        if not whole:
            above, below = _fit(scope.start, above, below, budget)
        before = tuple(_line(lines, n) for n in above)
        after = tuple(_line(lines, n) for n in below)
        hunks.append(replace(h, before=before, after=after, context_side=side))
        shown[side] = max(bottom, *(n for n in below if n), 0)
        # Not cut: every line of the scope is in the prompt (above, the hunk, below, or an
        # earlier or later hunk of the same scope).
        chars = sum(len(text) for _, text in (*before, *after))
        stats = stats + ContextStats(
            with_scope=1, whole_scope=int(whole), lines=len(above) + len(below), chars=chars
        )
    return f.with_hunks(hunks), stats


def _matches(h: Hunk, lines: list[str], side: str) -> bool:
    """Whether the file text has the hunk's own lines where the hunk says they are."""
    for ln in h.lines:
        n = ln.new if side == RIGHT else ln.old
        if n is not None and (n > len(lines) or lines[n - 1].removesuffix("\r") != ln.text):
            return False
    return True


def _next_start(hunks: Sequence[Hunk], i: int, side: str) -> int:
    for h in hunks[i + 1 :]:
        return h.new_start if side == RIGHT else h.old_start
    return 10**9


def _fit(
    start: int, above: list[int], below: list[int], budget: int
) -> tuple[list[int], list[int]]:
    """A scope longer than the budget: its signature line, then the lines nearest the hunk
    (a 0 marks where lines were left out)."""
    keep_signature = bool(above) and above[0] == start
    room = max(budget - int(keep_signature), 0)
    near_above = min(len(above) - int(keep_signature), room // 2)
    near_below = min(len(below), room - near_above)
    near_above = min(len(above) - int(keep_signature), room - near_below)
    tail = above[len(above) - near_above :] if near_above else []
    head = [start] if keep_signature else []
    gap_above = [0] if keep_signature and (len(above) - 1 > near_above) else []
    cut_below = below[:near_below] + ([0] if near_below < len(below) else [])
    return head + gap_above + tail, cut_below


def _line(lines: list[str], n: int) -> tuple[int, str]:
    if n == 0 or n > len(lines):
        return (0, "…")
    return (n, lines[n - 1].removesuffix("\r"))

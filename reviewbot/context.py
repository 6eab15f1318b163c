"""What a human reviewer would open around a change: each hunk widened to the innermost function
or method it sits in (in the new file; in the old one for a hunk that only deletes), within a
line budget per hunk; inside a class or other block, its signature and the lines near the change;
prose gets none. Pure: file contents come in as text; nothing is run."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from reviewbot.diff import ADDED, LEFT, RIGHT, FileDiff, Hunk
from reviewbot.scopes import OUT_OF_TIME, Scope, ScopeFinder, ScopeUnavailable, is_prose


class RepoFiles(Protocol):
    """Where file texts come from (an adapter: GitHub, local git, a snapshot): texts on each side,
    and the base's guidance files.

    `prefetch` is called once with every (path, side) the context may need, so an adapter can
    read them in bulk (GitHub: one or two GraphQL requests); it returns what went wrong, as lines
    for the review's notes (reading context never fails a review)."""

    def prefetch(self, wanted: Sequence[tuple[str, str]]) -> Sequence[str]: ...

    def text(self, path: str, side: str) -> str | None: ...

    def guidance_texts(self) -> dict[str, str | None]: ...


class Texts(Protocol):
    """File texts by (path, side), as the pipeline reads them."""

    def text(self, path: str, side: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class FileTexts:
    """What was read before the pipeline runs: the texts of the files scope context may widen,
    the base branch's guidance files, and what could not be read (notes, not errors)."""

    texts: Mapping[tuple[str, str], str | None] = field(default_factory=dict)
    guidance: Mapping[str, str | None] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    def text(self, path: str, side: str) -> str | None:
        return self.texts.get((path, side))


def wanted_files(files: Sequence[FileDiff]) -> list[tuple[str, str]]:
    """The (path, side) texts widening these files may read."""
    out: list[tuple[str, str]] = []
    for f in files:
        if is_prose(f.path) or f.status == ADDED:  # an added file's hunk is all of it
            continue
        sides = {RIGHT if any(ln.kind == "+" for ln in h.lines) else LEFT for h in f.hunks}
        out += [(f.path if s == RIGHT else (f.old_path or f.path), s) for s in sorted(sides)]
    return out


NEAR = 10  # lines either side of a change shown inside a class, type or block
LINE_CHARS = 400  # a longer context line is cut (a generated line tells the model little)


@dataclass(frozen=True, slots=True)
class ContextStats:
    """How much scope the model was shown: hunks widened, and those whose whole enclosing
    definition fitted the budget; `plain` are (path, why) for files that kept their plain hunk
    context because of a cap (depth, time), for the review's notes."""

    hunks: int = 0
    with_scope: int = 0
    whole_scope: int = 0
    lines: int = 0
    chars: int = 0
    plain: tuple[tuple[str, str], ...] = ()

    def __add__(self, other: ContextStats) -> ContextStats:
        return ContextStats(
            self.hunks + other.hunks,
            self.with_scope + other.with_scope,
            self.whole_scope + other.whole_scope,
            self.lines + other.lines,
            self.chars + other.chars,
            self.plain + other.plain,
        )

    def note(self, names: int = 5) -> str:
        """One line for the review's notes when a cap left files with plain hunk context."""
        if not self.plain:
            return ""
        shown = "; ".join(f"{path} ({why})" for path, why in self.plain[:names])
        more = f"; and {len(self.plain) - names} more" if len(self.plain) > names else ""
        return (
            f"Scope context left out for {len(self.plain)} file(s), which keep their plain hunk "
            f"context: {shown}{more}."
        )


def widen(
    files: Sequence[FileDiff],
    contents: Texts,
    budget: int,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[list[FileDiff], ContextStats]:
    """Every file's hunks with their enclosing scope added (at most `budget` lines a hunk);
    past `deadline` (a `clock()` time) the remaining files keep their plain hunk context."""
    out: list[FileDiff] = []
    stats = ContextStats()
    for f in files:
        widened, more = widen_file(f, contents, budget, deadline, clock)
        out.append(widened)
        stats = stats + more
    return out, stats


def widen_file(
    f: FileDiff,
    contents: Texts,
    budget: int,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[FileDiff, ContextStats]:
    """One file's hunks widened: the innermost function around each change, whole if it fits
    the budget (else its signature and the lines nearest the change); inside a class or any
    other block, its signature and the lines near the change only."""
    finders: dict[str, ScopeFinder | None] = {}

    def finder(side: str) -> ScopeFinder | None:
        if side not in finders:
            path = f.path if side == RIGHT else (f.old_path or f.path)
            text = None if is_prose(path) else contents.text(path, side)
            finders[side] = ScopeFinder(path, text, deadline, clock) if text is not None else None
        return finders[side]

    stats = ContextStats(hunks=len(f.hunks))
    if f.status == ADDED:  # its one hunk is the whole file: nothing lies around it
        return f, stats
    hunks: list[Hunk] = []
    shown = {RIGHT: 0, LEFT: 0}  # last line of each side already in the prompt
    plain: dict[str, None] = {}  # why hunks kept their plain context, in order
    for i, h in enumerate(f.hunks):
        side = RIGHT if any(ln.kind == "+" for ln in h.lines) else LEFT
        numbers = [ln.new if side == RIGHT else ln.old for ln in h.lines]
        changed = [
            (n, ln.text)
            for ln, n in zip(h.lines, numbers, strict=True)
            if n is not None and ln.kind != " "
        ]
        find = finder(side) if changed else None
        if find is None:
            hunks.append(h)
            continue
        # Blank lines at a change's edges belong to no definition: they must not widen the
        # scope from a method to its whole class.
        core = [n for n, text in changed if text.strip()] or [n for n, _ in changed]
        try:
            if deadline is not None and clock() > deadline:  # a file of many hunks, too
                raise ScopeUnavailable(OUT_OF_TIME)
            chain = find.chain(min(core), max(core), h.header)
        except ScopeUnavailable as exc:
            plain[str(exc)] = None
            hunks.append(h)
            continue
        present = [n for n in numbers if n is not None]
        top, bottom = min(present), max(present)
        # A definition the hunk shows whole already says nothing more: take the next one out.
        scope = next((s for s in chain if s.start < top or s.end > bottom), None)
        lines = find.lines
        if scope is None or not _matches(h, lines, side):  # no scope, or another text
            hunks.append(h)
            continue
        # Lines of the scope not shown yet, up to the next hunk's own lines.
        lo = max(scope.start, shown[side] + 1)
        hi = min(scope.end, _next_start(f.hunks, i, side) - 1, len(lines))
        up, down, whole = _window(scope, lo, hi, top, bottom, budget)
        before = tuple(_line(lines, n) for n in up)
        after = tuple(_line(lines, n) for n in down)
        hunks.append(replace(h, before=before, after=after, context_side=side))
        shown[side] = max(bottom, *down, 0)
        chars = sum(len(text) for _, text in (*before, *after))
        count = sum(1 for n in (*up, *down) if n)
        stats = stats + ContextStats(with_scope=1, whole_scope=int(whole), lines=count, chars=chars)
    if plain:
        stats = replace(stats, plain=((f.path, "; ".join(plain)),))
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


def _window(
    scope: Scope, lo: int, hi: int, top: int, bottom: int, budget: int
) -> tuple[list[int], list[int], bool]:
    """The line numbers shown above and below a hunk (`top..bottom`) from the scope's unshown
    lines `lo..hi` (0 marks a gap), and whether that is all of them. A function: whole within
    the budget, else its signature and the nearest lines. Anything else (a class, a block): its
    signature and the `NEAR` lines either side."""
    if scope.function:
        above, below = range(lo, top), range(bottom + 1, hi + 1)
        if len(above) + len(below) <= budget:
            return [*above], [*below], True
        return (*_fit(scope.start, above, below, budget), False)
    near = min(NEAR, budget // 2)
    above = range(max(lo, top - near), top)
    below = range(bottom + 1, min(hi, bottom + near) + 1)
    signature = [scope.start] if scope.start < above.start and scope.start == lo else []
    gap = [0] if signature and scope.start + 1 < above.start else []
    cut = [0] if below.stop <= hi else []
    whole = above.start == lo and below.stop == hi + 1
    return [*signature, *gap, *above], [*below, *cut], whole


def _fit(start: int, above: range, below: range, budget: int) -> tuple[list[int], list[int]]:
    """A scope longer than the budget: its signature line, then the lines nearest the hunk
    (a 0 marks where lines were left out)."""
    keep_signature = bool(above) and above[0] == start
    room = max(budget - int(keep_signature), 0)
    near_above = min(len(above) - int(keep_signature), room // 2)
    near_below = min(len(below), room - near_above)
    near_above = min(len(above) - int(keep_signature), room - near_below)
    tail = [*above[len(above) - near_above :]] if near_above else []
    head = [start] if keep_signature else []
    gap_above = [0] if keep_signature and (len(above) - 1 > near_above) else []
    cut_below = [*below[:near_below]] + ([0] if near_below < len(below) else [])
    return head + gap_above + tail, cut_below


def _line(lines: list[str], n: int) -> tuple[int, str]:
    if n == 0 or n > len(lines):
        return (0, "…")
    text = lines[n - 1].removesuffix("\r")
    if len(text) > LINE_CHARS:
        text = f"{text[:LINE_CHARS]}…({len(text) - LINE_CHARS:,} more characters)"
    return (n, text)

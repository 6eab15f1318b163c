"""Plan model requests under a token budget: most important code first, nothing dropped silently."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from reviewbot.diff import FileDiff, Hunk, Skipped

CHARS_PER_TOKEN = 3.2  # code tokenises denser than prose; a deliberate over-estimate
FILE_OVERHEAD = 24  # the file header and hunk headers in the prompt
LINE_OVERHEAD = 9  # "R1234 + " prefix and newline


@dataclass(frozen=True, slots=True)
class Chunk:
    """The files (or parts of files) sent together in one request."""

    files: tuple[FileDiff, ...]
    tokens: int


@dataclass(frozen=True, slots=True)
class Plan:
    chunks: tuple[Chunk, ...]
    not_reviewed: tuple[Skipped, ...]
    tokens: int


def estimate_tokens(text: str) -> int:
    """A cheap, deliberately generous token estimate (no tokenizer download at run time)."""
    return tokens_for_chars(len(text))


def tokens_for_chars(chars: int) -> int:
    """The same estimate from a count of characters."""
    return math.ceil(chars / CHARS_PER_TOKEN)


def hunk_tokens(h: Hunk) -> int:
    """The hunk as the prompt shows it: diff lines, header, and any scope context lines."""
    chars = sum(len(ln.text) + LINE_OVERHEAD for ln in h.lines) + len(h.header) + 20
    chars += sum(len(text) + LINE_OVERHEAD for _, text in (*h.before, *h.after))
    return math.ceil(chars / CHARS_PER_TOKEN)


def file_tokens(f: FileDiff) -> int:
    return FILE_OVERHEAD + sum(hunk_tokens(h) for h in f.hunks)


_DOC_EXT = {".md", ".rst", ".txt", ".adoc"}
_CONFIG_EXT = {".json", ".yml", ".yaml", ".toml", ".ini", ".cfg", ".xml", ".lock", ".csv"}


def importance(f: FileDiff) -> tuple[int, int, str]:
    """Sort key: source code before tests, config and docs; bigger changes first."""
    p = PurePosixPath(f.path.lower())
    parts = set(p.parts)
    if p.suffix in _DOC_EXT or "docs" in parts:
        rank = 3
    elif p.suffix in _CONFIG_EXT:
        rank = 2
    elif (
        {"test", "tests", "spec", "__tests__"} & parts
        or p.name.startswith("test_")
        or (p.stem.endswith(("_test", ".test", ".spec", "_spec")))
    ):
        rank = 1
    else:
        rank = 0
    changed = sum(h.changed for h in f.hunks)
    return (rank, -changed, f.path)


def plan_chunks(
    files: Sequence[FileDiff],
    request_budget: int,
    total_budget: int,
) -> Plan:
    """Split files into requests of at most `request_budget` diff tokens, `total_budget` in all.

    Files too large for one request are split by hunks; anything that fits nowhere is
    returned in `not_reviewed` with the reason.
    """
    ordered = sorted(files, key=importance)
    units: list[tuple[int, FileDiff, int]] = []  # (order, part of a file, tokens)
    not_reviewed: list[Skipped] = []
    spent = 0
    for order, f in enumerate(ordered):
        for part, why in _split(f, request_budget):
            if part is None:
                not_reviewed.append(Skipped(f.path, why))
                continue
            cost = file_tokens(part)
            if spent + cost > total_budget:
                not_reviewed.append(
                    Skipped(f.path, f"over the total token budget ({total_budget:,} tokens)")
                    if len(part.hunks) == len(f.hunks)
                    else Skipped(f.path, f"{_hunk_span(part)}: over the total token budget")
                )
                continue
            spent += cost
            units.append((order, part, cost))
    return Plan(_pack(units, request_budget), tuple(not_reviewed), spent)


def _split(f: FileDiff, budget: int) -> list[tuple[FileDiff | None, str]]:
    if file_tokens(f) <= budget:
        return [(f, "")]
    out: list[tuple[FileDiff | None, str]] = []
    group: list[Hunk] = []
    size = FILE_OVERHEAD
    for h in f.hunks:
        cost = hunk_tokens(h)
        if FILE_OVERHEAD + cost > budget:  # the scope context goes first, never the change
            h = trim_context(h, budget - FILE_OVERHEAD)
            cost = hunk_tokens(h)
        if FILE_OVERHEAD + cost > budget:
            out.append((None, f"hunk {_hunk_label(h)} is larger than one request's budget"))
            continue
        if size + cost > budget and group:
            out.append((f.with_hunks(group), ""))
            group, size = [], FILE_OVERHEAD
        group.append(h)
        size += cost
    if group:
        out.append((f.with_hunks(group), ""))
    return out


def trim_context(h: Hunk, budget: int) -> Hunk:
    """The hunk within `budget` tokens if its scope context is cut: the context lines farthest
    from the change go first (the hunk itself is never cut here)."""
    before, after = list(h.before), list(h.after)
    bare = hunk_tokens(replace(h, before=(), after=()))
    extra = sum(len(text) + LINE_OVERHEAD for _, text in (*before, *after))
    while (before or after) and bare + math.ceil(extra / CHARS_PER_TOKEN) > budget:
        _, text = before.pop(0) if len(before) >= len(after) else after.pop()
        extra -= len(text) + LINE_OVERHEAD
    return replace(h, before=tuple(before), after=tuple(after))


def _pack(units: list[tuple[int, FileDiff, int]], budget: int) -> tuple[Chunk, ...]:
    """Longest-first into the fewest near-equal bins, so concurrent requests finish together."""
    if not units:
        return ()
    total = sum(cost for _, _, cost in units)
    bins: list[list[tuple[int, FileDiff, int]]] = [[] for _ in range(math.ceil(total / budget))]
    loads = [0] * len(bins)
    for unit in sorted(units, key=lambda u: -u[2]):
        i = min(range(len(bins)), key=loads.__getitem__)
        if loads[i] + unit[2] > budget:
            fits = [j for j in range(len(bins)) if loads[j] + unit[2] <= budget]
            if fits:
                i = min(fits, key=loads.__getitem__)
            else:
                bins.append([])
                loads.append(0)
                i = len(bins) - 1
        bins[i].append(unit)
        loads[i] += unit[2]
    chunks = []
    filled = [(b, load) for b, load in zip(bins, loads, strict=True) if b]
    for b, load in sorted(filled, key=lambda x: min(u[0] for u in x[0])):
        b.sort(key=lambda u: (u[0], u[1].hunks[0].index))
        chunks.append(Chunk(_merge([u[1] for u in b]), load))
    return tuple(chunks)


def _merge(parts: list[FileDiff]) -> tuple[FileDiff, ...]:
    """Parts of one file that landed in the same request become one file again."""
    merged: dict[str, FileDiff] = {}
    for p in parts:
        prev = merged.get(p.path)
        merged[p.path] = p if prev is None else prev.with_hunks(prev.hunks + p.hunks)
    return tuple(merged.values())


def _hunk_label(h: Hunk) -> str:
    return f"@@ -{h.old_start},{h.old_len} +{h.new_start},{h.new_len} @@"


def _hunk_span(f: FileDiff) -> str:
    return ", ".join(_hunk_label(h) for h in f.hunks)


def split_chunk(chunk: Chunk) -> tuple[Chunk, Chunk] | None:
    """Two halves of a chunk (by files, else by one file's hunks), or None for a single hunk."""
    if len(chunk.files) > 1:
        costs = [file_tokens(f) for f in chunk.files]
        cut = _halfway(costs)
        first, second = chunk.files[:cut], chunk.files[cut:]
        return Chunk(first, sum(costs[:cut])), Chunk(second, sum(costs[cut:]))
    [f] = chunk.files
    if len(f.hunks) < 2:
        return None
    costs = [hunk_tokens(h) for h in f.hunks]
    cut = _halfway(costs)
    a, b = f.with_hunks(f.hunks[:cut]), f.with_hunks(f.hunks[cut:])
    return Chunk((a,), file_tokens(a)), Chunk((b,), file_tokens(b))


def _halfway(costs: Sequence[int]) -> int:
    """The cut (1..len-1) that balances the two sides' totals best."""
    total, run, best, best_gap = sum(costs), 0, 1, math.inf
    for i, c in enumerate(costs[:-1], 1):
        run += c
        gap = abs(total - 2 * run)
        if gap < best_gap:
            best, best_gap = i, gap
    return best

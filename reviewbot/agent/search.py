"""Fixed-string search over many files at once, for grep and find_symbol.

An archive snapshot keeps its text files end to end in one pack file, in path order. A search
cuts the pack's runs of files into pieces of a few MB, maps each piece read-only (the memory a
search maps stays bounded whatever the repository's size; nothing is copied) and looks for the
needle with the C library's `memmem`. Its time is linear in the text whatever the pattern
(two-way; glibc's faster variant for needles up to 256 bytes is bounded by the needle's length,
which is capped: at worst about 0.5 s per 100 MB, like `bytes.find`), and it runs without
Python's lock, so pieces are searched at once, one a core (up to four). Where there is no
`memmem`, `bytes.find` does it on one core. A side without a pack (git objects) is searched
file by file, with the same rules.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import mmap
import os
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from reviewbot.agent.snapshot import BINARY_PROBE, MAX_FILE_BYTES, Snapshot

PIECE = 8 * 1024 * 1024  # pack bytes one worker searches at a time (and maps: the memory bound)
PIECE_HITS = 256  # line starts a worker returns before it is asked for more
WORKERS = min(4, os.cpu_count() or 1)  # pieces searched at once (each maps one piece)

Hit = tuple[str, int, bytes]  # path, line number (from 1), the line's bytes without "\n"


@dataclass(frozen=True, slots=True, eq=False)
class Run:
    """Files lying end to end in the pack, in path order: file i is bytes
    [starts[i], ends[i])."""

    paths: Sequence[str]
    starts: Sequence[int]
    ends: Sequence[int]


@dataclass(frozen=True, slots=True)
class Selection:
    """The files a search covers, worked out once per glob: the runs of the pack, or the paths
    to read one by one (`runs` None: the side has no pack), and what is not searched."""

    paths: Sequence[str]
    runs: tuple[Run, ...] | None
    searched: int = 0
    binary: int = 0
    large: int = 0


@dataclass(slots=True)
class Tally:
    """What a search covered: the files searched, and those it could not search (binary, or
    over the size cap), for the answer to say."""

    searched: int = 0
    binary: int = 0
    large: int = 0


def select(snapshot: Snapshot, side: str, paths: Sequence[str]) -> Selection:
    """The search plan for the files `paths` (in path order) of a side."""
    pack = snapshot.pack(side)
    if pack is None:
        return Selection(paths, None)
    spans = pack.spans  # made with the pack: few objects are made here, for speed
    texts = [p for p in paths if p in spans]
    binary = large = 0
    if len(texts) != len(paths):
        entries = snapshot.entries(side) or {}
        others = [entries[p] for p in paths if p not in spans]
        binary = sum(bool(e.binary) for e in others)
        large = sum(e.size > MAX_FILE_BYTES for e in others)
    bounds = [spans[p] for p in texts]
    starts = [b[0] for b in bounds]
    ends = [b[1] for b in bounds]
    cuts = [0, *(i for i in range(1, len(texts)) if starts[i] != ends[i - 1]), len(texts)]
    runs = tuple(
        Run(texts[a:b], starts[a:b], ends[a:b]) for a, b in itertools.pairwise(cuts) if b > a
    )
    return Selection(paths, runs, len(texts), binary, large)


def lines_holding(
    snapshot: Snapshot, side: str, selection: Selection, needle: bytes, tally: Tally
) -> Generator[Hit, None, None]:
    """Each line holding `needle` in the selected files, file by file in path order, one hit a
    line. Closing the generator early stops the search (and unmaps its pieces) at once."""
    pack = snapshot.pack(side)
    if selection.runs is not None and pack is not None:
        tally.searched, tally.binary, tally.large = (
            selection.searched,
            selection.binary,
            selection.large,
        )
        yield from _pack_lines(pack.fd, pack.size, selection.runs, needle)
        return
    entries = snapshot.entries(side) or {}
    for path in selection.paths:
        data = snapshot.read(side, path)
        if data is None:
            tally.large += entries[path].size > MAX_FILE_BYTES
        elif b"\x00" in data[:BINARY_PROBE]:
            tally.binary += 1
        else:
            tally.searched += 1
            yield from file_lines(path, data, needle)


def file_lines(path: str, data: bytes, needle: bytes) -> Iterator[Hit]:
    """Each line of `data` that holds `needle` (one hit a line; bytes.find: linear)."""
    at = data.find(needle)
    line, counted = 1, 0
    while at != -1:
        line += data.count(b"\n", counted, at)
        counted = at
        begin = data.rfind(b"\n", 0, at) + 1
        stop = data.find(b"\n", at)
        stop = len(data) if stop == -1 else stop
        yield path, line, data[begin:stop]
        at = data.find(needle, stop)


@dataclass(frozen=True, slots=True)
class _Piece:
    run: Run
    lo: int  # matches start in [lo, hi)
    hi: int
    stop: int  # and end by here (the run's end, or hi plus the needle's length)


def _pieces(runs: Sequence[Run], width: int) -> list[_Piece]:
    out = []
    for run in runs:
        lo, end = run.starts[0], run.ends[-1]
        while lo < end:
            hi = min(end, lo + PIECE)
            out.append(_Piece(run, lo, hi, min(end, hi + width - 1)))
            lo = hi
    return out


def _pack_lines(fd: int, size: int, runs: Sequence[Run], needle: bytes) -> Iterator[Hit]:
    pieces = _pieces(runs, len(needle))
    pending: dict[int, Future[tuple[list[int], int | None]]] = {}
    pool = _pool() if _memmem() is not None and len(pieces) > 1 else None

    def ask(k: int) -> None:
        if pool is not None and k < len(pieces) and k not in pending:
            p = pieces[k]
            pending[k] = pool.submit(_starts, fd, size, needle, p.lo, p.hi, p.stop, p.run.ends)

    try:
        current_run, current = None, -1
        data, line, counted, skip_until = b"", 1, 0, -1
        for k, piece in enumerate(pieces):
            for ahead in range(k, k + WORKERS):  # the next ones are searched meanwhile
                ask(ahead)
            got = pending.pop(k).result() if k in pending else None
            at_list, resume = got or _starts(
                fd, size, needle, piece.lo, piece.hi, piece.stop, piece.run.ends
            )
            while True:
                for at in at_list:
                    if at < skip_until:
                        continue  # the line of the last hit, carried over from a piece before
                    run = piece.run
                    i = bisect.bisect_right(run.starts, at) - 1
                    if run is not current_run or i != current:
                        current_run, current, line, counted = run, i, 1, 0
                        data = os.pread(fd, run.ends[i] - run.starts[i], run.starts[i])
                    rel = at - run.starts[i]
                    line += data.count(b"\n", counted, rel)
                    counted = rel
                    begin = data.rfind(b"\n", 0, rel) + 1
                    stop = data.find(b"\n", rel)
                    stop = len(data) if stop == -1 else stop
                    skip_until = run.starts[i] + stop
                    yield run.paths[i], line, data[begin:stop]
                if resume is None:
                    break
                at_list, resume = _starts(
                    fd, size, needle, resume, piece.hi, piece.stop, piece.run.ends
                )
    finally:
        for future in pending.values():
            future.cancel()
        wait(pending.values())  # a worker still reading the pack ends before it may close


def _starts(
    fd: int, size: int, needle: bytes, lo: int, hi: int, stop: int, ends: Sequence[int]
) -> tuple[list[int], int | None]:
    """Where matches start in [lo, hi), lying within [lo, stop) and within one file (`ends`:
    the run's file ends), one a line, at most PIECE_HITS; and where to go on (None: done)."""
    found: list[int] = []
    if stop - lo < len(needle):
        return found, None
    window = _Window(fd, lo, stop)
    try:
        pos = lo
        while pos < hi:
            at = window.find(needle, pos, stop)
            if at == -1 or at >= hi:
                break
            file_end = ends[bisect.bisect_right(ends, at)]
            if at + len(needle) > file_end:
                pos = file_end  # across two files: no match; go on in the next file
                continue
            found.append(at)
            newline = window.find(b"\n", at, min(file_end, window.hi))
            pos = newline if newline != -1 else min(file_end, window.hi)
            if len(found) >= PIECE_HITS:
                return found, (pos if pos < hi else None)
        return found, None
    finally:
        window.close()


class _Window:
    """Pack bytes [lo, hi) mapped read-only in memory (a private mapping: ctypes wants a
    writable buffer for its address; nothing ever writes to it)."""

    def __init__(self, fd: int, start: int, stop: int) -> None:
        self.lo = start - start % mmap.ALLOCATIONGRANULARITY
        self.hi = stop
        self._map = mmap.mmap(fd, self.hi - self.lo, access=mmap.ACCESS_COPY, offset=self.lo)
        self._memmem = _memmem()
        self._anchor: Any = None
        self._address = 0
        if self._memmem is not None:
            import ctypes

            self._anchor = ctypes.c_char.from_buffer(self._map)
            self._address = ctypes.addressof(self._anchor)

    def find(self, needle: bytes, start: int, stop: int) -> int:
        """The first match lying wholly in [start, stop) (absolute pack offsets), or -1."""
        if stop - start < len(needle):
            return -1
        if self._memmem is None or len(needle) == 1:  # one byte: memchr, as fast
            at = self._map.find(needle, start - self.lo, stop - self.lo)
            return -1 if at == -1 else at + self.lo
        found = self._memmem(self._address + start - self.lo, stop - start, needle, len(needle))
        return -1 if found is None else int(found) - self._address + self.lo

    def close(self) -> None:
        self._anchor = None  # the exported buffer goes first, or the map cannot close
        self._map.close()


@functools.cache
def _memmem() -> Any:
    """libc's memmem through ctypes (imported here: only searches need it), or None."""
    try:
        import ctypes

        fn = ctypes.CDLL(None).memmem
    except (ImportError, OSError, AttributeError, TypeError):
        return None
    fn.restype = ctypes.c_void_p
    fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]
    return fn


_POOL: tuple[int, ThreadPoolExecutor] | None = None


def _pool() -> ThreadPoolExecutor:
    """The search threads of this process (a forked child makes its own: threads do not
    survive a fork)."""
    global _POOL
    if _POOL is None or _POOL[0] != os.getpid():
        _POOL = (os.getpid(), ThreadPoolExecutor(WORKERS, thread_name_prefix="reviewbot-search"))
    return _POOL[1]

"""find_symbol's judgement of a line: a whole-word use of a name, or its definition (a
definition keyword before it, or the line that opens the scope tree-sitter finds around it).
String searches, and one fixed identifier pattern (no nested repetition: linear)."""

from __future__ import annotations

import contextlib
import itertools
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import PurePosixPath

from reviewbot.scopes import Scope, ScopeFinder, ScopeUnavailable, language_of

PARSE_GRACE = 0.025  # seconds a parse begun in time may take past find_symbol's deadline
# A tree is about 40 times its text in memory: only files this short are kept between calls
# (64 of them: at most some 100 MB), a larger one is parsed again when asked again.
CACHE_MAX_LINES = 1_000
IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]{0,199}")  # fullmatch only: linear
_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")
_DEF_WORDS = frozenset(
    [
        "def",
        "class",
        "function",
        "func",
        "fn",
        "struct",
        "interface",
        "type",
        "enum",
        "trait",
        "module",
        "impl",
        "const",
        "let",
        "var",
        "val",
    ]
)


def word_at(text: str, name: str) -> bool:
    """Whether `name` occurs in `text` as a whole word (str.find: linear)."""
    at = text.find(name)
    while at != -1:
        before = text[at - 1] if at else " "
        after = text[at + len(name)] if at + len(name) < len(text) else " "
        if before not in _WORD and after not in _WORD:
            return True
        at = text.find(name, at + 1)
    return False


def looks_defined(text: str, name: str) -> bool:
    """A definition keyword right before the name (`def name`, `class name`, `fn name`...)."""
    words = text.replace("(", " ").replace(":", " ").replace("{", " ").split()
    return any(a in _DEF_WORDS and b == name for a, b in itertools.pairwise(words))


def scope_opened(scope: Scope | None, line: int, text: str) -> bool:
    """The line opens `scope`, the definition tree-sitter finds around it (decorators aside)."""
    return (
        scope is not None
        and scope.start <= line
        and (scope.start == line or text.lstrip().startswith(("def ", "async def ", "class ")))
    )


def warm_parsers(paths: Iterable[str], most: int = 3) -> None:
    """Loads the tree-sitter grammars of the `most` commonest languages among `paths` (a few
    ms each), as part of preparing a large snapshot rather than in find_symbol's first call."""
    counts = Counter(PurePosixPath(p).suffix.lower() for p in paths)
    done = 0
    for suffix, _ in counts.most_common():
        if done >= most:
            break
        if language_of(f"x{suffix}"):
            with contextlib.suppress(ScopeUnavailable):
                ScopeFinder(f"x{suffix}", "").chain(1, 1)
            done += 1


class Definitions:
    """Tells definitions of `name` from uses in the lines found, file by file. Tree-sitter
    parses the files with a keyword definition first (for the definition's span), then the
    others, at most `files` of them, and none is begun after `deadline` (`time.monotonic`):
    parsing is what a call spends most on in a large repository. A file left unparsed is judged
    by definition keywords alone, and `unparsed` counts it for the answer to say. Parsed files
    of up to `CACHE_MAX_LINES` lines are kept in `cache` (the most recent `CACHED`) for the
    calls after."""

    CACHED = 64

    def __init__(
        self,
        name: str,
        found: Mapping[str, Sequence[tuple[int, str]]],
        read: Callable[[str], bytes | None],
        limits: tuple[int, float],
        cache: dict[str, ScopeFinder],
    ) -> None:
        self.name = name
        self.unparsed = 0
        self._finders: dict[str, ScopeFinder] = {}
        files, deadline = limits
        keyword = {p for p, rows in found.items() if any(looks_defined(t, name) for _, t in rows)}
        for path in sorted(found, key=lambda p: p not in keyword):  # stable: path order
            if not language_of(path):
                continue
            finder = cache.pop(path, None)
            if finder is None:
                if len(self._finders) >= files or time.monotonic() >= deadline:
                    self.unparsed += 1
                    continue
                text = (read(path) or b"").decode("utf-8", "replace")
                # Begun before `deadline`, done by PARSE_GRACE after it, or left unparsed.
                finder = ScopeFinder(path, text, deadline=deadline + PARSE_GRACE)
                try:
                    finder.chain(1, 1)  # parses it now, in this order
                except ScopeUnavailable:
                    self.unparsed += 1
                    continue
            self._finders[path] = finder
            if len(finder.lines) <= CACHE_MAX_LINES:  # a large file's tree is kept no longer
                cache[path] = finder  # the most recent last
            while len(cache) > self.CACHED:
                del cache[next(iter(cache))]

    def definition(self, path: str, line: int, text: str) -> str | None:
        """None for a use; for a definition, its span (" (lines 4-6)", or "" unknown)."""
        finder = self._finders.get(path)
        try:
            scope = finder.enclosing(line, line) if finder else None
            if looks_defined(text, self.name) or scope_opened(scope, line, text):
                return f" (lines {scope.start}-{scope.end})" if scope else ""
        except ScopeUnavailable:
            return "" if looks_defined(text, self.name) else None
        return None

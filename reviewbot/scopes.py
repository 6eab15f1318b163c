"""The function, method or class a line range sits in: tree-sitter grammars (installed wheels,
nothing downloaded) for the common languages, and a simple rule for the rest.

Linear in the file's size: one parse and one query per file build an index of its definitions,
and each lookup walks a few definitions, never the syntax tree's parents (walking those is
quadratic in nesting depth). Hostile or generated text is capped: a change nested deeper than
`MAX_DEPTH` syntax levels, or a file that takes longer than `FILE_SECONDS` (or runs past the
caller's deadline), raises `ScopeUnavailable` with a reason the review can show."""

from __future__ import annotations

import importlib
import itertools
import re
import time
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Any

MAX_DEPTH = 256  # syntax levels above a change; real code stays far below
FILE_SECONDS = 2.0  # parsing and indexing one file
OUT_OF_TIME = "the time for scope context ran out"
SCAN_LINES = 400  # the simple rule looks this far below a change for the end of its block

# Prose has no enclosing definition worth showing: a paragraph's neighbours are unrelated text.
PROSE_SUFFIXES = frozenset(
    {".md", ".markdown", ".mdx", ".rst", ".txt", ".adoc", ".asciidoc", ".org", ".rdoc", ".pod"}
)
PROSE_NAMES = frozenset(
    {"readme", "license", "licence", "changes", "changelog", "authors", "notice"}
)


class ScopeUnavailable(Exception):
    """No scope for this file or change; the message says why (shown in the review's notes)."""


@dataclass(frozen=True, slots=True)
class Scope:
    """1-based inclusive lines of the enclosing definition; `kind` is the grammar's node type
    (or "indentation" for the simple rule); `function` is False for a class, type, module or
    block, which is shown as its signature and the lines near the change, never whole."""

    start: int
    end: int
    kind: str
    function: bool = True


@dataclass(frozen=True, slots=True)
class Grammar:
    module: str
    language: str
    functions: tuple[str, ...]
    containers: tuple[str, ...] = ()


_PY = Grammar(
    "tree_sitter_python",
    "language",
    ("function_definition", "decorated_definition"),
    ("class_definition",),
)
_JS_FUNCTIONS = (
    "function_declaration",
    "generator_function_declaration",
    "method_definition",
    "function_expression",
    "arrow_function",
)
_JS = Grammar("tree_sitter_javascript", "language", _JS_FUNCTIONS, ("class_declaration",))
_TS_CONTAINERS = (
    "class_declaration",
    "interface_declaration",
    "enum_declaration",
    "type_alias_declaration",
)
_TS = Grammar("tree_sitter_typescript", "language_typescript", _JS_FUNCTIONS, _TS_CONTAINERS)
_TSX = Grammar("tree_sitter_typescript", "language_tsx", _JS_FUNCTIONS, _TS_CONTAINERS)
_C = Grammar(
    "tree_sitter_c", "language", ("function_definition",), ("struct_specifier", "enum_specifier")
)
_CPP = Grammar(
    "tree_sitter_cpp",
    "language",
    ("function_definition",),
    ("struct_specifier", "enum_specifier", "class_specifier", "namespace_definition"),
)
_GRAMMARS: dict[str, Grammar] = {
    ".py": _PY,
    ".pyi": _PY,
    ".js": _JS,
    ".jsx": _JS,
    ".mjs": _JS,
    ".cjs": _JS,
    ".ts": _TS,
    ".mts": _TS,
    ".tsx": _TSX,
    ".go": Grammar(
        "tree_sitter_go",
        "language",
        ("function_declaration", "method_declaration", "func_literal"),
        ("type_declaration",),
    ),
    ".java": Grammar(
        "tree_sitter_java",
        "language",
        ("method_declaration", "constructor_declaration", "lambda_expression"),
        ("class_declaration", "interface_declaration", "enum_declaration", "record_declaration"),
    ),
    ".rs": Grammar(
        "tree_sitter_rust",
        "language",
        ("function_item", "closure_expression"),
        ("impl_item", "trait_item", "struct_item", "enum_item", "mod_item"),
    ),
    ".c": _C,
    ".h": _C,
    **dict.fromkeys((".cc", ".cpp", ".cxx", ".hpp", ".hh"), _CPP),
    ".rb": Grammar(
        "tree_sitter_ruby", "language", ("method", "singleton_method"), ("class", "module")
    ),
}


def language_of(path: str) -> str | None:
    """The grammar a path is parsed with, or None (the simple rule applies)."""
    grammar = _GRAMMARS.get(PurePosixPath(path).suffix.lower())
    return grammar.module if grammar else None


def is_prose(path: str) -> bool:
    """Documentation text: no scope context (its neighbouring paragraphs are another topic)."""
    p = PurePosixPath(path.lower())
    return p.suffix in PROSE_SUFFIXES or (not p.suffix and p.name in PROSE_NAMES)


class ScopeFinder:
    """Finds enclosing definitions in one file's text (indexed once, on first use, within
    `FILE_SECONDS` and before `deadline`, a `clock()` time)."""

    def __init__(
        self,
        path: str,
        text: str,
        deadline: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._text = text
        self.lines = text.split("\n")
        self._prose = is_prose(path)
        self._grammar = _GRAMMARS.get(PurePosixPath(path).suffix.lower())
        self._deadline = deadline
        self._clock = clock
        self._index: _Definitions | _Indented | None = None
        self._failed = ""  # why indexing gave up (asked again, the same answer at once)

    def enclosing(self, first: int, last: int, header: str = "") -> Scope | None:
        """The innermost definition that contains lines `first..last`, if any."""
        return next(iter(self.chain(first, last, header)), None)

    def chain(self, first: int, last: int, header: str = "") -> list[Scope]:
        """Every definition that contains lines `first..last`, innermost first (the simple
        rule gives one). Raises ScopeUnavailable past the depth or time cap."""
        if self._prose or first < 1 or first > len(self.lines):
            return []
        last = min(max(first, last), len(self.lines))
        return self._indexed().chain(first, last, header)

    def _indexed(self) -> _Definitions | _Indented:
        if self._failed:
            raise ScopeUnavailable(self._failed)
        if self._index is None:
            try:
                self._index = self._build()
            except ScopeUnavailable as exc:
                self._failed = str(exc)
                raise
        return self._index

    def _build(self) -> _Definitions | _Indented:
        start = self._clock()
        if self._deadline is not None and start >= self._deadline:
            raise ScopeUnavailable(OUT_OF_TIME)
        grammar = self._grammar
        parser = _parser(grammar.module, grammar.language) if grammar else None
        index: _Definitions | _Indented
        if parser is not None and grammar is not None:
            limit = start + FILE_SECONDS
            if self._deadline is not None:
                limit = min(limit, self._deadline)

            def late(*_: Any) -> bool:  # tree-sitter asks as it goes: it stops when told
                return bool(self._clock() > limit)

            data = self._text.encode("utf-8", "replace")
            if _too_nested(data):
                raise ScopeUnavailable("brackets nested too deeply to index in time")
            try:  # read by pieces: only then does the parser call `late`
                tree = parser.parse(
                    lambda at, _point: data[at : at + 65536], progress_callback=late
                )
            except ValueError:  # stopped by `late`
                tree = None
            if tree is None:
                raise ScopeUnavailable(self._too_slow(start))
            index = _Definitions(tree, self.lines, grammar)
        else:
            index = _Indented(self.lines)
        now = self._clock()
        if (self._deadline is not None and now > self._deadline) or now - start > FILE_SECONDS:
            raise ScopeUnavailable(self._too_slow(start))
        return index

    def _too_slow(self, start: float) -> str:
        if self._deadline is not None and self._clock() > self._deadline:
            return OUT_OF_TIME
        return f"indexing took over {FILE_SECONDS:g} s"


_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"()[]{}")
_STEP = [1 if b in b"([{" else -1 if b in b")]}" else 0 for b in range(256)]
# The definitions query walks each node at a cost that grows with its depth: summed over the
# brackets, their depth (2,000 levels deep once is 2 million) stays far below this in code
# people write, and a file past it would take over a second (about 1.5 ns a unit measured).
NESTING_BUDGET = 50_000_000


def _too_nested(data: bytes) -> bool:
    """Whether the brackets' summed depth passes NESTING_BUDGET (at most the square of their
    number over two, so a file with fewer than 10,000 brackets is not even counted)."""
    only = data.translate(None, _NOT_BRACKETS)
    if len(only) * len(only) // 2 <= NESTING_BUDGET:
        return False
    depths = itertools.accumulate(
        map(_STEP.__getitem__, only), lambda depth, step: depth + step if depth + step > 0 else 0
    )
    total = 0
    for d in depths:
        total += d
        if total > NESTING_BUDGET:
            return True
    return False


def enclosing(path: str, text: str, first: int, last: int, header: str = "") -> Scope | None:
    """The innermost definition that contains lines `first..last` of `text`, if any."""
    return ScopeFinder(path, text).enclosing(first, last, header)


@lru_cache(maxsize=16)
def _parser(module: str, function: str) -> Any:
    try:
        from tree_sitter import Language, Parser

        grammar = importlib.import_module(module)
    except ImportError:  # an install without the grammar: the simple rule still works
        return None
    return Parser(Language(getattr(grammar, function)()))


@lru_cache(maxsize=32)
def _query(grammar: Grammar) -> Any:
    from tree_sitter import Query

    language = _parser(grammar.module, grammar.language).language
    kinds = (*grammar.functions, *grammar.containers)
    return Query(language, " ".join(f"({k}) @d" for k in kinds))


class _Definitions:
    """Every definition of a parsed file, in source order, each with its parent definition."""

    def __init__(self, tree: Any, lines: list[str], grammar: Grammar) -> None:
        from tree_sitter import QueryCursor

        self._tree = tree
        self._lines = lines
        self._functions = frozenset(grammar.functions)
        cursor = QueryCursor(_query(grammar))
        # Deeper definitions could only hold changes that `_check_depth` refuses anyway, and
        # skipping them keeps the query linear on hostile nesting.
        cursor.set_max_start_depth(MAX_DEPTH)
        # (No progress_callback here: tree-sitter 0.26.1's binding crashes with one. Deep
        # bracket nesting, which makes this query quadratic, is refused before the parse.)
        nodes = cursor.captures(tree.root_node).get("d", [])
        rows = sorted(
            {
                (n.start_byte, -n.end_byte, n.start_point[0] + 1, n.end_point[0] + 1, n.type)
                for n in nodes
            }
        )
        self.starts = [r[2] for r in rows]
        self.ends = [r[3] for r in rows]
        self.kinds = [r[4] for r in rows]
        end_bytes = [-r[1] for r in rows]
        self.parent = [-1] * len(rows)
        # A Python function's decorators belong to it: the decorated_definition around a
        # definition (ending where it ends) stands for it.
        self.decorated = [-1] * len(rows)
        open_: list[int] = []
        for i, row in enumerate(rows):
            while open_ and end_bytes[open_[-1]] <= row[0]:
                open_.pop()
            if open_:
                up = self.parent[i] = open_[-1]
                if self.kinds[up] == "decorated_definition" and end_bytes[up] == end_bytes[i]:
                    self.decorated[i] = up
            open_.append(i)
        self.decorates = {up: i for i, up in enumerate(self.decorated) if up >= 0}

    def chain(self, first: int, last: int, header: str) -> list[Scope]:
        self._check_depth(first)
        out: list[Scope] = []
        i = bisect_right(self.starts, first) - 1
        for _ in range(MAX_DEPTH):
            if i < 0:
                break
            up = self.decorated[i]
            if self.starts[i] <= first and self.ends[i] >= last:
                if self.kinds[i] == "decorated_definition":  # a change in the decorators
                    inner = self.decorates.get(i, i)
                    out.append(
                        Scope(self.starts[i], self.ends[i], self.kinds[i], self._is_fn(inner))
                    )
                else:
                    start = self.starts[up if up >= 0 else i]
                    kind = self.kinds[up if up >= 0 else i]
                    out.append(Scope(start, self.ends[i], kind, self._is_fn(i)))
            i = self.parent[up if up >= 0 else i]
        return out

    def _is_fn(self, i: int) -> bool:
        return self.kinds[i] in self._functions

    def _check_depth(self, first: int) -> None:
        line = self._lines[first - 1]
        cursor = self._tree.walk()
        point = (first - 1, len(line) - len(line.lstrip()))
        depth = 0
        while cursor.goto_first_child_for_point(point) is not None:
            depth += 1
            if depth > MAX_DEPTH:
                raise ScopeUnavailable(f"nested deeper than {MAX_DEPTH} levels")


_FUNCTION_LINE = re.compile(
    r"\b(def|defp|defn|function|func|fun|fn|sub|proc|procedure|method|macro)\b"
    r"|^\s*[A-Za-z_$][\w$.:]*\s*\([^)]*\)\s*\{?\s*$"
)
_CLOSING = re.compile(r"\s*([}\])]|end\b)")


_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_$")
HEADERS_SEARCHED = 32  # distinct hunk headers looked up one by one; past that, all lines indexed


class _Indented:
    """Any language: the line git's hunk header names, else the nearest line above that git
    would take for a function line (it starts a line with a letter, `_` or `$`), down to the
    last line indented deeper than it (and a closing `}` / `end` line), looked for at most
    `SCAN_LINES` below the change (longer blocks are cut to the budget anyway). One cheap pass
    lists the candidate lines; each change then costs at most `SCAN_LINES` lines."""

    def __init__(self, lines: list[str]) -> None:
        self._lines = lines
        self._tops = [k for k, line in enumerate(lines, 1) if line[:1] in _NAME_START]
        self._headers: dict[str, list[int]] = {}
        self._all_headers: dict[str, list[int]] | None = None
        self._scanned: dict[int, tuple[int, int]] = {}  # start → (inside up to, block end or 0)

    def chain(self, first: int, last: int, header: str) -> list[Scope]:
        start = self._header_line(first, header) or self._funcname_line(first)
        if start is None:
            return []
        lines = self._lines
        reach = max(last, start)
        scan_end = min(len(lines), reach + SCAN_LINES)
        stop = scan_end + 1
        # Hunks in one block share its start: each line below it is looked at once.
        inside, found = self._scanned.get(start, (start, 0))
        if found > reach:
            stop = found
        else:
            indent = _indent(lines[start - 1])
            k = max(reach, inside) + 1
            while k <= scan_end:
                line = lines[k - 1]
                if line.strip() and _indent(line) <= indent:
                    stop = k
                    break
                k += 1
            self._scanned[start] = (k - 1, stop if stop <= scan_end else 0)
        if stop <= len(lines) and _CLOSING.match(lines[stop - 1]):
            end = stop  # the closing line belongs to the block
        else:
            end = stop - 1
            while end > reach and not lines[end - 1].strip():
                end -= 1
        function = bool(_FUNCTION_LINE.search(lines[start - 1]))
        return [Scope(start, end, "indentation", function)]

    def _header_line(self, first: int, header: str) -> int | None:
        wanted = header.strip()
        if not wanted:
            return None
        found = self._headers.get(wanted)
        if found is None and self._all_headers is not None:
            found = self._all_headers.get(wanted, [])
        if found is None and len(self._headers) < HEADERS_SEARCHED:
            found = [
                k for k, ln in enumerate(self._lines, 1) if wanted in ln and ln.strip() == wanted
            ]
            self._headers[wanted] = found
        if found is None:  # many distinct headers (a hostile diff): index every line once
            self._all_headers = {}
            for k, ln in enumerate(self._lines, 1):
                self._all_headers.setdefault(ln.strip(), []).append(k)
            found = self._all_headers.get(wanted, [])
        at = bisect_right(found, first) - 1
        return found[at] if at >= 0 else None

    def _funcname_line(self, first: int) -> int | None:
        at = bisect_right(self._tops, first) - 1
        if at >= 0 and self._tops[at] == first:
            return None  # the change is at the top level itself
        return self._tops[at] if at >= 0 else None


def _indent(line: str) -> int:
    wide = line.expandtabs(4) if "\t" in line else line
    return len(wide) - len(wide.lstrip())

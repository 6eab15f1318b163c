"""The function, method or class a line range sits in: tree-sitter grammars (installed wheels,
nothing downloaded) for the common languages, and a simple rule for the rest."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Any


@dataclass(frozen=True, slots=True)
class Scope:
    """1-based inclusive lines of the enclosing definition; `kind` is the grammar's node type
    (or "indentation" for the simple rule)."""

    start: int
    end: int
    kind: str


# extension → (grammar module, language function, definition node types, innermost first)
_FUNCTIONS_PY = ("function_definition", "decorated_definition", "class_definition")
_JS = (
    "function_declaration",
    "generator_function_declaration",
    "method_definition",
    "function_expression",
    "arrow_function",
    "class_declaration",
)
_TS = (*_JS, "interface_declaration", "enum_declaration", "type_alias_declaration")
_C = ("function_definition", "struct_specifier", "enum_specifier")
_GRAMMARS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    ".py": ("tree_sitter_python", "language", _FUNCTIONS_PY),
    ".pyi": ("tree_sitter_python", "language", _FUNCTIONS_PY),
    ".js": ("tree_sitter_javascript", "language", _JS),
    ".jsx": ("tree_sitter_javascript", "language", _JS),
    ".mjs": ("tree_sitter_javascript", "language", _JS),
    ".cjs": ("tree_sitter_javascript", "language", _JS),
    ".ts": ("tree_sitter_typescript", "language_typescript", _TS),
    ".mts": ("tree_sitter_typescript", "language_typescript", _TS),
    ".tsx": ("tree_sitter_typescript", "language_tsx", _TS),
    ".go": (
        "tree_sitter_go",
        "language",
        ("function_declaration", "method_declaration", "func_literal", "type_declaration"),
    ),
    ".java": (
        "tree_sitter_java",
        "language",
        (
            "method_declaration",
            "constructor_declaration",
            "lambda_expression",
            "class_declaration",
            "interface_declaration",
            "enum_declaration",
            "record_declaration",
        ),
    ),
    ".rs": (
        "tree_sitter_rust",
        "language",
        (
            "function_item",
            "closure_expression",
            "impl_item",
            "trait_item",
            "struct_item",
            "enum_item",
            "mod_item",
        ),
    ),
    ".c": ("tree_sitter_c", "language", _C),
    ".h": ("tree_sitter_c", "language", _C),
    ".cc": ("tree_sitter_cpp", "language", (*_C, "class_specifier", "namespace_definition")),
    ".cpp": ("tree_sitter_cpp", "language", (*_C, "class_specifier", "namespace_definition")),
    ".cxx": ("tree_sitter_cpp", "language", (*_C, "class_specifier", "namespace_definition")),
    ".hpp": ("tree_sitter_cpp", "language", (*_C, "class_specifier", "namespace_definition")),
    ".hh": ("tree_sitter_cpp", "language", (*_C, "class_specifier", "namespace_definition")),
    ".rb": ("tree_sitter_ruby", "language", ("method", "singleton_method", "class", "module")),
}


def language_of(path: str) -> str | None:
    """The grammar a path is parsed with, or None (the simple rule applies)."""
    suffix = PurePosixPath(path).suffix.lower()
    return _GRAMMARS[suffix][0] if suffix in _GRAMMARS else None


class ScopeFinder:
    """Finds enclosing definitions in one file's text (parsed once, on first use)."""

    def __init__(self, path: str, text: str) -> None:
        self._text = text
        self._lines = text.split("\n")
        self._grammar = _GRAMMARS.get(PurePosixPath(path).suffix.lower())
        self._tree: Any = None

    def enclosing(self, first: int, last: int, header: str = "") -> Scope | None:
        """The innermost definition that contains lines `first..last`, if any."""
        if self._grammar is not None:
            parser = _parser(self._grammar[0], self._grammar[1])
            if parser is not None:
                if self._tree is None:
                    self._tree = parser.parse(self._text.encode("utf-8", "replace"))
                return _tree_scope(self._tree, self._lines, first, last, self._grammar[2])
        return indentation_scope(self._lines, first, last, header)


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


def _tree_scope(
    tree: Any, lines: list[str], first: int, last: int, kinds: tuple[str, ...]
) -> Scope | None:
    if first < 1 or first > len(lines):
        return None
    start_col = len(lines[first - 1]) - len(lines[first - 1].lstrip()) if first <= len(lines) else 0
    end_row = min(last, len(lines)) - 1
    node = tree.root_node.descendant_for_point_range(
        (first - 1, start_col), (end_row, max(len(lines[end_row]) - 1, 0))
    )
    while node is not None:
        if (
            node.type in kinds
            and node.start_point[0] <= first - 1
            and node.end_point[0] >= last - 1
        ):
            if node.parent is not None and node.parent.type == "decorated_definition":
                node = node.parent  # a Python function's decorators belong to it
            return Scope(node.start_point[0] + 1, node.end_point[0] + 1, node.type)
        node = node.parent
    return None


def indentation_scope(lines: list[str], first: int, last: int, header: str = "") -> Scope | None:
    """Any language: the line git's hunk header names, else the nearest line above that git
    would take for a function line (it starts a line with a letter, `_` or `$`), down to the
    last line indented deeper than it (and a closing `}` / `end` line)."""
    if not lines or first > len(lines) or first < 1:
        return None
    start = _header_line(lines, first, header) or _funcname_line(lines, first)
    if start is None:
        return None
    indent = _indent(lines[start - 1])
    end = max(last, start)
    for n in range(max(last, start) + 1, len(lines) + 1):
        line = lines[n - 1]
        if not line.strip():
            continue
        if _indent(line) <= indent:
            if re.match(r"\s*([}\])]|end\b)", line):  # the closing line belongs to the block
                end = n
            break
        end = n
    return Scope(start, end, "indentation")


def _header_line(lines: list[str], first: int, header: str) -> int | None:
    wanted = header.strip()
    if not wanted:
        return None
    for n in range(min(first, len(lines)), 0, -1):
        if lines[n - 1].strip() == wanted:
            return n
    return None


def _funcname_line(lines: list[str], first: int) -> int | None:
    if re.match(r"[A-Za-z_$]", lines[first - 1]):
        return None  # the change is at the top level itself
    for n in range(first - 1, 0, -1):
        if re.match(r"[A-Za-z_$]", lines[n - 1]):
            return n
    return None


def _indent(line: str) -> int:
    return len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip())

"""find_symbol's judgement of a line: a whole-word use of a name, or its definition (a
definition keyword before it, or the line that opens the scope tree-sitter finds around it).
String searches, and one fixed identifier pattern (no nested repetition: linear)."""

from __future__ import annotations

import itertools
import re

from reviewbot.scopes import ScopeFinder

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


def starts_scope(finder: ScopeFinder, line: int, text: str) -> bool:
    """The line opens the definition tree-sitter finds around it (decorators aside)."""
    scope = finder.enclosing(line, line)
    return (
        scope is not None
        and scope.start <= line
        and (scope.start == line or text.lstrip().startswith(("def ", "async def ", "class ")))
    )

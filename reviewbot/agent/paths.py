"""Paths and globs the model gives, made safe: normalised, confined to the snapshot, matched in
linear time. Every refusal is a short line the model reads."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

MAX_PATH = 1_000
MAX_GLOB = 200


@dataclass(frozen=True, slots=True)
class Refused:
    """Why a path or pattern was not used (shown to the model as the tool's answer)."""

    why: str


def clean_path(raw: object, allow_root: bool = False) -> str | Refused:
    """A repository-relative path without `.`/empty parts, or why it is refused: absolute
    paths, `..`, backslashes and control characters never reach the snapshot."""
    if not isinstance(raw, str):
        return Refused("the path must be a string")
    path = raw.strip()
    if len(path) > MAX_PATH:
        return Refused(f"the path is longer than {MAX_PATH} characters")
    if any(ord(c) < 32 or c == "\x7f" for c in path) or "\\" in path:
        return Refused("the path holds a backslash or a control character")
    if path.startswith(("/", "~")) or (len(path) > 1 and path[1] == ":"):
        return Refused(
            "absolute paths are outside the snapshot: give a path relative to the repository "
            "root (e.g. src/app.py)"
        )
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        return Refused("`..` would leave the snapshot: give a path from the repository root")
    if not parts and not allow_root:
        return Refused("the path is empty")
    return "/".join(parts)


def show(text: str, limit: int = 120) -> str:
    """A model-given string quoted for an error line: short, one line."""
    text = text.replace("\n", " ")
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


# Globs: `*` (within one path part), `**` (any parts), `?`, and a literal otherwise. A glob
# without `/` matches the file name at any depth (like .gitignore).
#
# Matched a path part at a time: a part of the glob is `**` (any number of parts) or a pattern
# of one part, and the parts are simulated as a set of positions (an NFA), so no glob can take
# more than linear time. The directory's positions are worked out once for all its files. A
# one-part pattern is a regular expression with atomic groups: `a*b*c` looks for the leftmost
# `b`, commits to it and never backtracks into it (the leftmost is always right, since the `*`
# after it can take whatever a later one would have skipped), so it is linear too. A glob with
# `**` inside a part (`src**.py`) is `*`, as in .gitignore.

STAR, GLOBSTAR, ONE = "\x00*", "\x00**", "\x00?"
MAX_GLOBSTARS = 4


@dataclass(frozen=True, slots=True)
class Glob:
    """A compiled glob: its tokens, whether it applies to the file name only, and its parts
    (each part a pattern, or None for a whole-part `**`)."""

    tokens: tuple[str, ...]
    name_only: bool
    parts: tuple[re.Pattern[str] | None, ...]

    def walk(self, children: Callable[[str], Mapping[str, str] | None]) -> set[str]:
        """The files the glob matches, found by walking the directory tree from the root
        (`children(dir)`: its entries by name → kind): a directory under which nothing can
        match is skipped whole, and each directory's parts are matched once."""
        found: set[str] = set()
        stack: list[tuple[str, set[int]]] = [("", _skip({0}, self.parts or ()))]
        last = self.parts[-1] if self.parts else None
        while stack:
            directory, states = stack.pop()
            prefix = f"{directory}/" if directory else ""
            kids = children(directory) or {}
            names = [n for n, kind in kids.items() if kind == "file"]
            if self.name_only:
                assert last is not None
                found.update(prefix + n for n in names if last.match(n))
            elif len(self.parts) - 1 in states:
                if last is None:
                    found.update(prefix + n for n in names)  # a final `**`: every file
                else:
                    found.update(prefix + n for n in names if last.match(n))
            for name, kind in kids.items():
                if kind == "dir":
                    plain = self.name_only  # every directory
                    after = states if plain else self._step(states, name)
                    if after:
                        stack.append((prefix + name, after))
        return found

    def _step(self, states: set[int], name: str) -> set[int]:
        """The positions after one more path part (a directory's name)."""
        parts, n = self.parts or (), len(self.parts or ())
        nxt: set[int] = set()
        for s in states:
            if s >= n:
                continue
            pattern = parts[s]
            if pattern is None:
                nxt.add(s)
                if s == n - 1:
                    nxt.add(n)  # a final `**` has taken one part at least
            elif pattern.match(name):
                nxt.add(s + 1)
        return _skip(nxt, parts) if nxt else nxt


def _skip(states: set[int], parts: tuple[re.Pattern[str] | None, ...]) -> set[int]:
    """A `**` that is not the last part may also take no part at all."""
    out, stack = set(states), list(states)
    while stack:
        s = stack.pop()
        if s + 1 < len(parts) and parts[s] is None and s + 1 not in out:
            out.add(s + 1)
            stack.append(s + 1)
    return out


@lru_cache(maxsize=64)
def compile_glob(glob: str) -> Glob | Refused:
    """The glob, compiled, or why it is refused."""
    if len(glob) > MAX_GLOB:
        return Refused(f"the glob is longer than {MAX_GLOB} characters")
    if any(ord(c) < 32 for c in glob) or "\\" in glob:
        return Refused("the glob holds a backslash or a control character")
    # `dir/` (a directory) is everything under it, as `dir/**`.
    text = (glob.strip("/") + "/**") if glob.endswith("/") and glob.strip("/") else glob.strip("/")
    name_only = "/" not in text and not _whole_globstars(text)
    tokens: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("**", i):
            j = i
            while j < len(text) and text[j] == "*":
                j += 1
            whole = (i == 0 or text[i - 1] == "/") and (j == len(text) or text[j] == "/")
            # Only a whole path part is `**` (any directories); elsewhere it is `*`, as in
            # .gitignore: a part is then one linear pattern, never a search by characters.
            star = GLOBSTAR if whole else STAR
            if not tokens or tokens[-1] not in (STAR, GLOBSTAR):
                tokens.append(star)
            i = j
        elif text[i] == "*":
            if not tokens or tokens[-1] not in (STAR, GLOBSTAR):
                tokens.append(STAR)
            i += 1
        elif text[i] == "?":
            tokens.append(ONE)
            i += 1
        else:
            tokens.append(text[i])
            i += 1
    if tokens.count(GLOBSTAR) > MAX_GLOBSTARS:  # each one multiplies the directories' states
        return Refused(f"a glob may hold at most {MAX_GLOBSTARS} `**`")
    return Glob(tuple(tokens), name_only, _parts(tuple(tokens)))


def _whole_globstars(text: str) -> bool:
    """Whether the glob has a `**` that is a whole path part."""
    return any(part.strip("*") == "" and part.count("*") >= 2 for part in text.split("/"))


def _parts(tokens: tuple[str, ...]) -> tuple[re.Pattern[str] | None, ...]:
    parts: list[re.Pattern[str] | None] = []
    part: list[str] = []
    for tok in (*tokens, "/"):
        if tok != "/":
            part.append(tok)
        elif part == [GLOBSTAR]:
            parts.append(None)
            part = []
        else:
            parts.append(_part_pattern(part))
            part = []
    return tuple(parts)


def _part_pattern(tokens: list[str]) -> re.Pattern[str]:
    """One part (no `/`, no `**`) as an anchored expression that cannot backtrack far:
    `\\Aa(?>.*?b)(?>.*?c).*d\\Z` for `a*b*c*d`; `?` is any one character."""
    chunks: list[str] = [""]
    for tok in tokens:
        if tok == STAR:
            chunks.append("")
        else:
            chunks[-1] += "." if tok == ONE else re.escape(tok)
    if len(chunks) == 1:
        return re.compile(rf"\A{chunks[0]}\Z", re.DOTALL)
    middle = "".join(f"(?>.*?{c})" for c in chunks[1:-1] if c)
    return re.compile(rf"\A{chunks[0]}{middle}.*{chunks[-1]}\Z", re.DOTALL)


def glob_match(compiled: Glob, path: str) -> bool:
    """Whether the compiled glob matches `path`: `walk` over a tree holding only that path."""
    parts = path.split("/")

    def children(directory: str) -> dict[str, str] | None:
        depth = len(directory.split("/")) if directory else 0
        if depth >= len(parts) or directory != "/".join(parts[:depth]):
            return None
        return {parts[depth]: "file" if depth == len(parts) - 1 else "dir"}

    return path in compiled.walk(children)

"""Paths and globs the model gives, made safe: normalised, confined to the snapshot, matched in
linear time. Every refusal is a short line the model reads."""

from __future__ import annotations

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
# without `/` matches the file name at any depth (like .gitignore). Matched by simulating the
# glob as a set of positions (an NFA): time linear in the path, whatever the glob.

STAR, GLOBSTAR, ONE = "\x00*", "\x00**", "\x00?"


@lru_cache(maxsize=64)
def compile_glob(glob: str) -> tuple[tuple[str, ...], bool] | Refused:
    """The glob as tokens, and whether it applies to the file name only."""
    if len(glob) > MAX_GLOB:
        return Refused(f"the glob is longer than {MAX_GLOB} characters")
    if any(ord(c) < 32 for c in glob) or "\\" in glob:
        return Refused("the glob holds a backslash or a control character")
    name_only = "/" not in glob.strip("/") and "**" not in glob
    tokens: list[str] = []
    i = 0
    text = glob.strip("/")
    while i < len(text):
        if text.startswith("**", i):
            if not tokens or tokens[-1] != GLOBSTAR:
                tokens.append(GLOBSTAR)
            i += 2
            while i < len(text) and text[i] == "*":
                i += 1
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
    return tuple(tokens), name_only


def glob_match(compiled: tuple[tuple[str, ...], bool], path: str) -> bool:
    tokens, name_only = compiled
    subject = path.rsplit("/", 1)[-1] if name_only else path
    n = len(tokens)

    def close(states: set[int]) -> set[int]:
        # A star may match nothing: its position also stands at the token after it.
        out = set(states)
        stack = list(states)
        while stack:
            s = stack.pop()
            if s < n and tokens[s] in (STAR, GLOBSTAR) and s + 1 not in out:
                out.add(s + 1)
                stack.append(s + 1)
            # `**/` also matches no directory at all: `src/**/a.py` matches src/a.py.
            glob_slash = s + 1 < n and tokens[s] == GLOBSTAR and tokens[s + 1] == "/"
            if glob_slash and s + 2 not in out:
                out.add(s + 2)
                stack.append(s + 2)
        return out

    states = close({0})
    for ch in subject:
        nxt: set[int] = set()
        for s in states:
            if s >= n:
                continue
            tok = tokens[s]
            if tok == GLOBSTAR or (tok == STAR and ch != "/"):
                nxt.add(s)
            elif (tok == ONE and ch != "/") or tok == ch:
                nxt.add(s + 1)
        if not nxt:
            return False
        states = close(nxt)
    return n in states

"""Paths as git writes them in a diff's headers: C-quoted when odd, behind `a/` and `b/`."""

from __future__ import annotations

import re

_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def clean_path(raw: str | None, prefixed: bool = True) -> str | None:
    """Undo git's C-style quoting ("a/\\303\\251.txt") and the a/ b/ prefixes."""
    if raw is None:
        return None
    raw = raw.strip("\n")
    if raw.strip() in ("/dev/null", ""):
        return None
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        raw = _unquote_c(raw[1:-1])
    if prefixed and raw[:2] in ("a/", "b/"):
        raw = raw[2:]
    return raw


def _unquote_c(s: str) -> str:
    out = bytearray()
    i = 0
    while i < len(s):
        ch = s[i]
        if ch == "\\" and i + 1 < len(s):
            nxt = s[i + 1]
            if nxt in "01234567" and re.fullmatch(r"[0-7]{3}", s[i + 1 : i + 4]):
                out.append(int(s[i + 1 : i + 4], 8))
                i += 4
                continue
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
        out.extend(ch.encode("utf-8"))
        i += 1
    return out.decode("utf-8", errors="replace")


def git_quote(path: str) -> str:
    """A path as git writes it in a diff header: C-quoted when it holds quotes, backslashes
    or control characters (tabs and newlines included), plain otherwise."""
    if not any(c in path for c in '"\\') and all(ord(c) >= 0x20 and c != "\x7f" for c in path):
        return path
    inverse = {v: k for k, v in _ESCAPES.items()}
    out = []
    for c in path:
        if ord(c) in inverse:
            out.append("\\" + inverse[ord(c)])
        elif ord(c) < 0x20 or c == "\x7f":
            out.append(f"\\{ord(c):03o}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'

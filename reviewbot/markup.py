"""Markdown that is safe to post: model and PR text may format, never ping, link, hide or spoof.

`sanitize` keeps what a review comment needs (paragraphs, lists, emphasis, code spans and
fenced code, a few inline tags) and neutralises the rest, case-insensitively: raw HTML and
HTML comments (so nothing can fake reviewbot's hidden marker), images and links, @mentions
(however they are spelled: `_@user_`, `&#64;user`), and `#123` / `owner/repo#123` references
that would notify other threads. Code is left exactly as written, except for the marker
opener. tests/test_markup.py checks the result with GitHub's renderer (cmark-gfm).
"""

from __future__ import annotations

import re

ZWSP = "\u200b"
ALLOWED_TAGS = frozenset({"b", "i", "em", "strong", "code", "kbd", "sub", "sup", "br"})
# CommonMark: a backtick fence's info string has no backtick (else it is inline code).
_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}(?=[^`]*$)|~{3,})")
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)\s*(/?)>")
_ENTITY = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_MENTION = re.compile(r"(?<![A-Za-z0-9])@")
_REFERENCE = re.compile(r"#(?=[\d_*])")  # `#_1_` renders as # and an emphasised 1
_GH_REF = re.compile(r"(?<![A-Za-z0-9])(GH)-(?=[\d_*])", re.I)
# A code span opens with a whole backtick run that no backslash escapes (CommonMark).
_URL_TAIL = re.compile(r"(?i)(?:[a-z][a-z0-9+.-]*:|www\.)\S*$|@\S*$")
_CODE_SPAN = re.compile(r"(?<![`\\])(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)


def sanitize(text: str, limit: int = 60_000) -> str:
    """Text from the model or the PR made safe to post, and cut to `limit` characters
    without leaving a code fence open."""
    out: list[str] = []
    fence = ""
    for line in text.replace("\x00", "").replace("\x01", "").split("\n"):
        if fence:
            out.append(_no_marker(line))
            if re.match(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$", line):
                fence = ""
            continue
        m = _FENCE_OPEN.match(line)
        if m:
            fence = m.group(1)
            out.append(_no_marker(line))
            continue
        out.append(_prose(line))
    return _cut("\n".join(out), limit)


def inline_code(text: str) -> str:
    """`text` as one code span: a path or quote from the PR, shown literally on one line."""
    flat = " ".join(_no_marker(text).split()) or " "
    longest = max((len(m) for m in re.findall(r"`+", flat)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{ticks}{pad}{flat}{pad}{ticks}"


def fence_for(text: str) -> str:
    """A backtick fence longer than any backtick run inside `text` (at least three)."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _prose(line: str) -> str:
    """One line outside fenced code. Its code spans are rewritten with delimiters longer than
    any backtick run inside them, and every other backtick and backslash is escaped, so that
    GitHub's parser pairs exactly the spans kept here; everything else is neutralised."""
    parts: list[str] = []
    pos = 0
    for m in _CODE_SPAN.finditer(line):
        before = line[pos : m.start()]
        if _URL_TAIL.search(before):  # GFM's autolink would swallow the opening backtick
            before += " "
        parts.append(_neutral(before))
        content = _no_marker(m.group(2))
        ticks = "`" * (max((len(r) for r in re.findall(r"`+", content)), default=0) + 1)
        parts.append(f"{ticks}{content}{ticks}")
        pos = m.end()
    parts.append(_neutral(line[pos:]))
    return "".join(parts)


def _neutral(text: str) -> str:
    text = text.replace("\\", "\\\\").replace("`", "\\`")
    text = _ENTITY.sub(lambda m: f"&amp;{m.group(1)};", text)
    text = _TAG.sub(_tag, text)
    text = text.replace("<", "&lt;")
    text = text.replace("[", "\\[").replace("]", "\\]")
    text = _MENTION.sub("@" + ZWSP, text)
    text = _REFERENCE.sub("#" + ZWSP, text)
    return _GH_REF.sub(lambda m: f"{m.group(1)}-{ZWSP}", text)


def _tag(m: re.Match[str]) -> str:
    """An allowed inline tag without attributes stays; anything else is shown as text."""
    if m.group(2).lower() in ALLOWED_TAGS:
        return f"\x00{m.group(1)}{m.group(2).lower()}{m.group(3)}\x01"
    return m.group(0)


def _no_marker(text: str) -> str:
    return text.replace("<!--", "<" + ZWSP + "!--").replace("-->", "--" + ZWSP + ">")


def _cut(text: str, limit: int) -> str:
    text = text.replace("\x00", "<").replace("\x01", ">")
    if len(text) <= limit:
        return text
    note = "\n\n…(truncated by reviewbot)"
    cut = text[: max(0, limit - len(note) - 8)].rstrip()
    fence = ""
    for line in cut.split("\n"):
        m = _FENCE_OPEN.match(line)
        if m and not fence:
            fence = m.group(1)
        elif fence and re.match(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$", line):
            fence = ""
    return cut + (f"\n{fence}" if fence else "") + note

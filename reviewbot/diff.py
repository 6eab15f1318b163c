"""Unified diff → files, hunks and line maps (what GitHub lets us comment on), plus filters."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from unidiff.errors import UnidiffParseError
from unidiff.patch import PatchedFile, PatchSet

from reviewbot.errors import DiffError, NotADiff
from reviewbot.gitpaths import clean_path, git_quote
from reviewbot.kinds import Side

RIGHT = Side.RIGHT
LEFT = Side.LEFT

ADDED, MODIFIED, DELETED, RENAMED = "added", "modified", "deleted", "renamed"


@dataclass(frozen=True, slots=True)
class DiffLine:
    """One line of a hunk: kind is '+', '-' or ' '; numbers are None where the side lacks it."""

    kind: str
    old: int | None
    new: int | None
    text: str


@dataclass(frozen=True, slots=True)
class Hunk:
    """A hunk of one file; `index` is its position in the file's diff."""

    index: int
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    header: str
    lines: tuple[DiffLine, ...]
    # The enclosing function around the hunk, for the model only (never anchored on):
    # (line number on `context_side`, text); number 0 stands for elided lines.
    before: tuple[tuple[int, str], ...] = ()
    after: tuple[tuple[int, str], ...] = ()
    context_side: str = "RIGHT"

    @property
    def changed(self) -> int:
        return sum(1 for ln in self.lines if ln.kind != " ")


@dataclass(frozen=True, slots=True)
class FileDiff:
    """One file of the diff; `right`/`left` map line numbers to (hunk index, text) per side.

    `problem` is set when this file's part of the diff could not be parsed (the file is then
    listed as not reviewed; the rest of the diff is unaffected).
    """

    path: str
    old_path: str | None
    status: str
    hunks: tuple[Hunk, ...] = ()
    binary: bool = False
    old_mode: str | None = None
    new_mode: str | None = None
    problem: str | None = None
    # Built on first use: most files of a huge diff never need them.
    _maps: list[dict[int, tuple[int, str]]] = field(
        default_factory=list, init=False, compare=False, repr=False
    )

    @property
    def right(self) -> dict[int, tuple[int, str]]:
        """New-file line number → (hunk index, text)."""
        return self._line_maps()[0]

    @property
    def left(self) -> dict[int, tuple[int, str]]:
        """Old-file line number → (hunk index, text)."""
        return self._line_maps()[1]

    def _line_maps(self) -> list[dict[int, tuple[int, str]]]:
        if not self._maps:
            right: dict[int, tuple[int, str]] = {}
            left: dict[int, tuple[int, str]] = {}
            for hunk in self.hunks:
                for ln in hunk.lines:
                    if ln.new is not None:
                        right[ln.new] = (hunk.index, ln.text)
                    if ln.old is not None:
                        left[ln.old] = (hunk.index, ln.text)
            self._maps.extend((right, left))
        return self._maps

    @property
    def added(self) -> int:
        return sum(1 for h in self.hunks for ln in h.lines if ln.kind == "+")

    @property
    def removed(self) -> int:
        return sum(1 for h in self.hunks for ln in h.lines if ln.kind == "-")

    def side_map(self, side: str) -> dict[int, tuple[int, str]]:
        """Lines a review comment may sit on for `side` (RIGHT: new file, LEFT: old file)."""
        return self.right if side == RIGHT else self.left

    def with_hunks(self, hunks: Sequence[Hunk]) -> FileDiff:
        """The same file restricted to some of its hunks (used when a file is split)."""
        return FileDiff(
            self.path,
            self.old_path,
            self.status,
            tuple(hunks),
            self.binary,
            self.old_mode,
            self.new_mode,
        )


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file that was not reviewed, and why (reported in the review, never silent)."""

    path: str
    reason: str


# ---------------------------------------------------------------- parsing


def parse_diff(data: bytes | str) -> list[FileDiff]:
    """Parse a unified (git) diff; raise DiffError naming the offending line if malformed.

    A git diff is parsed one file at a time, so one file whose part cannot be parsed is
    returned with its `problem` instead of costing the whole diff (and memory stays near the
    size of the diff, not of the parser's objects for all of it).
    """
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    first_nl = text.find("\n")
    if first_nl > 0 and text[first_nl - 1] == "\r":
        # The whole diff went through a CRLF conversion; CRs inside content lines of an
        # LF diff are file content and stay.
        text = text.replace("\r\n", "\n")
    if not text.strip():
        return []
    files: list[FileDiff] = []
    failures: list[DiffError] = []
    for line_no, section in _sections(text):
        try:
            files.extend(_parse_section(section, line_no))
        except DiffError as exc:
            failures.append(exc)
            files.append(FileDiff(_guess_path(section), None, MODIFIED, problem=str(exc)))
    if failures and len(failures) == len(files):
        raise failures[0]
    return files


def _sections(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, text) of each file's part of a git diff; one part otherwise.

    "diff --git " cannot start a hunk line (those start with ' ', '+', '-' or '\\').
    """
    starts = [0] if text.startswith("diff --git ") else []
    at = text.find("\ndiff --git ")
    while at >= 0:  # str.find, not a regex: ten times faster on a 50 MB diff
        starts.append(at + 1)
        at = text.find("\ndiff --git ", at + 1)
    if not starts:
        yield 1, text
        return
    preamble = text[: starts[0]]
    if re.search(r"^@@ ", preamble, re.M):  # a plain diff before the git part
        yield 1, preamble
    line_no = 1 + preamble.count("\n")
    for start, end in zip(starts, [*starts[1:], len(text)], strict=True):
        part = text[start:end]
        yield line_no, part
        line_no += part.count("\n")


def _parse_section(text: str, first_line: int) -> list[FileDiff]:
    names = _section_names(text) if text.startswith("diff --git ") else None
    if names is not None and (fast := _parse_git_file(text, first_line, names)) is not None:
        return [fast]
    counter = _LineCounter(_with_placeholders(text, names) if names else text)
    try:
        patch = PatchSet(counter)
    except UnidiffParseError as exc:
        where = first_line - 1 + counter.line_no
        raise DiffError(f"malformed diff at line {where}: {str(exc).strip()[:200]}") from exc
    if not patch:
        raise NotADiff("no file headers found: the input is not a unified diff")
    return [_convert(pf, names) for pf in patch]


def _parse_git_file(
    text: str, first_line: int, names: tuple[str | None, str | None]
) -> FileDiff | None:
    """One file's git section: its header through unidiff, its hunks read directly (memory
    near the diff's size: reviewbot.hunks); None when the hunks need unidiff after all."""
    from reviewbot.hunks import read_hunks

    at = text.find("\n@@ ") + 1
    head = text[:at] if at else text
    try:
        patch = PatchSet(_LineCounter(_with_placeholders(head, names)))
    except UnidiffParseError:
        return None  # unidiff's own pass over the whole section says where
    if len(patch) != 1 or any(True for _ in patch[0]):
        return None
    hunks = read_hunks(text, at, first_line + head.count("\n")) if at else ()
    if hunks is None:
        return None
    f = _convert(patch[0], names)
    return FileDiff(
        f.path, f.old_path, f.status, hunks, f.binary, f.old_mode, f.new_mode, f.problem
    )


_OLD, _NEW = "reviewbot-old", "reviewbot-new"
DEV_NULL = "/dev/null"


def _section_names(text: str) -> tuple[str | None, str | None] | None:
    """The real (old, new) paths of one file's git section (None for /dev/null), read from
    the parts git writes unambiguously; None when they cannot be told."""
    lines = text.split("\n", 40)[:40]
    minus = plus = rename_from = rename_to = None
    new_file = deleted = False
    for ln in lines[1:]:
        if ln.startswith("@@"):
            break
        if ln.startswith("--- ") and minus is None:
            minus = ln[4:]
        elif ln.startswith("+++ ") and plus is None:
            plus = ln[4:]
        elif ln.startswith(("rename from ", "copy from ")):
            rename_from = clean_path(ln.split(" from ", 1)[1], prefixed=False)
        elif ln.startswith(("rename to ", "copy to ")):
            rename_to = clean_path(ln.split(" to ", 1)[1], prefixed=False)
        elif ln.startswith("new file mode"):
            new_file = True
        elif ln.startswith("deleted file mode"):
            deleted = True
    if minus is not None and plus is not None:
        return _header_path(minus), _header_path(plus)
    if rename_from and rename_to:
        return rename_from, rename_to
    same = _symmetric(lines[0][len("diff --git ") :])
    if same is None:
        return None
    return (None if new_file else same), (None if deleted else same)


def _header_path(raw: str) -> str | None:
    # git ends a name containing spaces with a tab; a tab inside a name is C-quoted.
    return clean_path(raw.split("\t", 1)[0])


def _symmetric(rest: str) -> str | None:
    """P from "a/P b/P" (or its quoted form): the header of a file that keeps its name."""
    if rest.startswith('"'):
        m = re.fullmatch(r'("(?:[^"\\]|\\.)*") ("(?:[^"\\]|\\.)*")', rest)
        if m and clean_path(m.group(1)) == clean_path(m.group(2)):
            return clean_path(m.group(1))
        return None
    n = (len(rest) - 5) // 2
    symmetric = rest[2 + n : 5 + n] == " b/" and rest[2 : 2 + n] == rest[5 + n :]
    return rest[2 : 2 + n] if n > 0 and rest.startswith("a/") and symmetric else None


def _with_placeholders(text: str, names: tuple[str | None, str | None]) -> str:
    """The section with its header paths replaced by fixed names unidiff cannot misread
    (spaces, " b/" inside a name); `_convert` puts the real names back."""
    old, new = names
    o, n = (_OLD, _NEW) if old and new and old != new else (_NEW, _NEW)
    head, sep, body = text.partition("\n@@")
    out = []
    for i, ln in enumerate(head.split("\n")):
        if i == 0:  # /dev/null here too, for diffs rebuilt without "new/deleted file mode"
            ln = f"diff --git {f'a/{o}' if old else DEV_NULL} {f'b/{n}' if new else DEV_NULL}"
        elif ln.startswith("--- ") and not ln.startswith("--- /dev/null"):
            ln = f"--- a/{o}"
        elif ln.startswith("+++ ") and not ln.startswith("+++ /dev/null"):
            ln = f"+++ b/{n}"
        out.append(ln)
    return "\n".join(out) + sep + body


def _guess_path(section: str) -> str:
    first = section.split("\n", 1)[0]
    if first.startswith("diff --git "):
        names = _section_names(section)
        if names and (names[1] or names[0]):
            return str(names[1] or names[0])
        return first[len("diff --git ") :][:200]
    return "(diff)"


class _LineCounter:
    """Feeds unidiff one line at a time and remembers where it is, for error messages."""

    def __init__(self, text: str) -> None:
        self._text = text
        self.line_no = 0

    def __iter__(self) -> Iterator[str]:
        parts = self._text.split("\n")
        last = len(parts) - 1
        for i, part in enumerate(parts):
            if i == last:
                if part:
                    self.line_no += 1
                    yield part + "\n"
                return
            self.line_no += 1
            yield part + "\n"


def _convert(pf: PatchedFile, names: tuple[str | None, str | None] | None = None) -> FileDiff:
    src = clean_path(pf.source_file)
    tgt = clean_path(pf.target_file)
    if names is not None:
        src = None if src is None else (names[0] or names[1])
        tgt = None if tgt is None else (names[1] or names[0])
    binary = bool(pf.is_binary_file)
    patch_info = [str(x) for x in (pf.patch_info or [])]
    if binary and src and tgt and src == tgt:
        # "Binary files /dev/null and b/x differ" carries the truth in the git header.
        if any(x.startswith("new file mode") for x in patch_info):
            src = None
        elif any(x.startswith("deleted file mode") for x in patch_info):
            tgt = None
    hunks: list[Hunk] = []
    for index, h in enumerate(pf):
        lines = tuple(
            DiffLine(ln.line_type, ln.source_line_no, ln.target_line_no, _strip_eol(ln.value))
            for ln in h
            if ln.line_type in ("+", "-", " ")
        )
        hunks.append(
            Hunk(
                index,
                h.source_start,
                h.source_length,
                h.target_start,
                h.target_length,
                (h.section_header or "").strip(),
                lines,
            )
        )
    if src is None and tgt is None:
        raise DiffError("malformed diff: a file has neither an old nor a new path")
    if src is None:
        status, path = ADDED, tgt
    elif tgt is None:
        status, path = DELETED, src
    elif src != tgt:
        status, path = RENAMED, tgt
    else:
        status, path = MODIFIED, tgt
    assert path is not None
    return FileDiff(
        path=path,
        old_path=src if status == RENAMED else None,
        status=status,
        hunks=tuple(hunks),
        binary=binary,
        old_mode=pf.source_mode,
        new_mode=pf.target_mode,
    )


def _strip_eol(value: str) -> str:
    """The line's text without its line ending (a CRLF file's CR included)."""
    return value.rstrip("\n").removesuffix("\r")


def rebuild_diff(entries: Iterable[tuple[str, str | None, str, str | None]]) -> str:
    """A git diff from per-file patches (GitHub's files and compare APIs): entries are
    (path, previous path, status, patch). It parses exactly as `git diff` output does."""
    parts: list[str] = []
    for path, previous, status, patch in entries:
        old = previous or path
        a, b = git_quote("a/" + old), git_quote("b/" + path)
        head = [f"diff --git {a} {b}"]
        if status == "added":
            head.append("new file mode 100644")
        elif status == "removed":
            head.append("deleted file mode 100644")
        elif status in ("renamed", "copied") and old != path:
            verb = "copy" if status == "copied" else "rename"
            head += [f"{verb} from {git_quote(old)}", f"{verb} to {git_quote(path)}"]
        if patch:
            src = DEV_NULL if status == "added" else a
            dst = DEV_NULL if status == "removed" else b
            head += [f"--- {src}", f"+++ {dst}", patch.rstrip("\n")]
        parts.append("\n".join(head) + "\n")
    return "".join(parts)


def restrict_to(files: Sequence[FileDiff], within: Sequence[FileDiff]) -> list[FileDiff]:
    """Hunks of `files` that add lines `within` also adds (e.g. a push's changes that are part
    of the pull request, not a merge of the base branch)."""
    added = {f.path: {ln.new for h in f.hunks for ln in h.lines if ln.kind == "+"} for f in within}
    out: list[FileDiff] = []
    for f in files:
        mine = added.get(f.path)
        if not mine:
            continue
        hunks = [h for h in f.hunks if any(ln.kind == "+" and ln.new in mine for ln in h.lines)]
        if hunks:
            out.append(f.with_hunks(hunks))
    return out

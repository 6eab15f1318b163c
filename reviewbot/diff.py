"""Unified diff → files, hunks and line maps (what GitHub lets us comment on), plus filters."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from unidiff.errors import UnidiffParseError
from unidiff.patch import PatchedFile, PatchSet

from reviewbot.errors import DiffError

RIGHT = "RIGHT"
LEFT = "LEFT"

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

    @property
    def changed(self) -> int:
        return sum(1 for ln in self.lines if ln.kind != " ")


@dataclass(frozen=True, slots=True)
class FileDiff:
    """One file of the diff with its line maps: line number → (hunk index, text), per side."""

    path: str
    old_path: str | None
    status: str
    hunks: tuple[Hunk, ...] = ()
    binary: bool = False
    old_mode: str | None = None
    new_mode: str | None = None
    right: dict[int, tuple[int, str]] = field(default_factory=dict, compare=False, repr=False)
    left: dict[int, tuple[int, str]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.right or self.left:
            return
        for hunk in self.hunks:
            for ln in hunk.lines:
                if ln.new is not None:
                    self.right[ln.new] = (hunk.index, ln.text)
                if ln.old is not None:
                    self.left[ln.old] = (hunk.index, ln.text)

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
    """Parse a unified (git) diff; raise DiffError naming the offending line if malformed."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    first_nl = text.find("\n")
    if first_nl > 0 and text[first_nl - 1] == "\r":
        # The whole diff went through a CRLF conversion; CRs inside content lines of an
        # LF diff are file content and stay.
        text = text.replace("\r\n", "\n")
    if not text.strip():
        return []
    counter = _LineCounter(text)
    try:
        patch = PatchSet(counter)
    except UnidiffParseError as exc:
        raise DiffError(
            f"malformed diff at line {counter.line_no}: {str(exc).strip()[:200]}"
        ) from exc
    if not patch:
        raise DiffError("no file headers found: the input is not a unified diff")
    return [_convert(pf) for pf in patch]


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


def _convert(pf: PatchedFile) -> FileDiff:
    src = _clean_path(pf.source_file)
    tgt = _clean_path(pf.target_file)
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


_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def _clean_path(raw: str | None) -> str | None:
    """Undo git's C-style quoting ("a/\\303\\251.txt") and the a/ b/ prefixes."""
    if raw is None:
        return None
    raw = raw.strip()
    if raw in ("/dev/null", ""):
        return None
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        raw = _unquote_c(raw[1:-1])
    if raw[:2] in ("a/", "b/"):
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


# ---------------------------------------------------------------- filters

DEFAULT_EXCLUDES: dict[str, tuple[str, ...]] = {
    "lock file": (
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "poetry.lock",
        "Pipfile.lock",
        "uv.lock",
        "Cargo.lock",
        "Gemfile.lock",
        "composer.lock",
        "go.sum",
        "*.lock",
        "packages.lock.json",
    ),
    "vendored": (
        "vendor/",
        "vendors/",
        "third_party/",
        "third-party/",
        "node_modules/",
        "bower_components/",
        "Pods/",
    ),
    "generated": (
        "*.pb.go",
        "*_pb2.py",
        "*_pb2.pyi",
        "*_pb2_grpc.py",
        "*.generated.*",
        "*.g.dart",
        "*.freezed.dart",
        "__snapshots__/",
        "*.snap",
    ),
    "minified": ("*.min.js", "*.min.css", "*.js.map", "*.css.map", "*.min.mjs"),
}

_GENERATED_MARKERS = ("@generated", "DO NOT EDIT", "Code generated by", "autogenerated")


def split_patterns(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Patterns from an input: newline or comma separated text, or a list."""
    if value is None:
        return ()
    items = re.split(r"[\n,]", value) if isinstance(value, str) else list(value)
    return tuple(p.strip() for p in items if p and p.strip())


@lru_cache(maxsize=512)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    pat = pattern.strip()
    anchored = pat.startswith("/")
    pat = pat.lstrip("/")
    directory = pat.endswith("/")
    pat = pat.rstrip("/")
    out: list[str] = []
    i = 0
    while i < len(pat):
        if pat.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pat.startswith("**", i):
            out.append(".*")
            i += 2
        elif pat[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pat[i] == "?":
            out.append("[^/]")
            i += 1
        elif pat[i] == "[" and "]" in pat[i + 1 :]:
            end = pat.index("]", i + 1)
            body = pat[i + 1 : end].replace("\\", "\\\\")
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append(f"[{body}]")
            i = end + 1
        else:
            out.append(re.escape(pat[i]))
            i += 1
    core = "".join(out)
    prefix = "" if anchored or "/" in pat else "(?:.*/)?"
    suffix = "/.*" if directory else "(?:/.*)?"
    return re.compile(f"{prefix}{core}{suffix}", re.DOTALL)


def glob_match(pattern: str, path: str) -> bool:
    """gitignore-like matching: `*` stays in a folder, `**` crosses folders, `dir/` a tree."""
    return _glob_regex(pattern).fullmatch(path) is not None


def filter_files(
    files: Sequence[FileDiff],
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> tuple[list[FileDiff], list[Skipped]]:
    """Split files into those to review and those skipped, each skip with its reason."""
    keep: list[FileDiff] = []
    skipped: list[Skipped] = []
    for f in files:
        reason = _skip_reason(f, include, exclude)
        if reason:
            skipped.append(Skipped(f.path, reason))
        else:
            keep.append(f)
    return keep, skipped


def _skip_reason(f: FileDiff, include: Sequence[str], exclude: Sequence[str]) -> str | None:
    if f.binary:
        return "binary file"
    explicitly_included = any(glob_match(p, f.path) for p in include)
    if include and not explicitly_included:
        return "not matched by include patterns"
    for p in exclude:
        if glob_match(p, f.path):
            return f"excluded by pattern {p!r}"
    if not explicitly_included:
        for label, patterns in DEFAULT_EXCLUDES.items():
            if any(glob_match(p, f.path) for p in patterns):
                return f"{label} (skipped by default)"
    if f.status == DELETED:
        return "file deleted"
    if not f.hunks:
        if f.status == RENAMED:
            return "renamed without changes"
        if f.old_mode != f.new_mode:
            return "file mode change only"
        return "no textual changes"
    if not explicitly_included and _looks_generated(f):
        return "generated file (marker in header)"
    if not explicitly_included and _looks_minified(f):
        return "minified (very long lines)"
    return None


def _looks_generated(f: FileDiff) -> bool:
    first = f.hunks[0]
    if first.new_start > 1:
        return False
    head = [ln.text for ln in first.lines[:5] if ln.new is not None]
    return any(m in text for text in head for m in _GENERATED_MARKERS)


def _looks_minified(f: FileDiff) -> bool:
    added = [ln.text for h in f.hunks for ln in h.lines if ln.kind == "+"]
    return bool(added) and sum(map(len, added)) / len(added) > 500

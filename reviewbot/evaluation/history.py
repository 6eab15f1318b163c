"""What the miner reads from git: the log, a commit's `-U0` diff as removed and added lines,
and `git blame` of chosen lines (the commit and line number each one came from)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from reviewbot.evaluation.gitrepo import git
from reviewbot.gitpaths import clean_path

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
Lines = list[tuple[int, str]]  # (line number on its side, text)


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    parents: tuple[str, ...]
    time: int
    message: str

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0].strip()

    @property
    def body(self) -> str:
        return self.message.split("\n", 1)[1].strip() if "\n" in self.message else ""


def log(repo: Path, rev: str) -> Iterator[Commit]:
    out = git(repo, ["log", "--format=%H%x1f%P%x1f%ct%x1f%B%x1e", rev, "--"], "git log")
    for record in out.decode("utf-8", "replace").split("\x1e"):
        parts = record.strip("\n").split("\x1f")
        if len(parts) == 4:
            sha, parents, when, message = parts
            yield Commit(sha, tuple(parents.split()), int(when), message)


def diff_files(
    diff: str,
) -> Iterator[
    tuple[str | None, str | None, list[tuple[list[tuple[int, str]], list[tuple[int, str]]]]]
]:
    """(old path, new path, hunks) of a `-U0` diff; each hunk is (removed, added) lines with
    their numbers on their side. A path is None on the side where the file does not exist."""
    old: str | None = None
    new: str | None = None
    hunks: list[tuple[Lines, Lines]] = []
    o = n = 0
    started = False
    for line in diff.split("\n"):
        if line.startswith("diff --git "):
            if started:
                yield old, new, hunks
            old = new = None
            hunks = []
            started = True
        elif line.startswith("--- ") and not hunks:
            old = _path(line[4:])
        elif line.startswith("+++ ") and not hunks:
            new = _path(line[4:])
        elif m := _HUNK.match(line):
            o, n = int(m.group(1)), int(m.group(3))
            hunks.append(([], []))
        elif hunks and line.startswith("-"):
            hunks[-1][0].append((o, line[1:]))
            o += 1
        elif hunks and line.startswith("+"):
            hunks[-1][1].append((n, line[1:]))
            n += 1
        elif hunks and line.startswith(" "):
            o += 1
            n += 1
    if started:
        yield old, new, hunks


def _path(text: str) -> str | None:
    """A `---`/`+++` header's path, unquoted as git quotes odd names (`"b/\\303\\251.py"`)."""
    return clean_path(text.rstrip("\t"))


def blame(repo: Path, rev: str, lines: dict[str, list[int]]) -> Iterator[tuple[str, str, int]]:
    """(commit, its path, its line number) for each of `lines` (path → line numbers in `rev`),
    by `git blame -w` (one blame per file, all its ranges at once)."""
    for path, numbers in lines.items():
        spans = [f"-L{a},{b}" for a, b in ranges(sorted(set(numbers)))]
        out = git(
            repo,
            ["blame", "-w", "--line-porcelain", *spans, rev, "--", path],
            f"git blame {path}",
        )
        sha = ""
        line_no = 0
        for row in out.decode("utf-8", "replace").split("\n"):
            if re.match(r"^[0-9a-f]{40} \d+ \d+", row):
                sha, orig = row.split()[:2]
                line_no = int(orig)
            elif row.startswith("filename "):
                yield sha, row[len("filename ") :], line_no


def ranges(lines: Sequence[int]) -> Iterator[tuple[int, int]]:
    """Sorted line numbers as contiguous (first, last) ranges."""
    start = prev = lines[0]
    for x in lines[1:]:
        if x != prev + 1:
            yield start, prev
            start = x
        prev = x
    yield start, prev

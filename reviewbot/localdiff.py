"""Where `reviewbot review` gets its diff: a file, stdin, `git diff RANGE` or the index, and a
clear hint when the input is not a unified diff (UTF-16, colours, word diffs)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reviewbot.catfile import CatFile
from reviewbot.errors import UsageError

if TYPE_CHECKING:
    from reviewbot.config import Config
    from reviewbot.context import RepoFiles
    from reviewbot.diff import Skipped
    from reviewbot.prompts import PullRequestText
    from reviewbot.pulls import GitHub, PullInfo

# Whatever the user's git config says (mnemonic or no prefixes, colours, external diff tools,
# textconv filters, relative paths), the diff reviewbot reads looks the same.
GIT_DIFF = [
    "git",
    "-c",
    "diff.mnemonicPrefix=false",
    "-c",
    "diff.noprefix=false",
    "-c",
    "diff.relative=false",
    "-c",
    "color.ui=never",
    "diff",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--src-prefix=a/",
    "--dst-prefix=b/",
]


def read_diff(diff: str | None, git: str | None, staged: bool, *, env: Mapping[str, str]) -> bytes:
    """The diff bytes from exactly one source; git runs in the environment `env`."""
    if staged:
        return _git(["--cached"], "git diff --cached", env)
    if git is not None:
        if git.startswith("-"):
            raise UsageError(f"--git takes a revision range, not an option: {git!r}")
        return _git([git], f"git diff {git}", env)
    if diff == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(str(diff)).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read diff {diff}: {exc.strerror}") from None


def _git(args: list[str], what: str, env: Mapping[str, str]) -> bytes:
    try:
        proc = subprocess.run(
            [*GIT_DIFF, *args, "--"], capture_output=True, check=False, env=dict(env)
        )
    except FileNotFoundError:
        raise UsageError(
            "--git and --staged need the git command, which is not installed"
        ) from None
    if proc.returncode != 0:
        if _rev(["rev-parse", "--git-dir"], env) is None:
            flag = "--staged" if "--cached" in args else "--git"
            raise UsageError(f"{flag}: not a git repository (run it inside one, or use --diff)")
        first = proc.stderr.decode(errors="replace").strip().splitlines()
        raise UsageError(f"{what} failed: {first[0] if first else 'no output'}")
    return proc.stdout


_WORD_DIFF = re.compile(rb"\[-.*?-\]|\{\+.*?\+\}")
# `git log -p` / `git show A B` ("commit <sha>" then "Author:") and `git format-patch` mails
# ("From <sha> Mon Sep 17 00:00:00 2001"): one patch per commit.
_COMMIT = re.compile(rb"^commit [0-9a-f]{40}\b.*\n(?:Merge: .*\n)?Author: ", re.M)
_MAIL = re.compile(rb"^From [0-9a-f]{40} Mon Sep 17 00:00:00 2001$", re.M)


def not_a_diff_hint(data: bytes) -> str | None:
    """Why these bytes are no unified diff reviewbot can read, with what to do; None if fine."""
    head = data[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or head.count(b"\x00") > len(head) // 4:
        return (
            "the diff is UTF-16 (PowerShell's `>` writes UTF-16): write it with "
            "`git diff --output=change.diff` or `| Out-File -Encoding utf8`"
        )
    if b"\x1b[" in head:
        return "the diff contains terminal colour codes: produce it with `git diff --no-color`"
    if (
        re.search(rb"^@@ ", data, re.M)
        and _WORD_DIFF.search(data)
        and not re.search(rb"^[+-](?![+-]{2} )", data, re.M)
    ):
        return "this is a word diff (`--word-diff`): reviewbot needs a plain `git diff`"
    commits = max(
        len(_COMMIT.findall(data)) if b"\nAuthor: " in data else 0,  # `in` is fast on 50 MB
        len(_MAIL.findall(data)) if b" Mon Sep 17 00:00:00 2001" in data else 0,
    )
    if commits > 1:
        # Merged, the same file's hunks from different commits would number lines that no
        # longer exist: one diff of the whole range is what was meant.
        return (
            f"this holds {commits} commits' patches (`git log -p` or a `git format-patch` "
            "series), which do not combine into one diff: review the range instead, e.g. "
            "`reviewbot review --git FIRST^..LAST` or `git diff FIRST^ LAST > change.diff`"
        )
    return None


MAX_FILE_BYTES = 1_000_000  # larger files keep their plain hunk context


class GitContents:
    """File texts on each side of a local diff, read from the repository (`git cat-file
    --batch`: one process for all files); the working tree when the new side is it."""

    def __init__(
        self, old: str, new: str | None, env: Mapping[str, str], cwd: Path | None = None
    ) -> None:
        """`old`/`new` are revisions (":" for the index); `new` None is the working tree; git
        runs in the environment `env`, in `cwd` (None: here)."""
        self._revs = {"LEFT": old, "RIGHT": new}
        self._env = dict(env)
        self._cwd = cwd
        self._objects = CatFile(cwd, self._env)
        self._root: Path | None = None

    @classmethod
    def for_range(
        cls, git_range: str | None, staged: bool, env: Mapping[str, str]
    ) -> GitContents | None:
        """The two sides `git diff RANGE` (or `--cached`) compares, or None if unclear."""
        revs = revisions(git_range, staged, env)
        return cls(*revs, env) if revs else None

    @property
    def sides(self) -> tuple[str, str | None]:
        """(old, new) as git names them: a revision, ":" (the index), None (the worktree)."""
        old = self._revs["LEFT"]
        assert old is not None
        return old, self._revs["RIGHT"]

    @property
    def env(self) -> Mapping[str, str]:
        return self._env

    def prefetch(self, wanted: object) -> list[str]:
        """Nothing to do: one `git cat-file` process answers file by file."""
        return []

    def guidance_texts(self) -> dict[str, str | None]:
        """The guidance files on the old side (the base), never the changed side."""
        from reviewbot.guidance import GENERAL_FILES, INSTRUCTIONS_DIR, instruction_file_names

        base = self._revs["LEFT"] or "HEAD"
        args = ["ls-tree", "--name-only", f"{base}:{INSTRUCTIONS_DIR}"]
        listing = _rev(args, self._env, self._cwd) or ""
        names = [*GENERAL_FILES, *instruction_file_names(listing.splitlines())]
        return {name: self.text(name, "LEFT") for name in names}

    def text(self, path: str, side: str) -> str | None:
        """The file's text on `side`, or None (missing, binary, over 1 MB)."""
        rev = self._revs[side]
        if rev is None:
            return self._worktree(path)
        data = self._blob(f"{rev}:{path}" if rev != ":" else f":{path}")
        if data is None or len(data) > MAX_FILE_BYTES or b"\x00" in data[:8000]:
            return None
        return data.decode("utf-8", "replace")

    def _blob(self, spec: str) -> bytes | None:
        return self._objects.blob(spec)

    def _worktree(self, path: str) -> str | None:
        if self._root is None:
            top = _rev(["rev-parse", "--show-toplevel"], self._env, self._cwd)
            self._root = Path(top) if top else Path.cwd()
        file = (self._root / path).resolve()
        if not file.is_relative_to(self._root.resolve()) or not file.is_file():
            return None
        if file.stat().st_size > MAX_FILE_BYTES:
            return None
        return file.read_bytes().decode("utf-8", "replace")

    def close(self) -> None:
        self._objects.close()


def _rev(args: list[str], env: Mapping[str, str], cwd: Path | None = None) -> str | None:
    try:
        proc = subprocess.run(
            ["git", *args], capture_output=True, check=False, env=dict(env), cwd=cwd
        )
    except OSError:
        return None
    out = proc.stdout.decode(errors="replace").strip()
    return out if proc.returncode == 0 and out else None


MAX_COMMITS = 50  # commit messages given to the model as the PR text of a `--git` review
MAX_MESSAGES_CHARS = 20_000


def revisions(
    git_range: str | None, staged: bool, env: Mapping[str, str]
) -> tuple[str, str | None] | None:
    """(old, new) of what `git diff RANGE` (or `--cached`) compares: new is ":" for the index,
    None for the working tree; None when the range names nothing."""
    if staged:
        return "HEAD", ":"
    if not git_range:
        return None
    if "..." in git_range:
        a, b = git_range.split("...", 1)
        base = _rev(["merge-base", a or "HEAD", b or "HEAD"], env)
        return (base, b or "HEAD") if base else None
    if ".." in git_range:
        a, b = git_range.split("..", 1)
        return a or "HEAD", b or "HEAD"
    return git_range, None


def commit_messages(old: str, new: str | None, *, env: Mapping[str, str]) -> tuple[str, str]:
    """The commits between the sides `git diff` compares, as a pull request's (title,
    description): the title is the one commit's subject (several: the first's, and how many
    more), the description every message, oldest first. ("", "") when there are none. (The
    working tree as `new`: the commits since `old`.)"""
    log = f"{old}..{new or 'HEAD'}"
    args = ["log", "--reverse", "--no-merges", f"-n{MAX_COMMITS}", "--format=%x1e%B", log, "--"]
    out = _rev(args, env)
    messages = [m.strip() for m in (out or "").split("\x1e") if m.strip()]
    if not messages:
        return "", ""
    subject, _, rest = messages[0].partition("\n")
    if len(messages) == 1:
        return subject.strip(), rest.strip()[:MAX_MESSAGES_CHARS]
    n = len(messages)
    title = f"{subject.strip()} (and {n - 1} more commit{'s' if n > 2 else ''})"
    body = "\n\n".join(f"Commit {i} of {n}: {m}" for i, m in enumerate(messages, 1))
    return title, body[:MAX_MESSAGES_CHARS]


def local_source(
    config: Config,
    diff: str | None,
    git: str | None,
    staged: bool,
    title: str,
    body: str,
    *,
    env: Mapping[str, str],
) -> Source:
    """A diff file, stdin, a git range or the index, with the repository's files when the
    diff comes from git; the commits' messages are the PR text of a range with none given."""
    from reviewbot.prompts import PullRequestText

    data = read_diff(diff, git, staged, env=env)
    if hint := not_a_diff_hint(data):
        raise UsageError(hint)
    # Decoded here and the bytes let go: a 50 MB diff is not held twice while it is parsed.
    text = data.decode("utf-8", errors="replace")
    del data
    contents = GitContents.for_range(git, staged, env) if diff is None else None
    if git is not None and contents is not None and not (title or body):
        title, body = commit_messages(*contents.sides, env=env)
    return Source(text, config, PullRequestText(title, body), repo=contents)


@dataclass(frozen=True, slots=True)
class Source:
    """What a review starts from: the diff, the settings, the PR's own words (untrusted), the
    files on each side (for scope context and the base's guidance), and files GitHub sent
    no patch for."""

    diff: str
    config: Config
    text: PullRequestText
    repo: RepoFiles | None = None
    missing: tuple[Skipped, ...] = ()
    notes: tuple[str, ...] = ()  # for stderr, e.g. "rebuilt from the files API"
    pull: tuple[GitHub, PullInfo] | None = None  # the pull request it is (agent mode's archive)

    def close(self) -> None:
        if isinstance(self.repo, GitContents):
            self.repo.close()

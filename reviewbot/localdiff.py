"""Where `reviewbot review` gets its diff: a file, stdin, `git diff RANGE` or the index, and a
clear hint when the input is not a unified diff (UTF-16, colours, word diffs)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from reviewbot.errors import UsageError

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


def read_diff(diff: str | None, git: str | None, staged: bool) -> bytes:
    """The diff bytes from exactly one source."""
    if staged:
        return _git(["--cached"], "git diff --cached")
    if git is not None:
        if git.startswith("-"):
            raise UsageError(f"--git takes a revision range, not an option: {git!r}")
        return _git([git], f"git diff {git}")
    if diff == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(str(diff)).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read diff {diff}: {exc.strerror}") from None


def _git(args: list[str], what: str) -> bytes:
    try:
        proc = subprocess.run([*GIT_DIFF, *args, "--"], capture_output=True, check=False)
    except FileNotFoundError:
        raise UsageError(
            "--git and --staged need the git command, which is not installed"
        ) from None
    if proc.returncode != 0:
        first = proc.stderr.decode(errors="replace").strip().splitlines()
        raise UsageError(f"{what} failed: {first[0] if first else 'no output'}")
    return proc.stdout


_WORD_DIFF = re.compile(rb"\[-.*?-\]|\{\+.*?\+\}")


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
    return None

"""Git, for eval: a case's diff and file texts from a local repository, and the commands the
miner runs. Every call names the repository (`git -C`), so cases from several repositories
run side by side in one process."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from reviewbot.errors import UsageError
from reviewbot.localdiff import GIT_DIFF


def git(repo: Path, args: Sequence[str], what: str = "") -> bytes:
    """`git -C repo ARGS`'s output; UsageError with git's first line when it fails."""
    try:
        proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    except FileNotFoundError:
        raise UsageError("reviewbot eval needs the git command, which is not installed") from None
    if proc.returncode != 0:
        first = proc.stderr.decode(errors="replace").strip().splitlines()
        raise UsageError(
            f"{what or 'git ' + args[0]} in {repo} failed: {first[0] if first else ''}"
        )
    return proc.stdout


def diff_args(*more: str) -> list[str]:
    """`git diff` with reviewbot's fixed settings (prefixes, no colour, no drivers) and `more`."""
    return [*GIT_DIFF[1:], *more]


def commit_diff(repo: Path, base: str, head: str) -> bytes:
    """The unified diff from `base` to `head`, as `reviewbot review --git base..head` reads it."""
    return git(repo, [*diff_args(base, head), "--"], f"git diff {base} {head}")

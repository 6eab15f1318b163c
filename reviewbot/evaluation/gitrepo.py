"""Git, for eval: a case's diff and file texts from a local repository, and the commands the
miner runs. Every call names the repository (`git -C`), so cases from several repositories
run side by side in one process."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from reviewbot.errors import UsageError
from reviewbot.localdiff import GIT_DIFF, MAX_FILE_BYTES


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


class RepoSnapshot:
    """File texts on each side of a case's diff (`RepoFiles` for the scope context), read with
    `git cat-file`; the guidance files from the base, like any review."""

    def __init__(self, repo: Path, base: str, head: str) -> None:
        self._repo = repo
        self._revs = {"LEFT": base, "RIGHT": head}

    def prefetch(self, wanted: object) -> list[str]:
        """Nothing to prefetch: files are read one by one, locally."""
        return []

    def text(self, path: str, side: str) -> str | None:
        """The file's text on `side`, or None (missing, binary, over 1 MB)."""
        spec = f"{self._revs[side]}:{path}"
        if "\n" in spec:
            return None
        proc = subprocess.run(
            ["git", "-C", str(self._repo), "cat-file", "blob", spec],
            capture_output=True,
            check=False,
        )
        data = proc.stdout
        if proc.returncode != 0 or len(data) > MAX_FILE_BYTES or b"\x00" in data[:8000]:
            return None
        return data.decode("utf-8", "replace")

    def guidance_texts(self) -> dict[str, str | None]:
        """The base's guidance files (never the reviewed change's own)."""
        from reviewbot.guidance import GENERAL_FILES, INSTRUCTIONS_DIR, instruction_file_names

        base = self._revs["LEFT"]
        proc = subprocess.run(
            ["git", "-C", str(self._repo), "ls-tree", "--name-only", f"{base}:{INSTRUCTIONS_DIR}"],
            capture_output=True,
            check=False,
        )
        listing = proc.stdout.decode(errors="replace").splitlines() if proc.returncode == 0 else []
        names = [*GENERAL_FILES, *instruction_file_names(listing)]
        return {name: self.text(name, "LEFT") for name in names}

"""One read-only snapshot of the reviewed code, for the agent's tools: the files of each side
(`head`, the reviewed revision; `base`, what it is compared with) as a listing and their bytes.

Where the bytes come from: a local repository's objects at a revision (`git ls-tree`, `git
cat-file --batch`; the index for `--staged`; the working tree only when it is what is
reviewed), or a tar archive (GitHub's tarball of the head commit) unpacked into a temporary
directory: size-capped, regular files only, no link, nothing outside. Nothing is executed.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from reviewbot.catfile import CatFile
from reviewbot.errors import ReviewbotError

HEAD, BASE = "head", "base"
FILE, LINK, SUBMODULE = "file", "link", "submodule"
MAX_ARCHIVE_BYTES = 512 * 1024 * 1024  # unpacked; a larger repository is no snapshot
MAX_ARCHIVE_FILES = 200_000
MAX_UNPACK_SECONDS = 60.0  # a review does not wait longer for its snapshot
MAX_FILE_BYTES = 4 * 1024 * 1024  # larger files are listed but not unpacked (not read)
BLOB_CACHE_BYTES = 64 * 1024 * 1024  # git blobs kept in memory for repeated greps
BINARY_PROBE = 8_000  # a NUL byte in a file's first bytes makes it binary


class SnapshotError(ReviewbotError):
    """The snapshot could not be made (no git, a broken or oversized archive)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One path of a side: a regular file (`size` bytes), a symbolic link or a submodule."""

    kind: str
    size: int = 0
    key: str = ""  # where the backend finds the bytes (a blob id, a file name, an offset)
    binary: bool | None = None  # None: not known before the bytes are read


@dataclass(frozen=True, slots=True)
class Pack:
    """A side's files end to end in one open file (`size` bytes): the text files' bytes are
    [start, end) of it, by path."""

    fd: int
    size: int
    spans: Mapping[str, tuple[int, int]]


class Backend(Protocol):
    def entries(self, side: str) -> Mapping[str, Entry] | None: ...

    def read(self, side: str, entry: Entry) -> bytes | None: ...

    def pack(self, side: str) -> Pack | None:
        """The side's pack file, if it has one (else: read file by file)."""

    def close(self) -> None: ...


class Snapshot:
    """The files of each side; `None` for a side the source does not have."""

    def __init__(self, backend: Backend, label: str) -> None:
        self._backend = backend
        self.label = label  # e.g. "git HEAD", "archive of abc1234", for the log
        self._dirs: dict[str, dict[str, dict[str, str]]] = {}
        self._files: dict[str, list[str]] = {}

    def entries(self, side: str) -> Mapping[str, Entry] | None:
        return self._backend.entries(side)

    def entry(self, side: str, path: str) -> Entry | None:
        files = self._backend.entries(side)
        return None if files is None else files.get(path)

    def read(self, side: str, path: str) -> bytes | None:
        """A regular file's bytes, or None (no such file, a link, too large, unreadable)."""
        entry = self.entry(side, path)
        if entry is None or entry.kind != FILE:
            return None
        return self._backend.read(side, entry)

    def files(self, side: str) -> list[str]:
        """The side's regular files, in path order (made once)."""
        if side not in self._files:
            found = self._backend.entries(side) or {}
            self._files[side] = sorted(p for p, e in found.items() if e.kind == FILE)
        return self._files[side]

    def pack(self, side: str) -> Pack | None:
        return self._backend.pack(side)

    def children(self, side: str, directory: str) -> dict[str, str] | None:
        """A directory's entries by name → kind ("dir", "file", "link", "submodule");
        None when `directory` is no directory ("" is the root)."""
        if side not in self._dirs:
            tree: dict[str, dict[str, str]] = {"": {}}
            for path, entry in (self._backend.entries(side) or {}).items():
                parent, _, name = path.rpartition("/")
                child, fresh = parent, parent not in tree
                while fresh:  # a new directory, and its new ancestors: each one once
                    up, _, base = child.rpartition("/")
                    fresh = up not in tree
                    tree.setdefault(child, {})
                    tree.setdefault(up, {})[base] = "dir"
                    child = up
                tree[parent][name] = entry.kind
            self._dirs[side] = tree
        return self._dirs[side].get(directory)

    def close(self) -> None:
        self._backend.close()


# Local git: objects at a revision, the index, or the working tree being reviewed.


class GitBackend:
    """Sides from a local repository: each a revision, ":" (the index) or None (the working
    tree, listed by `git ls-files`). One `git cat-file --batch` process reads every blob."""

    def __init__(
        self,
        revs: Mapping[str, str | None],
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._revs = dict(revs)
        self._cwd = cwd
        self._lists: dict[str, dict[str, Entry] | None] = {}
        self._env = dict(env) if env is not None else None
        self._objects = CatFile(cwd, self._env)
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cached = 0
        self._root: Path | None = None

    def entries(self, side: str) -> Mapping[str, Entry] | None:
        if side not in self._revs:
            return None
        if side not in self._lists:
            self._lists[side] = self._list(self._revs[side])
        return self._lists[side]

    def _list(self, rev: str | None) -> dict[str, Entry] | None:
        if rev is None:
            return self._worktree_list()
        if rev == ":":
            out = self._git(["ls-files", "-s", "-z"])
            rows = [r.split(b"\t", 1) for r in (out or b"").split(b"\0") if r]
            return {
                p.decode("utf-8", "replace"): _git_entry(m.split()[0], m.split()[1], None)
                for m, p in rows
            }
        out = self._git(["ls-tree", "-r", "-z", "--long", "--full-tree", rev])
        if out is None:
            return None
        found: dict[str, Entry] = {}
        for row in out.split(b"\0"):
            if not row:
                continue
            meta, path = row.split(b"\t", 1)
            mode, _kind, sha, size = meta.split()
            found[path.decode("utf-8", "replace")] = _git_entry(
                mode, sha, int(size) if size.isdigit() else 0
            )
        return found

    def _worktree_list(self) -> dict[str, Entry] | None:
        top = self._git(["rev-parse", "--show-toplevel"])
        if top is None:
            return None
        self._root = Path(top.decode().strip())
        out = self._git(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        found: dict[str, Entry] = {}
        for raw in (out or b"").split(b"\0"):
            path = raw.decode("utf-8", "replace")
            if not raw or path in found:
                continue
            try:
                st = os.lstat(self._root / path)
            except OSError:
                continue  # deleted in the working tree
            if stat.S_ISLNK(st.st_mode):
                found[path] = Entry(LINK)
            elif stat.S_ISREG(st.st_mode):
                found[path] = Entry(FILE, st.st_size, path)
        return found

    def read(self, side: str, entry: Entry) -> bytes | None:
        if entry.size > MAX_FILE_BYTES:
            return None
        if self._revs.get(side) is None:
            assert self._root is not None
            return _read_no_follow(self._root, entry.key)
        if entry.key in self._cache:
            self._cache.move_to_end(entry.key)
            return self._cache[entry.key]
        data = self._blob(entry.key)
        if data is not None:
            self._cache[entry.key] = data
            self._cached += len(data)
            while self._cached > BLOB_CACHE_BYTES:
                _, old = self._cache.popitem(last=False)
                self._cached -= len(old)
        return data

    def _blob(self, sha: str) -> bytes | None:
        # The index lists no sizes (`--staged`): the cap holds here too.
        return self._objects.blob(sha, MAX_FILE_BYTES)

    def pack(self, side: str) -> Pack | None:
        return None  # blobs come one by one from `git cat-file`

    def _git(self, args: list[str]) -> bytes | None:
        try:
            proc = subprocess.run(
                ["git", *args], capture_output=True, check=False, cwd=self._cwd, env=self._env
            )
        except OSError:
            return None
        return proc.stdout if proc.returncode == 0 else None

    def close(self) -> None:
        self._objects.close()
        self._cache.clear()


def _git_entry(mode: bytes, sha: bytes, size: int | None) -> Entry:
    if mode == b"120000":
        return Entry(LINK)
    if mode == b"160000":
        return Entry(SUBMODULE)
    return Entry(FILE, size or 0, sha.decode())


def git_snapshot(
    base: str | None,
    head: str | None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Snapshot:
    """The repository's files at `head` (None: the working tree; ":": the index) and `base`;
    git runs in `cwd` with `env` (None: this process's)."""
    revs: dict[str, str | None] = {HEAD: head}
    if base is not None:
        revs[BASE] = base
    backend = GitBackend(revs, cwd, env)
    if backend.entries(HEAD) is None:
        backend.close()
        raise SnapshotError(f"cannot list the files of {head or 'the working tree'} with git")
    return Snapshot(backend, f"git {head or 'working tree'}")


# A tar archive (GitHub's tarball of the head commit), unpacked into a temporary directory.


def tar_snapshot(
    archive: IO[bytes] | bytes | Path,
    max_bytes: int = MAX_ARCHIVE_BYTES,
    max_files: int = MAX_ARCHIVE_FILES,
    workdir: Path | None = None,
    seconds: float = MAX_UNPACK_SECONDS,
) -> Snapshot:
    """The head side from a (gzipped) tar archive, read once as a stream (never whole in
    memory) into a new temporary directory (see `archive.py`). Raises SnapshotError when the
    archive is broken, over `max_bytes` unpacked (files kept) or twice that in all (files
    too large to keep are read through too), over `max_files`, or takes over `seconds`."""
    from reviewbot.agent.archive import unpack  # imported here: it builds on this module

    return unpack(archive, max_bytes, max_files, workdir, seconds)


def _read_no_follow(root: Path, name: str) -> bytes | None:
    """A regular file under `root`, opened without following a link at its last component."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(root / name, flags)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE_BYTES:
            return None
        return f.read(MAX_FILE_BYTES + 1)[:MAX_FILE_BYTES]

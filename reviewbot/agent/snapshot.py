"""One read-only snapshot of the reviewed code, for the agent's tools: the files of each side
(`head`, the reviewed revision; `base`, what it is compared with) as a listing and their bytes.

Where the bytes come from: a local repository's objects at a revision (`git ls-tree`, `git
cat-file --batch`; the index for `--staged`; the working tree only when it is what is
reviewed), or a tar archive (GitHub's tarball of the head commit) unpacked into a temporary
directory: size-capped, regular files only, no link, nothing outside. Nothing is executed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Protocol

from reviewbot.errors import ReviewbotError

HEAD, BASE = "head", "base"
FILE, LINK, SUBMODULE = "file", "link", "submodule"
MAX_ARCHIVE_BYTES = 512 * 1024 * 1024  # unpacked; a larger repository is no snapshot
MAX_ARCHIVE_FILES = 200_000
MAX_FILE_BYTES = 4 * 1024 * 1024  # larger files are listed but not unpacked (not read)
BLOB_CACHE_BYTES = 64 * 1024 * 1024  # git blobs kept in memory for repeated greps


class SnapshotError(ReviewbotError):
    """The snapshot could not be made (no git, a broken or oversized archive)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One path of a side: a regular file (`size` bytes), a symbolic link or a submodule."""

    kind: str
    size: int = 0
    key: str = ""  # where the backend finds the bytes (a blob id, a file name)


class Backend(Protocol):
    def entries(self, side: str) -> Mapping[str, Entry] | None: ...

    def read(self, side: str, entry: Entry) -> bytes | None: ...

    def close(self) -> None: ...


class Snapshot:
    """The files of each side; `None` for a side the source does not have."""

    def __init__(self, backend: Backend, label: str) -> None:
        self._backend = backend
        self.label = label  # e.g. "git HEAD", "archive of abc1234", for the log
        self._dirs: dict[str, dict[str, dict[str, str]]] = {}

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

    def children(self, side: str, directory: str) -> dict[str, str] | None:
        """A directory's entries by name → kind ("dir", "file", "link", "submodule");
        None when `directory` is no directory ("" is the root)."""
        if side not in self._dirs:
            tree: dict[str, dict[str, str]] = {"": {}}
            for path, entry in (self._backend.entries(side) or {}).items():
                parts = path.split("/")
                for i in range(len(parts) - 1):
                    parent, name = "/".join(parts[:i]), parts[i]
                    tree.setdefault(parent, {})[name] = "dir"
                    tree.setdefault("/".join(parts[: i + 1]), {})
                tree.setdefault("/".join(parts[:-1]), {})[parts[-1]] = entry.kind
            self._dirs[side] = tree
        return self._dirs[side].get(directory)

    def close(self) -> None:
        self._backend.close()


# Local git: objects at a revision, the index, or the working tree being reviewed.


class GitBackend:
    """Sides from a local repository: each a revision, ":" (the index) or None (the working
    tree, listed by `git ls-files`). One `git cat-file --batch` process reads every blob."""

    def __init__(self, revs: Mapping[str, str | None], cwd: Path | None = None) -> None:
        self._revs = dict(revs)
        self._cwd = cwd
        self._lists: dict[str, dict[str, Entry] | None] = {}
        self._proc: subprocess.Popen[bytes] | None = None
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
            if _is_link(st.st_mode):
                found[path] = Entry(LINK)
            elif _is_file(st.st_mode):
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
        if self._proc is None:
            try:
                self._proc = subprocess.Popen(
                    ["git", "cat-file", "--batch"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    cwd=self._cwd,
                )
            except OSError:
                return None
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(sha.encode() + b"\n")
        self._proc.stdin.flush()
        header = self._proc.stdout.readline().split()
        if len(header) != 3:
            return None
        data = self._proc.stdout.read(int(header[2]))
        self._proc.stdout.read(1)
        return data if header[1] == b"blob" else None

    def _git(self, args: list[str]) -> bytes | None:
        try:
            proc = subprocess.run(["git", *args], capture_output=True, check=False, cwd=self._cwd)
        except OSError:
            return None
        return proc.stdout if proc.returncode == 0 else None

    def close(self) -> None:
        if self._proc is not None:
            assert self._proc.stdin is not None and self._proc.stdout is not None
            self._proc.stdin.close()
            self._proc.wait(timeout=5)
            self._proc.stdout.close()
            self._proc = None
        self._cache.clear()


def _git_entry(mode: bytes, sha: bytes, size: int | None) -> Entry:
    if mode == b"120000":
        return Entry(LINK)
    if mode == b"160000":
        return Entry(SUBMODULE)
    return Entry(FILE, size or 0, sha.decode())


def git_snapshot(base: str | None, head: str | None, cwd: Path | None = None) -> Snapshot:
    """The repository's files at `head` (None: the working tree; ":": the index) and `base`."""
    revs: dict[str, str | None] = {HEAD: head}
    if base is not None:
        revs[BASE] = base
    backend = GitBackend(revs, cwd)
    if backend.entries(HEAD) is None:
        backend.close()
        raise SnapshotError(f"cannot list the files of {head or 'the working tree'} with git")
    return Snapshot(backend, f"git {head or 'working tree'}")


# A tar archive (GitHub's tarball of the head commit), unpacked into a temporary directory.


class PackBackend:
    """The head side only: the archive's regular files, one after another in a single pack
    file in a temporary directory (deleted on close), found by offset. No member name ever
    becomes a path on disk, so no name can reach outside, and one file is quick to write."""

    def __init__(self, root: Path, files: dict[str, Entry]) -> None:
        self._root = root
        self._files = files
        self._fd: int | None = os.open(root / "pack", os.O_RDONLY)

    def entries(self, side: str) -> Mapping[str, Entry] | None:
        return self._files if side == HEAD else None

    def read(self, side: str, entry: Entry) -> bytes | None:
        if side != HEAD or not entry.key or self._fd is None or entry.size > MAX_FILE_BYTES:
            return None
        return os.pread(self._fd, entry.size, int(entry.key))

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        shutil.rmtree(self._root, ignore_errors=True)


def tar_snapshot(
    archive: IO[bytes] | bytes | Path,
    max_bytes: int = MAX_ARCHIVE_BYTES,
    max_files: int = MAX_ARCHIVE_FILES,
    workdir: Path | None = None,
) -> Snapshot:
    """The head side from a (gzipped) tar archive, read once as a stream (never whole in
    memory) into a new temporary directory. GitHub's single top directory (`owner-repo-sha7/`)
    is dropped.

    Only regular files are kept; links are listed as links (never followed), devices and the
    like left out, and a member whose name is absolute or holds `..` is left out. Raises
    SnapshotError when the archive is broken or over `max_bytes` unpacked or `max_files`."""
    root = Path(tempfile.mkdtemp(prefix="reviewbot-snapshot-", dir=workdir))
    try:
        files = _unpack(archive, root / "pack", max_bytes, max_files)
        return Snapshot(PackBackend(root, files), "archive")
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise


def _unpack(
    archive: IO[bytes] | bytes | Path, pack: Path, max_bytes: int, max_files: int
) -> dict[str, Entry]:
    import io

    if isinstance(archive, bytes):
        stream: IO[bytes] = io.BytesIO(archive)
    elif isinstance(archive, Path):
        stream = archive.open("rb")
    else:
        stream = archive
    files: dict[str, Entry] = {}
    total = 0
    try:
        # "r|*": one pass over a stream; the pack is written as the archive is read.
        with tarfile.open(fileobj=stream, mode="r|*") as tar, open(pack, "xb") as out:
            for n, member in enumerate(_members(tar)):
                if n >= max_files:
                    raise SnapshotError(f"the archive holds more than {max_files:,} entries")
                path = _strip_top(member.name)
                if path is None:
                    continue
                if member.issym() or member.islnk():
                    files[path] = Entry(LINK)
                    continue
                if not member.isfile():
                    continue  # directories are implied; devices and fifos are no source
                if member.size > MAX_FILE_BYTES:
                    files[path] = Entry(FILE, member.size)  # listed, never read
                    continue
                total += member.size
                if total > max_bytes:
                    raise SnapshotError(
                        f"the archive unpacks to more than {max_bytes // (1024 * 1024)} MB"
                    )
                source = tar.extractfile(member)
                if source is None:
                    continue
                offset = out.tell()
                with source:
                    shutil.copyfileobj(source, out, 1024 * 1024)
                files[path] = Entry(FILE, out.tell() - offset, str(offset))
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise SnapshotError(f"the archive cannot be read ({type(exc).__name__})") from None
    finally:
        if isinstance(archive, bytes | Path):
            stream.close()
    return files


def _members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    member = tar.next()
    while member is not None:
        yield member
        member = tar.next()
        # A stream is read once: tarfile would keep every TarInfo; drop them as we go.
        tar.members = []  # type: ignore[attr-defined]


def _strip_top(name: str) -> str | None:
    """The member's path below GitHub's one top directory, normalised; None: left out."""
    if name.startswith("/"):
        return None
    parts = [p for p in PurePosixPath(name).parts if p not in ("", ".")]
    if len(parts) < 2 or ".." in parts or parts[0] == "pax_global_header":
        return None
    return "/".join(parts[1:])


def _read_no_follow(root: Path, name: str) -> bytes | None:
    """A regular file under `root`, opened without following a link at its last component."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(root / name, flags)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not _is_file(st.st_mode) or st.st_size > MAX_FILE_BYTES:
            return None
        return f.read(MAX_FILE_BYTES + 1)[:MAX_FILE_BYTES]


def _is_file(mode: int) -> bool:
    import stat

    return stat.S_ISREG(mode)


def _is_link(mode: int) -> bool:
    import stat

    return stat.S_ISLNK(mode)

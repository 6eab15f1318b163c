"""A snapshot from a tar archive (GitHub's tarball of the head commit), read once as a stream
(never whole in memory) into one pack file in a new temporary directory, deleted on close.

Only regular files are kept; links are listed as links (never followed), devices and the like
left out, and a member whose name is absolute or holds `..` is left out. No member name ever
becomes a path on disk, so no name can reach outside. The pack holds the text files in path
order (rewritten so when the archive did not list them so), for a search to read it in one
pass; each file is judged binary or not once, as it is unpacked.
"""

from __future__ import annotations

import io
import itertools
import os
import shutil
import tarfile
import tempfile
import time
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from reviewbot.agent.snapshot import (
    BINARY_PROBE,
    FILE,
    HEAD,
    LINK,
    MAX_FILE_BYTES,
    Entry,
    Pack,
    Snapshot,
    SnapshotError,
)


def unpack(
    archive: IO[bytes] | bytes | Path,
    max_bytes: int,
    max_files: int,
    workdir: Path | None,
    seconds: float = 60.0,
) -> Snapshot:
    """The head side from the archive (see `snapshot.tar_snapshot`). GitHub's single top
    directory (`owner-repo-sha7/`) is dropped."""
    root = Path(tempfile.mkdtemp(prefix="reviewbot-snapshot-", dir=workdir))
    try:
        files = _unpack(archive, root / "pack", max_bytes, max_files, seconds)
        snapshot = Snapshot(PackBackend(root, _in_path_order(root, files)), "archive")
        snapshot.files(HEAD)  # the listing in path order and the directory tree, made now,
        snapshot.children(HEAD, "")  # with the preparation, not in the model's first calls
        return snapshot
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise


class PackBackend:
    """The head side only: the archive's regular files, one after another in a single pack
    file in a temporary directory (deleted on close), found by offset. No member name ever
    becomes a path on disk, so no name can reach outside, and one file is quick to write."""

    def __init__(self, root: Path, files: dict[str, Entry]) -> None:
        self._root = root
        self._files = files
        self._fd: int | None = os.open(root / "pack", os.O_RDONLY)
        spans = {
            path: (int(e.key), int(e.key) + e.size)
            for path, e in files.items()
            if e.kind == FILE and e.key and e.size and not e.binary
        }
        self._pack = Pack(self._fd, os.fstat(self._fd).st_size, spans)

    def entries(self, side: str) -> Mapping[str, Entry] | None:
        return self._files if side == HEAD else None

    def read(self, side: str, entry: Entry) -> bytes | None:
        if side != HEAD or not entry.key or self._fd is None or entry.size > MAX_FILE_BYTES:
            return None
        return os.pread(self._fd, entry.size, int(entry.key))

    def pack(self, side: str) -> Pack | None:
        return self._pack if side == HEAD and self._fd is not None else None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        shutil.rmtree(self._root, ignore_errors=True)


class _Inflated(io.RawIOBase):
    """The archive's tar bytes, inflated here (gzip, or a plain tar), so that every byte
    tarfile reads is counted, the bytes of members it skips too, and the time watched: a
    small archive of one huge or many repeated large files cannot keep a review unpacking."""

    def __init__(self, raw: IO[bytes], limit: int, seconds: float) -> None:
        self._raw = raw
        self._limit = limit
        self._seconds = seconds
        self._deadline = time.monotonic() + seconds
        self._inflate: Any = None  # a zlib decompressor once the stream is known as gzip
        self._pending = b""
        self._first = True
        self._done = False
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            if not self._fill():
                return 0
        view = memoryview(buffer).cast("B")
        n = min(len(view), len(self._pending))
        view[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        self.read_bytes += n
        if self.read_bytes > self._limit:
            raise SnapshotError(
                f"the archive holds more than {self._limit // (1024 * 1024)} MB in all"
            )
        if time.monotonic() > self._deadline:
            raise SnapshotError(f"unpacking the archive took over {self._seconds:.0f} s")
        return n

    def _fill(self) -> bool:
        """The next inflated piece (1 MB at most, so a bomb is counted as it grows); False at
        the end of the stream. A gzip stream that stops before its end is an error: tarfile
        would take the cut for the archive's end, and files would be missing unsaid."""
        if self._done:
            return False
        if time.monotonic() > self._deadline:
            raise SnapshotError(f"unpacking the archive took over {self._seconds:.0f} s")
        if self._inflate is not None and self._inflate.unconsumed_tail:
            self._pending = self._inflate.decompress(self._inflate.unconsumed_tail, 1 << 20)
            return True
        chunk = self._raw.read(1 << 16)
        if self._first:
            self._first = False
            while chunk and len(chunk) < 6:  # enough to know the format, however it trickles
                more = self._raw.read(1 << 16)
                if not more:
                    break
                chunk += more
            if chunk[:2] == b"\x1f\x8b":  # gzip, as GitHub sends it
                self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
            elif chunk[:3] == b"BZh" or chunk[:6] == b"\xfd7zXZ\x00":
                raise SnapshotError("the archive is neither gzip nor tar")
        if self._inflate is None:
            self._pending = chunk
            self._done = not chunk
            return bool(chunk)
        if self._inflate.eof or not chunk:  # what follows the gzip stream is no tar
            if not self._inflate.eof:
                raise SnapshotError("the archive is cut short (the download was incomplete)")
            self._done = True
            self._pending = self._inflate.flush()
            return bool(self._pending)
        self._pending = self._inflate.decompress(chunk, 1 << 20)
        return True


def _unpack(
    archive: IO[bytes] | bytes | Path,
    pack: Path,
    max_bytes: int,
    max_files: int,
    seconds: float = 60.0,
) -> dict[str, Entry]:
    if isinstance(archive, bytes):
        stream: IO[bytes] = io.BytesIO(archive)
    elif isinstance(archive, Path):
        stream = archive.open("rb")
    else:
        stream = archive
    files: dict[str, Entry] = {}
    total = 0
    try:
        # "r|": one pass over the inflated stream; the pack is written as the archive is read.
        inflated = io.BufferedReader(_Inflated(stream, 2 * max_bytes, seconds), 1 << 16)
        with tarfile.open(fileobj=inflated, mode="r|") as tar, open(pack, "xb") as out:
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
                    head = source.read(member.size)  # at most MAX_FILE_BYTES
                out.write(head)
                # Judged once, here: searches skip it without reading it.
                binary = b"\x00" in head[:BINARY_PROBE]
                files[path] = Entry(FILE, out.tell() - offset, str(offset), binary)
    except (tarfile.TarError, EOFError, OSError, ValueError, zlib.error) as exc:
        raise SnapshotError(f"the archive cannot be read ({type(exc).__name__})") from None
    except MemoryError:  # a header that declares a huge name (GitHub never writes one)
        raise SnapshotError("the archive cannot be read (a header too large)") from None
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
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if len(parts) < 2 or ".." in parts or parts[0] == "pax_global_header":
        return None
    return "/".join(parts[1:])


def _in_path_order(root: Path, files: dict[str, Entry]) -> dict[str, Entry]:
    """The files, with the pack rewritten when its text files are not in path order (texts in
    path order, then binaries): a search then reads one run of bytes, not a file at a time."""
    stored = sorted((p, e) for p, e in files.items() if e.key)
    offsets = [int(e.key) for _, e in stored if not e.binary]
    if all(a < b for a, b in itertools.pairwise(offsets)):
        return files
    moved = dict(files)
    src = os.open(root / "pack", os.O_RDONLY)
    dst = os.open(root / "sorted", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        at, kernel = 0, True
        for path, entry in sorted(stored, key=lambda pe: bool(pe[1].binary)):  # stable
            moved[path] = Entry(FILE, entry.size, str(at), entry.binary)
            kernel = _copy(src, dst, int(entry.key), entry.size, kernel)
            at += entry.size
    finally:
        os.close(src)
        os.close(dst)
    os.replace(root / "sorted", root / "pack")
    return moved


def _copy(src: int, dst: int, offset: int, size: int, kernel: bool) -> bool:
    """`size` bytes of `src` from `offset`, appended to `dst`: in the kernel where it can (the
    answer: whether it still may try), else through a buffer."""
    while size > 0:
        done = 0
        if kernel:
            try:
                done = os.copy_file_range(src, dst, size, offset)
            except (AttributeError, OSError):
                kernel = False  # no such call here, or not between these files
        if done <= 0:
            data = os.pread(src, min(size, 1024 * 1024), offset)
            if not data:
                raise SnapshotError("the archive's pack file is shorter than its listing")
            done = os.write(dst, data)
        offset += done
        size -= done
    return kernel

"""One `git cat-file --batch` process that reads objects by name, one after another (the local
review's file contents, agent mode's snapshot of a revision)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

_HEADER = re.compile(rb"[0-9a-f]{40}(?:[0-9a-f]{24})? (?P<type>[a-z]+) (?P<size>\d+)")


class CatFile:
    """Blobs from the repository at `cwd` (started on first use; `close()` ends it)."""

    def __init__(self, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> None:
        self._cwd = cwd
        self._env = env
        self._proc: subprocess.Popen[bytes] | None = None

    def blob(self, spec: str, max_size: int | None = None) -> bytes | None:
        """The blob `spec` names (`REV:path`, `:path`, an object id), or None: missing, not a
        blob, over `max_size` bytes (read through, never kept), or no git."""
        if "\n" in spec:
            return None
        if self._proc is None:
            try:
                self._proc = subprocess.Popen(
                    ["git", "cat-file", "--batch"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    cwd=self._cwd,
                    env=self._env,
                )
            except OSError:
                return None
        proc = self._proc
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(spec.encode() + b"\n")
            proc.stdin.flush()
        except OSError:  # git is gone (BrokenPipeError): no file from it
            return None
        # "<oid> <type> <size>" and the object follow; anything else ("<spec> missing",
        # "<spec> ambiguous", where the spec may hold spaces) is one line and no object.
        found = _HEADER.fullmatch(proc.stdout.readline().rstrip(b"\n"))
        if found is None:
            return None
        size = int(found["size"])
        if max_size is not None and size > max_size:
            while size > 0:  # read through, a piece at a time
                size -= len(proc.stdout.read(min(size, 1 << 20))) or size
            proc.stdout.read(1)
            return None
        data = proc.stdout.read(size)
        proc.stdout.read(1)  # the newline after the object
        return data if found["type"] == b"blob" else None

    def close(self) -> None:
        if self._proc is not None:
            if self._proc.stdin is not None:
                self._proc.stdin.close()
            self._proc.wait(timeout=5)
            if self._proc.stdout is not None:
                self._proc.stdout.close()
            self._proc = None

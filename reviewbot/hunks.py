"""The hunks of one file's part of a git diff, read straight into reviewbot's own values.

unidiff builds a parser object per line (with its own copy of the text) before reviewbot
converts it: ~600 bytes a line, so a single 50 MB file's diff peaked near 500 MB. This reader
keeps the same rules as unidiff's hunk parser (its line kinds, counts and error texts) and
makes one `DiffLine` per line, one slice of the text each. Anything between hunks that is not
a hunk header, a "no newline" marker or an empty line gives up (None), so the caller parses
that section with unidiff as before: odd input keeps exactly the old behaviour.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from reviewbot.errors import DiffError

if TYPE_CHECKING:
    from reviewbot.diff import Hunk

# unidiff's RE_HUNK_HEADER
HUNK_HEADER = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@[ ]?(.*)")
NO_NEWLINE = "\\ No newline at end of file"


def read_hunks(text: str, pos: int, first_line: int) -> tuple[Hunk, ...] | None:
    """The hunks from `pos` (the start of the first hunk header) to the end of `text`, whose
    line `first_line` is at `pos`; raises DiffError as unidiff would, with the line number."""
    from reviewbot.diff import DiffLine, Hunk

    hunks: list[Hunk] = []
    end_of_text = len(text)
    line_no = first_line - 1
    while pos < end_of_text:
        end = text.find("\n", pos)
        end = end_of_text if end < 0 else end
        line_no += 1
        m = HUNK_HEADER.match(text, pos, end)
        if m is None:
            if text.startswith(NO_NEWLINE, pos) or end == pos:
                pos = end + 1  # a marker after a full hunk, or an empty line: nothing to keep
                continue
            return None  # something unidiff reads as a new file or patch text
        old_start, old_len = int(m[1]), 1 if m[2] is None else int(m[2])
        new_start, new_len = int(m[3]), 1 if m[4] is None else int(m[4])
        old, new = old_start, new_start
        old_end, new_end = old + old_len, new + new_len
        lines: list[DiffLine] = []
        pos = end + 1
        while True:
            if pos >= end_of_text:
                if old < old_end or new < new_end:
                    raise DiffError(
                        f"malformed diff at line {line_no}: Hunk is shorter than expected"
                    )
                break  # an empty hunk (-1,0 +1,0) at the end, as unidiff takes it
            end = text.find("\n", pos)
            end = end_of_text if end < 0 else end
            line_no += 1
            kind = text[pos] if end > pos else ""
            if kind == "+":
                lines.append(DiffLine("+", None, new, text[pos + 1 : end].removesuffix("\r")))
                new += 1
            elif kind == "-":
                lines.append(DiffLine("-", old, None, text[pos + 1 : end].removesuffix("\r")))
                old += 1
            elif kind == " ":
                lines.append(DiffLine(" ", old, new, text[pos + 1 : end].removesuffix("\r")))
                old, new = old + 1, new + 1
            elif kind in ("", "\r"):  # unidiff: a line starting with a line end is empty context
                lines.append(DiffLine(" ", old, new, ""))
                old, new = old + 1, new + 1
            elif kind != "\\":
                detail = f"Hunk diff line expected: {text[pos : min(end, pos + 400)]}"
                raise DiffError(f"malformed diff at line {line_no}: {detail.strip()[:200]}")
            pos = end + 1
            if old > old_end or new > new_end:
                raise DiffError(f"malformed diff at line {line_no}: Hunk is longer than expected")
            if old == old_end and new == new_end:
                break
        header = m[5].strip()
        hunks.append(Hunk(len(hunks), old_start, old_len, new_start, new_len, header, tuple(lines)))
    return tuple(hunks)

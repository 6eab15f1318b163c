"""The agent's read-only tools over one snapshot: read_file, grep (fixed strings: no regex
engine ever sees a model-chosen pattern), list_dir and find_symbol (definitions from the
tree-sitter support of scope context, references by word match).

Every answer is capped in lines and bytes and fenced as untrusted data (the repository's files
are written by the change's author, like the diff); a refusal is one short line."""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reviewbot.agent.paths import Refused, clean_path, compile_glob, show
from reviewbot.agent.search import Selection, Tally, lines_holding, select
from reviewbot.agent.snapshot import BASE, BINARY_PROBE, FILE, HEAD, LINK, MAX_FILE_BYTES, Snapshot
from reviewbot.agent.symbols import IDENT, Definitions, warm_parsers, word_at
from reviewbot.model import Tool
from reviewbot.scopes import ScopeFinder

logger = logging.getLogger(__name__)

MAX_PATTERN = 200
GLOBS_KEPT = 16  # the files of the last globs asked for, kept for the next call


@dataclass(frozen=True, slots=True)
class Limits:
    """What one tool answer may hold."""

    result_bytes: int = 3_000
    read_lines: int = 400
    grep_hits: int = 80
    list_entries: int = 300
    symbol_files: int = 40  # files parsed by find_symbol
    symbol_seconds: float = 0.025  # no file's parse begins later in the call than this
    symbol_lines: int = 2_000  # lines holding the name (maybe in longer words) looked at
    line_chars: int = 400  # a longer line is cut (minified code)


def _schema(properties: dict[str, Any]) -> dict[str, Any]:
    """A strict function schema: every property required, no others."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


_SIDE = {
    "type": "string",
    "enum": [HEAD, BASE],
    "description": "head: the reviewed revision; base: what it is compared with",
}
TOOLS = (
    Tool(
        "read_file",
        "Read lines of a file of the reviewed code (numbered). Paths are relative to the "
        "repository root.",
        _schema(
            {
                "path": {"type": "string"},
                "start_line": {"type": "integer", "description": "first line, from 1"},
                "end_line": {"type": "integer", "description": "last line (inclusive)"},
                "side": _SIDE,
            }
        ),
    ),
    Tool(
        "grep",
        "Find lines containing a literal string (not a regular expression; case-sensitive) "
        "in the reviewed revision; answers `path:line: text`.",
        _schema(
            {
                "pattern": {"type": "string", "description": "the literal text to find"},
                "path_glob": {
                    "type": ["string", "null"],
                    "description": "only files matching this glob (`*.py`, `src/**`); null: all",
                },
            }
        ),
    ),
    Tool(
        "list_dir",
        "List a directory of the reviewed revision ('' or '.' is the repository root).",
        _schema({"path": {"type": "string"}}),
    ),
    Tool(
        "find_symbol",
        "Where a function, class or other name is defined, and the lines that mention it "
        "(word matches), in the reviewed revision.",
        _schema({"name": {"type": "string", "description": "an identifier, e.g. parse_config"}}),
    ),
)
TOOL_NAMES = tuple(t.name for t in TOOLS)


class Tools:
    """Answers the model's tool calls from `snapshot`; `fence` makes each answer's nonce."""

    def __init__(
        self,
        snapshot: Snapshot,
        limits: Limits | None = None,
        fence: Callable[[], str] = lambda: secrets.token_hex(10),
    ) -> None:
        self.snapshot = snapshot
        self.limits = limits or Limits()
        self._fence = fence
        self.latencies: list[float] = []
        self._selected: dict[str | None, Selection] = {}
        self._started = time.monotonic()
        self._parsed: dict[str, ScopeFinder] = {}  # find_symbol's parsed files, kept
        if snapshot.pack(HEAD) is not None:  # a large snapshot, maybe: prepared now
            self._selection(None)  # a few ms, not in the model's first search
            warm_parsers(snapshot.files(HEAD))

    def call(self, name: str, arguments: str) -> str:
        """The text the model gets back for one call (never raises on bad input)."""
        start = time.perf_counter()
        self._started = time.monotonic()  # scope context's clock, for find_symbol's deadline
        try:
            args = json.loads(arguments or "{}")
        except (ValueError, RecursionError):  # a 5,000-digit number too
            return "error: the arguments are not valid JSON"
        if not isinstance(args, dict):
            return "error: the arguments must be a JSON object"
        handler = {
            "read_file": self._read_file,
            "grep": self._grep,
            "list_dir": self._list_dir,
            "find_symbol": self._find_symbol,
        }.get(name)
        if handler is None:
            return f"error: no tool named {show(name, 40)} (tools: {', '.join(TOOL_NAMES)})"
        try:
            got = handler(args)
        except (ValueError, OSError, UnicodeError, RecursionError, MemoryError) as exc:
            # One odd call must never end the review: the model reads that it failed.
            logger.warning("agent tool %s failed: %s", name, type(exc).__name__)
            return f"error: {name} failed on these arguments ({type(exc).__name__})"
        finally:
            self.latencies.append(time.perf_counter() - start)
        if isinstance(got, Refused):
            return f"error: {got.why}"
        return self._wrap(got)

    def _wrap(self, text: str) -> str:
        """Capped to the byte budget (at a line end) and fenced as untrusted data."""
        limit = self.limits.result_bytes
        data = text.encode("utf-8", "replace")
        if len(data) > limit:
            cut = data[:limit].decode("utf-8", "ignore")
            cut = cut[: cut.rfind("\n") + 1] or cut
            rest = text[len(cut) :].count("\n")
            text = f"{cut}[cut at {limit:,} bytes: {rest:,} more lines; ask for fewer]\n"
        nonce = self._fence()
        return (
            f"<<<BEGIN UNTRUSTED DATA {nonce}>>>\n{text.rstrip(chr(10))}\n"
            f"<<<END UNTRUSTED DATA {nonce}>>>"
        )

    # The tools.

    def _side(self, raw: object) -> str | Refused:
        side = HEAD if raw in (None, "") else raw
        if side not in (HEAD, BASE):
            return Refused("side must be head or base")
        if self.snapshot.entries(str(side)) is None:
            return Refused(f"the {side} side is not available in this snapshot")
        return str(side)

    def _file(self, path: str, side: str) -> bytes | Refused:
        entry = self.snapshot.entry(side, path)
        if entry is None:
            if self.snapshot.children(side, path) is not None:
                return Refused(f"{show(path)} is a directory: use list_dir")
            if through := self._link_on_the_way(side, path):
                return Refused(f"{show(through)} is a symbolic link: links are not followed")
            return Refused(f"no file {show(path)} on the {side} side")
        if entry.kind == LINK:
            return Refused(f"{show(path)} is a symbolic link: links are not followed")
        if entry.kind != FILE:
            return Refused(f"{show(path)} is a {entry.kind}, not a file")
        data = self.snapshot.read(side, path)
        if data is None:
            return Refused(f"{show(path)} is too large or unreadable ({entry.size:,} bytes)")
        if b"\x00" in data[:BINARY_PROBE]:
            return Refused(f"{show(path)} is a binary file")
        return data

    def _link_on_the_way(self, side: str, path: str) -> str | None:
        parts = path.split("/")
        for i in range(1, len(parts)):
            prefix = "/".join(parts[:i])
            entry = self.snapshot.entry(side, prefix)
            if entry is not None and entry.kind == LINK:
                return prefix
        return None

    def _read_file(self, args: dict[str, Any]) -> str | Refused:
        side = self._side(args.get("side"))
        path = clean_path(args.get("path"))
        if isinstance(side, Refused) or isinstance(path, Refused):
            return side if isinstance(side, Refused) else path
        data = self._file(path, side)
        if isinstance(data, Refused):
            return data
        lines = data.decode("utf-8", "replace").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        start, end = args.get("start_line"), args.get("end_line")
        start = start if isinstance(start, int) and start >= 1 else 1
        end = end if isinstance(end, int) and end >= start else start + self.limits.read_lines - 1
        if start > max(len(lines), 1):
            return Refused(f"{show(path)} has {len(lines)} lines; start_line {start} is past it")
        last = min(end, len(lines), start + self.limits.read_lines - 1)
        width = len(str(last))
        rows: list[str] = []
        room = self.limits.result_bytes - 300  # the header, the note and the fence
        for n in range(start, last + 1):
            row = f"{n:>{width}}| {self._cut(lines[n - 1])}"
            room -= len(row.encode("utf-8", "replace")) + 1
            if room < 0 and rows:
                last = n - 1
                break
            rows.append(row)
        body = "\n".join(rows)
        more = ""
        if last < min(end, len(lines)):
            cap = f"{self.limits.read_lines} lines or {self.limits.result_bytes:,} bytes"
            more = f"\n[at most {cap} a call: ask from line {last + 1}]"
        head = f"{path} ({side}), lines {start}-{last} of {len(lines)}"
        return f"{head}\n{body}{more}"

    def _cut(self, line: str) -> str:
        line = line.removesuffix("\r")
        n = self.limits.line_chars
        return line if len(line) <= n else line[:n] + f"… [{len(line) - n:,} more characters]"

    def _selection(self, glob: str | None) -> Selection | Refused:
        """The head side's files that `glob` selects (all: None), planned for a search; the
        last few are kept, as the model often asks again with another pattern."""
        if glob not in self._selected:
            files = self.snapshot.files(HEAD)
            if glob is not None:
                compiled = compile_glob(glob)
                if isinstance(compiled, Refused):
                    return compiled
                chosen = compiled.walk(lambda d: self.snapshot.children(HEAD, d))
                files = [p for p in files if p in chosen]
            if len(self._selected) >= GLOBS_KEPT:
                del self._selected[next(iter(self._selected))]
            self._selected[glob] = select(self.snapshot, HEAD, files)
        return self._selected[glob]

    def _scan(
        self, needle: str, glob: str | None, on_hit: Callable[[str, int, str], bool]
    ) -> Tally | Refused:
        """Calls `on_hit(path, line, text)` for each line of a head-side text file that holds
        `needle` (a fixed string: linear time), in path order; stops when it returns False."""
        selection = self._selection(glob)
        if isinstance(selection, Refused):
            return selection
        tally = Tally()
        hits = lines_holding(self.snapshot, HEAD, selection, needle.encode("utf-8"), tally)
        try:
            for path, line, text in hits:
                if not on_hit(path, line, text.decode("utf-8", "replace")):
                    break
        finally:
            hits.close()  # the search stops now, its workers too
        return tally

    def _pattern(self, raw: object, what: str) -> str | Refused:
        if not isinstance(raw, str) or not raw:
            return Refused(f"{what} must be a non-empty string")
        if len(raw) > MAX_PATTERN:
            return Refused(f"{what} is longer than {MAX_PATTERN} characters")
        if "\n" in raw or "\r" in raw:
            return Refused(f"{what} must be on one line")
        try:
            raw.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: no file holds it
            return Refused(f"{what} is not valid text (a lone surrogate)")
        return raw

    def _grep(self, args: dict[str, Any]) -> str | Refused:
        pattern = self._pattern(args.get("pattern"), "pattern")
        if isinstance(pattern, Refused):
            return pattern
        glob = args.get("path_glob")
        if glob is not None and not isinstance(glob, str):
            return Refused("path_glob must be a string or null")
        hits: list[str] = []
        limit = self.limits.grep_hits

        def hit(path: str, line: int, text: str) -> bool:
            hits.append(f"{path}:{line}: {self._cut(text)}")
            return len(hits) <= limit

        tally = self._scan(pattern, glob or None, hit)
        if isinstance(tally, Refused):
            return tally
        where = f" in files matching {show(glob)}" if glob else ""
        notes = _skipped(tally)
        if len(hits) > limit:
            hits = hits[:limit]
            notes.append(f"stopped at {limit} matches: narrow the pattern or the glob")
        if not hits:
            regexy = any(c in pattern for c in ".*+?[](){}|^$\\")
            hint = " (the pattern is literal text, not a regular expression)" if regexy else ""
            if glob and not tally.searched:  # say it is the glob, not the code, that found none
                hint = (
                    " (no file matches the glob: it knows `*`, `?` and `**` for any "
                    "directories; a directory is `dir/`)"
                )
            notes.insert(0, f"no line holds {show(pattern)}{where} ({tally.searched} files){hint}")
        return "\n".join([*hits, *(f"[{n}]" for n in notes)])

    def _list_dir(self, args: dict[str, Any]) -> str | Refused:
        path = clean_path(args.get("path", ""), allow_root=True)
        if isinstance(path, Refused):
            return path
        children = self.snapshot.children(HEAD, path)
        if children is None:
            entry = self.snapshot.entry(HEAD, path)
            if entry is not None and entry.kind == LINK:
                return Refused(f"{show(path)} is a symbolic link: links are not followed")
            if entry is not None:
                return Refused(f"{show(path)} is a file: use read_file")
            return Refused(f"no directory {show(path)}")
        names = sorted(children, key=lambda n: (children[n] != "dir", n))
        limit = self.limits.list_entries
        rows = [f"{n}/" if children[n] == "dir" else f"{n} ({children[n]})" for n in names]
        rows = [r.replace(" (file)", "") for r in rows[:limit]]
        if len(names) > limit:
            rows.append(f"[{len(names) - limit} more entries not listed]")
        return f"{path or '.'}/ ({len(names)} entries)\n" + "\n".join(rows)

    def _find_symbol(self, args: dict[str, Any]) -> str | Refused:
        raw = args.get("name")
        name = raw.strip().rsplit(".", 1)[-1] if isinstance(raw, str) else ""
        if not IDENT.fullmatch(name):
            return Refused("name must be one identifier (letters, digits, _ or $)")
        by_file: dict[str, list[tuple[int, str]]] = {}
        limit = self.limits.grep_hits
        seen = words = 0

        def hit(path: str, line: int, text: str) -> bool:
            nonlocal seen, words
            seen += 1
            if word_at(text, name):
                by_file.setdefault(path, []).append((line, text))
                words += 1
            # Lines where the name is only part of a longer word count too: `elf` in every
            # `self` would otherwise keep the search going line after line.
            return words <= limit * 4 and seen < self.limits.symbol_lines

        tally = self._scan(name, None, hit)
        if isinstance(tally, Refused):
            return tally
        judge = Definitions(
            name,
            by_file,
            lambda path: self.snapshot.read(HEAD, path),
            (self.limits.symbol_files, self._started + self.limits.symbol_seconds),
            self._parsed,
        )
        definitions: list[str] = []
        references: list[str] = []
        for path, found in by_file.items():
            for line, text in found:
                row = f"{path}:{line}: {self._cut(text)}"
                span = judge.definition(path, line, text)
                if span is None:
                    references.append(row)
                else:
                    definitions.append(row + span)
        out = [f"definitions of {name}:", *(definitions[:limit] or ["(none found)"])]
        shown = references[:limit]
        out += [f"references ({len(references)}):", *(shown or ["(none)"])]
        if len(references) > limit:
            out.append(f"[{len(references) - limit} more references not listed: use grep]")
        if seen >= self.limits.symbol_lines and words <= limit * 4:  # stopped by that cap
            out.append(
                f"[stopped after {seen:,} lines holding {show(name)}, mostly inside longer "
                "words: use grep with a path_glob]"
            )
        if judge.unparsed:
            out.append(
                f"[{judge.unparsed} files judged by definition keywords alone, not parsed: "
                f"at most {self.limits.symbol_files} files a call, begun in its first "
                f"{self.limits.symbol_seconds * 1000:.0f} ms]"
            )
        return "\n".join([*out, *(f"[{n}]" for n in _skipped(tally))])


def _skipped(tally: Tally) -> list[str]:
    """What a search could not look at, said in its answer."""
    notes = [f"{tally.binary} binary files not searched"] if tally.binary else []
    if tally.large:
        notes.append(f"{tally.large} files over {MAX_FILE_BYTES // 2**20} MB not searched")
    return notes

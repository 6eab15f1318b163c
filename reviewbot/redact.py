"""One redaction for every string reviewbot writes: reviews, comments, summaries, outputs, logs.

It removes the secrets the run knows (the model key, the GitHub token, a password in
`base_url`), anything shaped like a bearer token or a well-known key, and the userinfo of URLs.
An endpoint or proxy that echoes a request header back therefore cannot publish the key.

It also keeps what the Actions adapter prints inert: the runner reads every output line (stdout
and stderr) as a possible workflow command, `::name::data` at the start of the line (after
whitespace) and the legacy `##[name]data` anywhere in it; a file name or model text with a line
break in it would otherwise start its own `::set-output` or `::error`.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from urllib.parse import unquote, urlsplit

HIDDEN = "***"
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")
_KEY_PREFIXES = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "sk-")
_KEY_SHAPES = re.compile(
    r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|sk-[A-Za-z0-9_-]{16,})"
)


class Redactor:
    """Callable that hides secrets in a string. Its log redaction is per run: `active()`
    applies it to log records while the run lasts and forgets it after, `install()` for the
    life of the process (the command line, which is one run). A run's redactor holds only its
    own secrets, so nothing a run writes is redacted with, or carries, another run's."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        found = {s for s in secrets if s and len(s) >= 4}
        self._secrets = sorted(found, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, HIDDEN)
        # Cheap checks first: most text has none of these, and it can be megabytes.
        if "bearer" in text.lower():
            text = _BEARER.sub(lambda m: f"{m.group(1)} {HIDDEN}", text)
        if "://" in text and "@" in text:
            text = _USERINFO.sub(lambda m: f"{m.group(1)}{HIDDEN}@", text)
        if any(k in text for k in _KEY_PREFIXES):
            text = _KEY_SHAPES.sub(HIDDEN, text)
        return text

    @contextmanager
    def active(self, logger: logging.Logger | None = None) -> Iterator[Redactor]:
        """While inside, every log record reaching `logger`'s handlers (default: the root's)
        is redacted with this redactor. A record cannot be told apart by run (the model
        runner logs from its own threads), so each is redacted with every active run's: a
        run's secret is hidden wherever it is logged, and leaves with the run."""
        _attach(logger or logging.getLogger())
        with _LOCK:
            _LIVE.append(self)
        try:
            yield self
        finally:
            with _LOCK:
                _LIVE.remove(self)

    def install(self, logger: logging.Logger | None = None) -> None:
        """Redact every record that reaches the handlers of `logger` (default: the root), in
        every context of the process: for a process that is one run."""
        global _PROCESS
        _attach(logger or logging.getLogger())
        _PROCESS = self


_LIVE: list[Redactor] = []  # the active runs' redactors
_LOCK = threading.Lock()
_PROCESS: Redactor | None = None


def _current() -> list[Redactor]:
    """The redactors for a record logged now: every active run's, and the process's."""
    with _LOCK:
        runs = list(_LIVE)
    return [*runs, *([_PROCESS] if _PROCESS is not None else [])] or [Redactor()]


def _attach(logger: logging.Logger) -> None:
    """One context-reading filter on each of the logger's handlers (added once)."""
    for handler in logger.handlers:
        if not any(isinstance(f, _LogFilter) for f in handler.filters):
            handler.addFilter(_LogFilter())


class _LogFilter(logging.Filter):
    """Redacts a record with the redactors active when it is logged (and keeps it inert for
    the runner)."""

    def _hide(self, text: str) -> str:
        for redact in _current():
            text = redact(text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = inert_line(self._hide(record.getMessage()))
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:  # a traceback keeps its lines, each one inert
            lines = _LINE_BREAK.split(self._hide(record.exc_text))
            record.exc_text = "\n".join(map(inert_line, lines))
        return True


# What ends a line for the runner (\r, \n) and for anything that splits lines (str.splitlines).
_LINE_BREAK = re.compile(r"\r\n|[\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_SHOWN_BREAK = {"\r\n": "\\r\\n", "\r": "\\r", "\n": "\\n"}
_COMMAND_START = re.compile(r"[^\w:]*::")  # a superset of the runner's TrimStart + "::"
ZWSP = "\u200b"  # not whitespace to the runner's TrimStart, so a line starting with it is text


def inert_line(text: str) -> str:
    """`text` as one printed line the runner reads as text, never as a workflow command: line
    breaks are shown as `\\n`, a `::` at its start and every legacy `##[` are broken by a
    zero-width space."""
    flat = _LINE_BREAK.sub(lambda m: _SHOWN_BREAK.get(m.group(0), " "), text)
    flat = flat.replace("##[", "##" + ZWSP + "[")
    return ZWSP + flat if _COMMAND_START.match(flat) else flat


def workflow_command(name: str, data: str = "") -> str:
    """The line `::name::data` with `data` escaped as GitHub documents (`%` → `%25`, CR → `%0D`,
    LF → `%0A`; other line separators become spaces), so it stays one command on one line."""
    escaped = data.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return f"::{name}::{_LINE_BREAK.sub(' ', escaped)}"


def url_secrets(url: str) -> list[str]:
    """The user name and password inside a URL (both are treated as secrets)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    raw = [x for x in (parts.username, parts.password) if x]
    return raw + [unquote(x) for x in raw]

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
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

HIDDEN = "***"
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")
_KEY_PREFIXES = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "sk-")
_KEY_SHAPES = re.compile(
    r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|sk-[A-Za-z0-9_-]{16,})"
)


class Redactor:
    """Callable that hides secrets in a string; `install()` also applies it to log records."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        found = {s for s in secrets if s and len(s) >= 4}
        self._secrets = sorted(found, key=len, reverse=True)

    def with_secrets(self, *secrets: str) -> Redactor:
        return Redactor([*self._secrets, *secrets])

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

    def install(self, logger: logging.Logger | None = None) -> None:
        """Redact every record that reaches the handlers of `logger` (default: the root)."""
        target = logger or logging.getLogger()
        for handler in target.handlers:
            for old in [f for f in handler.filters if isinstance(f, _LogFilter)]:
                handler.removeFilter(old)
            handler.addFilter(_LogFilter(self))


class _LogFilter(logging.Filter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = inert_line(self._redact(record.getMessage()))
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:  # a traceback keeps its lines, each one inert
            lines = _LINE_BREAK.split(self._redact(record.exc_text))
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

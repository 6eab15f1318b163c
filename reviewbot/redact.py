"""One redaction for every string reviewbot writes: reviews, comments, summaries, outputs, logs.

It removes the secrets the run knows (the model key, the GitHub token, a password in
`base_url`), anything shaped like a bearer token or a well-known key, and the userinfo of URLs.
An endpoint or proxy that echoes a request header back therefore cannot publish the key.
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
        record.msg = _inert(self._redact(record.getMessage()))
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = _inert(self._redact(record.exc_text))
        return True


def _inert(text: str) -> str:
    """No line of a log message can start a workflow command (`::add-mask::`, `::error::`)."""
    return re.sub(r"(?m)^(\s*)::", r"\1 ::", text)


def url_secrets(url: str) -> list[str]:
    """The user name and password inside a URL (both are treated as secrets)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    raw = [x for x in (parts.username, parts.password) if x]
    return raw + [unquote(x) for x in raw]

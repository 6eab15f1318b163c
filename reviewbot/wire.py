"""What any OpenAI-style endpoint's HTTP answers mean, read the way the official openai client
reads them: which answers to retry (and when), the error shapes (OpenAI's, the AI/ML API's and
the local servers'), and which connection failures no retry can fix."""

from __future__ import annotations

import email.utils
import json
import re
import socket
import ssl
import time
from dataclasses import dataclass

import httpx

MAX_RETRY_AFTER = 120.0  # seconds; a server asking for longer is not retried (as the SDK does)
REFUSED = "the model refused to review this part"  # a refusal is not asked again

# 400s that concern the whole run (every request would get the same answer): stop at once.
FATAL_CODES = frozenset(
    {"model_not_found", "invalid_model", "unsupported_value", "unsupported_parameter"}
)


def unreachable(exc: httpx.ConnectError) -> str | None:
    """Why retrying cannot help ('connection refused', 'unknown host', a TLS handshake with a
    server that answers in plain HTTP), else None."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, socket.gaierror):
            return "unknown host"
        if isinstance(seen, ssl.SSLError) and _plain_http(str(seen)):
            return "TLS handshake failed"
        seen = seen.__cause__ or seen.__context__
    text = str(exc).lower()
    if "connection refused" in text:
        return "connection refused"
    if "name or service not known" in text or "nodename nor servname" in text:
        return "unknown host"
    if _plain_http(text):
        return "TLS handshake failed"
    return None


def _plain_http(text: str) -> bool:
    """OpenSSL's words for a TLS hello answered by a plain-HTTP server."""
    text = text.lower()
    return any(
        s in text
        for s in ("wrong version number", "record layer failure", "packet length too long")
    )


def should_retry(resp: httpx.Response) -> bool:
    """The official client's rule: 408, 409, 429, 5xx; `x-should-retry` decides when present;
    never when the server asks for more than two minutes."""
    ra = retry_after(resp.headers)
    if ra is not None and ra > MAX_RETRY_AFTER:
        return False
    flag = str(resp.headers.get("x-should-retry", ""))
    if flag in ("true", "false"):
        return flag == "true"
    status = int(resp.status_code)
    return status in (408, 409, 429) or status >= 500


def retry_after(headers: httpx.Headers) -> float | None:
    """Seconds the server asked us to wait (`retry-after-ms`, `retry-after` seconds or date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    ra = headers.get("retry-after")
    if not ra:
        return None
    try:
        return max(0.0, float(ra))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(ra)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, float(when.timestamp()) - time.time())


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """An error answer: the server's message (for the log), its code, parameter and type."""

    message: str
    code: str = ""
    param: str = ""
    type: str = ""


def error_info(resp: httpx.Response) -> ErrorInfo:
    """Message, code and param from OpenAI's error shape (also llama.cpp's and Ollama's), the
    AI/ML API's or vLLM's flat one, else the text."""
    try:
        data = resp.json()
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        data = None
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and err.get("message"):
            return ErrorInfo(
                _line(err["message"]),
                str(err.get("code") or ""),
                str(err.get("param") or ""),
                str(err.get("type") or ""),
            )
        if isinstance(err, str):
            return ErrorInfo(_line(err))
        msg = data.get("message")
        if isinstance(msg, list):
            msg = "; ".join(map(str, msg))
        if msg:
            return ErrorInfo(
                _line(msg),
                str(data.get("code") or ""),
                str(data.get("param") or ""),
                str(data.get("type") or ""),
            )
    text = resp.text.strip()
    return ErrorInfo((" ".join(text.split())[:300]) or (resp.reason_phrase or "no message"))


def _line(message: object) -> str:
    """A server's message as one line (it goes into one error line), at most 500 characters."""
    return " ".join(str(message).split())[:500]


def plain_word(word: object) -> str | None:
    """A code, status or reason the endpoint gave, when it is a plain identifier (the only
    form of the server's words a published problem text may carry); None otherwise."""
    text = str(word) if word is not None else ""
    return text if _PLAIN_WORD.fullmatch(text) else None


_PLAIN_WORD = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def too_long(info: ErrorInfo) -> bool:
    """The request exceeded the model's context window (OpenAI's codes, vLLM's and llama.cpp's
    words): smaller parts may fit."""
    text = info.message.lower()
    return (
        info.code in ("context_length_exceeded", "string_above_max_length")
        or info.type == "exceed_context_size_error"
        or "context length" in text
        or "context size" in text
    )


def usage_number(d: object, key: str) -> int:
    v = d.get(key) if isinstance(d, dict) else None
    return v if isinstance(v, int) else 0


def refused_line(status: int, info: ErrorInfo) -> str:
    return f"the model endpoint refused the request ({status}): {info.message}"


def stops_the_run(status: int, info: ErrorInfo, request_params: frozenset[str]) -> bool:
    """A bad key, a missing model or endpoint, or a parameter every request carries."""
    return status in (401, 403, 404) or info.code in FATAL_CODES or info.param not in request_params

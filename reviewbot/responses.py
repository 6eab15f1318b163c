"""What a Responses endpoint sends back, read the way the official openai client reads it:
which answers to retry (and when), the error shapes (OpenAI's and the AI/ML API's), and the
answer text (only `final_answer` or phase-less messages; `commentary` is not the result)."""

from __future__ import annotations

import email.utils
import json
import logging
import socket
import time
from dataclasses import dataclass

import httpx

from reviewbot.model import ModelReply, Usage

logger = logging.getLogger(__name__)

MAX_RETRY_AFTER = 120.0  # seconds; a server asking for longer is not retried (as the SDK does)
REQUEST_PARAMS = frozenset({"input", "instructions", "prompt", ""})
REFUSED = "the model refused to review this part"


def unreachable(exc: httpx.ConnectError) -> str | None:
    """'connection refused' or 'unknown host' when retrying cannot help, else None."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, socket.gaierror):
            return "unknown host"
        seen = seen.__cause__ or seen.__context__
    text = str(exc).lower()
    if "connection refused" in text:
        return "connection refused"
    if "name or service not known" in text or "nodename nor servname" in text:
        return "unknown host"
    return None


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
    """An error answer: the server's message (for the log), its code and parameter."""

    message: str
    code: str = ""
    param: str = ""

    @property
    def fatal_param(self) -> bool:
        """A parameter every request carries (model, reasoning, format) is wrong."""
        return self.param not in REQUEST_PARAMS


def error_info(resp: httpx.Response) -> ErrorInfo:
    """Message, code and param from OpenAI's error shape or the AI/ML API's, else the text."""
    try:
        data = resp.json()
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        data = None
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and err.get("message"):
            return ErrorInfo(
                str(err["message"])[:500], str(err.get("code") or ""), str(err.get("param") or "")
            )
        if isinstance(err, str):
            return ErrorInfo(err[:500])
        msg = data.get("message")
        if isinstance(msg, list):
            msg = "; ".join(map(str, msg))
        if msg:
            return ErrorInfo(str(msg)[:500], str(data.get("code") or ""))
    text = resp.text.strip()
    return ErrorInfo((" ".join(text.split())[:300]) or (resp.reason_phrase or "no message"))


def error_message(resp: httpx.Response) -> str:
    """The server's own message (for the log and for fatal errors)."""
    return error_info(resp).message


def parse_response(resp: httpx.Response) -> ModelReply:
    """Extract the answer text and usage; name the problem when there is no usable text.

    Only `final_answer` (or phase-less) messages are the answer; `commentary` is not.
    """
    try:
        data = resp.json()
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return ModelReply(None, Usage(requests=1), "the endpoint answered with non-JSON")
    if not isinstance(data, dict):
        return ModelReply(None, Usage(requests=1), "the endpoint answered with an unexpected shape")
    usage = _usage(data.get("usage"))
    texts: list[str] = []
    refusals: list[str] = []
    for item in data.get("output") or []:
        if not isinstance(item, dict) or item.get("type") != "message":
            continue
        if item.get("phase") not in (None, "final_answer"):
            continue
        for part in item.get("content") or []:
            if not isinstance(part, dict):
                continue
            if part.get("type") == "output_text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif part.get("type") == "refusal":
                refusals.append(str(part.get("refusal") or "no reason given"))
    status = data.get("status", "completed")
    if refusals and not texts:
        logger.warning("the model refused: %s", refusals[0][:500])
        return ModelReply(None, usage, REFUSED)
    if status == "incomplete":
        details = data.get("incomplete_details")
        reason = str(details.get("reason", "unknown")) if isinstance(details, dict) else "unknown"
        return ModelReply(
            None,
            usage,
            f"the response is incomplete ({reason})",
            split=reason == "max_output_tokens",
        )
    if status not in ("completed", None):
        err = data.get("error")
        if isinstance(err, dict) and err.get("message"):
            logger.warning("the response %s: %s", status, str(err["message"])[:500])
        return ModelReply(None, usage, f"the response {status}")
    if not texts:
        return ModelReply(None, usage, "the response has no output text")
    return ModelReply("".join(texts), usage)


def _usage(u: object) -> Usage:
    if not isinstance(u, dict):
        return Usage(requests=1)

    def num(d: object, key: str) -> int:
        v = d.get(key) if isinstance(d, dict) else None
        return v if isinstance(v, int) else 0

    return Usage(
        input_tokens=num(u, "input_tokens"),
        output_tokens=num(u, "output_tokens"),
        cached_tokens=num(u.get("input_tokens_details"), "cached_tokens"),
        reasoning_tokens=num(u.get("output_tokens_details"), "reasoning_tokens"),
        requests=1,
    )

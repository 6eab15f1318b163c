"""GitHub's wire formats and failure shapes: review comment payloads, diffs rebuilt from the
files and compare APIs, error bodies, and the retry rule for answers that no retry can fix."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from typing import Any

import requests
from github import GithubException, GithubRetry

from reviewbot.diff import Skipped, rebuild_diff
from reviewbot.pulls import InlineComment


class Retry(GithubRetry):
    """PyGithub's retry, except that a 5xx GitHub means for good ("this diff is taking too long
    to generate", `errors[].code: not_available`) is answered at once instead of retried."""

    def increment(self, method: Any = None, url: Any = None, *args: Any, **kwargs: Any) -> Any:
        response = kwargs.get("response")
        if response is not None and response.status >= 500:
            try:
                data = json.loads(self.get_content(response, url))
            except ValueError:
                data = None
            if error_code(data) == "not_available":
                raise GithubException(response.status, data, dict(response.headers))
        return super().increment(method, url, *args, **kwargs)


def comment_payload(c: InlineComment) -> dict[str, Any]:
    """One entry of the review's `comments`, in GitHub's wire format."""
    payload: dict[str, Any] = {"path": c.path, "body": c.body, "line": c.line, "side": c.side}
    if c.start_line is not None:
        payload["start_line"] = c.start_line
        payload["start_side"] = c.side
    return payload


def files_to_diff(files: Sequence[dict[str, Any]]) -> tuple[str, tuple[Skipped, ...]]:
    """Rebuild a unified diff from the files API's (or compare's) per-file patches; files
    with changes but no patch (binary, too large) are returned as not reviewed."""
    entries = []
    missing: list[Skipped] = []
    for f in files:
        name = str(f.get("filename", ""))
        status = str(f.get("status") or "modified")
        patch = f.get("patch")
        # A binary file's entry reads like an empty file's (no patch, 0 changes): list both.
        if not patch and (f.get("changes") or status not in ("renamed", "removed")):
            missing.append(Skipped(name, "GitHub sent no patch (binary or too large)"))
            continue
        previous = f.get("previous_filename")
        entries.append((name, str(previous) if previous else None, status, patch or None))
    return rebuild_diff(entries), tuple(missing)


def error_message(exc: GithubException) -> str:
    data = exc.data
    if isinstance(data, dict):
        msg = str(data.get("message") or "")
        errors = data.get("errors")
        if isinstance(errors, list) and errors:
            detail = "; ".join(
                str(e.get("message") or e) if isinstance(e, dict) else str(e) for e in errors
            )
            msg = f"{msg}: {detail}" if msg else detail
        return msg[:500] or f"HTTP {exc.status}"
    return str(data)[:300] if data else f"HTTP {exc.status}"


def error_code(data: object) -> str:
    """The first `errors[].code` of a GitHub error body ("not_available", "too_large", ...)."""
    errors = data.get("errors") if isinstance(data, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("code") or "")
    return ""


def json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return " ".join((text or "").split())[:200]


def retry_status(exc: requests.exceptions.RetryError) -> int | None:
    m = re.search(r"too many (\d{3}) error responses", str(exc))
    return int(m.group(1)) if m else None


MAX_RATE_LIMIT_WAIT = 900.0  # seconds; a job waiting longer for GitHub's limits fails instead


def transient_wait(exc: GithubException, secondary_wait: float, backoff: float) -> float | None:
    """Seconds to wait before sending a failed request again, or None when waiting cannot help
    (or GitHub asks for longer than MAX_RATE_LIMIT_WAIT). Rate limits (403/429 with
    `retry-after`, or a message naming a rate limit) were not applied; a 5xx may have been."""
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    wait: float | None = None
    if exc.status in (403, 429):
        if "retry-after" in headers:
            wait = seconds(headers["retry-after"])
        elif "rate limit" in error_message(exc).lower():
            reset = seconds(headers.get("x-ratelimit-reset", ""))
            if headers.get("x-ratelimit-remaining") == "0" and reset is not None:
                wait = max(0.0, reset - time.time()) + 1
            else:
                wait = secondary_wait
    elif exc.status >= 500:
        wait = 4 * backoff
    return wait if wait is not None and wait <= MAX_RATE_LIMIT_WAIT else None


def rate_limited(data: object) -> bool:
    """A GraphQL answer (HTTP 200) whose errors say the rate limit was hit: worth a retry."""
    errors = data.get("errors") if isinstance(data, dict) else None
    return isinstance(errors, list) and any(
        isinstance(e, dict) and e.get("type") == "RATE_LIMITED" for e in errors
    )


def seconds(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None

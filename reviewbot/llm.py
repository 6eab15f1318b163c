"""Client for `POST {base_url}/responses` over httpx: concurrency, retries, careful parsing."""

from __future__ import annotations

import email.utils
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from reviewbot.errors import LLMError

if TYPE_CHECKING:
    from reviewbot.config import Config

logger = logging.getLogger(__name__)

RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    requests: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_tokens + other.cached_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
            self.requests + other.requests,
        )


@dataclass(frozen=True, slots=True)
class ModelRequest:
    instructions: str
    input: str


@dataclass(frozen=True, slots=True)
class ModelReply:
    """What one request produced: the output text, or the problem that prevented it."""

    text: str | None
    usage: Usage
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class ClientSettings:
    base_url: str
    api_key: str
    model: str
    reasoning_effort: str = "medium"
    max_output_tokens: int = 32_000
    concurrency: int = 4
    max_retries: int = 4
    timeout: float = 600.0
    backoff_base: float = 0.5
    backoff_cap: float = 8.0


class ResponsesClient:
    """Sends review requests to a Responses endpoint; the only module that talks to the model."""

    def __init__(
        self,
        settings: ClientSettings,
        schema: dict[str, Any],
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._s = settings
        self._schema = schema
        self._transport = transport

    def run(
        self,
        requests: Sequence[ModelRequest],
        on_done: Callable[[int, int], None] | None = None,
    ) -> list[ModelReply]:
        """Send all requests (at most `concurrency` at once); replies keep the request order.

        A permanent error (bad key, unknown model) cancels what has not started and is raised.
        """
        workers = max(1, min(self._s.concurrency, len(requests)))
        timeout = httpx.Timeout(self._s.timeout, connect=15.0)
        limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
        headers = {
            "Authorization": f"Bearer {self._s.api_key}",
            "Content-Type": "application/json",
            "User-Agent": "reviewbot/0.1",
        }
        replies: list[ModelReply | None] = [None] * len(requests)
        done = 0
        stop = threading.Event()
        with (
            httpx.Client(
                timeout=timeout, limits=limits, headers=headers, transport=self._transport
            ) as client,
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="reviewbot-llm") as pool,
        ):
            futures = {
                pool.submit(self._send, client, req, stop): i for i, req in enumerate(requests)
            }
            try:
                for future in as_completed(futures):
                    replies[futures[future]] = future.result()
                    done += 1
                    if on_done:
                        on_done(done, len(requests))
            except LLMError:
                stop.set()
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        return [r for r in replies if r is not None]

    def body(self, req: ModelRequest) -> dict[str, Any]:
        """The JSON body of one request (no temperature: reasoning models reject it)."""
        return {
            "model": self._s.model,
            "instructions": req.instructions,
            "input": req.input,
            "max_output_tokens": self._s.max_output_tokens,
            "reasoning": {"effort": self._s.reasoning_effort},
            "text": {
                "format": {
                    "type": "json_schema",
                    "name": "code_review",
                    "schema": self._schema,
                    "strict": True,
                }
            },
            "store": False,
            "prompt_cache_key": "reviewbot-review-v1",
        }

    def _send(self, client: httpx.Client, req: ModelRequest, stop: threading.Event) -> ModelReply:
        url = self._s.base_url.rstrip("/") + "/responses"
        payload = json.dumps(self.body(req)).encode()
        last = ""
        for attempt in range(self._s.max_retries + 1):
            delay: float | None
            try:
                resp = client.post(url, content=payload)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                last = f"{type(exc).__name__} talking to {url}"
                delay = None
            except httpx.HTTPError as exc:
                raise LLMError(f"request to {url} failed: {type(exc).__name__}") from exc
            else:
                if resp.status_code < 300:
                    return parse_response(resp)
                message = error_message(resp)
                if resp.status_code not in RETRY_STATUS:
                    raise LLMError(
                        f"the model endpoint refused the request ({resp.status_code}): {message}"
                    )
                last = f"HTTP {resp.status_code}: {message}"
                delay = retry_after(resp.headers)
            if attempt == self._s.max_retries:
                break
            wait = self._backoff(attempt) if delay is None else min(delay, 120.0)
            logger.warning("model request failed (%s); retrying in %.1fs", last, wait)
            if stop.wait(wait):  # another request failed for good: stop retrying
                break
        return ModelReply(
            None, Usage(requests=1), f"gave up after {self._s.max_retries + 1} attempts: {last}"
        )

    def _backoff(self, attempt: int) -> float:
        base = min(self._s.backoff_base * 2.0**attempt, self._s.backoff_cap)
        return base * (0.75 + random.random() * 0.5)


def client_for(config: Config, transport: httpx.BaseTransport | None = None) -> ResponsesClient:
    """The Responses client a review run's Config asks for."""
    from reviewbot.findings import response_schema

    settings = ClientSettings(
        base_url=config.base_url,
        api_key=config.api_key,
        model=config.model,
        reasoning_effort=config.reasoning_effort,
        max_output_tokens=config.max_output_tokens,
        concurrency=config.concurrency,
        timeout=config.timeout,
    )
    return ResponsesClient(settings, response_schema(), transport)


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
    except (TypeError, ValueError):
        return None
    return max(0.0, float(when.timestamp()) - time.time())


def error_message(resp: httpx.Response) -> str:
    """The server's own message, from OpenAI's shape or the AI/ML API's, else the raw text."""
    try:
        data = resp.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = None
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:500]
        if isinstance(err, str):
            return err[:500]
        msg = data.get("message")
        if isinstance(msg, list):
            msg = "; ".join(map(str, msg))
        if msg:
            return str(msg)[:500]
    text = resp.text.strip()
    return (" ".join(text.split())[:300]) or (resp.reason_phrase or "no message")


def parse_response(resp: httpx.Response) -> ModelReply:
    """Extract the output text and usage; name the problem when there is no usable text."""
    try:
        data = resp.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return ModelReply(None, Usage(requests=1), "the endpoint answered with non-JSON")
    if not isinstance(data, dict):
        return ModelReply(None, Usage(requests=1), "the endpoint answered with an unexpected shape")
    usage = _usage(data.get("usage"))
    texts: list[str] = []
    refusals: list[str] = []
    for item in data.get("output") or []:
        if not isinstance(item, dict) or item.get("type") != "message":
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
        return ModelReply(None, usage, f"the model refused: {refusals[0][:200]}")
    if status == "incomplete":
        reason = (data.get("incomplete_details") or {}).get("reason", "unknown")
        return ModelReply(None, usage, f"the response is incomplete ({reason})")
    if status not in ("completed", None):
        err = data.get("error") or {}
        detail = err.get("message") if isinstance(err, dict) else None
        return ModelReply(None, usage, f"the response {status}" + (f": {detail}" if detail else ""))
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


def replay_transport(path: Path) -> httpx.MockTransport:
    """A stand-in endpoint that answers every request with a saved Responses API reply."""
    try:
        saved = path.read_bytes()
    except OSError as exc:
        raise LLMError(f"cannot read saved response {path}: {exc.strerror}") from None

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method != "POST" or not request.url.path.endswith("/responses"):
            return httpx.Response(404, json={"error": {"message": "not found"}})
        return httpx.Response(200, content=saved, headers={"content-type": "application/json"})

    return httpx.MockTransport(handler)

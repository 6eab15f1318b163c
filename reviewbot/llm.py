"""Client for `POST {base_url}/responses` over httpx: concurrency, deadline, retries, parsing.

Retries follow the official openai client: 408, 409, 429 and every 5xx, connection errors and
timeouts; `x-should-retry` overrides; `retry-after-ms` / `retry-after` are honoured up to two
minutes (a longer wait is not retried). Server messages go to the log only: a reply's
`problem` names what failed, never what the server said.
"""

from __future__ import annotations

import email.utils
import json
import logging
import queue
import random
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from reviewbot.errors import LLMError
from reviewbot.model import ModelReply, ModelRequest, Usage

if TYPE_CHECKING:
    from reviewbot.config import Config

logger = logging.getLogger(__name__)

MAX_RETRY_AFTER = 120.0  # seconds; a server asking for longer is not retried (as the SDK does)
OUTPUT_RETRIES = 2  # more attempts for malformed or incomplete output, per request
MIN_OUTPUT_TOKENS = 16  # the API's minimum for max_output_tokens
# 400s that concern the whole run (every request would get the same answer): stop at once.
FATAL_CODES = frozenset(
    {"model_not_found", "invalid_model", "unsupported_value", "unsupported_parameter"}
)
REQUEST_PARAMS = frozenset({"input", "instructions", "prompt", ""})
REFUSED = "the model refused to review this part"
CONTEXT_CODES = frozenset({"context_length_exceeded", "string_above_max_length"})


@dataclass(frozen=True, slots=True)
class ClientSettings:
    base_url: str
    api_key: str
    model: str
    reasoning_effort: str = "medium"
    max_output_tokens: int = 32_000
    output_limit: int = 128_000  # the model's own cap; incomplete output grows up to it
    concurrency: int = 4
    max_retries: int = 4
    timeout: float = 600.0
    backoff_base: float = 0.5
    backoff_cap: float = 8.0


@dataclass(frozen=True, slots=True)
class _Failure:
    """An HTTP exchange that produced no response to parse."""

    problem: str
    split: bool = False
    timed_out: bool = False


class ResponsesClient:
    """Sends review requests to a Responses endpoint; the only module that talks to the model."""

    def __init__(
        self,
        settings: ClientSettings,
        schema: dict[str, Any],
        transport: httpx.BaseTransport | None = None,
        check: Callable[[str], str | None] | None = None,
    ) -> None:
        """`check` names what is wrong with an output text (None: usable); such output is
        asked for again."""
        self._s = settings
        self._schema = schema
        self._transport = transport
        self._check = check or (lambda _text: None)

    @property
    def url(self) -> str:
        return self._s.base_url.rstrip("/") + "/responses"

    def run(
        self,
        requests: Sequence[ModelRequest],
        on_done: Callable[[int, int], None] | None = None,
        deadline: float | None = None,
    ) -> list[ModelReply]:
        """Send all requests (at most `concurrency` at once); replies keep the request order.

        A permanent error (bad key, unknown model, unreachable host) stops the others and is
        raised. At `deadline` (a `time.monotonic()` value) requests still running are
        abandoned and reported as timed out.
        """
        if not requests:
            return []
        workers = max(1, min(self._s.concurrency, len(requests)))
        client = httpx.Client(
            timeout=httpx.Timeout(self._s.timeout, connect=15.0),
            limits=httpx.Limits(max_connections=workers, max_keepalive_connections=workers),
            headers={
                "Authorization": f"Bearer {self._s.api_key}",
                "Content-Type": "application/json",
                "User-Agent": "reviewbot/0.1",
            },
            transport=self._transport,
        )
        todo: queue.SimpleQueue[int] = queue.SimpleQueue()
        for i in range(len(requests)):
            todo.put(i)
        results: queue.SimpleQueue[tuple[int, ModelReply | BaseException]] = queue.SimpleQueue()
        stop = threading.Event()

        def work() -> None:
            while not stop.is_set():
                try:
                    i = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    results.put((i, self._send(client, requests[i], stop, deadline)))
                except BaseException as exc:  # handed to the caller's thread, raised there
                    results.put((i, exc))

        # Daemon threads: an abandoned request (deadline, Ctrl-C) never keeps the process alive.
        threads = [
            threading.Thread(target=work, name=f"reviewbot-llm-{n}", daemon=True)
            for n in range(workers)
        ]
        replies: list[ModelReply | None] = [None] * len(requests)
        done = 0
        try:
            for t in threads:
                t.start()
            while done < len(requests):
                left = None if deadline is None else deadline - time.monotonic() + 1.0
                if left is not None and left <= 0:
                    break
                try:
                    i, reply = results.get(timeout=min(left or 1.0, 1.0))
                except queue.Empty:
                    continue
                if isinstance(reply, BaseException):
                    raise reply
                replies[i] = reply
                done += 1
                if on_done:
                    on_done(done, len(requests))
        finally:
            stop.set()  # the others stop retrying at once
            client.close()
        late = ModelReply(None, Usage(), "the model did not answer in time", timed_out=True)
        return [r if r is not None else late for r in replies]

    def body(self, req: ModelRequest, max_output_tokens: int | None = None) -> dict[str, Any]:
        """The JSON body of one request (no temperature: reasoning models reject it)."""
        tokens = max(MIN_OUTPUT_TOKENS, max_output_tokens or self._s.max_output_tokens)
        return {
            "model": self._s.model,
            "instructions": req.instructions,
            "input": req.input,
            "max_output_tokens": tokens,
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

    def _send(
        self,
        client: httpx.Client,
        req: ModelRequest,
        stop: threading.Event,
        deadline: float | None,
    ) -> ModelReply:
        """One request to a usable answer: retries malformed output and grows the output
        budget when it ran out; asks for a split when even the model's limit is too small."""
        budget = max(MIN_OUTPUT_TOKENS, self._s.max_output_tokens)
        usage = Usage()
        problem, ran_out = "", False
        for _ in range(1 + OUTPUT_RETRIES):
            got = self._exchange(client, self.body(req, budget), stop, deadline)
            if isinstance(got, _Failure):
                return ModelReply(None, usage, got.problem, got.split, got.timed_out)
            parsed = parse_response(got)
            usage = usage + parsed.usage
            ran_out = parsed.split
            if parsed.text is not None:
                problem = self._check(parsed.text) or ""
                if not problem:
                    return replace(parsed, usage=usage)
            elif parsed.problem == REFUSED:
                return replace(parsed, usage=usage)
            else:
                problem = parsed.problem or "no usable output"
            if ran_out:  # out of output tokens: more room first, smaller parts after that
                if budget >= self._s.output_limit:
                    break
                budget = min(budget * 2, self._s.output_limit)
            logger.warning("unusable model output (%s); asking again", problem)
        if ran_out:
            return ModelReply(None, usage, problem, split=True)
        return ModelReply(None, usage, f"{problem} after {1 + OUTPUT_RETRIES} attempts")

    def _exchange(
        self,
        client: httpx.Client,
        body: dict[str, Any],
        stop: threading.Event,
        deadline: float | None,
    ) -> httpx.Response | _Failure:
        """POST one body, retrying what the official client retries; raise LLMError for what
        no retry or other request can fix."""
        payload = json.dumps(body).encode()
        last = ""
        attempts = self._s.max_retries + 1
        for attempt in range(attempts):
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return _Failure("the model did not answer in time", timed_out=True)
            read = self._s.timeout if left is None else min(self._s.timeout, left)
            delay: float | None = None
            try:
                resp = client.post(
                    self.url, content=payload, timeout=httpx.Timeout(read, connect=min(15.0, read))
                )
            except httpx.ConnectError as exc:
                why = unreachable(exc)
                if why:
                    raise LLMError(f"cannot reach the model endpoint {self.url}: {why}") from None
                last = "could not connect to the model endpoint"
            except httpx.TimeoutException:
                if deadline is not None and time.monotonic() >= deadline:
                    return _Failure("the model did not answer in time", timed_out=True)
                last = "the model endpoint timed out"
            except (httpx.TransportError, RuntimeError) as exc:  # RuntimeError: client closed
                if stop.is_set():
                    return _Failure("stopped", timed_out=True)
                last = f"connection to the model endpoint failed ({type(exc).__name__})"
            else:
                if resp.status_code < 300:
                    return resp
                status = resp.status_code
                info = error_info(resp)
                logger.warning("the model endpoint answered %d: %s", status, info.message)
                if not should_retry(resp):
                    return self._refused(status, info, resp.headers)
                last = f"HTTP {status} from the model endpoint"
                delay = retry_after(resp.headers)
            if attempt == attempts - 1:
                break
            wait = self._backoff(attempt) if delay is None else delay
            if left is not None:
                wait = min(wait, max(0.0, left))
            logger.warning("model request failed (%s); retrying in %.1fs", last, wait)
            if stop.wait(wait):  # another request failed for good, or the run is over
                return _Failure(f"{last}; stopped retrying")
        return _Failure(f"{last}; gave up after {attempts} attempts")

    def _refused(self, status: int, info: ErrorInfo, headers: httpx.Headers) -> _Failure:
        """A non-retryable answer: split, fail this request, or stop the run."""
        if status in (401, 403, 404) or info.code in FATAL_CODES or info.fatal_param:
            raise LLMError(f"the model endpoint refused the request ({status}): {info.message}")
        if info.code in CONTEXT_CODES or "context length" in info.message.lower():
            return _Failure("the request exceeded the model's context window", split=True)
        ra = retry_after(headers)
        if status == 429 and ra is not None and ra > MAX_RETRY_AFTER:
            return _Failure(f"rate limited by the model endpoint (asked to wait {ra:.0f} s)")
        code = f" ({info.code})" if info.code else ""
        return _Failure(f"HTTP {status}{code} from the model endpoint")

    def _backoff(self, attempt: int) -> float:
        base = min(self._s.backoff_base * 2.0**attempt, self._s.backoff_cap)
        return base * (1 - 0.25 * random.random())


def client_for(config: Config, transport: httpx.BaseTransport | None = None) -> ResponsesClient:
    """The Responses client a review run's Config asks for."""
    from reviewbot.findings import output_problem, response_schema

    settings = ClientSettings(
        base_url=config.base_url,
        api_key=config.api_key,
        model=config.model,
        reasoning_effort=config.reasoning_effort,
        max_output_tokens=config.max_output_tokens,
        concurrency=config.concurrency,
        timeout=config.timeout,
    )
    return ResponsesClient(settings, response_schema(), transport, output_problem)


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

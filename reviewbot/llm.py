"""Client for `POST {base_url}/responses` over httpx: concurrency, deadline, retries, parsing.

Retries follow the official openai client: 408, 409, 429 and every 5xx, connection errors and
timeouts; `x-should-retry` overrides; `retry-after-ms` / `retry-after` are honoured up to two
minutes (a longer wait is not retried). Server messages go to the log only: a reply's
`problem` names what failed, never what the server said.
"""

from __future__ import annotations

import json
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from reviewbot.errors import LLMError
from reviewbot.model import ModelReply, ModelRequest, Usage
from reviewbot.responses import (
    MAX_RETRY_AFTER,
    REFUSED,
    ErrorInfo,
    error_info,
    parse_response,
    retry_after,
    should_retry,
    unreachable,
)

if TYPE_CHECKING:
    from reviewbot.config import Config

logger = logging.getLogger(__name__)

OUTPUT_RETRIES = 2  # more attempts for malformed or incomplete output, per request
MIN_OUTPUT_TOKENS = 16  # the API's minimum for max_output_tokens
# 400s that concern the whole run (every request would get the same answer): stop at once.
FATAL_CODES = frozenset(
    {"model_not_found", "invalid_model", "unsupported_value", "unsupported_parameter"}
)
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


def client_for(
    config: Config, transport: httpx.BaseTransport | None = None, purpose: str = "review"
) -> ResponsesClient:
    """The Responses client a run's Config asks for: for a review, or (`purpose="reply"`)
    for an answer in a review thread (another output schema)."""
    from reviewbot.findings import output_problem, response_schema

    schema, check = response_schema(), output_problem
    if purpose == "reply":
        from reviewbot.conversation import reply_problem, reply_schema

        schema, check = reply_schema(), reply_problem

    settings = ClientSettings(
        base_url=config.base_url,
        api_key=config.api_key,
        model=config.model,
        reasoning_effort=config.reasoning_effort,
        max_output_tokens=config.max_output_tokens,
        concurrency=config.concurrency,
        timeout=config.timeout,
    )
    return ResponsesClient(settings, schema, transport, check)


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

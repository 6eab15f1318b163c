"""The model runner: concurrency, deadline, retries (honouring Retry-After), Ctrl-C and usage,
for any wire format. A codec (reviewbot.responses, reviewbot.chat) shapes the body, reads the
answer and judges the errors only its format has; the runner does the HTTP.

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
from typing import Any, Protocol

import httpx

from reviewbot.config import is_loopback
from reviewbot.cost import COST_LIMIT, CostLimitReached, Meter
from reviewbot.errors import LLMError
from reviewbot.model import FunctionCall, ModelReply, ModelRequest, Usage, answers
from reviewbot.wire import (
    MAX_RETRY_AFTER,
    REFUSED,
    ErrorInfo,
    error_info,
    plain_word,
    retry_after,
    should_retry,
    too_long,
    unreachable,
)

logger = logging.getLogger(__name__)

OUTPUT_RETRIES = 2  # more attempts for malformed or incomplete output, per request
MIN_OUTPUT_TOKENS = 16  # the Responses API's minimum for max_output_tokens
LATE = "the model did not answer in time"
WIRE_OF = {"/responses": "responses", "/chat/completions": "chat"}  # base_url mistakes


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
class Verdict:
    """A codec's judgement of an error answer: `fatal` is the one line that stops the run;
    `dropped` names an optional body parameter the codec no longer sends (ask again)."""

    fatal: str | None = None
    dropped: str | None = None


class Codec(Protocol):
    """One wire format: its path under base_url, its body, its answer and its own errors."""

    name: str
    path: str

    def body(
        self, req: ModelRequest, settings: ClientSettings, max_output_tokens: int
    ) -> dict[str, Any]: ...

    def parse(self, data: dict[str, Any]) -> ModelReply: ...

    def judge(self, status: int, info: ErrorInfo) -> Verdict | None: ...


@dataclass(frozen=True, slots=True)
class _Failure:
    """An HTTP exchange that produced no answer to parse."""

    problem: str
    split: bool = False
    timed_out: bool = False
    again: bool = False  # the codec changed the body: send it again (once), costs no attempt


class Runner:
    """Sends requests through one codec; the only place that talks to the model."""

    def __init__(
        self,
        settings: ClientSettings,
        codec: Codec,
        transport: httpx.BaseTransport | None = None,
        meter: Meter | None = None,
    ) -> None:
        self._s = settings
        self._codec = codec
        self._transport = transport
        self.meter = meter or Meter()  # consulted before every attempt (reviewbot.cost)

    @property
    def url(self) -> str:
        return self._s.base_url.rstrip("/") + self._codec.path

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
                    stop.set()  # the others stop at once: one line, not one per request
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
        late = ModelReply(None, Usage(), LATE, timed_out=True)
        return [r if r is not None else late for r in replies]

    def body(self, req: ModelRequest, max_output_tokens: int | None = None) -> dict[str, Any]:
        """The JSON body of one request, as the codec shapes it."""
        tokens = max(MIN_OUTPUT_TOKENS, max_output_tokens or self._s.max_output_tokens)
        return self._codec.body(req, self._s, tokens)

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
        check = req.output.check if req.output and req.output.check else (lambda _t: None)
        usage = Usage()
        problem, ran_out = "", False
        attempt, rebuilt = 0, False
        while attempt < 1 + OUTPUT_RETRIES:
            got = self._exchange(client, self.body(req, budget), stop, deadline, budget)
            if isinstance(got, _Failure):
                if got.again and not rebuilt:  # once: the codec dropped what the server refused
                    rebuilt = True
                    continue
                return ModelReply(None, usage, got.problem, got.split, got.timed_out)
            attempt += 1
            parsed = got
            if not req.tools:
                parsed = _without_calls(parsed)
            usage = usage + parsed.usage
            ran_out = parsed.split
            if parsed.text is not None:
                problem = check(parsed.text) or ""
                if not problem:
                    return replace(parsed, usage=usage)
            elif parsed.problem is None or parsed.problem == REFUSED:
                return replace(parsed, usage=usage)  # tool calls, or a refusal: not asked again
            else:
                problem = parsed.problem
            if ran_out:  # out of output tokens: more room first, smaller parts after that
                if budget >= self._s.output_limit:
                    break
                budget = min(budget * 2, self._s.output_limit)
            logger.warning("unusable model output (%s); asking again", problem)
        if ran_out:
            return ModelReply(None, usage, problem, split=True)
        return ModelReply(None, usage, f"{problem} after {1 + OUTPUT_RETRIES} attempts")

    def _parse(self, resp: httpx.Response) -> ModelReply:
        try:
            data = resp.json()
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            return ModelReply(None, Usage(requests=1), "the endpoint answered with non-JSON")
        if not isinstance(data, dict):
            return ModelReply(
                None, Usage(requests=1), "the endpoint answered with an unexpected shape"
            )
        return self._codec.parse(data)

    def _exchange(
        self,
        client: httpx.Client,
        body: dict[str, Any],
        stop: threading.Event,
        deadline: float | None,
        out_tokens: int = 0,
    ) -> ModelReply | _Failure:
        """POST one body, retrying what the official client retries, and parse the answer;
        raise LLMError for what no retry or other request can fix."""
        payload = json.dumps(body).encode()
        last = ""
        attempts = self._s.max_retries + 1
        for attempt in range(attempts):
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return _Failure(LATE, timed_out=True)
            read = self._s.timeout if left is None else min(self._s.timeout, left)
            delay: float | None = None
            try:
                resp, parsed = self._post(client, payload, out_tokens, read, stop)
            except CostLimitReached:
                return _Failure(COST_LIMIT)
            except httpx.ConnectError as exc:
                if why := unreachable(exc):
                    raise LLMError(self._unreachable(why)) from None
                last = f"could not connect to the model endpoint {self.url}"
            except httpx.TimeoutException:
                if deadline is not None and time.monotonic() >= deadline:
                    return _Failure(LATE, timed_out=True)
                last = "the model endpoint timed out"
            except (httpx.TransportError, RuntimeError) as exc:  # RuntimeError: client closed
                if stop.is_set():
                    return _Failure("stopped", timed_out=True)
                last = f"connection to the model endpoint failed ({type(exc).__name__})"
            else:
                if parsed is not None:
                    return parsed
                status = resp.status_code
                info = error_info(resp)
                if not should_retry(resp):
                    return self._refused(status, info, resp.headers)
                logger.warning("the model endpoint answered %d: %s", status, info.message)
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

    def _post(
        self,
        client: httpx.Client,
        payload: bytes,
        out_tokens: int,
        read: float,
        stop: threading.Event,
    ) -> tuple[httpx.Response, ModelReply | None]:
        """One attempt, within the run's cap: its worst case is reserved before it is sent
        (CostLimitReached when it would not fit) and what it spent is recorded after. A
        success comes back parsed (once: the meter and the caller read the same reply)."""
        ticket = self.meter.reserve(
            len(payload), out_tokens or self._s.max_output_tokens, stop.is_set
        )
        parsed: ModelReply | None = None
        try:
            resp = client.post(
                self.url, content=payload, timeout=httpx.Timeout(read, connect=min(15.0, read))
            )
            if resp.status_code < 300:
                parsed = self._parse(resp)
            return resp, parsed
        finally:
            self.meter.settle(ticket, parsed.usage if parsed is not None else None)

    def _refused(self, status: int, info: ErrorInfo, headers: httpx.Headers) -> _Failure:
        """A non-retryable answer: ask again without a parameter, split, fail this request,
        or stop the run (the server's words then go into the one error line, not the log)."""
        if status not in (401, 403, 404) and too_long(info):
            # Before the codec's rules: vLLM names `input_tokens` / `max_tokens` as the param
            # of a context-window error, which would otherwise read as an unsupported parameter.
            logger.warning("the model endpoint answered %d: %s", status, info.message)
            return _Failure("the request exceeded the model's context window", split=True)
        verdict = self._codec.judge(status, info)
        if verdict is not None and verdict.dropped:
            return _Failure(f"HTTP {status} from the model endpoint", again=True)
        if verdict is not None and verdict.fatal:
            raise LLMError(verdict.fatal + self._hint(status))
        logger.warning("the model endpoint answered %d: %s%s", status, info.message, self._hint(0))
        ra = retry_after(headers)
        if status == 429 and ra is not None and ra > MAX_RETRY_AFTER:
            return _Failure(f"rate limited by the model endpoint (asked to wait {ra:.0f} s)")
        # The code goes into the published review: only a plain identifier, never free text.
        code = f" ({word})" if (word := plain_word(info.code)) else ""
        return _Failure(f"HTTP {status}{code} from the model endpoint")

    def _unreachable(self, why: str) -> str:
        line = f"cannot reach the model endpoint {self.url}: {why}"
        if why == "TLS handshake failed":
            plain = local_http(self._s.base_url)
            line += (
                f" (the server speaks plain HTTP? use {plain})"
                if plain
                else " (the server does not speak TLS on this port)"
            )
        return line + self._hint(0)

    def _hint(self, status: int) -> str:
        """What to change when the URL itself is the likely mistake."""
        base = self._s.base_url.rstrip("/")
        for suffix in WIRE_OF:
            if base.endswith(suffix):
                fix = f"; base_url ends in {suffix}: drop it (use {base.removesuffix(suffix)})"
                if suffix != self._codec.path:
                    fix += f" and set wire_api: {WIRE_OF[suffix]}"
                return fix
        if status == 404 and self._codec.name == "responses":
            return "; if the server has no /responses endpoint, set wire_api: chat"
        return ""

    def _backoff(self, attempt: int) -> float:
        base = min(self._s.backoff_base * 2.0**attempt, self._s.backoff_cap)
        return base * (1 - 0.25 * random.random())


def local_http(base_url: str) -> str | None:
    """`base_url` with http:// when the host is this machine (the only place the key may go
    in clear), else None."""
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if parts.scheme != "https" or not is_loopback(host):
        return None
    return "http://" + base_url.removeprefix("https://")


def _without_calls(reply: ModelReply) -> ModelReply:
    """A reply to a request that offered no tools: function calls in it are not a turn of a
    conversation. Its answer text, if it gave one, is the answer; otherwise it is unusable output
    (asked again like any other)."""
    if reply.text is not None or reply.problem is not None:
        return reply
    if not any(isinstance(i, FunctionCall) for i in reply.items):
        return reply
    texts = [m.text for m in answers(reply.items)]
    if any(texts):
        return replace(reply, text="".join(texts))
    return replace(reply, problem="the model called a tool, but none was offered")

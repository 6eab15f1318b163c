"""The model runner over recorded HTTP, through both codecs: every scenario runs against
Responses cassettes (tests/cassettes/llm) and Chat Completions ones (tests/cassettes/llm/chat),
and every body sent is checked against the openai package's request types."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import httpx
import pytest

from reviewbot.errors import LLMError
from reviewbot.findings import output_problem, parse_output, response_schema
from reviewbot.llm import CODECS
from reviewbot.model import ModelRequest, OutputSchema, Usage
from reviewbot.runner import ClientSettings, Runner
from reviewbot.wire import error_info, retry_after
from tests.conftest import CASSETTES, FAKE_KEY, cassette_vcr
from tests.openai_shapes import check_request

VCR = cassette_vcr("llm")
REVIEW = OutputSchema("code_review", response_schema(), output_problem)
REQ = ModelRequest.ask("instructions", "input", REVIEW)
WIRES = ("responses", "chat")


@pytest.fixture(params=WIRES)
def wire(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(autouse=True)
def bodies(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """The JSON bodies the runner sends (cassettes do not match on bodies); afterwards each
    one is checked to be a valid request of its wire format."""
    sent: list[dict[str, Any]] = []
    paths: list[str] = []
    real = httpx.Client.send

    def send(self: httpx.Client, request: httpx.Request, **kw: Any) -> httpx.Response:
        sent.append(json.loads(request.read()))
        paths.append(request.url.path)
        return real(self, request, **kw)

    monkeypatch.setattr(httpx.Client, "send", send)
    yield sent
    for path, body in zip(paths, sent, strict=True):
        check_request(path, body)


def settings(base_url: str = "https://api.aimlapi.com/v1", **kw: Any) -> ClientSettings:
    return ClientSettings(base_url, FAKE_KEY, "openai/gpt-5-3-codex", **kw)


def client(wire: str, transport: httpx.BaseTransport | None = None, **kw: Any) -> Runner:
    return Runner(settings(**{"backoff_base": 0.001, **kw}), CODECS[wire](), transport)


def cassette(wire: str, name: str) -> AbstractContextManager[Any]:
    return VCR.use_cassette(f"{name}.yaml" if wire == "responses" else f"chat/{name}.yaml")


def prompt_of(body: dict[str, Any]) -> str:
    """The user's text in a request body of either format."""
    return str(body["input"] if "input" in body else body["messages"][-1]["content"])


def answer(wire: str, text: str) -> httpx.Response:
    """A minimal 200 answer of either format carrying `text`."""
    if wire == "responses":
        out = [{"type": "message", "content": [{"type": "output_text", "text": text}]}]
        return httpx.Response(200, json={"status": "completed", "output": out})
    choice = {
        "index": 0,
        "finish_reason": "stop",
        "message": {"role": "assistant", "content": text},
    }
    return httpx.Response(200, json={"choices": [choice]})


def test_success_returns_text_and_usage(wire: str) -> None:
    with cassette(wire, "success") as cass:
        [reply] = client(wire).run([REQ])
        assert cass.all_played
    assert reply.problem is None
    assert parse_output(reply.text or "").findings[0].title == "Greeting misspelled"
    assert reply.usage == Usage(812, 240, 0, 128, 1)
    assert reply.items and reply.calls == ()


def test_responses_body_has_strict_schema_and_no_temperature() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer("responses", "{}")

    runner = Runner(
        settings("https://api.aimlapi.com/v1/", reasoning_effort="high"),
        CODECS["responses"](),
        httpx.MockTransport(handler),
    )
    runner.run([REQ])
    [request] = seen
    sent = json.loads(request.content)
    assert str(request.url) == "https://api.aimlapi.com/v1/responses"
    assert request.headers["authorization"] == f"Bearer {FAKE_KEY}"
    assert "temperature" not in sent and "top_p" not in sent
    assert sent["reasoning"] == {"effort": "high"}
    assert sent["text"]["format"] == {
        "type": "json_schema",
        "name": "code_review",
        "schema": response_schema(),
        "strict": True,
    }
    assert sent["instructions"] == "instructions" and sent["input"] == "input"
    assert sent["model"] == "openai/gpt-5-3-codex"
    assert "tools" not in sent and "include" not in sent  # the one-shot body, as it always was


def test_chat_body_has_strict_response_format_and_max_completion_tokens() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer("chat", "{}")

    runner = Runner(
        settings("http://localhost:8000/v1/", reasoning_effort="high"),
        CODECS["chat"](),
        httpx.MockTransport(handler),
    )
    runner.run([REQ])
    [request] = seen
    sent = json.loads(request.content)
    assert str(request.url) == "http://localhost:8000/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {FAKE_KEY}"
    assert sent["messages"] == [
        {"role": "system", "content": "instructions"},
        {"role": "user", "content": "input"},
    ]
    assert sent["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "code_review", "schema": response_schema(), "strict": True},
    }
    assert sent["max_completion_tokens"] == 32000 and "max_tokens" not in sent
    assert sent["reasoning_effort"] == "high"
    assert "temperature" not in sent and "tools" not in sent


def test_rate_limit_is_retried_then_succeeds(wire: str) -> None:
    with cassette(wire, "rate_limited_then_success") as cass:
        [reply] = client(wire).run([REQ])
        assert cass.play_count == 2
    assert reply.problem is None and reply.text


def test_server_error_is_retried_then_succeeds(wire: str) -> None:
    with cassette(wire, "server_error_then_success") as cass:
        [reply] = client(wire).run([REQ])
        assert cass.play_count == 2
    assert reply.text


def test_unauthorized_fails_fast_with_openai_message(wire: str) -> None:
    with cassette(wire, "unauthorized_openai_shape") as cass:
        with pytest.raises(LLMError, match=r"\(401\): Incorrect API key provided") as err:
            client(wire).run([REQ])
        assert cass.play_count == 1
    assert FAKE_KEY not in str(err.value)


def test_unauthorized_is_said_once_not_once_per_request(
    wire: str, caplog: pytest.LogCaptureFixture
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        time.sleep(0.02)  # all four are in flight together
        return httpx.Response(401, json={"error": {"message": "Incorrect API key provided"}})

    with pytest.raises(LLMError, match="Incorrect API key") as err:
        client(wire, httpx.MockTransport(handler)).run([REQ] * 4)
    assert "Incorrect API key" not in caplog.text  # the error line says it, the log does not
    assert str(err.value).count("Incorrect API key") == 1


def test_forbidden_fails_fast_with_aimlapi_message(wire: str) -> None:
    with (
        cassette(wire, "forbidden_aimlapi_shape"),
        pytest.raises(LLMError, match=r"\(403\): Your plan does not include access"),
    ):
        client(wire).run([REQ])


def test_out_of_output_tokens_retries_with_a_larger_budget(
    wire: str, bodies: list[dict[str, Any]]
) -> None:
    with cassette(wire, "incomplete_then_success") as cass:
        [reply] = client(wire).run([REQ])
        assert cass.all_played
    assert reply.problem is None and reply.text
    key = "max_output_tokens" if wire == "responses" else "max_completion_tokens"
    assert [b[key] for b in bodies] == [32000, 64000]
    assert reply.usage.output_tokens == 32000 + 240 and reply.usage.requests == 2


def test_out_of_output_tokens_at_the_model_limit_asks_for_a_split(
    wire: str, bodies: list[dict[str, Any]]
) -> None:
    with cassette(wire, "incomplete_three_times") as cass:
        [reply] = client(wire).run([REQ])
        assert cass.all_played
    key = "max_output_tokens" if wire == "responses" else "max_completion_tokens"
    assert [b[key] for b in bodies] == [32000, 64000, 128000]
    assert reply.text is None and reply.split is True
    assert reply.problem == "the response is incomplete (max_output_tokens)"


def test_refusal_is_reported_without_the_models_words(wire: str) -> None:
    with cassette(wire, "refusal") as cass:
        [reply] = client(wire).run([REQ])
        assert cass.play_count == 1  # a refusal is not asked again
    assert reply.text is None and reply.problem == "the model refused to review this part"


def test_only_the_final_answer_is_the_result_not_commentary() -> None:
    with VCR.use_cassette("commentary_then_final_answer.yaml"):
        [reply] = client("responses").run([REQ])
    assert reply.problem is None
    assert parse_output(reply.text or "").findings[0].title == "Greeting misspelled"
    assert [getattr(i, "phase", "-") for i in reply.items] == [
        "-",
        "commentary",
        "-",
        "final_answer",
    ]


def test_malformed_output_is_asked_again(wire: str) -> None:
    with cassette(wire, "malformed_then_success") as cass:
        [reply] = client(wire).run([REQ])
        assert cass.all_played
    assert reply.problem is None and reply.usage.requests == 2


def test_cloudflare_5xx_codes_are_retried(wire: str) -> None:
    with cassette(wire, "cloudflare_errors_then_success") as cass:
        [reply] = client(wire).run([REQ])
        assert cass.all_played
    assert reply.problem is None


def test_x_should_retry_false_is_obeyed(wire: str) -> None:
    with cassette(wire, "server_says_do_not_retry") as cass:
        [reply] = client(wire).run([REQ])
        assert cass.play_count == 1
    assert reply.problem == "HTTP 503 from the model endpoint"


def test_x_should_retry_true_retries_even_a_400(wire: str) -> None:
    with cassette(wire, "server_says_retry_a_400") as cass:
        [reply] = client(wire).run([REQ])
        assert cass.all_played
    assert reply.problem is None


def test_retry_after_over_two_minutes_is_not_waited(wire: str) -> None:
    started = time.perf_counter()
    with cassette(wire, "rate_limited_for_ten_minutes") as cass:
        [reply] = client(wire).run([REQ])
        assert cass.play_count == 1
    assert time.perf_counter() - started < 5
    assert reply.problem == "rate limited by the model endpoint (asked to wait 600 s)"


def test_unsupported_effort_stops_the_run_with_the_servers_message(wire: str) -> None:
    with (
        cassette(wire, "unsupported_effort"),
        pytest.raises(LLMError, match=r"\(400\): Unsupported value: 'minimal' is not supported"),
    ):
        client(wire, reasoning_effort="minimal").run([REQ])


def test_context_length_exceeded_asks_for_a_split(wire: str) -> None:
    with cassette(wire, "context_length_exceeded"):
        [reply] = client(wire).run([REQ])
    assert reply.split is True and reply.text is None


def test_invalid_prompt_fails_that_request_only_and_keeps_the_servers_words_in_the_log(
    wire: str, caplog: pytest.LogCaptureFixture
) -> None:
    with cassette(wire, "invalid_prompt") as cass:
        [reply] = client(wire).run([REQ])
        assert cass.play_count == 1
    assert reply.problem == "HTTP 400 (invalid_prompt) from the model endpoint"
    assert not reply.split
    assert "flagged as potentially violating" in caplog.text


def test_output_budget_is_at_least_the_apis_minimum(wire: str) -> None:
    runner = Runner(settings("http://fake/v1", max_output_tokens=3), CODECS[wire]())
    body = runner.body(REQ)
    assert body.get("max_output_tokens", body.get("max_completion_tokens")) == 16


def test_endpoint_down_gives_up_after_retries(wire: str) -> None:
    with cassette(wire, "endpoint_down") as cass:
        [reply] = client(wire, max_retries=4).run([REQ])
        assert cass.play_count == 5
    assert reply.text is None
    assert reply.problem == "HTTP 503 from the model endpoint; gave up after 5 attempts"


def test_cassettes_hold_no_authorization_and_no_key() -> None:
    for path in CASSETTES.rglob("*.yaml"):
        text = path.read_text()
        assert "authorization" not in text.lower(), path
        assert FAKE_KEY not in text and "Bearer" not in text, path


def test_retry_after_forms() -> None:
    assert retry_after(httpx.Headers({"retry-after-ms": "1500"})) == 1.5
    assert retry_after(httpx.Headers({"retry-after": "7"})) == 7.0
    assert retry_after(httpx.Headers({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert retry_after(httpx.Headers({"retry-after": "soon"})) is None
    assert retry_after(httpx.Headers({})) is None


def test_error_message_falls_back_to_text() -> None:
    resp = httpx.Response(502, text="<html>Bad gateway</html>")
    assert error_info(resp).message == "<html>Bad gateway</html>"


def test_concurrency_is_bounded_and_order_kept(wire: str) -> None:
    in_flight = 0
    peak = 0
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.02)
        with lock:
            in_flight -= 1
        return answer(wire, prompt_of(json.loads(request.content)))

    c = client(wire, httpx.MockTransport(handler), concurrency=3)
    done: list[tuple[int, int]] = []
    free_text = [ModelRequest.ask("i", str(n), None) for n in range(10)]
    replies = c.run(free_text, lambda d, t: done.append((d, t)))
    assert [r.text for r in replies] == [str(n) for n in range(10)]
    assert peak == 3
    assert done[-1] == (10, 10)


def test_transport_error_is_retried(wire: str) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ConnectError("[Errno 104] Connection reset by peer", request=request)
        return answer(wire, "{}")

    [reply] = client(wire, httpx.MockTransport(handler)).run([ModelRequest.ask("i", "x", None)])
    assert calls == 2 and reply.text == "{}"


def test_deadline_reports_the_request_as_timed_out(wire: str) -> None:
    release = threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        release.wait(5)
        return answer(wire, "{}")

    started = time.monotonic()
    try:
        [reply] = client(wire, httpx.MockTransport(handler)).run([REQ], None, started + 0.2)
    finally:
        release.set()
    assert reply.timed_out and reply.problem == "the model did not answer in time"
    assert time.monotonic() - started < 3


def test_fenced_json_from_the_model_still_parses(wire: str) -> None:
    with cassette(wire, "fenced_json"):
        [reply] = client(wire).run([REQ])
    assert reply.text is not None
    assert parse_output(reply.text).findings[0].path == "hello.py"


def test_malformed_output_three_times_is_that_requests_problem_not_an_error(wire: str) -> None:
    """What the review does with a failed request is tested in test_review.py; here, that the
    runner asks three times and then reports it as this request's problem."""
    with cassette(wire, "malformed_json") as cass:
        [reply] = client(wire).run([REQ])
        assert cass.all_played
    assert reply.text is None and reply.usage.requests == 3
    assert reply.problem == (
        "malformed model output (not JSON: Here is my review: the code looks fine but "
        "{summary: oops) after 3 attempts"
    )


def test_permanent_error_stops_other_requests_retrying(wire: str) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        which = prompt_of(json.loads(request.content))
        calls.append(which)
        if which == "bad":
            time.sleep(0.05)  # the other request is already waiting to retry by now
            return httpx.Response(401, json={"error": {"message": "bad key"}})
        return httpx.Response(503, headers={"retry-after": "30"}, json={"message": "busy"})

    c = client(wire, httpx.MockTransport(handler), concurrency=2)
    started = time.perf_counter()
    with pytest.raises(LLMError, match="bad key"):
        c.run([ModelRequest.ask("i", "busy", None), ModelRequest.ask("i", "bad", None)])
    assert time.perf_counter() - started < 5  # not the 30 s the busy one was told to wait
    assert calls.count("busy") == 1

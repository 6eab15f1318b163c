"""The Responses client over recorded HTTP (vcrpy cassettes written to the documented shapes)."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from reviewbot.errors import LLMError
from reviewbot.findings import parse_output, response_schema
from reviewbot.llm import (
    ClientSettings,
    ModelRequest,
    ResponsesClient,
    Usage,
    error_message,
    retry_after,
)
from tests.conftest import CASSETTES, FAKE_KEY, cassette_vcr

VCR = cassette_vcr("llm")
REQ = ModelRequest("instructions", "input")


def client(**kw: object) -> ResponsesClient:
    settings = ClientSettings(
        base_url="https://api.aimlapi.com/v1",
        api_key=FAKE_KEY,
        model="openai/gpt-5-3-codex",
        backoff_base=0.001,
        **kw,  # type: ignore[arg-type]
    )
    return ResponsesClient(settings, response_schema())


def test_success_returns_text_and_usage() -> None:
    with VCR.use_cassette("success.yaml") as cass:
        [reply] = client().run([REQ])
        assert cass.all_played
    assert reply.problem is None
    assert parse_output(reply.text or "").findings[0].title == "Greeting misspelled"
    assert reply.usage == Usage(812, 240, 0, 128, 1)


def test_request_body_has_strict_schema_and_no_temperature() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        out = [{"type": "message", "content": [{"type": "output_text", "text": "{}"}]}]
        return httpx.Response(200, json={"status": "completed", "output": out})

    settings = ClientSettings(
        "https://api.aimlapi.com/v1/", FAKE_KEY, "openai/gpt-5-3-codex", reasoning_effort="high"
    )
    ResponsesClient(settings, response_schema(), httpx.MockTransport(handler)).run([REQ])
    [request] = seen
    sent = json.loads(request.content)
    assert str(request.url) == "https://api.aimlapi.com/v1/responses"
    assert request.headers["authorization"] == f"Bearer {FAKE_KEY}"
    assert "temperature" not in sent and "top_p" not in sent
    assert sent["reasoning"] == {"effort": "high"}
    assert sent["text"]["format"]["type"] == "json_schema"
    assert sent["text"]["format"]["strict"] is True
    assert sent["text"]["format"]["schema"] == response_schema()
    assert sent["instructions"] == "instructions" and sent["input"] == "input"
    assert sent["model"] == "openai/gpt-5-3-codex"


def test_rate_limit_is_retried_then_succeeds() -> None:
    with VCR.use_cassette("rate_limited_then_success.yaml") as cass:
        [reply] = client().run([REQ])
        assert cass.play_count == 2
    assert reply.problem is None and reply.text


def test_server_error_is_retried_then_succeeds() -> None:
    with VCR.use_cassette("server_error_then_success.yaml") as cass:
        [reply] = client().run([REQ])
        assert cass.play_count == 2
    assert reply.text


def test_unauthorized_fails_fast_with_openai_message() -> None:
    with VCR.use_cassette("unauthorized_openai_shape.yaml") as cass:
        with pytest.raises(LLMError, match=r"\(401\): Incorrect API key provided") as err:
            client().run([REQ])
        assert cass.play_count == 1
    assert FAKE_KEY not in str(err.value)


def test_forbidden_fails_fast_with_aimlapi_message() -> None:
    with (
        VCR.use_cassette("forbidden_aimlapi_shape.yaml"),
        pytest.raises(LLMError, match=r"\(403\): Your plan does not include access"),
    ):
        client().run([REQ])


def test_incomplete_response_is_reported_not_parsed() -> None:
    with VCR.use_cassette("incomplete.yaml"):
        [reply] = client().run([REQ])
    assert reply.text is None
    assert reply.problem == "the response is incomplete (max_output_tokens)"
    assert reply.usage.output_tokens == 32000


def test_refusal_is_reported() -> None:
    with VCR.use_cassette("refusal.yaml"):
        [reply] = client().run([REQ])
    assert reply.text is None and reply.problem == "the model refused: I can't help with that."


def test_endpoint_down_gives_up_after_retries() -> None:
    with VCR.use_cassette("endpoint_down.yaml") as cass:
        [reply] = client(max_retries=4).run([REQ])
        assert cass.play_count == 5
    assert reply.text is None
    assert reply.problem is not None and "HTTP 503: upstream unavailable" in reply.problem
    assert reply.problem.startswith("gave up after 5 attempts")


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
    assert error_message(resp) == "<html>Bad gateway</html>"


def test_concurrency_is_bounded_and_order_kept() -> None:
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
        text = json.loads(request.content)["input"]
        body = {
            "status": "completed",
            "output": [{"type": "message", "content": [{"type": "output_text", "text": text}]}],
        }
        return httpx.Response(200, json=body)

    settings = ClientSettings("http://fake/v1", FAKE_KEY, "m", concurrency=3)
    c = ResponsesClient(settings, response_schema(), httpx.MockTransport(handler))
    done: list[tuple[int, int]] = []
    replies = c.run(
        [ModelRequest("i", str(n)) for n in range(10)], lambda d, t: done.append((d, t))
    )
    assert [r.text for r in replies] == [str(n) for n in range(10)]
    assert peak == 3
    assert done[-1] == (10, 10)


def test_transport_error_is_retried() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ConnectError("connection refused", request=request)
        out = [{"type": "message", "content": [{"type": "output_text", "text": "{}"}]}]
        return httpx.Response(200, json={"status": "completed", "output": out})

    settings = ClientSettings("http://fake/v1", FAKE_KEY, "m", backoff_base=0.001)
    [reply] = ResponsesClient(settings, {}, httpx.MockTransport(handler)).run([REQ])
    assert calls == 2 and reply.text == "{}"


def test_fenced_json_from_the_model_still_parses() -> None:
    with VCR.use_cassette("fenced_json.yaml"):
        [reply] = client().run([REQ])
    assert reply.text is not None
    assert parse_output(reply.text).findings[0].path == "hello.py"


def test_malformed_model_json_fails_that_request_only() -> None:
    from reviewbot.config import Config
    from reviewbot.review import prepare, run_review

    diff = '--- a/hello.py\n+++ b/hello.py\n@@ -1,1 +1,2 @@\n print("x")\n+print("Helo")\n'
    prepared = prepare(diff, Config())
    with VCR.use_cassette("malformed_json.yaml"):
        result = run_review(prepared, Config(), client())
    assert result.status == "failed"
    assert result.problems[0].startswith(
        "request 1 of 1: malformed model output (not JSON: Here is my review"
    )
    assert result.skipped[0].path == "hello.py"


def test_permanent_error_stops_other_requests_retrying() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        which = json.loads(request.content)["input"]
        calls.append(which)
        if which == "bad":
            time.sleep(0.05)  # the other request is already waiting to retry by now
            return httpx.Response(401, json={"error": {"message": "bad key"}})
        return httpx.Response(503, headers={"retry-after": "30"}, json={"message": "busy"})

    settings = ClientSettings("http://fake/v1", FAKE_KEY, "m", concurrency=2)
    c = ResponsesClient(settings, {}, httpx.MockTransport(handler))
    started = time.perf_counter()
    with pytest.raises(LLMError, match="bad key"):
        c.run([ModelRequest("i", "busy"), ModelRequest("i", "bad")])
    assert time.perf_counter() - started < 5  # not the 30 s the busy one was told to wait
    assert calls.count("busy") == 1

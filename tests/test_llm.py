"""The Responses client over recorded HTTP (vcrpy cassettes written to the documented shapes)."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from reviewbot.errors import LLMError
from reviewbot.findings import output_problem, parse_output, response_schema
from reviewbot.llm import ClientSettings, ResponsesClient
from reviewbot.model import ModelRequest, Usage
from reviewbot.responses import error_message, retry_after
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
    return ResponsesClient(settings, response_schema(), check=output_problem)


@pytest.fixture
def bodies(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """The JSON bodies the client sends (cassettes do not match on bodies)."""
    sent: list[dict[str, object]] = []
    real = httpx.Client.send

    def send(self: httpx.Client, request: httpx.Request, **kw: object) -> httpx.Response:
        sent.append(json.loads(request.read()))
        return real(self, request, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(httpx.Client, "send", send)
    return sent


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


def test_out_of_output_tokens_retries_with_a_larger_budget(bodies: list[dict[str, object]]) -> None:
    with VCR.use_cassette("incomplete_then_success.yaml") as cass:
        [reply] = client().run([REQ])
        assert cass.all_played
    assert reply.problem is None and reply.text
    assert [b["max_output_tokens"] for b in bodies] == [32000, 64000]
    assert reply.usage.output_tokens == 32000 + 240 and reply.usage.requests == 2


def test_out_of_output_tokens_at_the_model_limit_asks_for_a_split(
    bodies: list[dict[str, object]],
) -> None:
    with VCR.use_cassette("incomplete_three_times.yaml") as cass:
        [reply] = client().run([REQ])
        assert cass.all_played
    assert [b["max_output_tokens"] for b in bodies] == [32000, 64000, 128000]
    assert reply.text is None and reply.split is True
    assert reply.problem == "the response is incomplete (max_output_tokens)"


def test_refusal_is_reported_without_the_models_words() -> None:
    with VCR.use_cassette("refusal.yaml") as cass:
        [reply] = client().run([REQ])
        assert cass.play_count == 1  # a refusal is not asked again
    assert reply.text is None and reply.problem == "the model refused to review this part"


def test_only_the_final_answer_is_the_result_not_commentary() -> None:
    with VCR.use_cassette("commentary_then_final_answer.yaml"):
        [reply] = client().run([REQ])
    assert reply.problem is None
    assert parse_output(reply.text or "").findings[0].title == "Greeting misspelled"


def test_malformed_output_is_asked_again() -> None:
    with VCR.use_cassette("malformed_then_success.yaml") as cass:
        [reply] = client().run([REQ])
        assert cass.all_played
    assert reply.problem is None and reply.usage.requests == 2


def test_cloudflare_5xx_codes_are_retried() -> None:
    with VCR.use_cassette("cloudflare_errors_then_success.yaml") as cass:
        [reply] = client().run([REQ])
        assert cass.all_played
    assert reply.problem is None


def test_x_should_retry_false_is_obeyed() -> None:
    with VCR.use_cassette("server_says_do_not_retry.yaml") as cass:
        [reply] = client().run([REQ])
        assert cass.play_count == 1
    assert reply.problem == "HTTP 503 from the model endpoint"


def test_x_should_retry_true_retries_even_a_400() -> None:
    with VCR.use_cassette("server_says_retry_a_400.yaml") as cass:
        [reply] = client().run([REQ])
        assert cass.all_played
    assert reply.problem is None


def test_retry_after_over_two_minutes_is_not_waited() -> None:
    started = time.perf_counter()
    with VCR.use_cassette("rate_limited_for_ten_minutes.yaml") as cass:
        [reply] = client().run([REQ])
        assert cass.play_count == 1
    assert time.perf_counter() - started < 5
    assert reply.problem == "rate limited by the model endpoint (asked to wait 600 s)"


def test_unsupported_effort_stops_the_run_with_the_servers_message() -> None:
    with (
        VCR.use_cassette("unsupported_effort.yaml"),
        pytest.raises(LLMError, match=r"\(400\): Unsupported value: 'minimal' is not supported"),
    ):
        client(reasoning_effort="minimal").run([REQ])


def test_context_length_exceeded_asks_for_a_split() -> None:
    with VCR.use_cassette("context_length_exceeded.yaml"):
        [reply] = client().run([REQ])
    assert reply.split is True and reply.text is None


def test_invalid_prompt_fails_that_request_only_and_keeps_the_servers_words_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with VCR.use_cassette("invalid_prompt.yaml") as cass:
        [reply] = client().run([REQ])
        assert cass.play_count == 1
    assert reply.problem == "HTTP 400 (invalid_prompt) from the model endpoint"
    assert not reply.split
    assert "flagged as potentially violating" in caplog.text


def test_refused_connection_fails_fast_naming_the_base_url() -> None:
    import socket

    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = ClientSettings(f"http://127.0.0.1:{port}/v1", FAKE_KEY, "m", backoff_base=1.0)
    started = time.perf_counter()
    with pytest.raises(
        LLMError, match=rf"http://127.0.0.1:{port}/v1/responses: connection refused"
    ):
        ResponsesClient(settings, {}).run([REQ])
    assert time.perf_counter() - started < 1


def test_unknown_host_fails_fast() -> None:
    import socket

    def handler(request: httpx.Request) -> httpx.Response:
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except socket.gaierror as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc

    settings = ClientSettings("https://api.aimlapi.example/v1", FAKE_KEY, "m")
    with pytest.raises(LLMError, match=r"aimlapi.example/v1/responses: unknown host"):
        ResponsesClient(settings, {}, httpx.MockTransport(handler)).run([REQ])


def test_output_budget_is_at_least_the_apis_minimum() -> None:
    settings = ClientSettings("http://fake/v1", FAKE_KEY, "m", max_output_tokens=3)
    assert ResponsesClient(settings, {}).body(REQ)["max_output_tokens"] == 16


def test_endpoint_down_gives_up_after_retries() -> None:
    with VCR.use_cassette("endpoint_down.yaml") as cass:
        [reply] = client(max_retries=4).run([REQ])
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
            raise httpx.ConnectError("[Errno 104] Connection reset by peer", request=request)
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
    assert result.problems[0].endswith("after 3 attempts")
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

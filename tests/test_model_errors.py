"""What OpenAI-compatible servers answer that the runner must read right: context-window errors
as local servers word them, tool calls nobody asked for, odd shapes, server words that must
not reach a published review, and which hosts may get the key in clear."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from reviewbot.chat import ChatCodec
from reviewbot.config import is_loopback, resolve
from reviewbot.errors import ConfigError
from reviewbot.model import ModelRequest, OutputSchema
from reviewbot.responses import ResponsesCodec
from reviewbot.runner import ClientSettings, Codec, Runner

SCHEMA = OutputSchema("o", {"type": "object"}, lambda t: None if t.startswith("{") else "not JSON")
CODECS: dict[str, Callable[[], Codec]] = {"chat": ChatCodec, "responses": ResponsesCodec}

VLLM_MAX_TOKENS = (
    "'max_tokens' or 'max_completion_tokens' is too large: 32000. This model's maximum context "
    "length is 65536 tokens and your request has 34006 input tokens (32000 > 65536 - 34006)."
)
VLLM_PROMPT = (
    "This model's maximum context length is 32768 tokens. However, your request has 40000 "
    "input tokens. Please reduce the length of the input messages."
)


def runner(codec: str, answer: Callable[[httpx.Request], httpx.Response]) -> Runner:
    settings = ClientSettings(base_url="http://127.0.0.1:9/v1", api_key="k", model="m")
    return Runner(settings, CODECS[codec](), httpx.MockTransport(answer))


def ask(r: Runner) -> Any:
    return r.run([ModelRequest.ask("instructions", "diff", SCHEMA)])[0]


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize(
    "error",
    [
        {"error": {"message": VLLM_MAX_TOKENS, "type": "BadRequestError", "param": "max_tokens"}},
        {"error": {"message": VLLM_PROMPT, "type": "BadRequestError", "param": "input_tokens"}},
        {"object": "error", "message": VLLM_PROMPT, "type": "BadRequestError", "param": None},
    ],
    ids=["vllm-max-tokens", "vllm-input-tokens", "vllm-flat"],
)
def test_a_local_servers_context_window_error_splits_the_part_not_the_run(
    codec: str, error: dict[str, Any]
) -> None:
    """vLLM names `max_tokens` / `input_tokens` as the param of a context-window error; read as
    an unsupported parameter it stopped the whole run with a wrong diagnosis."""
    reply = ask(runner(codec, lambda _r: httpx.Response(400, json=error)))
    assert reply.split and reply.problem == "the request exceeded the model's context window"


def chat_answer(message: dict[str, Any], finish: str = "tool_calls") -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "id": "c1",
            "object": "chat.completion",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10},
        },
    )


CALL = {"id": "call_1", "type": "function", "function": {"name": "read_file", "arguments": "{}"}}


def test_a_tool_call_nobody_offered_keeps_the_answer_text_beside_it() -> None:
    message = {"role": "assistant", "content": '{"summary": "ok"}', "tool_calls": [CALL]}
    reply = ask(runner("chat", lambda _r: chat_answer(message)))
    assert reply.text == '{"summary": "ok"}' and reply.problem is None


def test_a_tool_call_alone_when_no_tool_was_offered_is_asked_again_then_named() -> None:
    sent: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return chat_answer({"role": "assistant", "content": None, "tool_calls": [CALL]})

    reply = ask(runner("chat", answer))
    assert reply.text is None and len(sent) == 3  # asked again, like any unusable output
    assert "the model called a tool, but none was offered" in reply.problem


@pytest.mark.parametrize("calls", [7, "call", {"id": "x"}])
def test_tool_calls_of_the_wrong_shape_are_no_crash(calls: object) -> None:
    message = {"role": "assistant", "content": '{"summary": "ok"}', "tool_calls": calls}
    reply = ask(runner("chat", lambda _r: chat_answer(message, "stop")))
    assert reply.text == '{"summary": "ok"}'


def test_a_servers_free_text_error_code_stays_out_of_the_problem_text() -> None:
    """The problem text is published in the review body; a server's `code` is shown only when
    it is a plain identifier."""
    hostile = {"error": {"message": "no", "code": "x) [click](https://evil.example) <!--"}}
    plain = {"error": {"message": "no", "code": "invalid_prompt"}}
    assert ask(runner("responses", lambda _r: httpx.Response(400, json=hostile))).problem == (
        "HTTP 400 from the model endpoint"
    )
    reply = ask(runner("responses", lambda _r: httpx.Response(400, json=plain)))
    assert reply.problem == "HTTP 400 (invalid_prompt) from the model endpoint"


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("127.attacker.example", False),
        ("127.0.0.1.nip.io", False),
        ("10.0.0.1", False),
    ],
)
def test_only_this_machine_may_get_the_key_over_plain_http(host: str, local: bool) -> None:
    assert is_loopback(host) is local
    url = f"http://[{host}]:8000/v1" if ":" in host else f"http://{host}:8000/v1"
    if local:
        assert resolve(None, "k", {"base_url": url}).base_url == url
    else:
        with pytest.raises(ConfigError, match="must use https"):
            resolve(None, "k", {"base_url": url})


def test_a_servers_status_and_incomplete_reason_reach_the_problem_text_only_as_words() -> None:
    def answer(status: str, reason: str) -> httpx.Response:
        body = {
            "id": "resp_1",
            "object": "response",
            "created_at": 1,
            "model": "m",
            "status": status,
            "incomplete_details": {"reason": reason},
            "output": [],
        }
        return httpx.Response(200, json=body)

    hostile = "x [click](https://evil.example) <!--"
    problem = ask(runner("responses", lambda _r: answer("incomplete", hostile))).problem
    assert "evil" not in problem and "incomplete (unknown)" in problem
    problem = ask(runner("responses", lambda _r: answer(hostile, "x"))).problem
    assert "evil" not in problem and "the response unknown" in problem
    problem = ask(runner("responses", lambda _r: answer("incomplete", "content_filter"))).problem
    assert "incomplete (content_filter)" in problem

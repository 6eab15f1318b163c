"""What differs by wire format and by connection: Chat Completions' own answers and errors,
conversations (function calls, their outputs, reasoning) in both formats, the hints a wrong
URL gets, and `wire_api` from every place a user can set it."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import vcr

from reviewbot.cli import main
from reviewbot.config import Config
from reviewbot.errors import ConfigError, LLMError
from reviewbot.llm import CODECS, client_for
from reviewbot.model import (
    FunctionCall,
    FunctionCallOutput,
    Message,
    ModelRequest,
    Reasoning,
    Tool,
)
from reviewbot.responses import parse_response
from reviewbot.runner import ClientSettings, Runner
from tests.conftest import CASSETTES, DATA, FAKE_KEY, FakeResponses, cassette_vcr, main_cli
from tests.llm_cassettes import TYPO_REVIEW
from tests.llm_chat_cassettes import completion
from tests.openai_shapes import check_request
from tests.test_llm import REQ, REVIEW, answer, client

VCR = cassette_vcr("llm")
READ = Tool(
    "read_file",
    "Read a file of the reviewed commit.",
    {
        "type": "object",
        "additionalProperties": False,
        "properties": {"path": {"type": "string"}},
        "required": ["path"],
    },
)
CONVERSATION = ModelRequest(
    "instructions",
    (
        Message("user", "review this"),
        Reasoning("rs_1", "gAAAA-encrypted"),
        Reasoning("rs_2"),  # no encrypted content: cannot be sent back
        FunctionCall("call_1", "read_file", '{"path": "a.py"}', "fc_1"),
        FunctionCallOutput("call_1", "print('a')"),
    ),
    REVIEW,
    (READ,),
)


# Chat Completions: its own answers and errors.


def test_chat_content_filter_is_an_incomplete_answer_not_a_split() -> None:
    with VCR.use_cassette("chat/content_filter.yaml") as cass:
        [reply] = client("chat").run([REQ])
        assert cass.all_played  # asked again, as an incomplete Responses answer is
    assert reply.text is None and not reply.split
    assert reply.problem == "the response is incomplete (content_filter) after 3 attempts"


def test_chat_tool_calls_come_back_as_items_and_are_not_asked_again() -> None:
    with VCR.use_cassette("chat/tool_call.yaml") as cass:
        [reply] = client("chat").run([CONVERSATION])
        assert cass.play_count == 1
    assert reply.text is None and reply.problem is None
    assert reply.calls == (FunctionCall("call_1", "read_file", '{"path": "hello.py"}'),)


def test_chat_server_without_strict_json_schema_gets_one_clear_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with VCR.use_cassette("chat/no_strict_json_schema.yaml") as cass:
        with pytest.raises(LLMError) as err:
            client("chat").run([REQ, REQ])
        assert cass.play_count == 1
    line = str(err.value)
    assert line.startswith(
        "the model endpoint does not accept strict structured output (`response_format` with a "
        "strict json_schema), which reviewbot needs"
    )
    assert "(400: 1 validation error for ChatCompletionRequest response_format.type Input" in line
    assert "\n" not in line
    assert "response_format" not in caplog.text  # said once, in the error


def test_chat_server_without_max_completion_tokens_gets_one_clear_line() -> None:
    with (
        VCR.use_cassette("chat/no_max_completion_tokens.yaml"),
        pytest.raises(LLMError, match=r"does not accept `max_completion_tokens` \(older servers"),
    ):
        client("chat").run([REQ])


def test_chat_model_without_thinking_is_asked_again_without_reasoning_effort(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[dict[str, Any]] = []
    real = httpx.Client.send

    def send(self: httpx.Client, request: httpx.Request, **kw: Any) -> httpx.Response:
        sent.append(json.loads(request.read()))
        return real(self, request, **kw)

    monkeypatch.setattr(httpx.Client, "send", send)
    with VCR.use_cassette("chat/no_thinking_then_success.yaml") as cass:
        [reply] = client("chat").run([REQ])
        assert cass.all_played
    assert reply.text and reply.problem is None
    assert [("reasoning_effort" in b) for b in sent] == [True, False]
    assert caplog.text.count("does not accept `reasoning_effort`") == 1


def test_chat_usage_is_read_from_its_own_fields() -> None:
    body = completion(json.dumps(TYPO_REVIEW), prompt_tokens=900, completion_tokens=50)
    body["usage"]["prompt_tokens_details"]["cached_tokens"] = 640
    reply = CODECS["chat"]().parse(body)
    assert (reply.usage.input_tokens, reply.usage.cached_tokens) == (900, 640)
    assert (reply.usage.output_tokens, reply.usage.reasoning_tokens) == (50, 128)


# Conversations: every item goes out and comes back, in both formats.


def test_responses_conversation_body_repeats_every_item_in_order() -> None:
    body = Runner(ClientSettings("http://fake/v1", FAKE_KEY, "m"), CODECS["responses"]()).body(
        CONVERSATION
    )
    check_request("/v1/responses", body)
    assert body["input"] == [
        {"role": "user", "content": "review this"},
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAA-encrypted"},
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "read_file",
            "arguments": '{"path": "a.py"}',
        },
        {"type": "function_call_output", "call_id": "call_1", "output": "print('a')"},
    ]
    assert body["tools"] == [
        {
            "type": "function",
            "name": "read_file",
            "description": "Read a file of the reviewed commit.",
            "parameters": READ.parameters,
            "strict": True,
        }
    ]
    assert body["include"] == ["reasoning.encrypted_content"]
    assert body["text"]["format"]["name"] == "code_review"


def test_chat_conversation_body_puts_calls_on_an_assistant_message_and_outputs_after() -> None:
    body = Runner(ClientSettings("http://fake/v1", FAKE_KEY, "m"), CODECS["chat"]()).body(
        CONVERSATION
    )
    check_request("/v1/chat/completions", body)
    assert body["messages"] == [
        {"role": "system", "content": "instructions"},
        {"role": "user", "content": "review this"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "read_file", "arguments": '{"path": "a.py"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "print('a')"},
    ]
    assert body["tools"][0]["function"]["name"] == "read_file"


def test_free_text_request_sends_no_schema() -> None:
    for name in CODECS:
        body = Runner(ClientSettings("http://fake/v1", FAKE_KEY, "m"), CODECS[name]()).body(
            ModelRequest.ask("i", "x", None)
        )
        assert "text" not in body and "response_format" not in body, name


def test_responses_function_calls_are_kept_with_reasoning_in_order() -> None:
    data = {
        "status": "completed",
        "output": [
            {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "enc"},
            {
                "type": "function_call",
                "id": "fc_1",
                "call_id": "call_1",
                "name": "grep",
                "arguments": "{}",
            },
            {
                "type": "function_call",
                "id": "fc_2",
                "call_id": "call_2",
                "name": "read_file",
                "arguments": "{}",
            },
        ],
    }
    reply = parse_response(data)
    assert reply.text is None and reply.problem is None
    assert reply.items == (
        Reasoning("rs_1", "enc"),
        FunctionCall("call_1", "grep", "{}", "fc_1"),
        FunctionCall("call_2", "read_file", "{}", "fc_2"),
    )


@pytest.mark.parametrize("wire", ["responses", "chat"])
def test_a_thread_reply_runs_through_either_codec(wire: str) -> None:
    """The reply flow's request (its own schema and check) through both formats: a malformed
    answer is asked again, and the answer is posted."""
    from reviewbot.conversation import answer_in_thread
    from reviewbot.event import Reply
    from reviewbot.publish import GitHubPublisher
    from reviewbot.pulls import ReviewComment
    from reviewbot.run import Run

    texts = iter(["not json", json.dumps({"reply": "Yes, fixed.", "suggestion": None})])
    sent: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        check_request(request.url.path, sent[-1])
        return answer(wire, next(texts))

    root = ReviewComment(
        1, "Typo.\n<!-- reviewbot:v1 comment fp=0123456789ab -->", "bot", True, None, "a.py", 2
    )

    class FakeGitHub:
        posted: list[str] = []  # noqa: RUF012 - one test's fake

        def identity(self) -> str:
            return "bot"

        def review_comment(self, comment_id: int) -> ReviewComment:
            return root

        def review_comments(self, pr_number: int) -> list[ReviewComment]:
            return [root, ReviewComment(2, "Is it fixed?", "alice", False, 1)]

        def post_reply(self, pr_number: int, comment_id: int, body: str) -> str:
            self.posted.append(body)
            return "https://github.com/o/r/pull/1#discussion_r3"

    gh = FakeGitHub()
    reply = Reply("o/r", 1, 2, 1, "alice", "alice", "Fix", "a" * 40, "main", "b" * 40)
    config = Config(api_key=FAKE_KEY, wire_api=wire)
    model = client_for(config, httpx.MockTransport(handler))
    run = Run(config, gh, model, GitHubPublisher(gh))  # type: ignore[arg-type]
    outcome = answer_in_thread(run, reply)
    assert outcome.review_url.endswith("discussion_r3")
    assert gh.posted[0].startswith("Yes, fixed.")
    assert len(sent) == 2
    schema = (
        sent[0]["text"]["format"]
        if wire == "responses"
        else sent[0]["response_format"]["json_schema"]
    )
    assert set(schema["schema"]["properties"]) == {"reply", "suggestion"}


# wire_api from every place a user sets it.


def test_wire_api_is_checked_and_chooses_the_codec() -> None:
    assert Config().wire_api == "responses"
    assert client_for(Config()).url == "https://api.aimlapi.com/v1/responses"
    chat = Config().with_overrides({"wire_api": "chat", "base_url": "http://localhost:11434/v1"})
    assert client_for(chat).url == "http://localhost:11434/v1/chat/completions"
    with pytest.raises(ConfigError, match="wire_api"):
        Config().with_overrides({"wire_api": "grpc"})


def test_wire_api_action_input() -> None:
    from reviewbot.inputs import read_inputs

    inputs = read_inputs({"INPUT_WIRE_API": "chat", "INPUT_API_KEY": "k"})
    assert inputs.overrides["wire_api"] == "chat"
    assert read_inputs({"INPUT_WIRE_API": "responses"}).overrides.get("wire_api") is None
    with pytest.raises(ConfigError, match="input 'wire_api'"):
        read_inputs({"INPUT_WIRE_API": "soap"})


def same_accept(r1: Any, r2: Any) -> None:
    """The pull request and its diff share a URL; the Accept header tells them apart."""
    from tests.make_cassettes import DIFF_MEDIA

    assert (r1.headers.get("Accept") == DIFF_MEDIA) == (r2.headers.get("Accept") == DIFF_MEDIA)


def test_the_action_reviews_over_chat_completions_when_its_input_says_so(
    fake_responses: FakeResponses, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`reviewbot action` in-process (`main(argv, env)`), GitHub from the `opened` cassette,
    the model a Chat Completions server on 127.0.0.1."""
    fake_responses.default = (200, {}, json.dumps(completion(json.dumps(TYPO_REVIEW))).encode())
    event, output = tmp_path / "event.json", tmp_path / "output"
    event.write_text((DATA / "events" / "pull_request.opened.json").read_text())
    env = {
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": "Codertocat/Hello-World",
        "GITHUB_OUTPUT": str(output),
        "INPUT_API_KEY": FAKE_KEY,
        "INPUT_GITHUB_TOKEN": "ghs_faketokenfaketokenfaketoken0123",
        "INPUT_BASE_URL": fake_responses.base_url,
        "INPUT_WIRE_API": "chat",
    }
    github = vcr.VCR(
        cassette_library_dir=str(CASSETTES / "action"),
        record_mode="none",
        match_on=["method", "scheme", "host", "port", "path", "query", "accept"],
        ignore_localhost=True,  # the model on 127.0.0.1 answers for itself
    )
    github.register_matcher("accept", same_accept)
    with github.use_cassette("opened.yaml"):
        code = main(["action"], env)
    assert code == 0, capsys.readouterr()
    assert {path for path, _, _ in fake_responses.seen} == {"/v1/chat/completions"}
    assert "status=reviewed" in output.read_text().splitlines()


@pytest.mark.parametrize("how", ["flag", "env"])
def test_cli_reviews_over_chat_completions(how: str, fake_responses: FakeResponses) -> None:
    server = fake_responses
    server.default = (200, {}, json.dumps(completion(json.dumps(TYPO_REVIEW))).encode())
    args = ["review", "--diff", "-", "--base-url", server.base_url, "--format", "json"]
    args += ["--no-verify"]  # one request: the review (verification: test_verify.py)
    env = {"REVIEWBOT_API_KEY": FAKE_KEY}
    if how == "flag":
        args += ["--wire-api", "chat"]
    else:
        env["REVIEWBOT_WIRE_API"] = "chat"
    stdin = b'--- a/hello.py\n+++ b/hello.py\n@@ -1,1 +1,2 @@\n print("x")\n+print("Helo")\n'
    p = main_cli(*args, stdin=stdin, **env)
    assert p.returncode == 0, p.stderr
    assert [path for path, _, _ in server.seen] == ["/v1/chat/completions"]
    assert json.loads(p.stdout)["findings"][0]["title"] == "Greeting misspelled"


def test_cli_refuses_an_unknown_wire_api_from_the_environment() -> None:
    p = main_cli(
        "review", "--diff", "-", stdin=b"", REVIEWBOT_API_KEY=FAKE_KEY, REVIEWBOT_WIRE_API="soap"
    )
    assert p.returncode == 2
    assert "wire_api" in p.stderr.strip().splitlines()[-1]


def test_requests_in_flight_when_reasoning_effort_is_refused_are_all_sent_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        time.sleep(0.05)  # all three carry reasoning_effort before the first answer
        if "reasoning_effort" in json.loads(request.content):
            error = {"message": '"llama3.2" does not support thinking', "type": "api_error"}
            return httpx.Response(400, json={"error": error})
        return answer("chat", json.dumps(TYPO_REVIEW))

    replies = client("chat", httpx.MockTransport(handler), concurrency=3).run([REQ] * 3)
    assert [r.problem for r in replies] == [None, None, None]
    assert caplog.text.count("does not accept `reasoning_effort`") == 1


def test_a_server_that_keeps_refusing_after_the_drop_fails_that_request() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        error = {"message": "thinking is broken today", "type": "api_error"}
        return httpx.Response(400, json={"error": error})

    [reply] = client("chat", httpx.MockTransport(handler)).run([REQ])
    assert reply.problem == "HTTP 400 from the model endpoint"

"""The bounded agent loop, over recorded-shape conversations (Responses and Chat Completions)
and scripted models: what is sent back each turn, the budgets, and what the review says."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from reviewbot.agent.loop import AgentModel, Budgets
from reviewbot.agent.snapshot import Snapshot, git_snapshot
from reviewbot.agent.tools import Tools
from reviewbot.agent.wiring import cache_key
from reviewbot.config import Config
from reviewbot.llm import client_for
from reviewbot.model import (
    FunctionCall,
    FunctionCallOutput,
    Message,
    ModelReply,
    ModelRequest,
    Reasoning,
    Usage,
)
from reviewbot.review import prepare, run_review
from tests.agent_cassettes import ENCRYPTED
from tests.conftest import FAKE_KEY, git_repo
from tests.llm_cassettes import TYPO_REVIEW
from tests.openai_shapes import check_request

CASSETTES = Path(__file__).parent / "cassettes" / "agent"


class Replay:
    """An endpoint that answers with a cassette's responses in order and keeps each request
    (vcrpy's httpx stubs do not keep request bodies)."""

    def __init__(self, name: str) -> None:
        doc = yaml.safe_load((CASSETTES / name).read_text())
        self.answers = [i["response"] for i in doc["interactions"]]
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers[len(self.requests) - 1]
        return httpx.Response(
            answer["status"]["code"],
            content=answer["body"]["string"].encode(),
            headers={"content-type": "application/json"},
        )

    @property
    def bodies(self) -> list[dict[str, Any]]:
        out = [json.loads(r.content) for r in self.requests]
        for r, body in zip(self.requests, out, strict=True):
            check_request(r.url.path, body)  # the published request types
        return out


BASE = 'def greet():\n    print("Hello")\n'
HEAD = 'def greet():\n    print("Helo")\n'
CALLER = "from hello import greet\n\ngreet()\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Snapshot]]:
    git = git_repo(tmp_path)
    (tmp_path / "hello.py").write_text(BASE)
    (tmp_path / "caller.py").write_text(CALLER)
    git("add", "-A")
    git("commit", "-qm", "base")
    (tmp_path / "hello.py").write_text(HEAD)
    git("commit", "-qam", "typo")
    monkeypatch.chdir(tmp_path)
    import subprocess

    diff = subprocess.run(
        ["git", "diff", "HEAD~1", "HEAD"], capture_output=True, text=True, check=True
    ).stdout
    snap = git_snapshot("HEAD~1", "HEAD")
    yield diff, snap
    snap.close()


def agent_review(
    diff: str,
    snap: Snapshot,
    cassette: str,
    budgets: Budgets | None = None,
    wire: str = "responses",
) -> tuple[Any, AgentModel, Replay]:
    # the loop alone: verification (its own request after the review) is test_verify.py's
    config = Config(api_key=FAKE_KEY, context="agent", wire_api=wire, verify=False)
    replay = Replay(cassette)
    client = client_for(config, httpx.MockTransport(replay))
    model = AgentModel(client, Tools(snap, fence=lambda: "F00D"), budgets, cache_key("o/r", "42"))
    result = run_review(prepare(diff, config), config, model)
    assert len(replay.requests) == len(replay.answers)  # the whole cassette, no more
    return result, model, replay


def test_a_multi_turn_review_with_parallel_calls(repo: tuple[str, Snapshot]) -> None:
    diff, snap = repo
    result, model, cass = agent_review(diff, snap, "parallel_calls.yaml")
    assert result.status == "reviewed"
    assert [(p.path, p.line, p.inline) for p in result.placed] == [("hello.py", 2, True)]
    first, second, third = cass.bodies
    # The stable prefix: instructions and tools byte for byte, one cache key for the PR.
    for body in (second, third):
        for key in ("instructions", "tools", "prompt_cache_key", "text"):
            assert body[key] == first[key]
        assert body["store"] is False and body["include"] == ["reasoning.encrypted_content"]
        assert body["tool_choice"] == "auto" and body["parallel_tool_calls"] is True
    assert first["prompt_cache_key"] == cache_key("o/r", "42")
    assert [t["name"] for t in first["tools"]] == ["read_file", "grep", "list_dir", "find_symbol"]
    assert all(t["strict"] is True for t in first["tools"])
    # Earlier items resent verbatim and in order; each output after its call, by call_id.
    assert second["input"][0] == {"role": "user", "content": first["input"]}
    assert [i.get("type") for i in second["input"][1:]] == [
        "reasoning",
        "function_call",
        "function_call",
        "function_call_output",
        "function_call_output",
    ]
    assert second["input"][1]["encrypted_content"] == ENCRYPTED
    assert third["input"][: len(second["input"])] == second["input"]
    # rs_2 came without encrypted content: left out, the call after it kept.
    assert [i.get("type") for i in third["input"][len(second["input"]) :]] == [
        "function_call",
        "function_call_output",
    ]
    calls = {i["call_id"] for i in third["input"] if i.get("type") == "function_call"}
    outputs = [i for i in third["input"] if i.get("type") == "function_call_output"]
    assert {o["call_id"] for o in outputs} == calls == {"call_1", "call_2", "call_3"}
    read, grep, symbol = (o["output"] for o in outputs)
    assert read.startswith("<<<BEGIN UNTRUSTED DATA F00D>>>\nhello.py (head), lines 1-2 of 2")
    assert '2|     print("Helo")' in read
    assert "caller.py:3: greet()" in grep and "hello.py:1: def greet():" in grep
    assert "caller.py:1:" not in grep  # `greet(` with its parenthesis: not the import
    assert "hello.py:1: def greet(): (lines 1-2)" in symbol.split("references")[0]
    (report,) = model.reports
    assert report.turns == 3 and report.gap == ""
    assert report.calls == (("find_symbol", 1), ("grep", 1), ("read_file", 1))
    assert report.trail == ("read_file hello.py:1-40", "grep greet(", "find_symbol greet")
    # Usage counts every turn, cached tokens kept.
    assert (result.usage.input_tokens, result.usage.cached_tokens) == (9000, 5376)
    assert result.usage.requests == 3


def test_a_spent_budget_asks_for_the_answer_without_tools_and_says_so(
    repo: tuple[str, Snapshot], caplog: pytest.LogCaptureFixture
) -> None:
    diff, snap = repo
    with caplog.at_level(logging.WARNING):
        result, model, cass = agent_review(diff, snap, "budget_spent.yaml", Budgets(turns=3))
    assert result.status == "reviewed" and len(result.placed) == 1
    *_, last = cass.bodies
    assert last["tool_choice"] == "none" and last["tools"] == cass.bodies[0]["tools"]
    final = last["input"][-1]
    assert final["role"] == "user" and "budget for this part is spent" in final["content"]
    assert "turn budget (3 turns)" in final["content"]
    (report,) = model.reports
    assert report.gap == "the turn budget (3 turns) was spent" and report.turns == 3
    assert "part 1: coverage gap: the turn budget (3 turns) was spent" in caplog.text


def test_hostile_calls_are_refused_and_the_key_is_in_no_request(
    repo: tuple[str, Snapshot], monkeypatch: pytest.MonkeyPatch
) -> None:
    diff, snap = repo
    monkeypatch.setenv("REVIEWBOT_API_KEY", FAKE_KEY)
    result, _, cass = agent_review(diff, snap, "hostile_calls.yaml")
    assert result.status == "reviewed"
    for request in cass.requests:
        assert FAKE_KEY.encode() not in request.content
        assert b"REVIEWBOT_API_KEY=" not in request.content
        assert request.headers["authorization"] == f"Bearer {FAKE_KEY}"  # only there
    outputs = [i["output"] for i in cass.bodies[-1]["input"] if "output" in i]
    assert outputs[0].startswith("error: absolute paths are outside the snapshot")
    assert outputs[1].startswith("error: `..` would leave the snapshot")
    assert outputs[2] == "error: no file '.git/config' on the base side"
    assert "no line holds 'REVIEWBOT_API_KEY'" in outputs[3]  # no file matches /proc/**


def test_the_same_loop_through_chat_completions(repo: tuple[str, Snapshot]) -> None:
    diff, snap = repo
    result, model, cass = agent_review(diff, snap, "chat/parallel_calls.yaml", wire="chat")
    assert result.status == "reviewed" and len(result.placed) == 1
    first, second, third = cass.bodies
    assert [t["function"]["name"] for t in first["tools"]] == [
        "read_file",
        "grep",
        "list_dir",
        "find_symbol",
    ]
    assert third["tool_choice"] == "auto" and third["tools"] == first["tools"]
    shape = [
        (m["role"], m.get("tool_call_id"), len(m.get("tool_calls") or []))
        for m in third["messages"]
    ]
    assert shape == [
        ("system", None, 0),
        ("user", None, 0),
        ("assistant", None, 2),
        ("tool", "call_1", 0),
        ("tool", "call_2", 0),
        ("assistant", None, 1),
        ("tool", "call_3", 0),
    ]
    assert third["messages"][5]["content"] == "Checking who calls greet."
    assert third["messages"][: len(second["messages"])] == second["messages"]
    assert "caller.py:3: greet()" in third["messages"][4]["content"]
    assert model.reports[0].turns == 3


# Scripted models: the budgets and the edges.


class Scripted:
    """A model that answers each request with the next reply of its script (per part)."""

    def __init__(self, script: Callable[[ModelRequest, int], ModelReply]) -> None:
        self.script = script
        self.seen: list[ModelRequest] = []
        self.on_run: Callable[[], None] = lambda: None

    def run(
        self,
        requests: Sequence[ModelRequest],
        on_done: Callable[[int, int], None] | None = None,
        deadline: float | None = None,
    ) -> list[ModelReply]:
        self.on_run()
        self.seen.extend(requests)
        return [self.script(r, len(self.seen)) for r in requests]


def calls(n: int, per_turn: int = 2) -> ModelReply:
    items = tuple(
        FunctionCall(f"c{n}_{k}", "list_dir", json.dumps({"path": "."})) for k in range(per_turn)
    )
    return ModelReply(None, Usage(input_tokens=1000, requests=1), items=items)


def answer(req: ModelRequest) -> ModelReply:
    return ModelReply(json.dumps(TYPO_REVIEW), Usage(input_tokens=1000, requests=1))


def greedy(req: ModelRequest, n: int) -> ModelReply:
    """Calls tools until it is asked for the answer without them."""
    return answer(req) if req.tool_choice == "none" else calls(n)


REQ = ModelRequest.ask("instructions", "the diff", None)


def test_parallel_calls_count_one_each_against_the_call_budget(
    repo: tuple[str, Snapshot],
) -> None:
    _, snap = repo
    inner = Scripted(greedy)
    agent = AgentModel(inner, Tools(snap), Budgets(tool_calls=3))
    (reply,) = agent.run([REQ])
    assert reply.text is not None
    outputs = [i for i in inner.seen[-1].items if isinstance(i, FunctionCallOutput)]
    assert len(outputs) == 4  # every call answered, run or not
    assert outputs[-1].output.startswith("error: not run: this part's tool-call budget is spent")
    assert agent.reports[0].calls == (("list_dir", 3),)
    assert agent.reports[0].gap == "the tool-call budget (3 calls) was spent"
    assert [r.tool_choice for r in inner.seen] == ["auto", "auto", "none"]


def test_the_token_budget_counts_the_input_of_later_turns(repo: tuple[str, Snapshot]) -> None:
    _, snap = repo

    def big(req: ModelRequest, n: int) -> ModelReply:
        reply = greedy(req, n)
        return ModelReply(
            reply.text,
            Usage(input_tokens=9_000, cached_tokens=8_000, requests=1),
            items=reply.items,
        )

    inner = Scripted(big)
    agent = AgentModel(inner, Tools(snap), Budgets(tokens=40_000))
    (reply,) = agent.run([REQ])
    # Turns 2-4 add 27k; a fifth look-up turn and the answer after it would pass 40k: the
    # fifth turn is the answer (36k added in all).
    assert len(inner.seen) == 5 and inner.seen[-1].tool_choice == "none"
    assert [r.tool_choice for r in inner.seen[:4]] == ["auto"] * 4
    assert agent.reports[0].gap == "the token budget (40,000 added input tokens) was spent"
    assert reply.usage == Usage(input_tokens=45_000, cached_tokens=40_000, requests=5)


def test_the_deadline_ends_the_look_ups_in_time_for_an_answer(repo: tuple[str, Snapshot]) -> None:
    _, snap = repo
    now = [0.0]
    inner = Scripted(greedy)

    def slow() -> None:
        now[0] += 40.0  # each round takes 40 s

    inner.on_run = slow
    agent = AgentModel(inner, Tools(snap), clock=lambda: now[0])
    (reply,) = agent.run([REQ], deadline=100.0)
    assert reply.text is not None
    assert [r.tool_choice for r in inner.seen] == ["auto", "none"]
    assert "deadline" in agent.reports[0].gap


def test_reasoning_goes_back_only_with_its_encrypted_content(repo: tuple[str, Snapshot]) -> None:
    _, snap = repo

    def thinking(req: ModelRequest, n: int) -> ModelReply:
        if n > 1:
            return answer(req)
        items = (
            Reasoning("rs_a", "enc-a", ("summary",)),
            Reasoning("rs_b"),
            Message("assistant", "Looking at the callers.", "commentary"),
            FunctionCall("c1", "find_symbol", '{"name": "greet"}', "fc_1"),
        )
        return ModelReply(None, Usage(requests=1), items=items)

    inner = Scripted(thinking)
    AgentModel(inner, Tools(snap)).run([REQ])
    sent = inner.seen[1].items
    assert [type(i).__name__ for i in sent] == [
        "Message",
        "Reasoning",
        "Message",
        "FunctionCall",
        "FunctionCallOutput",
    ]
    assert sent[1] == Reasoning("rs_a", "enc-a", ("summary",))


def test_a_model_that_keeps_calling_after_the_budget_fails_the_part(
    repo: tuple[str, Snapshot],
) -> None:
    _, snap = repo
    agent = AgentModel(Scripted(lambda r, n: calls(n)), Tools(snap), Budgets(turns=2))
    (reply,) = agent.run([REQ])
    assert reply.text is None
    assert reply.problem == "the model kept calling tools after its budget was spent"
    assert reply.usage.requests == 2


def test_parts_advance_together_and_each_gets_its_report(repo: tuple[str, Snapshot]) -> None:
    _, snap = repo
    inner = Scripted(lambda r, n: answer(r) if "quick" in r.input else greedy(r, n))
    agent = AgentModel(inner, Tools(snap), Budgets(turns=3))
    quick = ModelRequest.ask("instructions", "quick part", None)
    done: list[tuple[int, int]] = []
    replies = agent.run([quick, REQ], lambda d, t: done.append((d, t)))
    assert all(r.text for r in replies)
    assert [len(batch) for batch in _batches(inner.seen)] == [2, 1, 1]
    assert [r.turns for r in agent.reports] == [1, 3] and done == [(1, 2), (2, 2)]
    assert agent.reports[0].gap == "" and "turn budget" in agent.reports[1].gap


def _batches(seen: list[ModelRequest]) -> list[list[ModelRequest]]:
    """The scripted model's requests grouped by round (a part's first request opens one)."""
    out: list[list[ModelRequest]] = [[seen[0], seen[1]], [seen[2]], [seen[3]]]
    return out


@pytest.mark.parametrize("wire", ["responses", "chat"])
def test_an_endpoint_without_tools_gets_one_clear_line(
    repo: tuple[str, Snapshot], wire: str
) -> None:
    from reviewbot.errors import LLMError

    _, snap = repo
    refusal = {
        "error": {
            "message": "tools is not supported with this model",
            "type": "invalid_request_error",
            "param": "tools",
            "code": None,
        }
    }
    config = Config(api_key=FAKE_KEY, wire_api=wire)
    transport = httpx.MockTransport(lambda r: httpx.Response(400, json=refusal))
    agent = AgentModel(client_for(config, transport), Tools(snap))
    with pytest.raises(LLMError, match=r"^agent mode needs tool calling .*use context: scope"):
        agent.run([REQ])


def test_a_token_cap_reached_between_agent_turns_stops_the_part_at_the_cost_limit(
    repo: tuple[str, Snapshot],
) -> None:
    """Every turn goes through the runner's meter: a cap that holds the first turn's worst case
    but not the second's sends one request, and the part is not reviewed "at the cost limit"."""
    from dataclasses import replace

    from reviewbot.cost import COST_LIMIT, Meter, Ticket

    diff, snap = repo
    config = Config(api_key=FAKE_KEY, context="agent", verify=False)
    held: list[Ticket] = []

    class Recording(Meter):
        def reserve(self, *args: Any, **kwargs: Any) -> Ticket:
            held.append(super().reserve(*args, **kwargs))
            return held[-1]

    probe = client_for(config, httpx.MockTransport(Replay("parallel_calls.yaml")))
    probe.meter = Recording()
    tools = Tools(snap, fence=lambda: "F00D")
    run_review(prepare(diff, config), config, AgentModel(probe, tools, None, "k"))
    assert len(held) == 3  # three turns, each reserved before it was sent
    first = held[0].input_tokens + held[0].output_tokens

    capped = replace(config, max_tokens_per_run=first)
    replay = Replay("parallel_calls.yaml")
    model = AgentModel(client_for(capped, httpx.MockTransport(replay)), tools, None, "k")
    result = run_review(prepare(diff, capped), capped, model)
    assert len(replay.requests) == 1  # the second turn's worst case did not fit
    assert result.checked.capped and [s.reason for s in result.skipped] == [COST_LIMIT]
    assert result.placed == ()

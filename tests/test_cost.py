"""The price cap: the meter, the runner consulting it before every attempt, caps reached in a
review part and in verification (a partial review, said), retry storms, the dry-run estimate."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import pytest

from reviewbot.config import Config
from reviewbot.cost import (
    COST_LIMIT,
    CostLimitReached,
    Meter,
    Price,
    Ticket,
    estimate_tokens,
    meter_for,
)
from reviewbot.errors import ConfigError
from reviewbot.formats import as_json
from reviewbot.llm import client_for
from reviewbot.model import Usage
from reviewbot.render import review_body
from reviewbot.reporter import review_summary as step_summary
from reviewbot.responses import ResponsesCodec
from reviewbot.review import prepare, run_review
from reviewbot.runner import ClientSettings, Runner
from tests.conftest import FakeResponses, run_cli
from tests.test_action import Act, act, payload, spy  # noqa: F401 - fixtures
from tests.test_chunking_prompts import gen_file

DIFF = "".join(gen_file(f"src/m{i}.py", 2) for i in range(4))
OUT = 1000  # max_output_tokens in these tests
PRICE = Price(input=2.0, cached_input=0.2, output=10.0)


def answer(text: dict[str, Any], input_tokens: int, output_tokens: int = 500) -> bytes:
    body = {
        "id": "resp_1",
        "object": "response",
        "status": "completed",
        "output": [
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "content": [{"type": "output_text", "text": json.dumps(text)}],
            }
        ],
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "input_tokens_details": {"cached_tokens": 0},
        },
    }
    return json.dumps(body).encode()


def finding_in(body: dict[str, Any]) -> dict[str, Any]:
    path = next(p for p in (f"src/m{i}.py" for i in range(4)) if f"FILE: {p}" in body["input"])
    return {
        "path": path,
        "line": 2,
        "start_line": None,
        "side": "RIGHT",
        "severity": "major",
        "confidence": 0.9,
        "title": f"Bug in {path}",
        "body": "b",
        "code": None,
        "suggestion": None,
    }


class Endpoint:
    """A scripted model: reviews find one bug per request, the verifier keeps everything.
    It reports the input it was sent as the meter estimates it, and counts every token it was
    sent or answered, failed attempts included (`total`)."""

    def __init__(self, fail_every: int = 0) -> None:
        self.total = 0
        self.seen: list[str] = []  # the schema name of each request it received
        self.fail_every = fail_every

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        tokens = estimate_tokens(len(request.content))
        self.total += tokens
        self.seen.append(body["text"]["format"]["name"])
        if self.fail_every and len(self.seen) % self.fail_every == 0:
            status = 429 if len(self.seen) % (2 * self.fail_every) else 503
            return httpx.Response(status, json={"error": {"message": "busy"}})
        self.total += 500
        if body["text"]["format"]["name"] == "finding_verdicts":
            keep = [{"id": 1, "verdict": "keep", "severity": None, "reason": "r"}]
            return httpx.Response(200, content=answer({"verdicts": keep}, tokens))
        review = {"summary": "s", "findings": [finding_in(body)]}
        return httpx.Response(200, content=answer(review, tokens))


def config(**settings: Any) -> Config:
    one = prepare(gen_file("src/m0.py", 2), Config(context="diff")).plan.tokens
    return Config(
        context="diff",
        api_key="k",
        max_request_tokens=one * 2,  # four files: two review parts
        max_output_tokens=OUT,
        concurrency=1,
    ).with_overrides(settings)


def runner(cfg: Config, endpoint: Endpoint) -> Runner:
    settings = ClientSettings(
        cfg.base_url, "k", cfg.model, max_output_tokens=OUT, concurrency=1, backoff_base=0.0
    )
    meter = meter_for(cfg.max_tokens_per_run, cfg.max_usd_per_run, cfg.prices, cfg.model)
    return Runner(settings, ResponsesCodec(), httpx.MockTransport(endpoint), meter)


def worst(model: Runner, cfg: Config, part: int) -> int:
    """The worst case the meter reserves for review request `part`."""
    req = prepare(DIFF, cfg).requests[part]
    return estimate_tokens(len(json.dumps(model.body(req, OUT)).encode())) + OUT


def test_the_meter_reserves_the_worst_case_and_stops_for_good() -> None:
    meter = Meter(max_tokens=10_000)
    a = meter.reserve(3_200, 4_000)  # 1,000 in + 4,000 out held
    got: list[Ticket] = []
    # 5,000 held + 6,001 > 10,000: it waits for the attempt in flight instead of stopping
    waiter = threading.Thread(target=lambda: got.append(meter.reserve(3_200, 5_001)))
    waiter.start()
    waiter.join(0.3)
    assert waiter.is_alive() and not meter.stopped
    meter.settle(a, Usage(input_tokens=1_000, output_tokens=500))  # it spent 1,500
    waiter.join(5)
    assert len(got) == 1 and meter.tokens == 1_500
    meter.settle(got[0], None)  # failed: its input (1,000) counts as sent
    assert meter.tokens == 2_500
    with pytest.raises(CostLimitReached, match=COST_LIMIT):
        meter.reserve(3_200, 6_501)  # nothing in flight: 2,500 + 7,501 does not fit
    assert meter.stopped
    with pytest.raises(CostLimitReached):
        meter.reserve(1, 16)  # once stopped, the run asks no more
    with pytest.raises(ConfigError, match="needs the price of 'm'"):
        meter_for(None, 1.0, (), "m")


def test_a_token_cap_reached_in_a_review_part_posts_the_rest_as_partial() -> None:
    endpoint = Endpoint()
    probe = config()
    model = runner(probe, endpoint)
    first = worst(model, probe, 0) - OUT  # its input, as the endpoint reports it
    # the first part fits; after it (its input + 500 out), the second's worst case does not
    cap = first + 500 + worst(model, probe, 1) - 1
    cfg = config(max_tokens_per_run=cap)
    result = run_review(prepare(DIFF, cfg), cfg, runner(cfg, endpoint))
    assert endpoint.seen == ["code_review"]  # the second part and the verification: not sent
    assert result.status == "partial" and result.checked.capped
    assert {s.reason for s in result.skipped} == {COST_LIMIT}
    assert len(result.placed) == 1  # what the first part found is posted
    body = review_body(result, "m")
    assert "**Stopped at the cost limit**" in body
    assert "Verification stopped at the cost limit: 1 finding(s) posted unverified." in body
    summary = "\n".join(step_summary(result, 2, "a" * 40, [], ""))
    assert "Stopped at the cost limit" in summary
    assert endpoint.total <= cap


def test_a_money_cap_reached_at_verification_posts_the_review_unverified() -> None:
    endpoint = Endpoint()
    prices = {"m": {"input": 2.0, "cached_input": 0.2, "output": 10.0}}
    probe = config(model="m", prices=prices, max_request_tokens=100_000)  # one part
    model = runner(probe, endpoint)
    review_worst = PRICE.worst(worst(model, probe, 0) - OUT, OUT)
    cfg = config(model="m", prices=prices, max_request_tokens=100_000, max_usd_per_run=review_worst)
    result = run_review(prepare(DIFF, cfg), cfg, runner(cfg, endpoint))
    assert endpoint.seen == ["code_review"]  # the verification's worst case did not fit
    assert result.status == "partial" and len(result.placed) == 1
    assert "Verification of 1 finding(s) failed (it stopped at the cost limit)" in review_body(
        result, "m"
    )
    doc = json.loads(as_json(result))
    assert doc["stopped_at_cost_limit"] is True and doc["usd"] > 0
    summary = "\n".join(step_summary(result, 2, "a" * 40, [], ""))
    assert f"- Cost: ${doc['usd']:.2f}" in summary and "Stopped at the cost limit" in summary
    assert doc["phases"]["review"]["requests"] == 1


def test_retry_storms_stay_within_the_cap_plus_one_request() -> None:
    endpoint = Endpoint(fail_every=2)  # 429 and 503 on every other request
    probe = config()
    biggest = max(worst(runner(probe, endpoint), probe, i) for i in range(2))
    cap = 3 * biggest
    cfg = config(max_tokens_per_run=cap)
    result = run_review(prepare(DIFF, cfg), cfg, runner(cfg, endpoint))
    assert endpoint.seen.count("code_review") >= 3  # a part failed and was retried
    assert result.checked.capped and result.status == "partial"  # then the cap stopped it
    assert endpoint.total <= cap + biggest


def test_without_a_cap_nothing_is_refused() -> None:
    endpoint = Endpoint()
    cfg = config()
    result = run_review(prepare(DIFF, cfg), cfg, client_for(cfg, httpx.MockTransport(endpoint)))
    assert result.status == "reviewed" and endpoint.seen.count("finding_verdicts") == 1
    assert [n for n, _ in result.checked.phases] == ["review", "verification"]


PRICED = "prices:\n  openai/gpt-5-3-codex: {input: 1.25, cached_input: 0.125, output: 10}\n"


def test_dry_run_prints_the_estimate_with_money_when_priced(tmp_path: Any) -> None:
    diff = tmp_path / "c.diff"
    diff.write_text(DIFF)
    conf = tmp_path / "c.yml"
    conf.write_text(PRICED)
    p = run_cli("review", "--diff", str(diff), "--dry-run", "--config", str(conf))
    assert p.returncode == 0, p.stderr
    [line] = [ln for ln in p.stdout.splitlines() if "Estimate:" in ln]
    assert "1 review request(s) + up to 1 verification" in line
    assert "at most 64,000 output tokens" in line  # 2 × the default 32,000
    money = float(line.split("at most $")[1].split()[0])
    assert 0.6 < money < 0.7  # 64,000 out × $10/M = $0.64, plus the input
    p = run_cli("review", "--diff", str(diff), "--dry-run", "--no-verify", "--format", "json")
    est = json.loads(p.stdout)["estimate"]
    assert est["requests"] == 1 and est["verification_requests"] == 0 and est["usd"] is None
    assert est["output_tokens"] == 32_000 and est["input_tokens"] > 1_000
    p = run_cli("review", "--diff", str(diff), "--dry-run", "--max-usd-per-run", "1")
    assert p.returncode == 2
    assert "'max_usd_per_run' needs the price of 'openai/gpt-5-3-codex'" in p.stderr


def test_the_action_posts_a_partial_review_at_the_token_cap(
    act: Act,  # noqa: F811 - the fixture
    fake_responses: FakeResponses,
) -> None:
    def respond(headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        from tests import make_cassettes as mc

        finding = {**mc.TYPO, "confidence": 0.9}
        return 200, {}, answer({"summary": "Typo.", "findings": [finding]}, 30_000, 5_000)

    fake_responses.respond = respond
    r = act(
        "opened_github_only",
        "pull_request",
        payload("pull_request.opened.json"),
        base_url=fake_responses.base_url,
        max_tokens_per_run="60000",  # the review's worst case fits; then 35,000 are spent
    )
    assert r.code == 0, r.out
    assert len(fake_responses.seen) == 1  # the verification (32,000 out at worst) was not sent
    assert r.outputs["status"] == "partial"
    [review] = r.review_posts()
    assert "**Stopped at the cost limit**" in review["body"] and len(review["comments"]) == 1
    assert "Stopped at the cost limit" in r.summary
    assert "Usage by phase: review 30,000 in" in r.summary


def test_the_actions_dry_run_prints_the_estimate(act: Act) -> None:  # noqa: F811
    r = act("dry_run", "pull_request", payload("pull_request.opened.json"), dry_run="true")
    assert r.code == 0, r.out
    estimate = "Estimate: 1 review request(s) + up to 1 verification, ~"
    assert estimate in r.out and estimate in r.summary
    assert "at most 64,000 output tokens (retries not counted)" in r.out

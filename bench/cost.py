"""What verification adds to a review's tokens, and whether the cap holds under retry storms.

The bench PRs are the 20 cases of the frozen eval set (tests/data/eval/click.jsonl: real
changes to pallets/click) and the last N commits of this repository. A scripted model answers
through the real runner and codec (httpx's MockTransport): each review request gets up to
`--findings` findings on lines it added (the verifier then sees real cited hunks), the
verifier keeps them all. The endpoint reports as input the request body's size in tokens (the
meter's own over-estimate, 3.2 bytes a token) and as output the answer text's tokens times
three (reasoning included), for reviews and verification alike.

1. Verification overhead: tokens with `verify: true` over tokens without (goal: at most +30%).
2. Retry storms: the same PRs with 429 and 503 on half the requests (every other one) and a
   token cap of one request's worst case plus the run's uncapped total; the endpoint counts
   everything it was sent and answered (failed attempts included). Goal: total <= cap + one
   request's worst case.

Run: `.venv/bin/python bench/cost.py [--commits N] [--rev REV] [--findings K]`
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reviewbot.config import Config  # noqa: E402
from reviewbot.cost import estimate_tokens, meter_for  # noqa: E402
from reviewbot.localdiff import GIT_DIFF  # noqa: E402
from reviewbot.responses import ResponsesCodec  # noqa: E402
from reviewbot.review import prepare, run_review  # noqa: E402
from reviewbot.runner import ClientSettings, Runner  # noqa: E402

CASES = ROOT / "tests" / "data" / "eval" / "click.jsonl"
GOAL = 0.30
ADDED = re.compile(r"^R(\d+) \+ ", re.M)


class Scripted:
    """The scripted endpoint; `total` counts every token sent or answered."""

    def __init__(self, findings: int, storm: bool = False) -> None:
        self.findings, self.storm = findings, storm
        self.total = self.requests = self.refusals = 0
        self.by_phase = {"code_review": 0, "finding_verdicts": 0}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        phase = body["text"]["format"]["name"]
        tokens_in = estimate_tokens(len(request.content))
        self.requests += 1
        self.total += tokens_in
        self.by_phase[phase] += tokens_in
        if self.storm and self.requests % 2 == 0:
            self.refusals += 1
            status = 429 if self.requests % 4 else 503
            return httpx.Response(status, json={"error": {"message": "busy"}})
        text = json.dumps(self._answer(phase, body["input"]))
        out = math.ceil(len(text) / 3.2) * 3
        self.total += out
        self.by_phase[phase] += out
        reply = {
            "id": "resp_1",
            "object": "response",
            "status": "completed",
            "output": [
                {
                    "type": "message",
                    "id": "msg_1",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": text}],
                }
            ],
            "usage": {
                "input_tokens": tokens_in,
                "output_tokens": out,
                "input_tokens_details": {"cached_tokens": 0},
            },
        }
        return httpx.Response(200, json=reply)

    def _answer(self, phase: str, text: str) -> dict[str, Any]:
        if phase == "finding_verdicts":
            ids = re.findall(r"^## Finding id (\d+)$", text, re.M)
            return {
                "verdicts": [
                    {"id": int(i), "verdict": "keep", "severity": None, "reason": "It holds."}
                    for i in ids
                ]
            }
        findings: list[dict[str, Any]] = []
        for block in text.split("\nFILE: ")[1:]:
            path = block.split(" (", 1)[0]
            for line in ADDED.findall(block)[: self.findings - len(findings)]:
                findings.append(
                    {
                        "path": path,
                        "line": int(line),
                        "start_line": None,
                        "side": "RIGHT",
                        "severity": "major",
                        "confidence": 0.8,
                        "title": "The new branch misses the empty case",
                        "body": "When the list is empty the loop below never runs and the "
                        "caller gets None instead of the default it documents. Return the "
                        "default before the loop.",
                        "code": None,
                        "suggestion": None,
                    }
                )
        return {
            "summary": "Adds a helper and uses it in two places.",
            "findings": findings,
            "resolved": [],
            "file_summaries": [],
        }


def runner(config: Config, endpoint: Scripted) -> Runner:
    settings = ClientSettings(
        config.base_url, "bench", config.model, concurrency=4, backoff_base=0.0
    )
    meter = meter_for(config.max_tokens_per_run, None, (), config.model)
    return Runner(settings, ResponsesCodec(), httpx.MockTransport(endpoint), meter)


def diffs(commits: int, rev: str = "HEAD") -> list[str]:
    out = [json.loads(line)["diff"] for line in CASES.read_text().splitlines() if line.strip()]
    log = subprocess.run(
        ["git", "-C", str(ROOT), "log", "--no-merges", "--format=%H", f"-{commits}", rev, "--"],
        capture_output=True,
        text=True,
    ).stdout.split()
    for sha in log:
        done = subprocess.run(
            [*GIT_DIFF, f"{sha}~1", sha, "--"], capture_output=True, cwd=ROOT, check=False
        )
        if done.returncode == 0 and done.stdout:
            out.append(done.stdout.decode("utf-8", "replace"))
    return out


def review(diff: str, config: Config, endpoint: Scripted) -> Any:
    return run_review(prepare(diff, config), config, runner(config, endpoint))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--commits", type=int, default=20)
    parser.add_argument("--rev", default="HEAD", help="the newest commit (pin it to compare)")
    parser.add_argument("--findings", type=int, default=3, help="per review request")
    args = parser.parse_args()
    prs = diffs(args.commits, args.rev)
    base = Config(context="diff", include=("**/*.py",), timeout_minutes=5)
    plain, checked = Scripted(args.findings), Scripted(args.findings)
    worst_ratio, findings = 0.0, 0
    for diff in prs:
        before = (plain.total, checked.total)
        review(diff, Config(**{**_fields(base), "verify": False}), plain)
        result = review(diff, base, checked)
        findings += len(result.placed)
        if plain.total > before[0]:
            ratio = (checked.total - before[1]) / (plain.total - before[0]) - 1
            worst_ratio = max(worst_ratio, ratio)
    added = checked.total / plain.total - 1
    print(f"cost bench · {len(prs)} PRs · scripted model, {args.findings} findings per request")
    print(
        f"1. tokens without verification {plain.total:,} · with {checked.total:,} "
        f"(verification {checked.by_phase['finding_verdicts']:,}) · +{added:.1%} in all, "
        f"+{worst_ratio:.1%} on the worst PR · {findings} findings verified "
        f"(goal <= +{GOAL:.0%}: {'met' if added <= GOAL else 'NOT met'})"
    )
    storms = over = 0
    for diff in prs:
        uncapped = Scripted(args.findings)
        review(diff, base, uncapped)
        if not uncapped.requests:
            continue
        storm = Scripted(args.findings, storm=True)
        prepared = prepare(diff, base)
        one = max(
            estimate_tokens(len(json.dumps(runner(base, storm).body(r)).encode()))
            + base.max_output_tokens
            for r in prepared.requests
        )
        # Room for the first request's worst case and for what the run spends uncapped
        # (a cap below one request's worst case lets nothing out at all).
        cap = one + uncapped.total
        cfg = Config(**{**_fields(base), "max_tokens_per_run": cap})
        model = runner(cfg, storm)
        prepared = prepare(diff, cfg)
        run_review(prepared, cfg, model)
        storms += 1
        worst = storm.total - cap
        over = max(over, worst - one)
        print(
            f"   storm: cap {cap:,} · sent and answered {storm.total:,} "
            f"({storm.refusals} of {storm.requests} requests refused with 429/503) · "
            f"{'within the cap' if worst <= 0 else f'{worst:,} over'} · one request {one:,}"
        )
    print(
        f"2. retry storms on {storms} PRs: the total never passed the cap by more than one "
        f"request: {'met' if over <= 0 else f'NOT met (by {over:,})'}"
    )


def _fields(config: Config) -> dict[str, Any]:
    return {name: getattr(config, name) for name in config.__dataclass_fields__}


if __name__ == "__main__":
    main()

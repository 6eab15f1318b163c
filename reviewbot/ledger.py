"""What verification and the cost cap did, and what a run costs, as people and machines read it:
lines for the review body and the step summary, fields for the CLI's JSON, and the dry run's
estimate. (render.py and formats.py call these; the figures come from reviewbot.verify and
reviewbot.cost.)"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reviewbot.chunking import estimate_tokens, tokens_for_chars
from reviewbot.cost import meter_for, price_for, usd
from reviewbot.findings import response_schema
from reviewbot.markup import inline_code, sanitize
from reviewbot.model import Usage
from reviewbot.verify import BATCH, CODE_LINES, DROPPED, Checked, verify_schema

if TYPE_CHECKING:
    from reviewbot.config import Config
    from reviewbot.findings import Finding
    from reviewbot.review import Prepared, ReviewResult

CACHE_MIN, CACHE_STEP = 1024, 128  # the prompt cache holds a shared prefix from 1024 tokens on
FINDING_TOKENS = 300  # a finding's text as the verifier sees it, about
CODE_TOKENS = CODE_LINES * 12  # its cited code at most


# ------------------------------------------------------------------ the dry run's estimate


@dataclass(frozen=True, slots=True)
class Estimate:
    requests: int
    verification: int  # at most: one per part (ten findings or fewer each)
    input_tokens: int
    cached_tokens: int  # the share expected from the prompt cache
    output_tokens: int  # the worst case: every request uses its whole output budget
    usd: float | None  # the worst case of the money, when the model has a price
    cap: str = ""  # what the configured cap means for this plan
    agent_turns: int = 0  # agent mode: requests a part may take (0: one each)

    def line(self) -> str:
        extra = f" (agent mode: up to {self.agent_turns} turns each)" if self.agent_turns else ""
        extra += f" + up to {self.verification} verification" if self.verification else ""
        money = f"; at most {usd(self.usd)}" if self.usd is not None else ""
        return (
            f"Estimate: {self.requests} review request(s){extra}, ~{self.input_tokens:,} input "
            f"tokens (~{self.cached_tokens:,} expected from cache), at most "
            f"{self.output_tokens:,} output tokens{money} (retries not counted){self.cap}"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "verification_requests": self.verification,
            "input_tokens": self.input_tokens,
            "cached_tokens": self.cached_tokens,
            "output_tokens": self.output_tokens,
            "usd": None if self.usd is None else round(self.usd, 4),
            "agent_turns": self.agent_turns or None,
        }


def estimate(prepared: Prepared, config: Config) -> Estimate:
    """What the planned review may cost: each request's instructions, input and schema; the
    instructions are one shared prefix, expected from cache after the first request.
    ConfigError: a money cap without the model's price (as the run would say)."""
    meter_for(config.max_tokens_per_run, config.max_usd_per_run, config.prices, config.model)
    n = len(prepared.requests)
    schema = estimate_tokens(json.dumps(response_schema()))
    instructions = estimate_tokens(prepared.instructions) + schema
    inputs = [estimate_tokens(r.input) for r in prepared.requests]
    total = sum(inputs) + n * instructions
    cached = _cached(instructions) * max(0, n - 1)
    turns = 0
    if config.context == "agent":  # each part: its first request, agent_tokens, the last
        from reviewbot.agent.loop import AGENT_INSTRUCTIONS
        from reviewbot.agent.wiring import definitions

        turns = config.agent_turns
        first = instructions + estimate_tokens(AGENT_INSTRUCTIONS + json.dumps(definitions()))
        answers = tokens_for_chars(config.agent_tool_calls * config.agent_result_bytes)
        total += n * (first - instructions + config.agent_tokens)
        total += sum(first + i + answers for i in inputs)  # the final answer's request
        later = [min(turns - 1, config.agent_tokens // max(1, first + i)) for i in inputs]
        cached += sum(
            min(config.agent_tokens, k * _cached(first + i)) + _cached(first + i)
            for k, i in zip(later, inputs, strict=True)
        )
    checks = n if config.verify else 0
    if checks:
        v_instr = estimate_tokens(prepared.renderer.render_template("verify_instructions.j2"))
        v_instr += estimate_tokens(json.dumps(verify_schema()))
        per = [min(i, BATCH * (FINDING_TOKENS + CODE_TOKENS)) for i in inputs]
        total += sum(per) + checks * v_instr
        cached += _cached(v_instr) * (checks - 1)
    out = (n * max(1, turns) + checks) * config.max_output_tokens
    price = price_for(config.prices, config.model)
    money = None
    if price is not None:
        money = (total - cached) * price.input / 1e6 + cached * price.cached_input / 1e6
        money += out * price.output / 1e6
    cap = ""
    if config.max_tokens_per_run is not None and total + out > config.max_tokens_per_run:
        cap = f"; over max_tokens_per_run ({config.max_tokens_per_run:,}): it may stop early"
    elif money is not None and money > (config.max_usd_per_run or math.inf):
        cap = f"; over max_usd_per_run ({usd(config.max_usd_per_run or 0)}): it may stop early"
    return Estimate(n, checks, total, cached, out, money, cap, turns)


def dry_run(prepared: Prepared, config: Config, as_json: bool) -> str:
    """`reviewbot review --dry-run`: the plan and prompts with the estimate (JSON: `estimate`)."""
    from reviewbot.formats import dumps, plan_json, plan_text

    cost = estimate(prepared, config)
    if as_json:
        return dumps(json.loads(plan_json(prepared)) | {"estimate": cost.as_json()})
    head, _, rest = plan_text(prepared).partition("\n")
    return f"{head}\n# {cost.line()}\n{rest}"


def _cached(prefix: int) -> int:
    return 0 if prefix < CACHE_MIN else prefix - prefix % CACHE_STEP


# ------------------------------------------------------------------ reports


def body_lines(result: ReviewResult) -> list[str]:
    """The review body's account: the cost limit, what is not posted (counted; listed in the
    step summary), what verification could not do."""
    c = result.checked
    out: list[str] = []
    if c.capped:
        out += [
            "",
            "⚠️ **Stopped at the cost limit**: the run's token or money cap was reached, so "
            "this review is partial (what was not reviewed or checked is said here).",
        ]
    if c.withheld:
        low = len(c.withheld) - c.dropped
        parts = [f"{c.dropped} dropped by verification"] * bool(c.dropped)
        parts += [f"{low} below the confidence threshold"] * bool(low)
        out += [
            "",
            f"{len(c.withheld)} finding(s) not posted: {', '.join(parts)} "
            "(listed in the workflow's step summary).",
        ]
    out += ["", *(f"_{sanitize(n, 500)}_" for n in c.notes)] if c.notes else []
    return out


def summary_lines(result: ReviewResult, config_model: str = "") -> list[str]:
    """The step summary's account: usage per phase (and money), the cost limit, and every
    finding not posted with its reason."""
    c = result.checked
    out = [f"- {line}" for line in phase_lines(c)]
    if c.capped:
        out.append("- ⚠️ Stopped at the cost limit: the review is partial.")
    out += [f"- {sanitize(n, 500)}" for n in c.notes]
    if c.withheld:
        out += ["", "<details><summary>Findings not posted</summary>", ""]
        for w in c.withheld:
            f = w.finding
            where = f"{f.path}:{f.line}" if f.line else f.path or "(no path)"
            title = " ".join(sanitize(f.title, 200).split())
            out.append(f"- {inline_code(where)} {title}: {sanitize(w.reason, 400)}")
        out += ["", "</details>"]
    return out


def phase_lines(c: Checked) -> list[str]:
    """`Usage by phase: review …; verification …` and, when priced, `Cost: $N.NN`."""
    phases = [f"{name} {_usage(u)}" for name, u in c.phases if u.requests or name == "review"]
    lines = [f"Usage by phase: {'; '.join(phases)}"] if phases else []
    if c.usd is not None:
        lines.append(f"Cost: {usd(c.usd)}")
    return lines


def _usage(u: Usage) -> str:
    return (
        f"{u.input_tokens:,} in ({u.cached_tokens:,} cached), {u.output_tokens:,} out, "
        f"{u.requests} request(s)"
    )


def json_fields(result: ReviewResult) -> dict[str, Any]:
    """Top-level fields of the CLI's JSON: usage per phase, money, the cost limit."""
    c = result.checked
    return {
        "phases": {name: _usage_json(u) for name, u in c.phases},
        "usd": None if c.usd is None else round(c.usd, 6),
        "stopped_at_cost_limit": c.capped,
        "verification": {
            "enabled": c.enabled,
            "kept": len(c.kept),
            "downgraded": len(c.downgraded),
            "dropped": c.dropped,
            "unverified": c.unverified,
            "notes": list(c.notes),
        },
    }


def _usage_json(u: Usage) -> dict[str, int]:
    return {
        "input_tokens": u.input_tokens,
        "output_tokens": u.output_tokens,
        "cached_tokens": u.cached_tokens,
        "requests": u.requests,
    }


def finding_fields(c: Checked, f: Finding) -> dict[str, Any]:
    """A posted finding's `verified` (True: the verifier kept it; None: not checked) and,
    when it was downgraded, the severity it had."""
    out: dict[str, Any] = {"confidence": f.confidence, "verified": c.status_of(f)}
    was = dict(c.downgraded).get(f.key)
    if was:
        out["downgraded_from"] = was
    return out


def withheld_json(c: Checked) -> list[dict[str, Any]]:
    """The findings not posted, for the JSON's `findings` list: `verified: false` and why."""
    out = []
    for w in c.withheld:
        f = w.finding
        out.append(
            {
                "path": f.path,
                "line": f.line or None,
                "start_line": f.start_line,
                "side": f.side,
                "severity": f.severity,
                "title": f.title,
                "body": f.body,
                "code": f.code,
                "suggestion": f.suggestion,
                "anchored": False,
                "confidence": f.confidence,
                "verified": False,
                "reason": w.reason,
                "dropped": w.reason.startswith(DROPPED),
            }
        )
    return out

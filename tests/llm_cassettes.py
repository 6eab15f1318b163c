"""Writes tests/cassettes/llm/*.yaml (Responses API exchanges) and tests/cassettes/llm/chat/*.yaml
(the same scenarios, and some of its own, over Chat Completions) in the shapes the APIs publish.

No machine here reaches the model, so these are written, not recorded. Every body is built by
`response()` / `completion()` / `openai_error()` / `aimlapi_error()` / `vllm_error()` below, and
tests/test_cassette_shapes.py validates each one against the `openai` package's own types
(`Response`, `ChatCompletion`, `ErrorObject`), so a shape we invent by mistake fails the suite. Run `.venv/bin/python -m tests.llm_cassettes` after
changing a scenario; tests only replay.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

OUT = Path(__file__).resolve().parent / "cassettes" / "llm"
URL = "https://api.aimlapi.com/v1/responses"
CHAT_URL = "https://api.aimlapi.com/v1/chat/completions"
MODEL = "openai/gpt-5-3-codex"
REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
    520: "",  # Cloudflare's codes come with no standard reason phrase
    522: "",
    529: "",
}

TYPO_REVIEW = {
    "summary": "Changes the greeting.",
    "findings": [
        {
            "path": "hello.py",
            "line": 2,
            "start_line": None,
            "side": "RIGHT",
            "severity": "major",
            "title": "Greeting misspelled",
            "body": "`Helo` should be `Hello`.",
            "code": 'print("Helo")',
            "suggestion": 'print("Hello")\n',
        }
    ],
}


def message(text: str, phase: str | None = None, n: int = 1) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": f"msg_{n}",
        "type": "message",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "annotations": [], "text": text}],
    }
    if phase is not None:
        item["phase"] = phase
    return item


def reasoning(n: int = 1) -> dict[str, Any]:
    return {"id": f"rs_{n}", "type": "reasoning", "summary": []}


def response(
    *output: dict[str, Any],
    status: str = "completed",
    incomplete: str | None = None,
    output_tokens: int = 240,
    reasoning_tokens: int = 128,
    input_tokens: int = 812,
    cached: int = 0,
) -> dict[str, Any]:
    """A Responses API `Response` object with every field the published type requires."""
    return {
        "id": "resp_test",
        "object": "response",
        "created_at": 1764064800,
        "status": status,
        "error": None,
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "instructions": None,
        "max_output_tokens": 32000,
        "model": MODEL,
        "output": list(output),
        "parallel_tool_calls": True,
        "reasoning": {"effort": "medium", "summary": None},
        "store": False,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
            "total_tokens": input_tokens + output_tokens,
        },
    }


def openai_error(message: str, type_: str, code: str | None, param: str | None = None) -> Any:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def aimlapi_error(status: int, message: str, request_id: str = "r0") -> dict[str, Any]:
    return {
        "message": message,
        "path": "/v1/responses",
        "requestId": request_id,
        "statusCode": status,
        "timestamp": "2026-11-25T10:00:00.000Z",
    }


def interaction(
    status: int, body: Any, headers: dict[str, str] | None = None, url: str = URL
) -> dict[str, Any]:
    return {
        "request": {
            "method": "POST",
            "uri": url,
            "body": None,
            "headers": {"content-type": ["application/json"], "user-agent": ["reviewbot/0.1"]},
        },
        "response": {
            "status": {"code": status, "message": REASONS[status]},
            "headers": {
                "content-type": ["application/json"],
                "x-request-id": ["req_test"],
                **{k: [v] for k, v in (headers or {}).items()},
            },
            "body": {"string": json.dumps(body)},
        },
    }


def ok(review: dict[str, Any] = TYPO_REVIEW, **kw: Any) -> dict[str, Any]:
    return interaction(200, response(reasoning(), message(json.dumps(review)), **kw))


def ran_out(budget: int) -> dict[str, Any]:
    """Reasoning used the whole output budget: `incomplete`, and no text at all."""
    return interaction(
        200,
        response(
            reasoning(),
            status="incomplete",
            incomplete="max_output_tokens",
            output_tokens=budget,
            reasoning_tokens=budget,
        ),
    )


MALFORMED = interaction(
    200, response(reasoning(), message("Here is my review: the code looks fine but {summary: oops"))
)
DOWN = [
    interaction(503, aimlapi_error(503, "upstream unavailable", f"r{i}"), {"retry-after": "0"})
    for i in range(5)
]

SCENARIOS: dict[str, list[dict[str, Any]]] = {
    "success": [ok()],
    "fenced_json": [
        interaction(
            200, response(reasoning(), message("```json\n" + json.dumps(TYPO_REVIEW) + "\n```"))
        )
    ],
    # gpt-5.3-codex: commentary (with braces in it) before the final answer.
    "commentary_then_final_answer": [
        interaction(
            200,
            response(
                reasoning(),
                message(
                    'Checking the diff: `greet()` builds {"name": ...} before printing.',
                    phase="commentary",
                ),
                reasoning(2),
                message(json.dumps(TYPO_REVIEW), phase="final_answer", n=2),
            ),
        )
    ],
    "rate_limited_then_success": [
        interaction(
            429,
            openai_error("Rate limit reached for requests", "requests", "rate_limit_exceeded"),
            {"retry-after": "0"},
        ),
        ok(),
    ],
    "server_error_then_success": [
        interaction(500, aimlapi_error(500, "Internal server error"), {"retry-after-ms": "1"}),
        ok(),
    ],
    # Cloudflare in front of the endpoint: 520, 522, 529 are all worth another try.
    "cloudflare_errors_then_success": [
        interaction(520, aimlapi_error(520, "Web server is returning an unknown error")),
        interaction(522, aimlapi_error(522, "Connection timed out")),
        interaction(529, aimlapi_error(529, "Overloaded")),
        ok(),
    ],
    "server_says_do_not_retry": [
        interaction(503, aimlapi_error(503, "maintenance"), {"x-should-retry": "false"}),
    ],
    "server_says_retry_a_400": [
        interaction(400, aimlapi_error(400, "try again"), {"x-should-retry": "true"}),
        ok(),
    ],
    "rate_limited_for_ten_minutes": [
        interaction(
            429,
            openai_error("Rate limit reached for tokens", "tokens", "rate_limit_exceeded"),
            {"retry-after": "600"},
        ),
    ],
    "unauthorized_openai_shape": [
        interaction(
            401,
            openai_error(
                "Incorrect API key provided. You can find your API key in your dashboard.",
                "invalid_request_error",
                "invalid_api_key",
            ),
        )
    ],
    "forbidden_aimlapi_shape": [
        interaction(403, aimlapi_error(403, "Your plan does not include access to this model"))
    ],
    "unsupported_effort": [
        interaction(
            400,
            openai_error(
                "Unsupported value: 'minimal' is not supported with the 'gpt-5.3-codex' model. "
                "Supported values are: 'low', 'medium', 'high', and 'xhigh'.",
                "invalid_request_error",
                "unsupported_value",
                "reasoning.effort",
            ),
        )
    ],
    "context_length_exceeded": [
        interaction(
            400,
            openai_error(
                "Your input exceeds the context window of this model. Please adjust your input "
                "and try again.",
                "invalid_request_error",
                "context_length_exceeded",
                "input",
            ),
        )
    ],
    "invalid_prompt": [
        interaction(
            400,
            openai_error(
                "Invalid prompt: your prompt was flagged as potentially violating our usage "
                "policy. Please try again with a different prompt.",
                "invalid_request_error",
                "invalid_prompt",
            ),
        )
    ],
    "incomplete_then_success": [ran_out(32000), ok()],
    "incomplete_three_times": [ran_out(32000), ran_out(64000), ran_out(128000)],
    "malformed_then_success": [MALFORMED, ok()],
    "malformed_json": [MALFORMED, MALFORMED, MALFORMED],
    "refusal": [
        interaction(
            200,
            response(
                {
                    "id": "msg_1",
                    "type": "message",
                    "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "refusal", "refusal": "I can't help with that."}],
                }
            ),
        )
    ],
    "endpoint_down": DOWN,
}


def main(root: Path = OUT) -> None:
    from tests.llm_chat_cassettes import CHAT_SCENARIOS

    for out, scenarios in ((root, SCENARIOS), (root / "chat", CHAT_SCENARIOS)):
        out.mkdir(parents=True, exist_ok=True)
        for name, interactions in scenarios.items():
            doc = {"version": 1, "interactions": interactions}
            (out / f"{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False, width=120))
        print(f"wrote {len(scenarios)} cassettes to {out}")


if __name__ == "__main__":
    main()

"""The Chat Completions scenarios for tests/cassettes/llm/chat/ (written by tests.llm_cassettes):
the Responses scenarios again, in `ChatCompletion` shapes, and the errors only local
OpenAI-compatible servers give (no strict json_schema, no max_completion_tokens, no thinking)."""

from __future__ import annotations

import json
from typing import Any

from tests.llm_cassettes import (
    CHAT_URL,
    MODEL,
    TYPO_REVIEW,
    aimlapi_error,
    interaction,
    openai_error,
)


def completion(
    content: str | None,
    finish: str = "stop",
    refusal: str | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
    completion_tokens: int = 240,
    reasoning_tokens: int = 128,
    prompt_tokens: int = 812,
) -> dict[str, Any]:
    """A `ChatCompletion` object with every field the published type requires."""
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": refusal}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1764064800,
        "model": MODEL,
        "choices": [{"index": 0, "finish_reason": finish, "logprobs": None, "message": message}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": reasoning_tokens},
        },
    }


def vllm_error(message: str, status: int = 400) -> dict[str, Any]:
    """vLLM's flat error shape (before it adopted OpenAI's `{"error": …}`)."""
    return {
        "object": "error",
        "message": message,
        "type": "BadRequestError",
        "param": None,
        "code": status,
    }


def chat(status: int, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return interaction(status, body, headers, CHAT_URL)


def aimlapi(status: int, message: str, request_id: str = "r0") -> dict[str, Any]:
    return {**aimlapi_error(status, message, request_id), "path": "/v1/chat/completions"}


def ok(review: dict[str, Any] = TYPO_REVIEW) -> dict[str, Any]:
    return chat(200, completion(json.dumps(review)))


def ran_out(budget: int) -> dict[str, Any]:
    """Reasoning used the whole output budget: `length`, and no text at all."""
    return chat(200, completion(None, "length", completion_tokens=budget, reasoning_tokens=budget))


MALFORMED = chat(200, completion("Here is my review: the code looks fine but {summary: oops"))
DOWN = [
    chat(503, aimlapi(503, "upstream unavailable", f"r{i}"), {"retry-after": "0"}) for i in range(5)
]
READ_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "read_file", "arguments": '{"path": "hello.py"}'},
}

CHAT_SCENARIOS: dict[str, list[dict[str, Any]]] = {
    "success": [ok()],
    "fenced_json": [chat(200, completion("```json\n" + json.dumps(TYPO_REVIEW) + "\n```"))],
    "rate_limited_then_success": [
        chat(
            429,
            openai_error("Rate limit reached for requests", "requests", "rate_limit_exceeded"),
            {"retry-after": "0"},
        ),
        ok(),
    ],
    "server_error_then_success": [
        chat(500, aimlapi(500, "Internal server error"), {"retry-after-ms": "1"}),
        ok(),
    ],
    "cloudflare_errors_then_success": [
        chat(520, aimlapi(520, "Web server is returning an unknown error")),
        chat(522, aimlapi(522, "Connection timed out")),
        chat(529, aimlapi(529, "Overloaded")),
        ok(),
    ],
    "server_says_do_not_retry": [
        chat(503, aimlapi(503, "maintenance"), {"x-should-retry": "false"}),
    ],
    "server_says_retry_a_400": [
        chat(400, aimlapi(400, "try again"), {"x-should-retry": "true"}),
        ok(),
    ],
    "rate_limited_for_ten_minutes": [
        chat(
            429,
            openai_error("Rate limit reached for tokens", "tokens", "rate_limit_exceeded"),
            {"retry-after": "600"},
        ),
    ],
    "unauthorized_openai_shape": [
        chat(
            401,
            openai_error(
                "Incorrect API key provided. You can find your API key in your dashboard.",
                "invalid_request_error",
                "invalid_api_key",
            ),
        )
    ],
    "forbidden_aimlapi_shape": [
        chat(403, aimlapi(403, "Your plan does not include access to this model"))
    ],
    "unsupported_effort": [
        chat(
            400,
            openai_error(
                "Unsupported value: 'minimal' is not supported with the 'gpt-5.3-codex' model. "
                "Supported values are: 'low', 'medium', 'high', and 'xhigh'.",
                "invalid_request_error",
                "unsupported_value",
                "reasoning_effort",
            ),
        )
    ],
    # vLLM's words (ahead of OpenAI's code) when a prompt is longer than the model's window.
    "context_length_exceeded": [
        chat(
            400,
            vllm_error(
                "This model's maximum context length is 32768 tokens. However, you requested "
                "40000 tokens (8000 in the messages, 32000 in the completion). Please reduce the "
                "length of the messages or completion."
            ),
        )
    ],
    "invalid_prompt": [
        chat(
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
    "refusal": [chat(200, completion(None, refusal="I can't help with that."))],
    "endpoint_down": DOWN,
    # Chat's own answers and errors.
    "content_filter": [chat(200, completion(None, "content_filter"))] * 3,
    "tool_call": [chat(200, completion(None, "tool_calls", tool_calls=[READ_CALL]))],
    "no_strict_json_schema": [
        chat(
            400,
            vllm_error(
                "1 validation error for ChatCompletionRequest\nresponse_format.type\n  Input "
                "should be 'text' or 'json_object' [type=literal_error, input_value='json_schema']"
            ),
        )
    ],
    "no_max_completion_tokens": [
        chat(
            400,
            openai_error(
                "Unrecognized request argument supplied: max_completion_tokens",
                "invalid_request_error",
                None,
            ),
        )
    ],
    # Ollama, a model without thinking: `reasoning_effort` is refused; asked again without it.
    "no_thinking_then_success": [
        chat(400, openai_error('"llama3.2" does not support thinking', "api_error", None)),
        ok(),
    ],
}

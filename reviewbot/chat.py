"""The Chat Completions wire format (`POST {base_url}/chat/completions`), for OpenAI-compatible
servers without `/responses` (vLLM, llama.cpp, Ollama, LM Studio, proxies): the body (messages,
`response_format` json_schema strict, `tools`), the answer (`finish_reason`: `length` is output
that ran out, `content_filter` is cut, a `refusal` is not asked again) and the errors only this
format meets: servers without strict structured output or `max_completion_tokens` get one clear
line; a model that takes no `reasoning_effort` is asked again without it."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from reviewbot.model import (
    FunctionCall,
    FunctionCallOutput,
    Item,
    Message,
    ModelReply,
    ModelRequest,
    Usage,
)
from reviewbot.runner import Verdict
from reviewbot.wire import REFUSED, ErrorInfo, refused_line, stops_the_run, usage_number

if TYPE_CHECKING:
    from reviewbot.runner import ClientSettings

logger = logging.getLogger(__name__)

# Parameters a single request's content is to blame for; any other one is wrong for all.
REQUEST_PARAMS = frozenset({"messages", ""})
NO_SCHEMA = (
    "the model endpoint does not accept strict structured output (`response_format` with a "
    "strict json_schema), which reviewbot needs: use a server or model that supports it"
)
NO_MAX_COMPLETION = (
    "the model endpoint does not accept `max_completion_tokens` (older servers know only "
    "`max_tokens`): update the server"
)
NO_TOOLS = "the model endpoint does not accept `tools` (function calling) for this model"


class ChatCodec:
    name = "chat"
    path = "/chat/completions"

    def __init__(self) -> None:
        # Optional parameters the server refused once; no later request sends them.
        self._dropped: set[str] = set()
        self._lock = threading.Lock()

    def body(
        self, req: ModelRequest, settings: ClientSettings, max_output_tokens: int
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": settings.model,
            "messages": _messages(req.instructions, req.items),
            "max_completion_tokens": max_output_tokens,
        }
        if "reasoning_effort" not in self._dropped:
            body["reasoning_effort"] = settings.reasoning_effort
        if req.output is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": req.output.name,
                    "schema": req.output.schema,
                    "strict": True,
                },
            }
        if req.tools:
            body["tools"] = [{"type": "function", "function": t.function()} for t in req.tools]
            body["tool_choice"] = req.tool_choice
            body["parallel_tool_calls"] = True
        return body

    def parse(self, data: dict[str, Any]) -> ModelReply:
        return parse_completion(data)

    def judge(self, status: int, info: ErrorInfo) -> Verdict | None:
        if status in (401, 403, 404):
            return Verdict(fatal=refused_line(status, info))
        said = f"{info.param} {info.message}".lower()
        why = f" ({status}: {info.message})"
        refused = "reasoning_effort" in said or "thinking" in said
        if refused and info.code != "unsupported_value":  # a value the model lacks: say so
            with self._lock:
                first = "reasoning_effort" not in self._dropped
                self._dropped.add("reasoning_effort")
            if first:  # requests already in flight with it are sent again too, said once
                logger.warning(
                    "the model endpoint does not accept `reasoning_effort` (%s); sending "
                    "requests without it",
                    info.message,
                )
            return Verdict(dropped="reasoning_effort")
        if "max_completion_tokens" in said:
            return Verdict(fatal=NO_MAX_COMPLETION + why)
        if any(s in said for s in ("response_format", "json_schema", "json schema")):
            return Verdict(fatal=NO_SCHEMA + why)
        if info.param in ("tools", "tool_choice") or "function calling" in said:
            return Verdict(fatal=NO_TOOLS + why)
        if stops_the_run(status, info, REQUEST_PARAMS):
            return Verdict(fatal=refused_line(status, info))
        return None


def _messages(instructions: str, items: tuple[Item, ...]) -> list[dict[str, Any]]:
    """The conversation as chat messages: function calls ride on an assistant message, each
    output is a `tool` message right after it; reasoning cannot be sent back in this format."""
    out: list[dict[str, Any]] = []
    if instructions:
        out.append({"role": "system", "content": instructions})
    for item in items:
        if isinstance(item, Message):
            out.append({"role": item.role, "content": item.text})
        elif isinstance(item, FunctionCall):
            call = {
                "id": item.call_id,
                "type": "function",
                "function": {"name": item.name, "arguments": item.arguments},
            }
            last = out[-1] if out else None
            if last is not None and last["role"] == "assistant":
                last.setdefault("tool_calls", []).append(call)
            else:
                out.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif isinstance(item, FunctionCallOutput):
            out.append({"role": "tool", "tool_call_id": item.call_id, "content": item.output})
    return out


def parse_completion(data: dict[str, Any]) -> ModelReply:
    """The first choice's message as items, its text and usage; the problem when there is no
    usable text. A reply with tool calls is a turn of a conversation: no text, no problem."""
    usage = _usage(data.get("usage"))
    choices = data.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices else None
    if not isinstance(choice, dict):
        return ModelReply(None, usage, "the response has no choices")
    msg = choice.get("message")
    msg = msg if isinstance(msg, dict) else {}
    content = msg.get("content") if isinstance(msg.get("content"), str) else None
    refusal = msg.get("refusal") if isinstance(msg.get("refusal"), str) else None
    items: list[Item] = []
    if content or refusal:
        items.append(Message("assistant", content or "", None, refusal))
    calls = msg.get("tool_calls")
    for call in calls if isinstance(calls, list) else []:
        fn = call.get("function") if isinstance(call, dict) else None
        if isinstance(fn, dict):
            items.append(
                FunctionCall(
                    str(call.get("id") or ""),
                    str(fn.get("name") or ""),
                    str(fn.get("arguments") or ""),
                )
            )
    found = tuple(items)
    finish = choice.get("finish_reason")
    if refusal and not content:
        logger.warning("the model refused: %s", refusal[:500])
        return ModelReply(None, usage, REFUSED, items=found)
    if finish == "length":  # as the Responses API's incomplete (max_output_tokens)
        return ModelReply(
            None, usage, "the response is incomplete (max_output_tokens)", split=True, items=found
        )
    if finish == "content_filter":
        return ModelReply(None, usage, "the response is incomplete (content_filter)", items=found)
    if any(isinstance(i, FunctionCall) for i in found):
        return ModelReply(None, usage, items=found)
    if not content:
        return ModelReply(None, usage, "the response has no output text", items=found)
    return ModelReply(content, usage, items=found)


def _usage(u: object) -> Usage:
    if not isinstance(u, dict):
        return Usage(requests=1)
    return Usage(
        input_tokens=usage_number(u, "prompt_tokens"),
        output_tokens=usage_number(u, "completion_tokens"),
        cached_tokens=usage_number(u.get("prompt_tokens_details"), "cached_tokens"),
        reasoning_tokens=usage_number(u.get("completion_tokens_details"), "reasoning_tokens"),
        requests=1,
    )

"""The Responses wire format (`POST {base_url}/responses`): the body, the answer (every output
item kept in order; the text is only `final_answer` or phase-less messages, since `commentary`
is not the result) and the errors that stop a run (OpenAI's and the AI/ML API's codes)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from reviewbot.model import (
    FunctionCall,
    FunctionCallOutput,
    Item,
    Message,
    ModelReply,
    ModelRequest,
    Reasoning,
    Usage,
    answers,
)
from reviewbot.runner import Verdict
from reviewbot.wire import (
    REFUSED,
    ErrorInfo,
    plain_word,
    refused_line,
    stops_the_run,
    usage_number,
)

if TYPE_CHECKING:
    from reviewbot.runner import ClientSettings

logger = logging.getLogger(__name__)

# Parameters a single request's content is to blame for; any other one is wrong for all.
REQUEST_PARAMS = frozenset({"input", "instructions", "prompt", ""})


class ResponsesCodec:
    name = "responses"
    path = "/responses"

    def body(
        self, req: ModelRequest, settings: ClientSettings, max_output_tokens: int
    ) -> dict[str, Any]:
        """The JSON body (no temperature: reasoning models reject it). A one-shot request's
        input is its text, byte for byte as before (the prompt cache keys on the prefix)."""
        body: dict[str, Any] = {
            "model": settings.model,
            "instructions": req.instructions,
            "input": _input(req.items),
            "max_output_tokens": max_output_tokens,
            "reasoning": {"effort": settings.reasoning_effort},
        }
        if req.output is not None:
            body["text"] = {
                "format": {
                    "type": "json_schema",
                    "name": req.output.name,
                    "schema": req.output.schema,
                    "strict": True,
                }
            }
        body["store"] = False
        body["prompt_cache_key"] = req.cache_key
        if req.tools:
            body["tools"] = [{"type": "function", **t.function()} for t in req.tools]
            body["tool_choice"] = req.tool_choice
            body["parallel_tool_calls"] = True
            # Stateless (store: false): reasoning goes back only with its encrypted content.
            body["include"] = ["reasoning.encrypted_content"]
        return body

    def parse(self, data: dict[str, Any]) -> ModelReply:
        return parse_response(data)

    def judge(self, status: int, info: ErrorInfo) -> Verdict | None:
        if stops_the_run(status, info, REQUEST_PARAMS):
            return Verdict(fatal=refused_line(status, info))
        return None


def _input(items: tuple[Item, ...]) -> str | list[dict[str, Any]]:
    if len(items) == 1 and isinstance(items[0], Message) and items[0].role == "user":
        return items[0].text
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, Message):
            out.append({"role": item.role, "content": item.text})
        elif isinstance(item, FunctionCall):
            out.append(
                {
                    "type": "function_call",
                    "call_id": item.call_id,
                    "name": item.name,
                    "arguments": item.arguments,
                }
            )
        elif isinstance(item, FunctionCallOutput):
            out.append(
                {"type": "function_call_output", "call_id": item.call_id, "output": item.output}
            )
        elif item.encrypted_content:  # without it the API answers 400 (the id is not stored)
            out.append(
                {
                    "type": "reasoning",
                    "id": item.id,
                    "summary": [{"type": "summary_text", "text": s} for s in item.summary],
                    "encrypted_content": item.encrypted_content,
                }
            )
    return out


def parse_response(data: dict[str, Any]) -> ModelReply:
    """Every output item in order, the answer text and usage; the problem when there is no
    usable text. A reply with function calls is a turn of a conversation: no text, no problem.
    """
    usage = _usage(data.get("usage"))
    items = tuple(i for i in map(_item, data.get("output") or []) if i is not None)
    said = answers(items)
    texts = [m.text for m in said if m.text]
    refusals = [m.refusal for m in said if m.refusal is not None]
    status = data.get("status", "completed")
    if refusals and not texts:
        logger.warning("the model refused: %s", refusals[0][:500])
        return ModelReply(None, usage, REFUSED, items=items)
    if status == "incomplete":
        details = data.get("incomplete_details")
        reason = _plain(details.get("reason") if isinstance(details, dict) else None)
        return ModelReply(
            None,
            usage,
            f"the response is incomplete ({reason})",
            split=reason == "max_output_tokens",
            items=items,
        )
    if status not in ("completed", None):
        err = data.get("error")
        if isinstance(err, dict) and err.get("message"):
            logger.warning("the response %s: %s", status, str(err["message"])[:500])
        return ModelReply(None, usage, f"the response {_plain(status)}", items=items)
    if any(isinstance(i, FunctionCall) for i in items):
        return ModelReply(None, usage, items=items)
    if not texts:
        return ModelReply(None, usage, "the response has no output text", items=items)
    return ModelReply("".join(texts), usage, items=items)


def _item(raw: object) -> Item | None:
    """One output item as a value; kinds reviewbot never asks for are left out."""
    if not isinstance(raw, dict):
        return None
    kind = raw.get("type")
    if kind == "message":
        texts: list[str] = []
        refusal: str | None = None
        for part in raw.get("content") or []:
            if not isinstance(part, dict):
                continue
            if part.get("type") == "output_text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif part.get("type") == "refusal":
                refusal = str(part.get("refusal") or "no reason given")
        phase = raw.get("phase")
        return Message(
            str(raw.get("role") or "assistant"),
            "".join(texts),
            phase if isinstance(phase, str) else None,
            refusal,
        )
    if kind == "function_call":
        return FunctionCall(
            str(raw.get("call_id") or ""),
            str(raw.get("name") or ""),
            str(raw.get("arguments") or ""),
            str(raw.get("id") or ""),
        )
    if kind == "reasoning":
        summary = tuple(
            str(s.get("text") or "") for s in raw.get("summary") or [] if isinstance(s, dict)
        )
        enc = raw.get("encrypted_content")
        return Reasoning(str(raw.get("id") or ""), enc if isinstance(enc, str) else None, summary)
    return None


def _usage(u: object) -> Usage:
    if not isinstance(u, dict):
        return Usage(requests=1)
    return Usage(
        input_tokens=usage_number(u, "input_tokens"),
        output_tokens=usage_number(u, "output_tokens"),
        cached_tokens=usage_number(u.get("input_tokens_details"), "cached_tokens"),
        reasoning_tokens=usage_number(u.get("output_tokens_details"), "reasoning_tokens"),
        requests=1,
    )


def _plain(word: object) -> str:
    """A status or reason the endpoint gave, for a problem text that is published."""
    return plain_word(word) or "unknown"

"""Request bodies checked against the `openai` package's request types (`ResponseCreateParams`,
`CompletionCreateParams`): a parameter or item shape the published API does not have fails.

The params are TypedDicts; pydantic validates them, but lazily for `Iterable` fields, so the
lists (input items, messages, tools) are checked item by item here."""

from __future__ import annotations

from typing import Any

from openai.types.chat import (
    ChatCompletionMessageParam,
    ChatCompletionToolUnionParam,
    CompletionCreateParams,
)
from openai.types.responses import ResponseCreateParams, ResponseInputItemParam, ToolParam
from pydantic import ConfigDict, TypeAdapter

STRICT = ConfigDict(extra="forbid")
RESPONSES = TypeAdapter(ResponseCreateParams, config=STRICT)
CHAT = TypeAdapter(CompletionCreateParams, config=STRICT)
INPUT_ITEM: TypeAdapter[Any] = TypeAdapter(ResponseInputItemParam, config=STRICT)
RESPONSES_TOOL: TypeAdapter[Any] = TypeAdapter(ToolParam, config=STRICT)
MESSAGE: TypeAdapter[Any] = TypeAdapter(ChatCompletionMessageParam, config=STRICT)
CHAT_TOOL: TypeAdapter[Any] = TypeAdapter(ChatCompletionToolUnionParam, config=STRICT)


def check_request(path: str, body: dict[str, Any]) -> None:
    """Raise pydantic's ValidationError when `body` is not a valid request to `path`."""
    if path.endswith("/chat/completions"):
        CHAT.validate_python(body)
        for message in body["messages"]:
            MESSAGE.validate_python(message)
        for tool in body.get("tools", []):
            CHAT_TOOL.validate_python(tool)
    else:
        assert path.endswith("/responses"), path
        RESPONSES.validate_python(body)
        if isinstance(body["input"], list):
            for item in body["input"]:
                INPUT_ITEM.validate_python(item)
        for tool in body.get("tools", []):
            RESPONSES_TOOL.validate_python(tool)

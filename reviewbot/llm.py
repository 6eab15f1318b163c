"""The model client a run's Config asks for: one runner, the codec of its `wire_api`.

The request carries its own output schema and tools, so nothing here knows a flow.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from reviewbot.chat import ChatCodec
from reviewbot.cost import meter_for
from reviewbot.errors import LLMError
from reviewbot.responses import ResponsesCodec
from reviewbot.runner import ClientSettings, Codec, Runner

if TYPE_CHECKING:
    from reviewbot.config import Config

CODECS: dict[str, Callable[[], Codec]] = {"responses": ResponsesCodec, "chat": ChatCodec}


def client_for(config: Config, transport: httpx.BaseTransport | None = None) -> Runner:
    """The runner for `config`: its endpoint, key, model and wire format."""
    settings = ClientSettings(
        base_url=config.base_url,
        api_key=config.api_key,
        model=config.model,
        reasoning_effort=config.reasoning_effort,
        max_output_tokens=config.max_output_tokens,
        concurrency=config.concurrency,
        timeout=config.timeout,
    )
    meter = meter_for(
        config.max_tokens_per_run, config.max_usd_per_run, config.prices, config.model
    )
    return Runner(settings, CODECS[config.wire_api](), transport, meter)


def replay_transport(path: Path) -> httpx.MockTransport:
    """A stand-in endpoint that answers every request with a saved reply (in the shape of the
    wire format it stands in for)."""
    try:
        saved = path.read_bytes()
    except OSError as exc:
        raise LLMError(f"cannot read saved response {path}: {exc.strerror}") from None
    paths = tuple(codec().path for codec in CODECS.values())

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method != "POST" or not request.url.path.endswith(paths):
            return httpx.Response(404, json={"error": {"message": "not found"}})
        return httpx.Response(200, content=saved, headers={"content-type": "application/json"})

    return httpx.MockTransport(handler)

"""Cassettes are written, not recorded: check their model bodies against the published types.

The `openai` package's pydantic models are generated from OpenAI's OpenAPI description; a body
that they reject is a shape the real endpoint would never send.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai.types as openai_types
import openai.types.responses as responses_types
import pytest
import yaml

from tests.conftest import CASSETTES

MODEL_HOST = "api.aimlapi.com"
AIMLAPI_ERROR_KEYS = {"message", "path", "requestId", "statusCode", "timestamp"}


def model_exchanges() -> list[tuple[str, int, Any]]:
    out = []
    for path in sorted(CASSETTES.rglob("*.yaml")):
        for n, it in enumerate(yaml.safe_load(path.read_text())["interactions"]):
            if MODEL_HOST in it["request"]["uri"]:
                body = json.loads(it["response"]["body"]["string"])
                out.append(
                    (f"{path.relative_to(CASSETTES)}#{n}", it["response"]["status"]["code"], body)
                )
    return out


EXCHANGES = model_exchanges()


def test_there_are_model_cassettes_to_check() -> None:
    assert len(EXCHANGES) > 30
    assert {Path(name).parent.name for name, _, _ in EXCHANGES} == {"llm", "action"}


@pytest.mark.parametrize(("name", "status", "body"), EXCHANGES, ids=[e[0] for e in EXCHANGES])
def test_model_bodies_have_the_published_shape(name: str, status: int, body: Any) -> None:
    if status == 200:
        parsed = responses_types.Response.model_validate(body)
        for item in parsed.output:
            assert item.type in ("message", "reasoning"), name
    elif "error" in body:
        openai_types.ErrorObject.model_validate(body["error"])
    else:
        assert set(body) == AIMLAPI_ERROR_KEYS, name
        assert body["statusCode"] == status, name

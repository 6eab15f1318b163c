"""Cassettes are written, not recorded: check their model bodies against the published types.

The `openai` package's pydantic models are generated from OpenAI's OpenAPI description; a body
that they reject is a shape the real endpoint would never send.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import openai.types as openai_types
import openai.types.chat as chat_types
import openai.types.responses as responses_types
import pytest
import yaml

from tests.conftest import CASSETTES

MODEL_HOST = "api.aimlapi.com"
AIMLAPI_ERROR_KEYS = {"message", "path", "requestId", "statusCode", "timestamp"}
VLLM_ERROR_KEYS = {"object", "message", "type", "param", "code"}


def model_exchanges() -> list[tuple[str, str, int, Any]]:
    out = []
    for path in sorted(CASSETTES.rglob("*.yaml")):
        for n, it in enumerate(yaml.safe_load(path.read_text())["interactions"]):
            uri = it["request"]["uri"]
            if MODEL_HOST in uri:
                body = json.loads(it["response"]["body"]["string"])
                name = f"{path.relative_to(CASSETTES)}#{n}"
                out.append((name, uri, it["response"]["status"]["code"], body))
    return out


EXCHANGES = model_exchanges()


def test_there_are_model_cassettes_to_check() -> None:
    assert len(EXCHANGES) > 60
    assert {Path(name).parent.name for name, _, _, _ in EXCHANGES} == {
        "llm",
        "chat",
        "action",
        "agent",
    }
    assert {uri.rsplit("/v1", 1)[1] for _, uri, _, _ in EXCHANGES} == {
        "/responses",
        "/chat/completions",
    }


@pytest.mark.parametrize(
    ("name", "uri", "status", "body"), EXCHANGES, ids=[e[0] for e in EXCHANGES]
)
def test_model_bodies_have_the_published_shape(name: str, uri: str, status: int, body: Any) -> None:
    if status == 200 and uri.endswith("/chat/completions"):
        completion = chat_types.ChatCompletion.model_validate(body)
        assert completion.object == "chat.completion" and len(completion.choices) == 1, name
    elif status == 200:
        parsed = responses_types.Response.model_validate(body)
        for item in parsed.output:
            assert item.type in ("message", "reasoning", "function_call"), name
    elif "error" in body:
        openai_types.ErrorObject.model_validate(body["error"])
    elif body.get("object") == "error":  # vLLM's flat shape
        assert set(body) == VLLM_ERROR_KEYS and body["code"] == status, name
    else:
        assert set(body) == AIMLAPI_ERROR_KEYS, name
        assert body["statusCode"] == status, name
        assert uri.endswith(body["path"]), name


GITHUB = json.loads((Path(__file__).parent / "data" / "github-openapi.json").read_text())


def _template(method: str, path: str) -> str | None:
    """The OpenAPI path a request URL is an instance of."""
    import re

    from tests.make_cassettes import path_regex

    for key in GITHUB["responses"]:
        m, template = key.split(" ", 1)
        if m == method and re.fullmatch(path_regex(template), path):
            return key
    return None


def github_exchanges() -> list[tuple[str, str, Any]]:
    out = []
    for path in sorted(CASSETTES.rglob("*.yaml")):
        for n, it in enumerate(yaml.safe_load(path.read_text())["interactions"]):
            uri, status = it["request"]["uri"], it["response"]["status"]["code"]
            if not uri.startswith("https://api.github.com/") or uri.endswith("/graphql"):
                continue
            ctype = it["response"]["headers"].get("Content-Type", [""])[0]
            if status >= 300 or status == 204 or "json" not in ctype:
                continue  # error bodies, no body at all, and the diff media type
            url_path = uri.removeprefix("https://api.github.com").split("?")[0]
            key = _template(it["request"]["method"], url_path)
            body = json.loads(it["response"]["body"]["string"])
            out.append((f"{path.relative_to(CASSETTES)}#{n}", key or url_path, body))
    return out


GITHUB_EXCHANGES = github_exchanges()


def test_there_are_github_cassettes_to_check() -> None:
    assert len(GITHUB_EXCHANGES) > 80
    assert {key.split(" ", 1)[1] for _, key, _ in GITHUB_EXCHANGES} == {
        key.split(" ", 1)[1] for key in GITHUB["responses"]
    }  # every endpoint reviewbot calls is in some cassette, and each is in the schemas


@pytest.mark.parametrize(
    ("name", "key", "body"), GITHUB_EXCHANGES, ids=[e[0] for e in GITHUB_EXCHANGES]
)
def test_github_bodies_have_the_published_shape(name: str, key: str, body: Any) -> None:
    assert key in GITHUB["responses"], f"{name}: {key} is not an endpoint in the extracted schemas"
    schema = GITHUB["responses"][key]["schema"]
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(body), key=str)
    assert not errors, f"{name}: {errors[0].message[:300]} at {list(errors[0].absolute_path)}"

"""Cassettes are written, not recorded: check their model bodies against the published types.

The `openai` package's pydantic models are generated from OpenAI's OpenAPI description; a body
that they reject is a shape the real endpoint would never send.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import openai.types as openai_types
import openai.types.chat as chat_types
import openai.types.responses as responses_types
import pytest
import yaml

from tests.conftest import CASSETTES
from tests.request_shapes import BadRequest, check_sent

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


def github_redirects() -> list[tuple[str, str, dict[str, Any]]]:
    """Every redirect the GitHub API answers in a cassette: (name, request path, headers)."""
    out = []
    for path in sorted(CASSETTES.rglob("*.yaml")):
        for n, it in enumerate(yaml.safe_load(path.read_text())["interactions"]):
            uri, status = it["request"]["uri"], it["response"]["status"]["code"]
            if uri.startswith("https://api.github.com/") and 300 <= status < 400:
                url_path = uri.removeprefix("https://api.github.com").split("?")[0]
                name = f"{path.relative_to(CASSETTES)}#{n}"
                out.append((name, f"{it['request']['method']} {url_path}", it["response"]))
    return out


REDIRECTS = github_redirects()


def test_there_are_redirects_to_check() -> None:
    assert REDIRECTS, "no cassette has GitHub's archive redirect"


@pytest.mark.parametrize(
    ("name", "request_line", "response"), REDIRECTS, ids=[r[0] for r in REDIRECTS]
)
def test_github_redirects_are_documented_ones(
    name: str, request_line: str, response: dict[str, Any]
) -> None:
    """A redirect only where GitHub documents one, with its status, to the documented host."""
    import re
    from urllib.parse import urlsplit

    from tests.make_cassettes import path_regex

    method, path = request_line.split(" ", 1)
    documented = [
        (key, doc)
        for key, doc in GITHUB["redirects"].items()
        if key.split(" ", 1)[0] == method and re.fullmatch(path_regex(key.split(" ", 1)[1]), path)
    ]
    assert documented, f"{name}: GitHub documents no redirect for {request_line}"
    [(_, doc)] = documented
    assert response["status"]["code"] == doc["status"], name
    [location] = response["headers"]["Location"]
    assert urlsplit(location).scheme == "https"
    assert urlsplit(location).hostname == urlsplit(doc["location"]).hostname, name


# ------------------------------------------------------------------ request bodies
# conftest.py checks every request a test replays against these schemas; here each check is
# shown to reject a body that differs from a valid one in one mutation.

REPO = "https://api.github.com/repos/Codertocat/Hello-World"
REVIEW_BODY = {
    "commit_id": "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
    "body": "Two findings.",
    "event": "COMMENT",
    "comments": [
        {"path": "hello.py", "line": 2, "side": "RIGHT", "body": "Typo."},
        {"path": "hello.py", "start_line": 1, "line": 2, "side": "RIGHT", "body": "Range."},
    ],
}
GRAPHQL_BODY = {
    "query": "query($owner: String!, $name: String!) "
    "{ repository(owner: $owner, name: $name) { id } }",
    "variables": {"owner": "Codertocat", "name": "Hello-World"},
}


def _set(path: tuple[str | int, ...], value: Any) -> Callable[[Any], None]:
    def mutate(body: Any) -> None:
        for key in path[:-1]:
            body = body[key]
        body[path[-1]] = value

    return mutate


def _drop(*path: str | int) -> Callable[[Any], None]:
    def mutate(body: Any) -> None:
        for key in path[:-1]:
            body = body[key]
        del body[path[-1]]

    return mutate


REST_CASES = [
    ("review: misspelt field", "POST", "/pulls/2/reviews", REVIEW_BODY, _set(("commitid",), "x")),
    ("review: unknown event", "POST", "/pulls/2/reviews", REVIEW_BODY, _set(("event",), "PENDING")),
    (
        "review: comment without body",
        "POST",
        "/pulls/2/reviews",
        REVIEW_BODY,
        _drop("comments", 0, "body"),
    ),
    (
        "review: line as text",
        "POST",
        "/pulls/2/reviews",
        REVIEW_BODY,
        _set(("comments", 1, "line"), "2"),
    ),
    ("reply: no body", "POST", "/pulls/2/comments/7/replies", {"body": "Fixed."}, _drop("body")),
    (
        "comment: body not text",
        "POST",
        "/issues/2/comments",
        {"body": "Walkthrough"},
        _set(("body",), 5),
    ),
    (
        "comment edit: extra field",
        "PATCH",
        "/issues/comments/9",
        {"body": "x"},
        _set(("state",), "closed"),
    ),
    (
        "reaction: not a reaction",
        "POST",
        "/issues/comments/9/reactions",
        {"content": "eyes"},
        _set(("content",), "thumbsup"),
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "valid", "mutate"),
    [c[1:] for c in REST_CASES],
    ids=[c[0] for c in REST_CASES],
)
def test_the_rest_request_check_rejects_a_wrong_body(
    method: str, path: str, valid: dict[str, Any], mutate: Callable[[Any], None]
) -> None:
    check_sent(method, REPO + path, json.dumps(valid))
    check_sent(method, "https://ghe.example.com/api/v3/repos/o/r" + path, json.dumps(valid))
    wrong = copy.deepcopy(valid)
    mutate(wrong)
    with pytest.raises(BadRequest, match=f"{method} /repos/Codertocat/Hello-World{path}: "):
        check_sent(method, REPO + path, json.dumps(wrong))


def test_a_body_to_an_endpoint_without_a_request_schema_is_refused() -> None:
    check_sent("DELETE", f"{REPO}/issues/comments/9", None)
    with pytest.raises(BadRequest, match="has no request schema"):
        check_sent("PUT", f"{REPO}/pulls/2/reviews/1/dismissals", '{"message": "m"}')
    with pytest.raises(BadRequest, match="the body GitHub requires is missing"):
        check_sent("POST", f"{REPO}/issues/comments/9/reactions", None)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (_set(("query",), GRAPHQL_BODY["query"].replace("{ id }", "{ idd }")), "Cannot query"),
        (_set(("variables", "owner"), 7), "Variable '\\$owner'"),
        (_drop("variables", "name"), "Variable '\\$name'"),
        (_set(("query",), "query { repository("), "does not parse"),
        (_set(("extensions",), {}), "unknown keys"),
    ],
    ids=["misspelt field", "variable type", "missing variable", "not GraphQL", "unknown key"],
)
def test_the_graphql_request_check_rejects_a_wrong_body(
    mutate: Callable[[Any], None], message: str
) -> None:
    check_sent("POST", "https://api.github.com/graphql", json.dumps(GRAPHQL_BODY))
    wrong = copy.deepcopy(GRAPHQL_BODY)
    mutate(wrong)
    with pytest.raises(BadRequest, match=message):
        check_sent("POST", "https://api.github.com/graphql", json.dumps(wrong))


@pytest.mark.parametrize("wire", ["responses", "chat"])
def test_model_requests_replayed_from_a_cassette_are_checked(
    wire: str, requests_in_published_shapes: list[Any]
) -> None:
    """What the runner really sends, seen by conftest's check; one wrong parameter fails it."""
    from pydantic import ValidationError

    from tests.test_llm import REQ, cassette, client

    with cassette(wire, "success"):
        client(wire).run([REQ])
    [request] = requests_in_published_shapes
    check_sent(request.method, request.uri, request.body)
    body = json.loads(request.body)
    for mutate in (
        _set(("temprature",), 0.2),  # a misspelt parameter
        _set(("model",), 5),
        _set(("input",), [{"role": "bot", "content": "x"}])
        if wire == "responses"
        else _set(("messages", 0, "role"), "bot"),
    ):
        wrong = copy.deepcopy(body)
        mutate(wrong)
        with pytest.raises(ValidationError):
            check_sent("POST", request.uri, json.dumps(wrong))
    requests_in_published_shapes.clear()


def test_github_requests_replayed_from_a_cassette_are_checked(
    requests_in_published_shapes: list[Any],
) -> None:
    """A body sent through requests (PyGithub's library) is seen by conftest's check too."""
    import requests

    from tests.conftest import cassette_vcr

    with cassette_vcr("action").use_cassette("comment_by_writer.yaml"):
        url = f"{REPO}/issues/comments/2250000400/reactions"
        requests.post(url, json={"content": "thumbsup"}, timeout=5)
    [request] = requests_in_published_shapes
    with pytest.raises(BadRequest, match="'thumbsup' is not one of"):
        check_sent(request.method, request.uri, request.body)
    requests_in_published_shapes.clear()

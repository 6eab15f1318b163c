"""Request bodies reviewbot sends, checked against the published schemas: REST bodies against
GitHub's OpenAPI requestBody schemas (tests/data/github-openapi.json, closed to unknown fields),
GraphQL documents and variables against GitHub's GraphQL schema (npm @octokit/graphql-schema),
and model bodies against the `openai` package's request types (tests/openai_shapes.py).

conftest.py runs `check_sent` on every request a test replays from a cassette, whichever HTTP
library sent it; a body the real endpoint would reject (or silently ignore part of) fails the
test that sent it."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import jsonschema

if TYPE_CHECKING:
    from graphql import GraphQLSchema

TESTS = Path(__file__).resolve().parent
GITHUB = json.loads((TESTS / "data" / "github-openapi.json").read_text())
GRAPHQL_SCHEMA = TESTS.parent / ".cache/npm/node_modules/@octokit/graphql-schema/schema.graphql"
GRAPHQL_KEYS = {"query", "variables", "operationName"}


class BadRequest(AssertionError):
    """A request body that the published schema does not allow."""


def check_sent(method: str, url: str, body: bytes | str | None) -> None:
    """Raise BadRequest (or pydantic's ValidationError for a model body) when the request
    `method url` with `body` is not one the published API describes."""
    path = urlsplit(url).path
    data = json.loads(body) if body else None
    if path.endswith(("/responses", "/chat/completions")):
        from tests.openai_shapes import check_request

        if not isinstance(data, dict):
            raise BadRequest(f"{method} {url}: a model request without a JSON object body")
        check_request(path, data)
    elif path.endswith("/graphql"):
        check_graphql(data)
    else:
        check_rest(method, path.removeprefix("/api/v3"), data)


@cache
def github_schema() -> GraphQLSchema:
    from graphql import build_schema

    assert GRAPHQL_SCHEMA.is_file(), "GitHub's GraphQL schema is not installed: run `make test`"
    # GitHub's SDL defines two fields twice and deprecates some interface fields only in their
    # implementations; graphql-core's strict schema checks reject both, the queries are unaffected
    return build_schema(GRAPHQL_SCHEMA.read_text(), assume_valid_sdl=True, assume_valid=True)


@cache
def _templates() -> list[tuple[str, re.Pattern[str], str]]:
    out = []
    for key in GITHUB["requests"]:
        method, template = key.split(" ", 1)
        out.append((method, re.compile(re.sub(r"\{[^/}]+\}", "[^/]+", template)), key))
    return out


def check_rest(method: str, path: str, data: Any) -> None:
    key = next((k for m, rx, k in _templates() if m == method and rx.fullmatch(path)), None)
    if key is None:
        if data is not None:
            raise BadRequest(
                f"{method} {path} sends a body but has no request schema: add the endpoint to "
                "REQUESTS in tests/extract_openapi.py and run it"
            )
        return
    request = GITHUB["requests"][key]
    if data is None:
        if request["required"]:
            raise BadRequest(f"{method} {path}: the body GitHub requires is missing")
        return
    errors = sorted(jsonschema.Draft7Validator(request["schema"]).iter_errors(data), key=str)
    if errors:
        where = "/".join(map(str, errors[0].absolute_path))
        raise BadRequest(f"{method} {path}: {errors[0].message[:300]} at /{where}")


def check_graphql(data: Any) -> None:
    from graphql import GraphQLError, get_operation_ast, parse, validate
    from graphql.execution.values import get_variable_values

    if not isinstance(data, dict) or not isinstance(data.get("query"), str):
        raise BadRequest(f"a GraphQL request without a query: {str(data)[:200]}")
    if set(data) - GRAPHQL_KEYS:
        raise BadRequest(f"a GraphQL request with unknown keys {sorted(set(data) - GRAPHQL_KEYS)}")
    schema = github_schema()
    try:
        document = parse(data["query"])
    except GraphQLError as exc:
        raise BadRequest(f"GraphQL query does not parse: {exc.message}") from None
    if errors := validate(schema, document):
        raise BadRequest(f"GraphQL query against GitHub's schema: {errors[0].message}")
    operation = get_operation_ast(document, data.get("operationName"))
    assert operation is not None  # validate() allows one anonymous operation or names
    values = get_variable_values(
        schema, operation.variable_definitions or (), data.get("variables") or {}
    )
    if isinstance(values, list):
        raise BadRequest(f"GraphQL variables: {values[0].message}")

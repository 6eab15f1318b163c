"""The GraphQL queries reviewbot sends, and the GraphQL bodies the cassettes answer them with,
checked against GitHub's own schema (npm @octokit/graphql-schema, which `make test` installs
into .cache/npm). A misspelt field, a wrong variable type, or a cassette body missing a field
GitHub always sends (or sending one of the wrong type) fails here."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
import yaml
from graphql import ExecutionResult, GraphQLSchema, build_schema, graphql_sync, parse, validate

from reviewbot.github_graphql import GraphQL
from tests.conftest import ROOT

SCHEMA_FILE = ROOT / ".cache/npm/node_modules/@octokit/graphql-schema/schema.graphql"
CASSETTES = ROOT / "tests" / "cassettes" / "action"


@cache
def github_schema() -> GraphQLSchema:
    assert SCHEMA_FILE.is_file(), "GitHub's GraphQL schema is not installed: run `make test`"
    # GitHub's SDL defines two fields twice and deprecates some interface fields only in their
    # implementations; graphql-core's strict schema checks reject both, the queries are unaffected
    return build_schema(SCHEMA_FILE.read_text(), assume_valid_sdl=True, assume_valid=True)


class Recorder(GraphQL):
    """The GraphQL half of the adapter, with every request recorded and answered from a list."""

    _repo_name = "Codertocat/Hello-World"

    def __init__(self, *answers: dict[str, Any]) -> None:
        self.sent: list[dict[str, Any]] = []
        self.answers = list(answers)

    def _request(self, method: str, url: str, what: str, **kw: Any) -> Any:
        self.sent.append(kw["body"])
        return self.answers.pop(0) if self.answers else {"data": {}}

    def _identity(self) -> str | None:
        return None

    @property
    def _graphql_url(self) -> str:
        return "https://api.github.com/graphql"


def queries() -> dict[str, dict[str, Any]]:
    """Every query shape reviewbot sends, with the variables it sends them with."""
    sizes, texts, history, resolve = Recorder(), Recorder(), Recorder(), Recorder()
    sizes.objects(["abc:hello.py", "abc:.github/instructions"], with_text=False)
    texts.objects(["abc:hello.py"], with_text=True)
    more = {"pageInfo": {"hasNextPage": True, "endCursor": "Y3Vyc29y"}, "nodes": []}
    history.answers = [{"data": {"repository": {"pullRequest": {"comments": more}}}}]
    history.history(2)  # the first page has no walkthrough and says there is more
    resolve.resolve_thread("PRRT_kwDOA")
    first, page = history.sent[:2]
    return {
        "sizes": sizes.sent[0],
        "texts": texts.sent[0],
        "history": first,
        "comments page": page,
        "resolve": resolve.sent[0],
    }


QUERIES = queries()


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_every_query_is_valid_against_githubs_schema(name: str) -> None:
    sent = QUERIES[name]
    schema = github_schema()
    assert validate(schema, parse(sent["query"])) == []
    result = graphql_sync(schema, sent["query"], root_value={}, variable_values=sent["variables"])
    assert result.errors is None, result.errors  # the variables have the declared types


def resolve_field(source: Any, info: Any, **_: Any) -> Any:
    """Cassette bodies are the answer itself: each field is read under its response key."""
    return source.get(info.path.key) if isinstance(source, dict) else None


def resolve_type(value: Any, *_: Any) -> str:
    """Which type an interface value is: its `__typename` (actors), else Blob or Tree."""
    return str(value.get("__typename") or ("Tree" if "entries" in value else "Blob"))


def answer(sent: dict[str, Any], data: dict[str, Any]) -> ExecutionResult:
    """The query executed over GitHub's schema with the cassette body as GitHub's data."""
    return graphql_sync(
        github_schema(),
        sent["query"],
        root_value=data,
        variable_values=sent["variables"],
        field_resolver=resolve_field,
        type_resolver=resolve_type,
    )


def query_for(data: dict[str, Any]) -> dict[str, Any]:
    """The query this answer was written for, by its shape."""
    if "resolveReviewThread" in data:
        return QUERIES["resolve"]
    repository = data.get("repository") or {}
    pull = repository.get("pullRequest")
    if pull is not None:
        return QUERIES["history" if "reviewThreads" in pull else "comments page"]
    recorder = Recorder()
    recorder.objects([f"abc:file{i}" for i in range(len(repository))], with_text=True)
    return recorder.sent[0]


def cassette_bodies() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(CASSETTES.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        for n, it in enumerate(doc["interactions"]):
            if not it["request"]["uri"].endswith("/graphql"):
                continue
            body = json.loads(it["response"]["body"]["string"])
            if it["response"]["status"]["code"] == 200 and body.get("data") is not None:
                out.append((f"{path.name}#{n}", body["data"]))
    return out


BODIES = cassette_bodies()


def test_there_are_graphql_bodies_to_check() -> None:
    assert len(BODIES) > 40


@pytest.mark.parametrize(("where", "data"), BODIES, ids=[w for w, _ in BODIES])
def test_every_cassette_graphql_body_is_what_githubs_schema_allows(
    where: str, data: dict[str, Any]
) -> None:
    result = answer(query_for(data), data)
    assert result.errors is None, f"{where}: {result.errors}"
    assert within(data, result.data), where  # nothing in the body that the query did not ask for


def within(ours: Any, answer: Any) -> bool:
    """Every field of `ours` is in the executed answer, with the same value."""
    if isinstance(ours, dict):
        return isinstance(answer, dict) and all(
            k in answer and within(v, answer[k]) for k, v in ours.items()
        )
    if isinstance(ours, list):
        return (
            isinstance(answer, list)
            and len(ours) == len(answer)
            and all(within(a, b) for a, b in zip(ours, answer, strict=True))
        )
    return bool(ours == answer)


def test_the_check_catches_a_body_github_would_never_send() -> None:
    data = {"repository": {"pullRequest": {"reviewThreads": {"nodes": [{"id": "T"}]}}}}
    result = answer(QUERIES["history"], data)
    assert result.errors and "non-nullable field PullRequestReviewThread" in str(result.errors)

"""The GraphQL queries reviewbot sends, and the GraphQL bodies the cassettes answer them with,
checked against GitHub's own schema (npm @octokit/graphql-schema, which `make test` installs
into .cache/npm). A misspelt field, a wrong variable type, or a cassette body missing a field
GitHub always sends (or sending one of the wrong type) fails here."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from graphql import ExecutionResult, graphql_sync, parse, validate

from reviewbot.github_graphql import VIEWER, Reads
from tests.conftest import ROOT
from tests.request_shapes import github_schema

CASSETTES = ROOT / "tests" / "cassettes" / "action"


class Core:
    """The adapter's HTTP core, with every GraphQL request recorded and answered from a list."""

    repo = "Codertocat/Hello-World"
    repo_url = "https://api.github.com/repos/Codertocat/Hello-World"

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.answers: list[dict[str, Any]] = []

    def graphql(
        self, query: str, variables: dict[str, Any], what: str, write: bool = False
    ) -> dict[str, Any]:
        self.sent.append({"query": query, "variables": variables})
        return self.answers.pop(0)["data"] if self.answers else {}

    def capped_graphql(
        self, query: str, variables: dict[str, Any], what: str, cap: int
    ) -> dict[str, Any]:
        return self.graphql(query, variables, what)


class Recorder(Reads):
    """The GraphQL part of the adapter over a recording core."""

    def __init__(self) -> None:
        self.core = Core()
        super().__init__(self.core)  # type: ignore[arg-type]

    @property
    def sent(self) -> list[dict[str, Any]]:
        return self.core.sent

    @property
    def answers(self) -> list[dict[str, Any]]:
        return self.core.answers

    @answers.setter
    def answers(self, value: list[dict[str, Any]]) -> None:
        self.core.answers = value


def queries() -> dict[str, dict[str, Any]]:
    """Every query shape reviewbot sends, with the variables it sends them with."""
    sizes, texts, history, resolve = Recorder(), Recorder(), Recorder(), Recorder()
    sizes.objects(["abc:hello.py", "abc:.github/instructions"], with_text=False)
    texts.objects(["abc:hello.py"], with_text=True)
    more = {"pageInfo": {"hasNextPage": True, "endCursor": "Y3Vyc29y"}, "nodes": []}
    long = {"id": "PRRT_kwDOA", "comments": more}
    pages = {"pageInfo": more["pageInfo"], "nodes": [long]}
    history.answers = [  # every first page says there is more
        {"data": {"repository": {"pullRequest": {"reviewThreads": pages, "comments": more}}}},
    ]
    history.history(2, lambda author, body: False)
    resolve.resolve_thread("PRRT_kwDOA")
    first, thread_page, threads_page, comments_page = history.sent[:4]
    return {
        "sizes": sizes.sent[0],
        "texts": texts.sent[0],
        "history": first,
        "threads page": threads_page,
        "thread comments page": thread_page,
        "comments page": comments_page,
        "resolve": resolve.sent[0],
        "viewer": {"query": VIEWER, "variables": {}},
    }


QUERIES = queries()


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_every_query_is_valid_against_githubs_schema(name: str) -> None:
    sent = QUERIES[name]
    schema = github_schema()
    assert validate(schema, parse(sent["query"])) == []
    root = {"viewer": {"login": "x"}} if name == "viewer" else {}  # a non-null root field
    result = graphql_sync(schema, sent["query"], root_value=root, variable_values=sent["variables"])
    assert result.errors is None, result.errors  # the variables have the declared types


def resolve_field(source: Any, info: Any, **_: Any) -> Any:
    """Cassette bodies are the answer itself: each field is read under its response key."""
    return source.get(info.path.key) if isinstance(source, dict) else None


def resolve_type(value: Any, *_: Any) -> str:
    """Which type an interface value is: its `__typename` (actors), a review thread (a node
    with comments), else Blob or Tree."""
    if "comments" in value:
        return "PullRequestReviewThread"
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
    if "viewer" in data:
        return QUERIES["viewer"]
    if "node" in data:
        return QUERIES["thread comments page"]
    repository = data.get("repository") or {}
    pull = repository.get("pullRequest")
    if pull is not None:
        if "reviewThreads" in pull:
            return QUERIES["history" if "comments" in pull else "threads page"]
        return QUERIES["comments page"]
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


def test_ids_are_read_as_64_bit_full_database_ids() -> None:
    history = QUERIES["history"]["query"]
    assert "databaseId" not in history.replace("fullDatabaseId", "")
    assert history.count("fullDatabaseId") == 2  # thread comments and PR comments
    assert "viewerCanResolve" in history  # asked before any mutation is tried
    ids = [int(c["fullDatabaseId"]) for where, data in BODIES for c in _comments(data)]
    assert ids and min(ids) > 2**31  # every fixture id is past 32 bits, as on today's GitHub


def _comments(data: dict[str, Any]) -> list[dict[str, Any]]:
    pull = (data.get("repository") or {}).get("pullRequest") or {}
    nodes = [
        c
        for t in (pull.get("reviewThreads") or {}).get("nodes") or []
        for c in (t.get("comments") or {}).get("nodes") or []
    ]
    nodes += (pull.get("comments") or {}).get("nodes") or []
    nodes += ((data.get("node") or {}).get("comments") or {}).get("nodes") or []
    return nodes


def test_the_check_catches_a_body_github_would_never_send() -> None:
    data = {"repository": {"pullRequest": {"reviewThreads": {"nodes": [{"id": "T"}]}}}}
    result = answer(QUERIES["history"], data)
    assert result.errors and "non-nullable field PullRequestReviewThread" in str(result.errors)

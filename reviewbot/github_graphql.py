"""GitHub's GraphQL API, for what REST does in many requests or not at all: file contents in
bulk (aliases; paths as variables, never in the query text), review threads with the PR's
comments, and resolving a thread.
Mixed into `GitHubClient`, whose error boundary and identity it uses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reviewbot.errors import GitHubError
from reviewbot.markers import is_walkthrough
from reviewbot.pulls import Blob, History, IssueComment, ReviewComment, Thread

GRAPHQL_ALIASES = 100  # objects asked for in one GraphQL request
MAX_COMMENT_PAGES = 30  # more pages of PR comments (100 each) searched for the walkthrough
AUTHOR = "author { login __typename }"
COMMENTS = (
    "comments(first: 100) { pageInfo { hasNextPage endCursor } nodes { databaseId url body "
    f"{AUTHOR} }} }}"
)


class GraphQL:
    """The GraphQL half of the GitHub adapter."""

    _repo_name: str

    def _request(
        self,
        method: str,
        url: str,
        what: str,
        *,
        parameters: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        accept: str | None = None,
        reads: bool = False,
    ) -> Any:
        raise NotImplementedError  # GitHubClient's error boundary

    def _identity(self) -> str | None:
        raise NotImplementedError

    @property
    def _graphql_url(self) -> str:
        raise NotImplementedError

    def _ours(self, login: str, bot: bool, body: str) -> bool:
        """Written by the identity reviewbot acts as: a bot account, or the token's own user
        (asked only for a text that carries one of our markers)."""
        return bot or ("<!-- reviewbot:v1" in body and bool(login) and login == self._identity())

    def objects(self, specs: Sequence[str], with_text: bool) -> dict[str, Blob]:
        """`REV:path` blobs and trees through GraphQL, 100 a request (aliases); paths travel
        as variables, never inside the query text."""
        text = " text" if with_text else ""
        fields = f"... on Blob {{ byteSize isBinary{text} }} ... on Tree {{ entries {{ name }} }}"
        owner, name = self._repo_name.split("/", 1)
        out: dict[str, Blob] = {}
        for start in range(0, len(specs), GRAPHQL_ALIASES):
            batch = list(specs[start : start + GRAPHQL_ALIASES])
            params = ", ".join(f"$e{i}: String!" for i in range(len(batch)))
            aliases = " ".join(
                f"f{i}: object(expression: $e{i}) {{ {fields} }}" for i in range(len(batch))
            )
            query = (
                f"query($owner: String!, $name: String!, {params}) "
                f"{{ repository(owner: $owner, name: $name) {{ {aliases} }} }}"
            )
            variables = {"owner": owner, "name": name} | {f"e{i}": s for i, s in enumerate(batch)}
            data = self._graphql_read(query, variables, "read file contents")
            found = data.get("repository") or {}
            for i, spec in enumerate(batch):
                obj = found.get(f"f{i}")
                if not isinstance(obj, dict):
                    continue
                entries = tuple(str(e.get("name", "")) for e in obj.get("entries") or [])
                out[spec] = Blob(
                    int(obj.get("byteSize") or 0),
                    bool(obj.get("isBinary")),
                    obj.get("text") if isinstance(obj.get("text"), str) else None,
                    entries,
                )
        return out

    def history(self, number: int) -> History:
        """The pull request's review threads (100, with 50 comments each) and our walkthrough
        comment (by the bot's identity, with our marker), in one GraphQL read; more pages of
        PR comments only when the first 100 do not hold it."""
        owner, name = self._repo_name.split("/", 1)
        query = (
            "query($owner: String!, $name: String!, $number: Int!) { repository(owner: $owner, "
            "name: $name) { pullRequest(number: $number) { reviewThreads(first: 100) { nodes "
            f"{{ id isResolved path line comments(first: 50) {{ nodes {{ databaseId body {AUTHOR} "
            f"}} }} }} }} {COMMENTS} }} }} }}"
        )
        variables: dict[str, Any] = {"owner": owner, "name": name, "number": number}
        data = self._graphql_read(query, variables, "list the review threads and comments")
        pull = (data.get("repository") or {}).get("pullRequest") or {}
        threads = []
        for node in (pull.get("reviewThreads") or {}).get("nodes") or []:
            comments = []
            for c in (node.get("comments") or {}).get("nodes") or []:
                body, login, ours = self._authored(c)
                comments.append(ReviewComment(int(c.get("databaseId") or 0), body, login, ours))
            line = node.get("line")
            threads.append(
                Thread(
                    str(node.get("id")),
                    bool(node.get("isResolved")),
                    str(node.get("path") or ""),
                    line if isinstance(line, int) else None,
                    tuple(comments),
                )
            )
        page = pull.get("comments") or {}
        found = self._walkthroughs_in(page)
        more = (
            "query($owner: String!, $name: String!, $number: Int!, $after: String) { repository("
            "owner: $owner, name: $name) { pullRequest(number: $number) { "
            f"{COMMENTS.replace('first: 100', 'first: 100, after: $after')} }} }} }}"
        )
        for _ in range(MAX_COMMENT_PAGES):
            info = page.get("pageInfo") or {}
            if found or not info.get("hasNextPage"):
                break
            variables["after"] = info.get("endCursor")
            data = self._graphql_read(more, variables, "list the pull request's comments")
            page = ((data.get("repository") or {}).get("pullRequest") or {}).get("comments") or {}
            found = self._walkthroughs_in(page)
        first = found[0] if found else None
        return History(tuple(threads), first, tuple(c.id for c in found[1:]))

    def _authored(self, node: dict[str, Any]) -> tuple[str, str, bool]:
        author = node.get("author") or {}
        body = str(node.get("body") or "")
        login = str(author.get("login") or "")
        return body, login, self._ours(login, author.get("__typename") == "Bot", body)

    def _walkthroughs_in(self, page: dict[str, Any]) -> list[IssueComment]:
        """The page's comments that are our walkthrough (ours, with its marker), oldest first."""
        out = []
        for c in page.get("nodes") or []:
            body, _, ours = self._authored(c)
            if ours and is_walkthrough(body):
                out.append(
                    IssueComment(int(c.get("databaseId") or 0), body, str(c.get("url") or ""))
                )
        return out

    def resolve_thread(self, thread_id: str) -> None:
        """Mark a review thread resolved (only ever one the bot started)."""
        query = (
            "mutation($id: ID!) { resolveReviewThread(input: {threadId: $id}) "
            "{ thread { isResolved } } }"
        )
        self._graphql_read(query, {"id": thread_id}, "resolve the review thread", write=True)

    def _graphql_read(
        self, query: str, variables: dict[str, Any], what: str, write: bool = False
    ) -> dict[str, Any]:
        url = self._graphql_url
        body = {"query": query, "variables": variables}
        data = self._request("POST", url, what, body=body, reads=not write)
        errors = data.get("errors") if isinstance(data, dict) else None
        if errors:
            first = errors[0].get("message") if isinstance(errors[0], dict) else errors[0]
            raise GitHubError(f"GitHub refused to {what}: {str(first)[:200]}")
        return (data.get("data") or {}) if isinstance(data, dict) else {}

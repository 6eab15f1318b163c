"""GitHub's GraphQL API, for what REST does in many requests or not at all: file contents in
bulk (aliases; paths as variables, never in the query text), review threads with the PR's
comments (every page), and resolving a thread.
It holds the adapter's HTTP core (github_http), whose error boundary it uses."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

from reviewbot.errors import ConfigError, GitHubError, NotFound
from reviewbot.github_http import GitHubHttp
from reviewbot.kinds import Side
from reviewbot.pulls import Blob, History, IssueComment, ReviewComment, Thread

logger = logging.getLogger(__name__)

GRAPHQL_ALIASES = 100  # objects asked for in one GraphQL request
MAX_COMMENT_PAGES = 30  # more pages of PR comments (100 each) searched for the walkthrough
MAX_THREAD_PAGES = 30  # pages of review threads (100 each)
MAX_REPLY_PAGES = 10  # more pages of one thread's comments (100 each)
MAX_CONFIG_BYTES = 1_000_000
VIEWER = "query { viewer { login } }"  # who the token is (installation tokens included)
AUTHOR = "author { login __typename }"
PAGE = "pageInfo { hasNextPage endCursor }"
# Ids past 2^31: `databaseId` is a 32-bit Int (deprecated for that); `fullDatabaseId` a BigInt.
COMMENTS = f"comments(first: 100) {{ {PAGE} nodes {{ fullDatabaseId url body {AUTHOR} }} }}"
REPLY = f"fullDatabaseId body authorAssociation {AUTHOR} originalCommit {{ oid }}"
THREAD = (
    "id isResolved isOutdated viewerCanResolve path diffSide line startLine originalLine "
    f"originalStartLine comments(first: 50) {{ {PAGE} nodes {{ {REPLY} }} }}"
)
THREADS = f"reviewThreads(first: 100) {{ {PAGE} nodes {{ {THREAD} }} }}"
PULL = "query($owner: String!, $name: String!, $number: Int!{more}) {{ repository(owner: $owner, "
PULL += "name: $name) {{ pullRequest(number: $number) {{ {fields} }} }} }}"


def rest_login(author: dict[str, Any]) -> str:
    """An actor's login as REST spells it: GraphQL gives a Bot's without `[bot]`."""
    login = str(author.get("login") or "")
    bot = author.get("__typename") == "Bot" and login and not login.endswith("[bot]")
    return f"{login}[bot]" if bot else login


def _int(value: Any) -> int:
    """A BigInt (sent as a string) or Int as an int; 0 when absent."""
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


class Reads:
    """Contents and GraphQL: the config file, file texts in bulk, the review threads with the
    PR's comments, who the token is, and resolving a thread."""

    def __init__(self, http: GitHubHttp) -> None:
        self._http = http
        self._repo_name = http.repo

    def config_file(self, path: str, ref: str) -> str | None:
        """A file's text at `ref` (the base branch), or None if it does not exist."""
        url = f"{self._http.repo_url}/contents/{quote(path)}"
        try:
            data = self._http.request("GET", url, f"read {path} at {ref}", parameters={"ref": ref})
        except NotFound:
            return None
        where = f"{path} on {ref[:12]}"
        if isinstance(data, list):
            raise ConfigError(f"{where} is a directory, not a config file")
        if not isinstance(data, dict) or data.get("type") != "file":
            kind = data.get("type") if isinstance(data, dict) else "unknown"
            raise ConfigError(f"{where} is a {kind}, not a config file")
        size = int(data.get("size") or 0)
        if size > MAX_CONFIG_BYTES or data.get("encoding") != "base64":
            raise ConfigError(f"{where} is {size:,} bytes; a config file may be at most 1 MB")
        try:
            return base64.b64decode(str(data.get("content") or "")).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise ConfigError(f"{where} is not UTF-8 text") from None

    def viewer(self) -> str | None:
        """Who the token is (GraphQL `viewer` answers for installation tokens too); None when
        GitHub cannot say."""
        try:
            data = self._http.graphql(VIEWER, {}, "identify the token")
        except GitHubError as exc:
            logger.warning("could not ask GitHub who the token is (%s)", exc)
            return None
        return str((data.get("viewer") or {}).get("login") or "") or None

    def objects(
        self, specs: Sequence[str], with_text: bool, cap: int | None = None
    ) -> dict[str, Blob]:
        """`REV:path` blobs and trees through GraphQL, 100 a request (aliases); paths travel
        as variables, never inside the query text. AnswerTooLarge when an answer passes
        `cap` bytes (reading stops there)."""
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
            if cap is None:
                data = self._http.graphql(query, variables, "read file contents")
            else:
                data = self._http.capped_graphql(query, variables, "read file contents", cap)
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

    def history(self, number: int, walkthrough: Callable[[str, str], bool]) -> History:
        """The pull request's review threads with all their comments, and the PR comments
        `walkthrough(author, body)` accepts (the bot's walkthrough: reviewbot.ours decides).
        One GraphQL read for most pull requests; more pages of threads, of a thread's
        comments, and of PR comments (until one is accepted) only when needed."""
        owner, name = self._repo_name.split("/", 1)
        variables: dict[str, Any] = {"owner": owner, "name": name, "number": number}
        query = PULL.format(more="", fields=f"{THREADS} {COMMENTS}")
        data = self._http.graphql(query, variables, "list the review threads and comments")
        pull = (data.get("repository") or {}).get("pullRequest") or {}
        threads = self._threads(pull.get("reviewThreads") or {}, variables)
        page = pull.get("comments") or {}
        found = _accepted(page, walkthrough)
        after = ", $after: String"
        more = PULL.format(more=after, fields=COMMENTS.replace("100)", "100, after: $after)"))
        for _ in range(MAX_COMMENT_PAGES):
            info = page.get("pageInfo") or {}
            if found or not info.get("hasNextPage"):
                break
            data = self._http.graphql(
                more, variables | {"after": info.get("endCursor")}, "list the PR's comments"
            )
            page = ((data.get("repository") or {}).get("pullRequest") or {}).get("comments") or {}
            found = _accepted(page, walkthrough)
        first = found[0] if found else None
        return History(tuple(threads), first, tuple(c.id for c in found[1:]))

    def _threads(self, page: dict[str, Any], variables: dict[str, Any]) -> list[Thread]:
        """Every review thread: this page's, then the next pages' (100 a page)."""
        query = PULL.format(
            more=", $after: String", fields=THREADS.replace("100)", "100, after: $after)")
        )
        out = [self._thread(n) for n in page.get("nodes") or []]
        for _ in range(MAX_THREAD_PAGES):
            info = page.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return out
            data = self._http.graphql(
                query, variables | {"after": info.get("endCursor")}, "list the review threads"
            )
            pull = (data.get("repository") or {}).get("pullRequest") or {}
            page = pull.get("reviewThreads") or {}
            out += [self._thread(n) for n in page.get("nodes") or []]
        logger.warning("more than %d review threads: the rest are not read", len(out))
        return out

    def _thread(self, node: dict[str, Any]) -> Thread:
        page = node.get("comments") or {}
        nodes = list(page.get("nodes") or [])
        query = (
            "query($id: ID!, $after: String) { node(id: $id) { ... on PullRequestReviewThread { "
            f"comments(first: 100, after: $after) {{ {PAGE} nodes {{ {REPLY} }} }} }} }} }}"
        )
        for _ in range(MAX_REPLY_PAGES):  # a long conversation: page through that thread
            info = page.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                break
            variables = {"id": str(node.get("id")), "after": info.get("endCursor")}
            data = self._http.graphql(query, variables, "read a review thread's comments")
            page = (data.get("node") or {}).get("comments") or {}
            nodes += page.get("nodes") or []
        comments = [
            ReviewComment(
                _int(c.get("fullDatabaseId")),
                str(c.get("body") or ""),
                rest_login(c.get("author") or {}),
                association=str(c.get("authorAssociation") or ""),
                commit=str((c.get("originalCommit") or {}).get("oid") or ""),
            )
            for c in nodes
        ]

        def line(key: str) -> int | None:
            value = node.get(key)
            return value if isinstance(value, int) else None

        return Thread(
            str(node.get("id")),
            bool(node.get("isResolved")),
            str(node.get("path") or ""),
            line("line"),
            tuple(comments),
            side=Side.LEFT if node.get("diffSide") == "LEFT" else Side.RIGHT,
            can_resolve=bool(node.get("viewerCanResolve")),
            outdated=bool(node.get("isOutdated")),
            start_line=line("startLine"),
            original_line=line("originalLine"),
            original_start_line=line("originalStartLine"),
        )

    def resolve_thread(self, thread_id: str) -> bool:
        """Mark a review thread resolved (only ever one the bot started); True only when
        GitHub answers that the thread is resolved now."""
        query = (
            "mutation($id: ID!) { resolveReviewThread(input: {threadId: $id}) "
            "{ thread { isResolved } } }"
        )
        data = self._http.graphql(query, {"id": thread_id}, "resolve the review thread", True)
        thread = (data.get("resolveReviewThread") or {}).get("thread") or {}
        return thread.get("isResolved") is True


def _accepted(page: dict[str, Any], accept: Callable[[str, str], bool]) -> list[IssueComment]:
    """The page's PR comments that `accept(author, body)` takes, oldest first."""
    out = []
    for c in page.get("nodes") or []:
        body = str(c.get("body") or "")
        if accept(rest_login(c.get("author") or {}), body):
            out.append(IssueComment(_int(c.get("fullDatabaseId")), body, str(c.get("url") or "")))
    return out

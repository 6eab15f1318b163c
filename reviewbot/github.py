"""GitHub through PyGithub: the only module that talks to GitHub (serial, paced, retried)."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import requests
from github import Auth, Github, GithubException

from reviewbot.errors import ConfigError, GitHubError
from reviewbot.github_graphql import VIEWER, GraphQL
from reviewbot.github_wire import (
    MAX_RATE_LIMIT_WAIT,
    Retry,
    error_code,
    error_message,
    files_to_diff,
    json_or_text,
    retry_status,
    transient_wait,
)
from reviewbot.github_writes import Writes
from reviewbot.kinds import Side
from reviewbot.markers import read_review_marker
from reviewbot.pulls import (
    AnswerTooLarge,
    FetchedDiff,
    Incremental,
    PriorReview,
    PullInfo,
    ReviewComment,
)

logger = logging.getLogger(__name__)

DIFF = "application/vnd.github.diff"
MAX_CONFIG_BYTES = 1_000_000
API_VERSION = "2022-11-28"  # pinned, so a new default version cannot change what we read


ACTIONS_BOT = "github-actions[bot]"  # who the Actions GITHUB_TOKEN writes as


class GitHubClient(GraphQL, Writes):
    """The handful of REST calls a review needs; every failure becomes a GitHubError."""

    def __init__(
        self,
        token: str,
        repo: str,
        api_url: str = "https://api.github.com",
        write_pause: float = 1.0,
        secondary_wait: float = 60.0,
        retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        backoff: float = 0.5,
        login: str | None = None,
    ) -> None:
        """`write_pause` is GitHub's pause between writes, `secondary_wait` the wait after a
        secondary rate limit without Retry-After, `backoff` the base of retry backoff;
        `sleep` is how to wait (tests pass zeros and a recorder). `login`: who the token
        writes as, when the caller knows (a GitHub App: `<slug>[bot]`); else it is asked."""
        retry = Retry(
            total=retries,
            secondary_rate_wait=secondary_wait,
            max_rate_limit_wait=MAX_RATE_LIMIT_WAIT,  # beyond that: a clear failure, not a hang
            # Only GETs are retried by urllib3; every POST, PATCH and DELETE by _request, which
            # checks whether a create landed before sending it again.
            allowed_methods=frozenset({"GET", "HEAD"}),
            status_forcelist=[429, *range(500, 600)],
            backoff_factor=backoff,
        )

        def client(pause: float) -> Github:
            return Github(
                auth=Auth.Token(token) if token else None,
                base_url=api_url.rstrip("/"),
                timeout=30,
                per_page=100,
                retry=retry,
                # Requests are serial; GitHub asks for pauses between writes, not reads.
                seconds_between_requests=0.0,
                seconds_between_writes=pause,
                user_agent="reviewbot/0.1",
                api_version=API_VERSION,
            )

        self._gh = client(write_pause)
        # GraphQL queries are POSTs but read nothing into being: no write pause for them.
        self._graphql = client(0.0).requester
        self._url = f"{api_url.rstrip('/')}/repos/{repo}"
        self._repo_name = repo
        self._secondary_wait = secondary_wait
        self._sleep = sleep
        self._backoff = backoff
        self._attempts = retries + 1
        self._session = requests.Session()  # for reads that stop at a size (_capped_read)
        self._session.headers.update(
            {
                "User-Agent": "reviewbot/0.1",
                "X-GitHub-Api-Version": API_VERSION,
                **({"Authorization": f"token {token}"} if token else {}),
            }
        )
        # Installation tokens (`ghs_`: the Actions GITHUB_TOKEN, an App's) may not ask GET /user:
        # assumed to be the Actions bot, and confirmed (GraphQL `viewer`) only if another bot
        # signs with our marker (an App's own token meets its own `<slug>[bot]` there).
        self._me: str | None = login or (ACTIONS_BOT if token.startswith("ghs_") else None)
        self._me_known = self._me is not None
        self._assumed = login is None and token.startswith("ghs_")

    @property
    def _graphql_url(self) -> str:
        return str(self._graphql.graphql_url)

    # ------------------------------------------------------------- the error boundary

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
        landed: Callable[[], Any] | None = None,
    ) -> Any:
        """One request; the only place PyGithub and requests errors become GitHubError.
        GETs are retried by urllib3; everything else here, with the same policy: rate limits
        waited out, 5xx and lost connections sent again, but a create (`landed` given) only
        after checking that the first one did not land (GitHub can apply a request, then 502).
        `reads`: a POST that only reads (GraphQL queries), sent without the write pause."""
        attempts = 1 if method == "GET" else self._attempts
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                return self._send(method, url, parameters, body, accept, reads)
            except GithubException as exc:
                wait = transient_wait(exc, self._secondary_wait, self._backoff)
                if wait is None or last:
                    raise GitHubError(
                        f"GitHub refused to {what} ({exc.status}): {error_message(exc)}",
                        exc.status,
                        error_code(exc.data),
                    ) from exc
                if exc.status >= 500 and landed is not None:
                    done = self._landed(landed, what, exc)
                    if done is not None:
                        return done
            except requests.exceptions.RetryError as exc:
                status = retry_status(exc)
                raise GitHubError(
                    f"GitHub kept failing to {what}"
                    + (f" (HTTP {status})" if status else "")
                    + " after every retry; it may be having an outage",
                    status,
                ) from exc
            except requests.RequestException as exc:
                if last:
                    raise GitHubError(
                        f"could not reach GitHub to {what}: {type(exc).__name__}"
                    ) from exc
                if landed is not None and (done := self._landed(landed, what, exc)) is not None:
                    return done
                wait = self._backoff * 2.0 ** (attempt + 1)
            logger.warning("GitHub did not %s; trying again in %.0fs", what, wait)
            self._sleep(wait)
        raise GitHubError(f"could not {what}")  # pragma: no cover - the loop returns or raises

    def _landed(self, check: Callable[[], Any], what: str, exc: Exception) -> Any:
        """After a failed create: is it there anyway? If GitHub cannot say, the write fails
        (sending it again could make two)."""
        try:
            done = check()
        except GitHubError:
            raise GitHubError(f"could not {what}, nor check whether it was done") from exc
        if done is not None:
            logger.warning("GitHub did %s despite the error; not sending it again", what)
        return done

    def _capped_read(
        self, query: str, variables: dict[str, Any], what: str, cap: int
    ) -> dict[str, Any]:
        """A GraphQL read whose answer is read only up to `cap` bytes: past that, the
        connection is dropped and AnswerTooLarge raised. If GitHub fails it, the ordinary
        read (with its retries) is sent instead."""
        body = {"query": query, "variables": variables}
        try:
            with self._session.post(self._graphql_url, json=body, stream=True, timeout=30) as r:
                if r.status_code == 200:
                    chunks, size = [], 0
                    for chunk in r.iter_content(65_536):
                        size += len(chunk)
                        if size > cap:
                            raise AnswerTooLarge(f"GitHub's answer to {what} passed {cap:,} bytes")
                        chunks.append(chunk)
                    data = json.loads(b"".join(chunks))
                    if isinstance(data, dict) and not data.get("errors"):
                        return dict(data.get("data") or {})
        except (requests.RequestException, ValueError) as exc:
            logger.warning("could not %s in one answer (%s); asking again", what, exc)
        return self._graphql_read(query, variables, what)

    def _send(
        self,
        method: str,
        url: str,
        parameters: dict[str, Any] | None,
        body: dict[str, Any] | None,
        accept: str | None,
        reads: bool,
    ) -> Any:
        if accept is not None:  # not JSON (the diff): PyGithub hands back the text
            status, headers, text = self._gh.requester.requestJson(
                method, url, parameters=parameters, headers={"Accept": accept}
            )
            if status >= 400:
                raise GithubException(status, json_or_text(text), headers)
            return text
        requester = self._graphql if reads else self._gh.requester
        _, data = requester.requestJsonAndCheck(method, url, parameters=parameters, input=body)
        return data

    # ------------------------------------------------------------- reads

    def pull(self, number: int) -> PullInfo:
        """GET the pull request."""
        pr = self._request("GET", f"{self._url}/pulls/{number}", f"read pull request #{number}")
        try:
            head, base = pr["head"], pr["base"]
            return PullInfo(
                number=number,
                title=str(pr.get("title") or ""),
                body=str(pr.get("body") or ""),
                head_sha=str(head["sha"]),
                base_sha=str(base["sha"]),
                base_ref=str(base["ref"]),
                head_repo=(head.get("repo") or {}).get("full_name"),
                base_repo=str(base["repo"]["full_name"]),
                draft=bool(pr.get("draft")),
                state=str(pr.get("state") or ""),
                html_url=str(pr.get("html_url") or ""),
                author=str((pr.get("user") or {}).get("login") or ""),
            )
        except (KeyError, TypeError) as exc:
            raise GitHubError(f"GitHub sent pull request #{number} without {exc}") from None

    def diff(self, number: int) -> FetchedDiff:
        """The PR's diff; past GitHub's diff limits (406, or 500 "taking too long"), rebuilt
        from the paginated files API."""
        try:
            text = self._request(
                "GET", f"{self._url}/pulls/{number}", f"read the diff of #{number}", accept=DIFF
            )
        except GitHubError as exc:
            if exc.status != 406 and exc.code != "not_available":
                raise
            logger.warning("GitHub cannot send this diff (%s); using the files API", exc.status)
            files = list(self._pages(f"{self._url}/pulls/{number}/files", "list the files", 30))
            text, missing = files_to_diff(files)  # the endpoint stops at 3,000 files
            return FetchedDiff(text, missing, via_files_api=True)
        return FetchedDiff(str(text))

    def incremental_diff(self, old_head: str, new_head: str) -> Incremental:
        """Changes from `old_head` to `new_head`, or why a full review is needed instead."""
        what = f"compare {old_head[:7]}...{new_head[:7]}"
        try:
            data = self._request("GET", f"{self._url}/compare/{old_head}...{new_head}", what)
        except GitHubError as exc:
            if exc.status in (404, 422):  # the old head is gone (force-push and gc)
                return Incremental(
                    None,
                    f"the last reviewed commit {old_head[:7]} is no longer part of this branch "
                    "(force-push)",
                )
            if exc.code == "not_available":
                return Incremental(
                    None, f"GitHub could not compute the changes since {old_head[:7]} in time"
                )
            raise
        files = data.get("files") or []
        if data.get("status") != "ahead":
            return Incremental(
                None,
                f"the last reviewed commit {old_head[:7]} is no longer part of this branch "
                "(force-push)",
            )
        if len(files) >= 300:  # compare lists 300 files at most
            return Incremental(None, f"300 or more files changed since {old_head[:7]}")
        text, missing = files_to_diff(files)
        return Incremental(FetchedDiff(text, missing))

    def config_file(self, path: str, ref: str) -> str | None:
        """A file's text at `ref` (the base branch), or None if it does not exist."""
        url = f"{self._url}/contents/{quote(path)}"
        try:
            data = self._request("GET", url, f"read {path} at {ref}", parameters={"ref": ref})
        except GitHubError as exc:
            if exc.status == 404:
                return None
            raise
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

    def permission(self, user: str) -> str:
        """The user's permission on the repository: admin, maintain, write, read or none."""
        url = f"{self._url}/collaborators/{quote(user)}/permission"
        try:
            data = self._request("GET", url, f"check {user}'s permission")
        except GitHubError as exc:
            if exc.status == 404:
                return "none"
            raise
        role = str(data.get("role_name") or "")
        return role if role in ("admin", "maintain", "write") else str(data.get("permission"))

    def prior_reviews(self, number: int) -> list[PriorReview]:
        """Markers of earlier reviewbot reviews: only those our own identity wrote (never
        another account's, bot or not, that copies our marker)."""
        out: list[PriorReview] = []
        url = f"{self._url}/pulls/{number}/reviews"
        for review in self._pages(url, f"list the reviews of #{number}"):
            body = str(review.get("body") or "")
            mark = read_review_marker(body)
            if mark is None:
                continue
            if not self._ours(str((review.get("user") or {}).get("login") or ""), body):
                continue
            out.append(
                PriorReview(mark.head_sha, mark.fingerprints, str(review.get("html_url", "")))
            )
        return out

    def identity(self) -> str | None:
        """The login our token writes as (REST spelling, `name[bot]` for apps), asked once and
        only when needed: GET /user answers for a personal access token; GitHub's Actions
        token gets 403 and writes as github-actions[bot]. None: unknown, nothing is ours."""
        if not self._me_known:
            self._me_known = True
            try:
                self._me = str(self._request("GET", "/user", "identify the token").get("login"))
            except GitHubError as exc:
                if exc.status == 403:
                    self._me = ACTIONS_BOT
                elif exc.status not in (401, 404):
                    raise
        return self._me

    def _confirmed_identity(self) -> str | None:
        """Who an installation token writes as, asked once (GraphQL `viewer`, which answers
        for installation tokens too); the assumption stands if GitHub cannot say."""
        if self._assumed:
            self._assumed = False
            try:
                data = self._graphql_read(VIEWER, {}, "identify the token")
            except GitHubError as exc:
                logger.warning("could not ask GitHub who the token is (%s)", exc)
            else:
                self._me = str((data.get("viewer") or {}).get("login") or self._me)
        return self._me

    def review_comment(self, comment_id: int) -> ReviewComment:
        """One review comment (the first comment of a thread, for replies)."""
        data = self._request(
            "GET", f"{self._url}/pulls/comments/{comment_id}", "read the review comment"
        )
        return self._review_comment(data)

    def review_comments(self, number: int) -> list[ReviewComment]:
        """Every review comment of the pull request (threads and their replies)."""
        url = f"{self._url}/pulls/{number}/comments"
        return [self._review_comment(c) for c in self._pages(url, "list the review comments")]

    def _review_comment(self, data: dict[str, Any]) -> ReviewComment:
        user = data.get("user") or {}
        login = str(user.get("login") or "")
        body = str(data.get("body") or "")
        ours = self._ours(login, body)
        reply_to = data.get("in_reply_to_id")
        return ReviewComment(
            id=int(data.get("id") or 0),
            body=body,
            author=login,
            ours=ours,
            in_reply_to=int(reply_to) if reply_to else None,
            path=str(data.get("path") or ""),
            line=data.get("line") if isinstance(data.get("line"), int) else None,
            side=Side.LEFT if data.get("side") == "LEFT" else Side.RIGHT,
            diff_hunk=str(data.get("diff_hunk") or ""),
        )

    # ------------------------------------------------------------- helpers

    def _pages(self, url: str, what: str, max_pages: int = 100) -> Iterator[dict[str, Any]]:
        """Items of a paginated list endpoint, 100 a page, one request at a time."""
        for page in range(1, max_pages + 1):
            data = self._request("GET", url, what, parameters={"per_page": 100, "page": page})
            items = [x for x in data if isinstance(x, dict)] if isinstance(data, list) else []
            yield from items
            if len(items) < 100:
                return

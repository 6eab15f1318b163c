"""The GitHub adapter: one HTTP core (github_http) held by three parts, each by what it talks
to: REST pulls and reviews (here), threads and comments (github_writes), contents and GraphQL
(github_graphql). `GitHubClient` puts them behind the `GitHub` protocol the flows use. It
returns authors and bodies; which of them are reviewbot's own is reviewbot.ours's to say."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import IO, Any
from urllib.parse import quote

from reviewbot.errors import NotFound, Refused, Rejected, TooLarge, TooSlow, Unauthorized
from reviewbot.github_graphql import Reads
from reviewbot.github_http import FixedToken, GitHubHttp, TokenProvider
from reviewbot.github_wire import comment_payload, files_to_diff
from reviewbot.github_writes import Comments
from reviewbot.pulls import (
    Blob,
    FetchedDiff,
    History,
    Incremental,
    InlineComment,
    IssueComment,
    PostedReview,
    PullInfo,
    ReviewComment,
    ReviewRejected,
)

logger = logging.getLogger(__name__)

DIFF = "application/vnd.github.diff"
ACTIONS_BOT = "github-actions[bot]"  # who the Actions GITHUB_TOKEN writes as


class Pulls:
    """REST: the pull request, its diff, permissions, reviews (read and posted)."""

    def __init__(self, http: GitHubHttp) -> None:
        self._http = http
        self._url = http.repo_url

    def pull(self, number: int) -> PullInfo:
        """GET the pull request."""
        pr = self._http.request(
            "GET", f"{self._url}/pulls/{number}", f"read pull request #{number}"
        )
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
            raise Refused(f"GitHub sent pull request #{number} without {exc}") from None

    def diff(self, number: int) -> FetchedDiff:
        """The PR's diff; past GitHub's diff limits (406, or 500 "taking too long"), rebuilt
        from the paginated files API."""
        url = f"{self._url}/pulls/{number}"
        try:
            text = self._http.request("GET", url, f"read the diff of #{number}", accept=DIFF)
        except (TooLarge, TooSlow) as exc:
            logger.warning("GitHub cannot send this diff (%s); using the files API", exc.status)
            files = list(self._http.pages(f"{url}/files", "list the files", 30))
            text, missing = files_to_diff(files)  # the endpoint stops at 3,000 files
            return FetchedDiff(text, missing, via_files_api=True)
        return FetchedDiff(str(text))

    def incremental_diff(self, old_head: str, new_head: str) -> Incremental:
        """Changes from `old_head` to `new_head`, or why a full review is needed instead."""
        what = f"compare {old_head[:7]}...{new_head[:7]}"
        gone = Incremental(
            None,
            f"the last reviewed commit {old_head[:7]} is no longer part of this branch "
            "(force-push)",
        )
        try:
            data = self._http.request("GET", f"{self._url}/compare/{old_head}...{new_head}", what)
        except (NotFound, Rejected):  # the old head is gone (force-push and gc)
            return gone
        except TooSlow:
            return Incremental(
                None, f"GitHub could not compute the changes since {old_head[:7]} in time"
            )
        files = data.get("files") or []
        if data.get("status") != "ahead":
            return gone
        if len(files) >= 300:  # compare lists 300 files at most
            return Incremental(None, f"300 or more files changed since {old_head[:7]}")
        text, missing = files_to_diff(files)
        return Incremental(FetchedDiff(text, missing))

    def archive(self, ref: str, into: IO[bytes], max_bytes: int) -> int:
        """The repository's files at `ref` as GitHub's tarball, written to `into` (its size)."""
        what = f"download the code at {ref[:7]}"
        return self._http.download(f"{self._url}/tarball/{quote(ref)}", what, into, max_bytes)

    def permission(self, user: str) -> str:
        """The user's permission on the repository: admin, maintain, write, read or none."""
        url = f"{self._url}/collaborators/{quote(user)}/permission"
        try:
            data = self._http.request("GET", url, f"check {user}'s permission")
        except NotFound:
            return "none"
        role = str(data.get("role_name") or "")
        return role if role in ("admin", "maintain", "write") else str(data.get("permission"))

    def reviews(self, number: int) -> list[PostedReview]:
        """Every review of the pull request, as author, body and URL."""
        url = f"{self._url}/pulls/{number}/reviews"
        return [
            PostedReview(
                str((r.get("user") or {}).get("login") or ""),
                str(r.get("body") or ""),
                str(r.get("html_url", "")),
            )
            for r in self._http.pages(url, f"list the reviews of #{number}")
        ]

    def post_review(
        self,
        number: int,
        head_sha: str,
        body: str,
        comments: Sequence[InlineComment],
        landed: Callable[[], str | None] | None = None,
    ) -> str:
        """POST one COMMENT review; retries rate limits and 5xx without ever posting twice
        (`landed` finds the review if a failed POST was applied)."""
        payload: dict[str, Any] = {
            "commit_id": head_sha,
            "body": body,
            "event": "COMMENT",  # never APPROVE or REQUEST_CHANGES
            "comments": [comment_payload(c) for c in comments],
        }

        def found() -> dict[str, Any] | None:
            url = landed() if landed is not None else None
            return {"html_url": url} if url is not None else None

        try:
            data = self._http.request(
                "POST",
                f"{self._url}/pulls/{number}/reviews",
                f"post the review on #{number}",
                body=payload,
                landed=found,
            )
        except Rejected as exc:
            raise ReviewRejected(
                f"GitHub rejected the review (422): {exc.detail}", 422, exc.code, exc.detail
            ) from exc
        return str(data.get("html_url", "")) if isinstance(data, dict) else ""


class GitHubClient:
    """The GitHub adapter: the three parts over one core, as the `GitHub` protocol."""

    def __init__(
        self,
        token: str | TokenProvider,
        repo: str,
        api_url: str = "https://api.github.com",
        write_pause: float = 1.0,
        secondary_wait: float = 60.0,
        retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        backoff: float = 0.5,
        login: str | None = None,
    ) -> None:
        """`token`: the token, or a provider asked before every request. `login`: who the
        token writes as, when the caller knows (a GitHub App: `<slug>[bot]`); else it is
        asked. The rest is the core's pacing and retries (github_http.GitHubHttp)."""
        tokens = FixedToken(token) if isinstance(token, str) else token
        self._http = GitHubHttp(
            tokens, repo, api_url, write_pause, secondary_wait, retries, sleep, backoff
        )
        self._pulls = Pulls(self._http)
        self._reads = Reads(self._http)
        self._comments = Comments(self._http, self._is_me)
        # Installation tokens (`ghs_`: the Actions GITHUB_TOKEN, an App's) may not ask GET /user:
        # assumed to be the Actions bot until GraphQL `viewer` confirms it, asked with the
        # history read (no request of its own) or, when a bot's marked text must be judged
        # before that, on its own.
        installation = login is None and tokens.token().startswith("ghs_")
        self._me: str | None = login or (ACTIONS_BOT if installation else None)
        self._me_known = self._me is not None
        self._assumed = installation

    @classmethod
    def with_token_provider(
        cls,
        tokens: TokenProvider,
        repo: str,
        login: str,
        api_url: str = "https://api.github.com",
        **pacing: Any,
    ) -> GitHubClient:
        """For a server acting as a GitHub App: tokens from a provider that refreshes them
        (an installation token lasts one hour), and the App's known login (`<slug>[bot]`)."""
        return cls(tokens, repo, api_url, login=login, **pacing)

    # ------------------------------------------------------------- who we are

    def identity(self) -> str | None:
        """The login our token writes as (REST spelling, `name[bot]` for apps), asked once and
        only when needed: GET /user answers for a personal access token; GitHub's Actions
        token is refused it and writes as github-actions[bot]. None: unknown, nothing is ours."""
        if not self._me_known:
            self._me_known = True
            try:
                self._me = str(
                    self._http.request("GET", "/user", "identify the token").get("login")
                )
            except (Unauthorized, NotFound):
                pass
            except Refused:
                self._me = ACTIONS_BOT
        return self._me

    def confirmed_identity(self) -> str | None:
        """Who an installation token writes as, asked once (GraphQL `viewer`, which answers
        for installation tokens too); the assumption stands if GitHub cannot say."""
        if self._assumed:
            self._assumed = False
            self._me = self._reads.viewer() or self._me
        return self._me

    def _is_me(self, login: str) -> bool:
        if not login:
            return False
        me = self.identity()
        if login.endswith("[bot]"):  # an assumed identity is confirmed first (reviewbot.ours)
            me = self.confirmed_identity()
        return login == me

    def _viewer_is(self, login: str | None) -> None:
        """What a read that also asked GraphQL `viewer` learnt (None: GitHub did not say)."""
        if login and self._assumed:
            self._assumed, self._me = False, login

    # ------------------------------------------------------------- the parts

    def pull(self, number: int) -> PullInfo:
        return self._pulls.pull(number)

    def diff(self, number: int) -> FetchedDiff:
        return self._pulls.diff(number)

    def incremental_diff(self, old_head: str, new_head: str) -> Incremental:
        return self._pulls.incremental_diff(old_head, new_head)

    def archive(self, ref: str, into: IO[bytes], max_bytes: int) -> int:
        return self._pulls.archive(ref, into, max_bytes)

    def permission(self, user: str) -> str:
        return self._pulls.permission(user)

    def reviews(self, number: int) -> list[PostedReview]:
        return self._pulls.reviews(number)

    def post_review(
        self,
        number: int,
        head_sha: str,
        body: str,
        comments: Sequence[InlineComment],
        landed: Callable[[], str | None] | None = None,
    ) -> str:
        return self._pulls.post_review(number, head_sha, body, comments, landed)

    def config_file(self, path: str, ref: str) -> str | None:
        return self._reads.config_file(path, ref)

    def objects(
        self, specs: Sequence[str], with_text: bool, cap: int | None = None
    ) -> dict[str, Blob]:
        return self._reads.objects(specs, with_text, cap)

    def history(self, number: int, walkthrough: Callable[[str, str], bool]) -> History:
        viewer = self._viewer_is if self._assumed else None  # who we are, in the same read
        return self._reads.history(number, walkthrough, viewer)

    def resolve_thread(self, thread_id: str) -> bool:
        return self._reads.resolve_thread(thread_id)

    def review_comment(self, comment_id: int) -> ReviewComment:
        return self._comments.review_comment(comment_id)

    def review_comments(self, number: int) -> list[ReviewComment]:
        return self._comments.review_comments(number)

    def post_reply(self, number: int, comment_id: int, body: str) -> str:
        return self._comments.post_reply(number, comment_id, body)

    def post_comment(self, number: int, body: str) -> IssueComment:
        return self._comments.post_comment(number, body)

    def edit_comment(self, comment_id: int, body: str) -> str:
        return self._comments.edit_comment(comment_id, body)

    def delete_comment(self, comment_id: int) -> None:
        self._comments.delete_comment(comment_id)

    def react(self, comment_id: int, content: str = "eyes") -> None:
        self._comments.react(comment_id, content)

"""GitHub through PyGithub: the only module that talks to GitHub (serial, paced, retried)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from github import Auth, Github, GithubException, GithubRetry

from reviewbot.diff import Skipped
from reviewbot.errors import GitHubError

logger = logging.getLogger(__name__)

DIFF_MEDIA = "application/vnd.github.diff"
MARKER = re.compile(r"<!-- reviewbot:v1 head=([0-9a-f]{7,64})(?: fp=([0-9a-f,]*))? -->")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PullInfo:
    number: int
    title: str
    body: str
    head_sha: str
    base_sha: str
    base_ref: str
    head_repo: str | None
    base_repo: str
    draft: bool
    state: str
    html_url: str


@dataclass(frozen=True, slots=True)
class FetchedDiff:
    """The diff text, and the files GitHub gave no patch for (binary, too large)."""

    text: str
    missing: tuple[Skipped, ...] = ()
    via_files_api: bool = False


@dataclass(frozen=True, slots=True)
class PriorReview:
    """What an earlier reviewbot review on this PR recorded in its hidden marker."""

    head_sha: str
    fingerprints: frozenset[str]
    url: str


class ReviewRejected(GitHubError):
    """GitHub answered 422 to the review POST (an anchor or the body was not accepted)."""


MAX_RATE_LIMIT_WAIT = 900.0  # seconds; a job waiting longer for GitHub's limits fails instead
MAX_FINGERPRINTS = 2_000  # about 26 KB of the review body's 65,536 characters


def marker(head_sha: str, fingerprints: Sequence[str]) -> str:
    """The hidden line that lets later runs know what this review (and earlier ones) posted."""
    kept = list(dict.fromkeys(fingerprints))[:MAX_FINGERPRINTS]
    return f"<!-- reviewbot:v1 head={head_sha} fp={','.join(kept)} -->"


class GitHubClient:
    """The handful of REST calls a review needs; every failure becomes a GitHubError."""

    def __init__(
        self,
        token: str,
        repo: str,
        api_url: str = "https://api.github.com",
        write_pause: float = 1.0,
        secondary_wait: float = 60.0,
        retries: int = 3,
    ) -> None:
        retry = GithubRetry(
            total=retries,
            secondary_rate_wait=secondary_wait,
            max_rate_limit_wait=MAX_RATE_LIMIT_WAIT,  # beyond that: a clear failure, not a hang
            # POST is retried here, not by urllib3, so a review is never posted twice.
            allowed_methods=frozenset({"GET", "HEAD"}),
            status_forcelist=[429, *range(500, 600)],
            backoff_factor=0.5 if write_pause else 0.0,
        )
        self._gh = Github(
            auth=Auth.Token(token) if token else None,
            base_url=api_url.rstrip("/"),
            timeout=30,
            per_page=100,
            retry=retry,
            # Requests are serial; GitHub asks for pauses between writes, not reads.
            seconds_between_requests=0.0,
            seconds_between_writes=write_pause,
            lazy=True,
            user_agent="reviewbot/0.1",
        )
        self._repo = self._gh.get_repo(repo)  # lazy: no request
        self._repo_name = repo
        self._secondary_wait = secondary_wait
        self._write_pause = write_pause

    # ------------------------------------------------------------- reads

    def pull(self, number: int) -> PullInfo:
        """GET the pull request."""
        pr = self._call(f"read pull request #{number}", lambda: self._repo.get_pull(number))
        head_repo = pr.head.repo.full_name if pr.head.repo is not None else None
        return PullInfo(
            number=number,
            title=pr.title or "",
            body=pr.body or "",
            head_sha=pr.head.sha,
            base_sha=pr.base.sha,
            base_ref=pr.base.ref,
            head_repo=head_repo,
            base_repo=pr.base.repo.full_name,
            draft=bool(pr.draft),
            state=pr.state,
            html_url=pr.html_url,
        )

    def diff(self, number: int) -> FetchedDiff:
        """The PR's diff; past GitHub's diff limits (406), rebuilt from the paginated files API."""
        url = f"{self._repo.url}/pulls/{number}"
        status, body = self._raw_get(url, f"read the diff of #{number}")
        if status == 406:
            logger.warning(
                "the diff is too large for GitHub's diff media type; using the files API"
            )
            return self._diff_from_files(number)
        return FetchedDiff(body)

    def incremental_diff(self, old_head: str, new_head: str) -> str | None:
        """Changes from `old_head` to `new_head`, or None when `old_head` is not an ancestor."""
        url = f"{self._repo.url}/compare/{old_head}...{new_head}"
        try:
            _, data = self._gh.requester.requestJsonAndCheck("GET", url)
        except GithubException as exc:
            if exc.status in (404, 422):
                return None  # the old head is gone (force-push and garbage collection)
            raise _wrap(exc, f"compare {old_head[:7]}...{new_head[:7]}") from exc
        if data.get("status") != "ahead" or len(data.get("files") or []) >= 300:
            return None
        return _files_to_diff(data.get("files") or [])[0]

    def config_file(self, path: str, ref: str) -> str | None:
        """A file's text at `ref` (the base branch), or None if it does not exist."""
        try:
            content = self._repo.get_contents(path, ref=ref)
        except GithubException as exc:
            if exc.status == 404:
                return None
            raise _wrap(exc, f"read {path} at {ref}") from exc
        if isinstance(content, list):
            raise GitHubError(f"{path} is a directory on {ref}, not a config file")
        return content.decoded_content.decode("utf-8", errors="replace")

    def permission(self, user: str) -> str:
        """The user's permission on the repository: admin, maintain, write, read or none."""
        url = f"{self._repo.url}/collaborators/{user}/permission"
        try:
            _, data = self._gh.requester.requestJsonAndCheck("GET", url)
        except GithubException as exc:
            if exc.status == 404:
                return "none"
            raise _wrap(exc, f"check {user}'s permission") from exc
        role = str(data.get("role_name") or "")
        return role if role in ("admin", "maintain", "write") else str(data.get("permission"))

    def prior_reviews(self, number: int) -> list[PriorReview]:
        """Markers of earlier reviewbot reviews (only from bot accounts: users cannot fake them)."""
        out: list[PriorReview] = []
        url = f"{self._repo.url}/pulls/{number}/reviews"
        for review in self._pages(url, f"list the reviews of #{number}"):
            if (review.get("user") or {}).get("type") != "Bot":
                continue
            m = MARKER.search(review.get("body") or "")
            if m:
                fps = frozenset(x for x in (m.group(2) or "").split(",") if x)
                out.append(PriorReview(m.group(1), fps, str(review.get("html_url", ""))))
        return out

    # ------------------------------------------------------------- writes

    def react(self, comment_id: int, content: str = "eyes") -> None:
        """Acknowledge a command comment with a reaction (best effort)."""
        url = f"{self._repo.url}/issues/comments/{comment_id}/reactions"
        try:
            self._gh.requester.requestJsonAndCheck("POST", url, input={"content": content})
        except GithubException as exc:
            logger.warning("could not add a reaction to the comment (%s)", exc.status)

    def post_review(
        self, number: int, head_sha: str, body: str, comments: Sequence[dict[str, Any]]
    ) -> str:
        """POST one COMMENT review; retries rate limits and 5xx without ever posting twice."""
        url = f"{self._repo.url}/pulls/{number}/reviews"
        payload: dict[str, Any] = {
            "commit_id": head_sha,
            "body": body,
            "event": "COMMENT",
            "comments": list(comments),
        }
        attempts = 4
        for attempt in range(attempts):
            try:
                _, data = self._gh.requester.requestJsonAndCheck("POST", url, input=payload)
                return str(data.get("html_url", ""))
            except GithubException as exc:
                if exc.status == 422:
                    raise ReviewRejected(
                        f"GitHub rejected the review (422): {_message(exc)}"
                    ) from exc
                wait = self._transient_wait(exc)
                if wait is None or attempt == attempts - 1:
                    raise _wrap(exc, f"post the review on #{number}") from exc
                if exc.status >= 500 and (done := self._already_posted(number, head_sha)):
                    return done
            except requests.RequestException as exc:
                if attempt == attempts - 1:
                    raise GitHubError(f"could not post the review: {type(exc).__name__}") from exc
                if done := self._already_posted(number, head_sha):
                    return done
                wait = 2.0**attempt if self._write_pause else 0.0
            logger.warning("posting the review failed; retrying in %.0fs", wait)
            time.sleep(wait)
        raise GitHubError("could not post the review")  # pragma: no cover - loop always returns

    def _already_posted(self, number: int, head_sha: str) -> str | None:
        """After a failed POST: did it land anyway? (GitHub can apply a request and then 502.)"""
        for prior in self.prior_reviews(number):
            if prior.head_sha == head_sha:
                logger.warning("the review was posted despite the error; not posting it again")
                return prior.url or "posted"
        return None

    def _transient_wait(self, exc: GithubException) -> float | None:
        headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
        if exc.status in (403, 429):
            text = _message(exc).lower()
            if "retry-after" in headers:
                return float(headers["retry-after"])
            if "rate limit" in text:
                if headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in headers:
                    wait = max(0.0, float(headers["x-ratelimit-reset"]) - time.time()) + 1
                    return wait if wait <= MAX_RATE_LIMIT_WAIT else None
                return self._secondary_wait
            return None
        if exc.status >= 500:
            return 2.0 if self._write_pause else 0.0
        return None

    # ------------------------------------------------------------- helpers

    def _raw_get(self, url: str, what: str) -> tuple[int, str]:
        try:
            status, _, body = self._gh.requester.requestJson(
                "GET", url, headers={"Accept": DIFF_MEDIA}
            )
        except requests.RequestException as exc:
            raise GitHubError(f"could not {what}: {type(exc).__name__}") from exc
        if status >= 400 and status != 406:
            raise GitHubError(f"GitHub refused to {what} ({status}): {_text_message(body)}")
        return status, body

    def _diff_from_files(self, number: int) -> FetchedDiff:
        url = f"{self._repo.url}/pulls/{number}/files"
        files = list(self._pages(url, f"list the files of #{number}", max_pages=30))
        text, missing = _files_to_diff(files)  # the endpoint stops at 3,000 files
        return FetchedDiff(text, missing, via_files_api=True)

    def _pages(self, url: str, what: str, max_pages: int = 100) -> Iterator[dict[str, Any]]:
        """Items of a paginated list endpoint, 100 a page, one request at a time."""
        for page in range(1, max_pages + 1):
            try:
                _, data = self._gh.requester.requestJsonAndCheck(
                    "GET", url, parameters={"per_page": 100, "page": page}
                )
            except GithubException as exc:
                raise _wrap(exc, what) from exc
            items = [x for x in data if isinstance(x, dict)] if isinstance(data, list) else []
            yield from items
            if len(items) < 100:
                return

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except GithubException as exc:
            raise _wrap(exc, what) from exc
        except requests.RequestException as exc:
            raise GitHubError(f"could not {what}: {type(exc).__name__}") from exc


def _files_to_diff(files: Sequence[dict[str, Any]]) -> tuple[str, tuple[Skipped, ...]]:
    """Rebuild a unified diff from the files API's per-file patches."""
    parts: list[str] = []
    missing: list[Skipped] = []
    for f in files:
        name = str(f.get("filename", ""))
        old = str(f.get("previous_filename") or name)
        status = f.get("status")
        patch = f.get("patch")
        if not patch:
            if status not in ("renamed", "removed") or f.get("changes"):
                missing.append(Skipped(name, "GitHub sent no patch (binary or too large)"))
            continue
        src = "/dev/null" if status == "added" else f"a/{old}"
        dst = "/dev/null" if status == "removed" else f"b/{name}"
        parts.append(
            f"diff --git a/{old} b/{name}\n--- {src}\n+++ {dst}\n{patch.rstrip(chr(10))}\n"
        )
    return "".join(parts), tuple(missing)


def _message(exc: GithubException) -> str:
    data = exc.data
    if isinstance(data, dict):
        msg = str(data.get("message") or "")
        errors = data.get("errors")
        if isinstance(errors, list) and errors:
            detail = "; ".join(
                str(e.get("message") or e) if isinstance(e, dict) else str(e) for e in errors
            )
            msg = f"{msg}: {detail}" if msg else detail
        return msg[:500] or f"HTTP {exc.status}"
    return str(data)[:300] if data else f"HTTP {exc.status}"


def _text_message(body: str) -> str:
    m = re.search(r'"message"\s*:\s*"([^"]*)"', body or "")
    return m.group(1) if m else " ".join((body or "").split())[:200]


def _wrap(exc: GithubException, what: str) -> GitHubError:
    return GitHubError(f"GitHub refused to {what} ({exc.status}): {_message(exc)}")

"""The GitHub adapter's writes: reviews, replies, the walkthrough comment, reactions. Each goes
through the adapter's error boundary, which waits out rate limits and sends a failed write
again, a create only after checking it did not land (GitHub can apply a request, then 502).
Mixed into `GitHubClient`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from github import GithubException

from reviewbot.errors import GitHubError
from reviewbot.github_wire import comment_payload, error_message
from reviewbot.pulls import InlineComment, IssueComment, PriorReview, ReviewRejected

logger = logging.getLogger(__name__)


class Writes:
    """What the bot writes on a pull request."""

    _url: str

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
        raise NotImplementedError  # GitHubClient's error boundary

    def _pages(self, url: str, what: str, max_pages: int = 100) -> Iterator[dict[str, Any]]:
        raise NotImplementedError

    def _ours(self, login: str, body: str) -> bool:
        raise NotImplementedError

    def prior_reviews(self, number: int) -> list[PriorReview]:
        raise NotImplementedError

    def post_reply(self, number: int, comment_id: int, body: str) -> str:
        """Answer in a review thread (`comment_id` is the thread's first comment)."""
        url = f"{self._url}/pulls/{number}/comments/{comment_id}/replies"

        def landed() -> dict[str, Any] | None:
            return self._find_ours(
                f"{self._url}/pulls/{number}/comments",
                lambda c: (
                    c.get("in_reply_to_id") == comment_id and _text(c).strip() == body.strip()
                ),
            )

        data = self._request(
            "POST", url, "reply in the review thread", body={"body": body}, landed=landed
        )
        return str(data.get("html_url", "")) if isinstance(data, dict) else ""

    def post_comment(self, number: int, body: str) -> IssueComment:
        """A new comment on the pull request's conversation: only ever the walkthrough, of
        which there is one, so after a failed POST any comment of ours that ends with the same
        line (its marker) means it landed."""
        url = f"{self._url}/issues/{number}/comments"
        tail = body.rstrip().rsplit("\n", 1)[-1]
        data = self._request(
            "POST",
            url,
            "post the walkthrough comment",
            body={"body": body},
            landed=lambda: self._find_ours(url, lambda c: _text(c).rstrip().endswith(tail)),
        )
        data = data if isinstance(data, dict) else {}
        return IssueComment(int(data.get("id") or 0), body, str(data.get("html_url", "")))

    def edit_comment(self, comment_id: int, body: str) -> str:
        """Replace the body of one of our PR comments (only ever the walkthrough)."""
        url = f"{self._url}/issues/comments/{comment_id}"
        data = self._request("PATCH", url, "edit the walkthrough comment", body={"body": body})
        return str(data.get("html_url", "")) if isinstance(data, dict) else ""

    def delete_comment(self, comment_id: int) -> None:
        """Remove one of our PR comments (only ever a duplicate walkthrough)."""
        url = f"{self._url}/issues/comments/{comment_id}"
        try:
            self._request("DELETE", url, "remove a duplicate walkthrough comment")
        except GitHubError as exc:
            if exc.status != 404:  # 404: an earlier attempt removed it
                raise

    def react(self, comment_id: int, content: str = "eyes") -> None:
        """Acknowledge a command comment with a reaction (best effort; GitHub keeps one
        reaction per user and content, so sending it again cannot make two)."""
        url = f"{self._url}/issues/comments/{comment_id}/reactions"
        try:
            self._request("POST", url, "add a reaction", body={"content": content})
        except GitHubError as exc:
            logger.warning("could not add a reaction to the comment (%s)", exc.status)

    def post_review(
        self, number: int, head_sha: str, body: str, comments: Sequence[InlineComment]
    ) -> str:
        """POST one COMMENT review; retries rate limits and 5xx without ever posting twice."""
        url = f"{self._url}/pulls/{number}/reviews"
        payload: dict[str, Any] = {
            "commit_id": head_sha,
            "body": body,
            "event": "COMMENT",  # never APPROVE or REQUEST_CHANGES
            "comments": [comment_payload(c) for c in comments],
        }

        def landed() -> dict[str, Any] | None:
            for prior in self.prior_reviews(number):
                if prior.head_sha == head_sha:
                    return {"html_url": prior.url or "posted"}
            return None

        try:
            data = self._request(
                "POST", url, f"post the review on #{number}", body=payload, landed=landed
            )
        except GitHubError as exc:
            cause = exc.__cause__
            if exc.status == 422 and isinstance(cause, GithubException):
                raise ReviewRejected(
                    f"GitHub rejected the review (422): {error_message(cause)}", 422
                ) from exc
            raise
        return str(data.get("html_url", "")) if isinstance(data, dict) else ""

    def _find_ours(
        self, list_url: str, match: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any] | None:
        """The newest comment of ours in a list endpoint that `match`es, or None."""
        found = None
        for c in self._pages(list_url, "check whether the comment was posted"):
            login = str((c.get("user") or {}).get("login") or "")
            if match(c) and self._ours(login, _text(c)):
                found = c
        return found


def _text(comment: dict[str, Any]) -> str:
    return str(comment.get("body") or "")

"""Threads and comments: review comments read, replies, the walkthrough comment, reactions.
Each write goes through the core's error boundary, which waits out rate limits and sends a
failed write again, a create only after checking it did not land (GitHub can apply a request,
then 502): a comment by our identity with the text just sent means it did."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from reviewbot.errors import GitHubError, NotFound
from reviewbot.github_http import GitHubHttp
from reviewbot.kinds import Side
from reviewbot.pulls import IssueComment, ReviewComment

logger = logging.getLogger(__name__)


class Comments:
    """What the bot reads and writes in review threads and the PR's conversation."""

    def __init__(self, http: GitHubHttp, is_me: Callable[[str], bool]) -> None:
        """`is_me(login)`: whether a login is the identity the token writes as."""
        self._http = http
        self._url = http.repo_url
        self._is_me = is_me

    def review_comment(self, comment_id: int) -> ReviewComment:
        """One review comment (the first comment of a thread, for replies)."""
        url = f"{self._url}/pulls/comments/{comment_id}"
        return _review_comment(self._http.request("GET", url, "read the review comment"))

    def review_comments(self, number: int) -> list[ReviewComment]:
        """Every review comment of the pull request (threads and their replies)."""
        url = f"{self._url}/pulls/{number}/comments"
        return [_review_comment(c) for c in self._http.pages(url, "list the review comments")]

    def post_reply(self, number: int, comment_id: int, body: str) -> str:
        """Answer in a review thread (`comment_id` is the thread's first comment)."""
        url = f"{self._url}/pulls/{number}/comments/{comment_id}/replies"

        def landed() -> dict[str, Any] | None:
            return self._find_mine(
                f"{self._url}/pulls/{number}/comments",
                lambda c: (
                    c.get("in_reply_to_id") == comment_id and _text(c).strip() == body.strip()
                ),
            )

        data = self._http.request(
            "POST", url, "reply in the review thread", body={"body": body}, landed=landed
        )
        return str(data.get("html_url", "")) if isinstance(data, dict) else ""

    def post_comment(self, number: int, body: str) -> IssueComment:
        """A new comment on the pull request's conversation (the walkthrough, an App server's
        notice): after a failed POST, a comment of ours that ends with the same line means it
        landed, so each kind ends with a line of its own (the walkthrough's marker, of which
        there is one; a notice's delivery)."""
        url = f"{self._url}/issues/{number}/comments"
        tail = body.rstrip().rsplit("\n", 1)[-1]
        data = self._http.request(
            "POST",
            url,
            "post the walkthrough comment",
            body={"body": body},
            landed=lambda: self._find_mine(url, lambda c: _text(c).rstrip().endswith(tail)),
        )
        data = data if isinstance(data, dict) else {}
        return IssueComment(int(data.get("id") or 0), body, str(data.get("html_url", "")))

    def edit_comment(self, comment_id: int, body: str) -> str:
        """Replace the body of one of our PR comments (only ever the walkthrough)."""
        url = f"{self._url}/issues/comments/{comment_id}"
        data = self._http.request("PATCH", url, "edit the walkthrough comment", body={"body": body})
        return str(data.get("html_url", "")) if isinstance(data, dict) else ""

    def delete_comment(self, comment_id: int) -> None:
        """Remove one of our PR comments (only ever a duplicate walkthrough)."""
        url = f"{self._url}/issues/comments/{comment_id}"
        with contextlib.suppress(NotFound):  # NotFound: an earlier attempt removed it
            self._http.request("DELETE", url, "remove a duplicate walkthrough comment")

    def react(self, comment_id: int, content: str = "eyes") -> None:
        """Acknowledge a command comment with a reaction (best effort; GitHub keeps one
        reaction per user and content, so sending it again cannot make two)."""
        url = f"{self._url}/issues/comments/{comment_id}/reactions"
        try:
            self._http.request("POST", url, "add a reaction", body={"content": content})
        except GitHubError as exc:
            logger.warning("could not add a reaction to the comment (%s)", exc.status)

    def _find_mine(
        self, list_url: str, match: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any] | None:
        """The newest comment by our identity in a list endpoint that `match`es, or None."""
        found = None
        for c in self._http.pages(list_url, "check whether the comment was posted"):
            if match(c) and self._is_me(str((c.get("user") or {}).get("login") or "")):
                found = c
        return found


def _review_comment(data: dict[str, Any]) -> ReviewComment:
    reply_to = data.get("in_reply_to_id")
    return ReviewComment(
        id=int(data.get("id") or 0),
        body=_text(data),
        author=str((data.get("user") or {}).get("login") or ""),
        in_reply_to=int(reply_to) if reply_to else None,
        path=str(data.get("path") or ""),
        line=data.get("line") if isinstance(data.get("line"), int) else None,
        side=Side.LEFT if data.get("side") == "LEFT" else Side.RIGHT,
        diff_hunk=str(data.get("diff_hunk") or ""),
        association=str(data.get("author_association") or ""),
    )


def _text(comment: dict[str, Any]) -> str:
    return str(comment.get("body") or "")

"""Everything a flow writes on a pull request goes through a `Publisher`: one that writes to
GitHub, or one that shows what would be written (a dry run). The entry point chooses once;
no flow asks whether this is a dry run."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from reviewbot.errors import GitHubError
from reviewbot.pulls import GitHub, InlineComment, IssueComment

logger = logging.getLogger(__name__)

Show = Callable[..., None]  # show(what, *texts): how a dry run shows what it would write


class Publisher(Protocol):
    """Where a flow's writes go."""

    def tense(self, done: str, would: str) -> str:
        """`done` when writes happen ("posted"), else `would` ("would post")."""
        ...

    def guard(self, check: Callable[[], str | None]) -> str | None:
        """Run a last check that protects a write (a budget counted again): why not to write,
        or None. A publisher that writes nothing skips it."""
        ...

    def plan(self, estimate: Callable[[], str]) -> str | None:
        """What the run may cost, before it asks the model: a dry run works it out, shows it
        and returns it (for the notes); a publisher that writes keeps quiet (None)."""
        ...

    def preview(self, what: str, text: Callable[[], str]) -> None:
        """Show what the model will be sent that the review will not say (agent mode's tool
        definitions and first request): a dry run shows it; a publisher that writes does not
        work it out."""
        ...

    def review(
        self,
        number: int,
        head_sha: str,
        body: str,
        comments: Sequence[InlineComment],
        landed: Callable[[], str | None],
    ) -> str:
        """One COMMENT review; its URL ("" when none). ReviewRejected when GitHub refuses
        an anchor or the body (422)."""
        ...

    def reply(self, number: int, comment_id: int, body: str, where: str) -> str:
        """An answer in the thread that `comment_id` starts; its URL. `where` names it."""
        ...

    def resolve(self, thread_id: str) -> bool:
        """Resolve one of the bot's threads; True only when that is done."""
        ...

    def walkthrough(
        self, number: int, existing: IssueComment | None, body: str, duplicates: Sequence[int]
    ) -> str:
        """Create or edit the PR's walkthrough comment (removing the bot's own `duplicates`);
        the step summary's line on what happened."""
        ...


class GitHubPublisher:
    """Writes to the pull request."""

    def __init__(self, gh: GitHub) -> None:
        self._gh = gh

    def tense(self, done: str, would: str) -> str:
        return done

    def guard(self, check: Callable[[], str | None]) -> str | None:
        return check()

    def plan(self, estimate: Callable[[], str]) -> str | None:
        return None

    def preview(self, what: str, text: Callable[[], str]) -> None:
        return None

    def review(
        self,
        number: int,
        head_sha: str,
        body: str,
        comments: Sequence[InlineComment],
        landed: Callable[[], str | None],
    ) -> str:
        return self._gh.post_review(number, head_sha, body, comments, landed)

    def reply(self, number: int, comment_id: int, body: str, where: str) -> str:
        return self._gh.post_reply(number, comment_id, body)

    def resolve(self, thread_id: str) -> bool:
        return self._gh.resolve_thread(thread_id)

    def walkthrough(
        self, number: int, existing: IssueComment | None, body: str, duplicates: Sequence[int]
    ) -> str:
        try:
            if existing is not None:
                url = self._gh.edit_comment(existing.id, body)
                return f"Walkthrough updated: {url}" + self._remove(duplicates)
            return f"Walkthrough posted: {self._gh.post_comment(number, body).url}"
        except GitHubError as exc:  # the adapter checked whether a failed POST landed
            logger.warning("could not post the walkthrough: %s", exc)
            return f"Walkthrough not posted: {exc}"

    def _remove(self, duplicates: Sequence[int]) -> str:
        """Two runs at once (a push and a `/review`) can each post the PR's first walkthrough;
        the next review keeps the oldest and removes the others (all the bot's own)."""
        removed = 0
        for comment_id in duplicates:
            try:
                self._gh.delete_comment(comment_id)
                removed += 1
            except GitHubError as exc:
                logger.warning("could not remove a duplicate walkthrough: %s", exc)
        return f" (removed {removed} duplicate(s))" if removed else ""


class DryRunPublisher:
    """Writes nothing: shows each write with `show(what, *texts)` (the Actions adapter's
    shows it in a log group where no text can act as a workflow command)."""

    def __init__(self, show: Show) -> None:
        self._show = show

    def tense(self, done: str, would: str) -> str:
        return would

    def guard(self, check: Callable[[], str | None]) -> str | None:
        return None

    def plan(self, estimate: Callable[[], str]) -> str | None:
        line = estimate()
        self._show("what the review may cost", line)
        return line

    def preview(self, what: str, text: Callable[[], str]) -> None:
        self._show(what, text())

    def review(
        self,
        number: int,
        head_sha: str,
        body: str,
        comments: Sequence[InlineComment],
        landed: Callable[[], str | None],
    ) -> str:
        texts = [f"\n--- {c.path}:{c.line} ({c.side})\n{c.body}" for c in comments]
        self._show("the review that would be posted", body, *texts)
        return ""

    def reply(self, number: int, comment_id: int, body: str, where: str) -> str:
        self._show(f"the reply that would be posted on {where}", body)
        return ""

    def resolve(self, thread_id: str) -> bool:
        return True  # the thread would be resolved where the token may (the flow checks that)

    def walkthrough(
        self, number: int, existing: IssueComment | None, body: str, duplicates: Sequence[int]
    ) -> str:
        verb = "edited" if existing else "posted"
        self._show(f"the walkthrough comment that would be {verb}", body)
        return f"Walkthrough: would be {verb}."

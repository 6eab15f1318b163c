"""Who reviewbot is on a pull request, and which texts there are its own: the one place that
reads our markers on what GitHub returns. The adapter returns authors and bodies; the flows ask
here. A text is ours when it carries one of our markers AND was written by the identity the
token writes as (never another account's, bot or not, that copies our marker)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Protocol

from reviewbot.markers import is_walkthrough, marked, read_review_marker
from reviewbot.pulls import History, PostedReview, PriorReview, ReviewComment


class WhoWeAre(Protocol):
    """What the GitHub adapter knows about its token (each asked once, and only when needed)."""

    def identity(self) -> str | None:
        """The login the token writes as (REST spelling); None: unknown."""
        ...

    def confirmed_identity(self) -> str | None:
        """The same, asked of GitHub where it was assumed (an installation token)."""
        ...


def wrote(author: str, body: str, who: WhoWeAre, provisional: bool = False) -> bool:
    """Ours: marked, and by our identity. The identity is asked only for a marked text, and
    a bot's login (an App signs as `<slug>[bot]`; an installation token is only assumed to be
    the Actions bot) is trusted only once GitHub confirmed who the token is: else, under an
    App's token, the Actions bot's comments carrying our marker would pass for ours.
    `provisional`: the assumed identity is trusted for now (another bot's login still asks);
    the caller confirms it before acting on what that decided (reviewbot.action)."""
    if not marked(body) or not author:
        return False
    me = who.identity()
    if author.endswith("[bot]") and not (provisional and author == me):
        me = who.confirmed_identity()
    return author == me


class Us:
    """Reads what GitHub returned as the bot's own or someone else's."""

    def __init__(self, who: WhoWeAre, provisional: bool = False) -> None:
        """`provisional`: trust an assumed identity for now (see `wrote`)."""
        self._who = who
        self._provisional = provisional

    def wrote(self, author: str, body: str) -> bool:
        return wrote(author, body, self._who, self._provisional)

    def walkthrough(self, author: str, body: str) -> bool:
        """Our walkthrough comment: ours, and its last line is the walkthrough marker."""
        return self.wrote(author, body) and is_walkthrough(body)

    def comment(self, c: ReviewComment) -> ReviewComment:
        """The comment with `ours` said."""
        return replace(c, ours=self.wrote(c.author, c.body))

    def comments(self, cs: Iterable[ReviewComment]) -> list[ReviewComment]:
        return [self.comment(c) for c in cs]

    def history(self, h: History) -> History:
        """The history with every thread comment's `ours` said."""
        threads = tuple(replace(t, comments=tuple(self.comments(t.comments))) for t in h.threads)
        return replace(h, threads=threads)

    def prior_reviews(self, reviews: Sequence[PostedReview]) -> list[PriorReview]:
        """Markers of earlier reviewbot reviews: only those our own identity wrote."""
        out = []
        for r in reviews:
            mark = read_review_marker(r.body)
            if mark is not None and self.wrote(r.author, r.body):
                out.append(PriorReview(mark.head_sha, mark.fingerprints, r.url))
        return out

    def review_at(self, reviews: Sequence[PostedReview], head_sha: str) -> str | None:
        """The URL of our review of `head_sha`, if there is one (did a failed POST land?)."""
        for prior in self.prior_reviews(reviews):
            if prior.head_sha == head_sha:
                return prior.url or "posted"
        return None

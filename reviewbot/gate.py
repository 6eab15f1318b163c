"""Whether and how to review: pure decisions from the trigger, the pull request, its earlier
reviews, the commenter's permission and the config. The Action asks them in order, so that
each GitHub read happens only when the previous answer was "go on"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reviewbot.config import Config
from reviewbot.event import FORK_POLICIES, PR_EVENTS, WRITE_PERMISSIONS, Trigger
from reviewbot.markers import posted
from reviewbot.pulls import PriorReview, PullInfo


@dataclass(frozen=True, slots=True)
class Skip:
    """Not reviewing, and why (the notice, and the step summary's line)."""

    reason: str
    summary: str


@dataclass(frozen=True, slots=True)
class Go:
    """Review: with this config, incrementally since `since` (None: everything), without
    repeating the findings in `posted`; `reviewed_before`: the bot has reviewed this PR (so it
    may have threads and a walkthrough there)."""

    config: Config
    since: str | None
    posted: frozenset[str]
    reviewed_before: bool = False


def admit(trigger: Trigger, fork_prs: str, phrase: str) -> Skip | None:
    """Before any request: fork pull requests and who may make the bot spend money on them."""
    if trigger.event == "pull_request" and trigger.fork:
        why = (
            "this pull request comes from a fork: on `pull_request` GitHub gives fork runs a "
            "read-only token and no secrets, so reviewbot cannot review it. Use the "
            "`pull_request_target` example (examples/review-fork-prs.yml), which never checks "
            "out the fork's code."
        )
        return Skip(why, f"⚠️ Not reviewed: {why}")
    allowed = FORK_POLICIES[fork_prs]
    if trigger.fork and allowed is not None and trigger.author_association not in allowed:
        author = (trigger.author_association or "unknown").lower()
        why = (
            f"a fork pull request whose author is {author} is not reviewed automatically "
            f"(fork_prs: {fork_prs}); someone with write access can comment "
            f"`{phrase}` to review it"
        )
        return Skip(why, f"Not reviewed: {why}.")
    return None


def authorize(trigger: Trigger, permission: str) -> Skip | None:
    """A comment counts only from people with write access."""
    if permission in WRITE_PERMISSIONS:
        return None
    why = f"{trigger.commenter} asked for a review but has {permission} permission (write needed)"
    return Skip(why, f"Not reviewed: {why}.")


def open_pull(pr: PullInfo) -> Skip | None:
    if pr.state == "closed":
        return Skip(f"#{pr.number} is closed", "The pull request is closed.")
    return None


def not_reviewed_yet(
    trigger: Trigger, pr: PullInfo, priors: Sequence[PriorReview], phrase: str
) -> Skip | None:
    """A re-run on a reviewed head posts nothing (unless someone asked for a full review)."""
    if trigger.full or all(p.head_sha != pr.head_sha for p in priors):
        return None
    why = (
        f"{pr.head_sha[:7]} was already reviewed; nothing new to post "
        f"(comment `{phrase} full` to review again)"
    )
    return Skip(why, why)


def decide(
    trigger: Trigger, pr: PullInfo, priors: Sequence[PriorReview], config: Config
) -> Skip | Go:
    """Drafts wait (unless the config says otherwise); a push after a review is incremental."""
    if pr.draft and trigger.event in PR_EVENTS and not config.review_drafts:
        why = f"#{pr.number} is a draft (set review_drafts: true in the config to review drafts)"
        return Skip(why, f"Not reviewed: {why}.")
    last = priors[-1].head_sha if priors else None
    since = last if last and not trigger.full and last != pr.head_sha else None
    return Go(config, since, posted(priors), bool(priors))

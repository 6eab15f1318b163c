"""The gate decides from plain values: no HTTP, no environment."""

from __future__ import annotations

from dataclasses import replace

import pytest

from reviewbot import gate
from reviewbot.config import Config
from reviewbot.event import Trigger
from reviewbot.pulls import PriorReview, PullInfo

HEAD = "b" * 40
PR = PullInfo(2, "t", "", HEAD, "a" * 40, "main", "o/r", "o/r", False, "open", "https://x/2")
PUSH = Trigger("pull_request", "synchronize", "o/r", 2, HEAD)
COMMENT = Trigger("issue_comment", "created", "o/r", 2, comment_id=9, commenter="octocat")


def review(head: str, *fps: str) -> PriorReview:
    return PriorReview(head, frozenset(fps), "https://x/2#r")


def test_closed_pull_requests_are_not_reviewed() -> None:
    skip = gate.open_pull(replace(PR, state="closed"))
    assert skip is not None and skip.reason == "#2 is closed"
    assert gate.open_pull(PR) is None


def test_drafts_wait_unless_the_config_says_otherwise() -> None:
    draft = replace(PR, draft=True)
    skip = gate.decide(PUSH, draft, [], Config())
    assert isinstance(skip, gate.Skip) and "is a draft" in skip.reason
    assert isinstance(gate.decide(PUSH, draft, [], Config(review_drafts=True)), gate.Go)
    # Someone asking explicitly reviews a draft too.
    assert isinstance(gate.decide(COMMENT, draft, [], Config()), gate.Go)


def test_a_reviewed_head_is_not_reviewed_again_unless_asked_for_in_full() -> None:
    priors = [review(HEAD, "0123456789ab")]
    skip = gate.not_reviewed_yet(PUSH, PR, priors, "/review")
    assert skip is not None and "already reviewed" in skip.reason and "/review full" in skip.reason
    assert gate.not_reviewed_yet(replace(COMMENT, full=True), PR, priors, "/review") is None


def test_a_push_after_a_review_is_incremental_and_remembers_what_was_posted() -> None:
    priors = [review("c" * 40, "0123456789ab"), review("d" * 40, "ba9876543210")]
    go = gate.decide(PUSH, PR, priors, Config())
    assert isinstance(go, gate.Go)
    assert go.since == "d" * 40 and go.posted == {"0123456789ab", "ba9876543210"}
    full = gate.decide(replace(COMMENT, full=True), PR, priors, Config())
    assert isinstance(full, gate.Go) and full.since is None


@pytest.mark.parametrize(
    ("permission", "allowed"), [("admin", True), ("write", True), ("read", False), ("none", False)]
)
def test_only_writers_comments_count(permission: str, allowed: bool) -> None:
    assert (gate.authorize(COMMENT, permission) is None) == allowed


def test_fork_rules_apply_before_any_request() -> None:
    fork = replace(PUSH, fork=True, author_association="NONE")
    on_pull_request = gate.admit(fork, "all", "/review")
    assert on_pull_request is not None and "read-only token" in on_pull_request.reason
    target = replace(fork, event="pull_request_target")
    assert gate.admit(target, "members", "/review") is not None
    assert gate.admit(target, "all", "/review") is None
    assert gate.admit(replace(target, author_association="MEMBER"), "members", "/review") is None

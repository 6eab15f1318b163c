"""Every write of a flow goes through the run's publisher: GitHub's, or a dry run's that shows
each write and touches nothing. No flow asks whether it is a dry run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from reviewbot.config import Config
from reviewbot.followthrough import ADDRESSED, settle
from reviewbot.markers import RESOLVED
from reviewbot.publish import DryRunPublisher, GitHubPublisher
from reviewbot.pulls import PullInfo, ReviewComment, Thread
from reviewbot.run import Run

ROOT = Path(__file__).resolve().parent.parent
PR = PullInfo(2, "t", "", "1234567" + "b" * 33, "a" * 40, "main", "o/r", "o/r", False, "open", "u")
FIRST = ReviewComment(11, "**major**: x\n<!-- reviewbot:v1 comment fp=0123456789ab -->", "bot")
THREADS = {
    "0123456789ab": Thread("T1", False, "a.py", 3, (FIRST,), can_resolve=True),
    "ba9876543210": Thread("T2", False, "b.py", 5, (FIRST,), can_resolve=False),
}


class GitHub:
    """What settling touches: resolving (GitHub says whether it did) and replying."""

    def __init__(self, resolves: bool) -> None:
        self.resolves = resolves
        self.calls: list[tuple[str, Any]] = []

    def resolve_thread(self, thread_id: str) -> bool:
        self.calls.append(("resolve", thread_id))
        return self.resolves

    def post_reply(self, number: int, comment_id: int, body: str) -> str:
        self.calls.append(("reply", body))
        return "https://x/r"


def run_with(gh: GitHub, publisher: Any) -> Run:
    return Run(Config(), gh, model=None, publisher=publisher)  # type: ignore[arg-type]


@pytest.mark.parametrize("resolves", [True, False])
def test_settling_writes_through_githubs_publisher(resolves: bool) -> None:
    gh = GitHub(resolves)
    settled = settle(run_with(gh, GitHubPublisher(gh)), PR, THREADS, list(THREADS))  # type: ignore[arg-type]
    replies = [body for kind, body in gh.calls if kind == "reply"]
    assert [c for c in gh.calls if c[0] == "resolve"] == [("resolve", "T1")]  # may resolve
    assert replies[0].endswith(RESOLVED if resolves else ADDRESSED)
    assert replies[1].endswith(ADDRESSED) and "resolve it if you agree" in replies[1]
    assert len(settled.resolved) == (1 if resolves else 0)
    first = "1 earlier finding(s) fixed by this push: resolved." if resolves else "2 earlier"
    assert settled.notes("resolved")[0].startswith(first)


def test_a_dry_run_shows_each_reply_and_touches_nothing() -> None:
    gh = GitHub(resolves=True)
    shown: list[tuple[str, ...]] = []
    dry = DryRunPublisher(lambda *texts: shown.append(texts))
    settled = settle(run_with(gh, dry), PR, THREADS, list(THREADS))  # type: ignore[arg-type]
    assert gh.calls == []
    assert [s[0] for s in shown] == [
        "the reply that would be posted on the fixed finding's thread on a.py",
        "the reply that would be posted on the fixed finding's thread on b.py",
    ]
    assert shown[0][1] == f"Addressed in `1234567`.\n{RESOLVED}"
    assert settled.resolved == ("0123456789ab",) and settled.left_open == ("ba9876543210",)
    assert dry.tense("resolved", "would be resolved") == "would be resolved"


@pytest.mark.parametrize(
    "module", ["pr_flow", "conversation", "followthrough", "walkthrough_flow", "filetexts"]
)
def test_no_flow_asks_whether_it_is_a_dry_run(module: str) -> None:
    source = (ROOT / "reviewbot" / f"{module}.py").read_text()
    assert "dry_run" not in source and not re.search(r"\bprint\(", source)

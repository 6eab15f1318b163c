"""The shared vocabularies are types: what a flow hands on is the enum, never a loose string."""

from __future__ import annotations

import pytest

from reviewbot.diff import parse_diff
from reviewbot.errors import DiffError, NotADiff, UsageError
from reviewbot.followthrough import earlier
from reviewbot.inputs import read_inputs
from reviewbot.kinds import FollowUp, Severity
from reviewbot.pulls import PullInfo, ReviewComment, Thread

PR = PullInfo(2, "t", "", "b" * 40, "a" * 40, "main", "o/r", "o/r", False, "open", "u", "alice")
MARK = "\n<!-- reviewbot:v1 comment fp=0123456789ab -->"


def test_text_that_is_not_a_diff_is_a_usage_error_by_type() -> None:
    with pytest.raises(NotADiff) as caught:
        parse_diff("hello, this is a letter\n")
    assert isinstance(caught.value, UsageError) and caught.value.exit_code == 2
    # A diff that is broken (not "not a diff") stays a DiffError that is not a usage error.
    with pytest.raises(DiffError) as broken:
        parse_diff("--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\nzzz\n")
    assert not isinstance(broken.value, NotADiff)


def thread(*later: ReviewComment, resolved: bool = False) -> Thread:
    first = ReviewComment(1, "**major**: x" + MARK, "reviewbot[bot]", True)
    return Thread("T", resolved, "a.py", 3, (first, *later))


@pytest.mark.parametrize(
    ("t", "touched", "state"),
    [
        (thread(), True, FollowUp.OPEN),
        (thread(), False, FollowUp.UNCHANGED),
        (thread(resolved=True), False, FollowUp.DISMISSED),
        (thread(ReviewComment(2, "won't fix", "alice", False)), True, FollowUp.DISMISSED),
    ],
)
def test_follow_through_states_are_the_enum(t: Thread, touched: bool, state: FollowUp) -> None:
    status = earlier("0123456789ab", t, PR, touched).status
    assert status is state


def test_fail_on_is_read_as_a_severity() -> None:
    base = {"INPUT_API_KEY": "k", "INPUT_GITHUB_TOKEN": "t"}
    assert read_inputs(base).fail_on is None
    assert read_inputs(base | {"INPUT_FAIL_ON": "Major"}).fail_on is Severity.MAJOR

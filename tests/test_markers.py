"""The hidden markers are a contract with reviews already posted on real pull requests."""

from __future__ import annotations

import re
import time

from hypothesis import given
from hypothesis import strategies as st

from reviewbot.findings import Finding
from reviewbot.markers import (
    WALKTHROUGH,
    comment_marker,
    fingerprint,
    is_walkthrough,
    read_comment_marker,
    read_review_marker,
    read_walkthrough_state,
    review_marker,
    walkthrough_tail,
    without_marker,
)

HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
TYPO = Finding(
    "hello.py",
    2,
    None,
    "RIGHT",
    "major",
    "Greeting is misspelled",
    "b",
    '    print("Helo " + name)',
)


def test_fingerprint_format_is_pinned() -> None:
    # A change here breaks dedupe on every pull request reviewbot already reviewed: make it a
    # deliberate, documented migration, never a side effect.
    assert fingerprint(TYPO) == "d485750296ec"
    no_code = Finding("a.py", 7, None, "LEFT", "nit", "Title  Case", "")
    assert fingerprint(no_code) == fingerprint(
        Finding("a.py", 7, None, "LEFT", "nit", "title case", "x")
    )


def test_review_marker_format_is_pinned() -> None:
    assert review_marker(HEAD, ["d485750296ec", "0123456789ab", "d485750296ec"]) == (
        f"<!-- reviewbot:v1 head={HEAD} fp=d485750296ec,0123456789ab -->"
    )
    assert review_marker(HEAD, []) == f"<!-- reviewbot:v1 head={HEAD} fp= -->"


def test_review_marker_is_read_only_at_the_end_in_its_exact_shape() -> None:
    line = f"<!-- reviewbot:v1 head={HEAD} fp=d485750296ec -->"
    mark = read_review_marker(f"### reviewbot\n\ntext\n{line}\n")
    assert mark is not None and mark.head_sha == HEAD and mark.fingerprints == {"d485750296ec"}
    assert read_review_marker(f"{line}\nmore text after it") is None
    assert read_review_marker(f"text\n{line.replace(HEAD, HEAD[:7])}") is None  # short head
    assert read_review_marker(f"text\n{line.replace('fp=d4', 'fp=D4')}") is None


def test_comment_and_walkthrough_markers() -> None:
    body = f"🟠 **Major**: x\n\n{comment_marker(TYPO)}"
    assert comment_marker(TYPO) == "<!-- reviewbot:v1 comment fp=d485750296ec -->"
    assert read_comment_marker(body) == "d485750296ec"
    assert read_comment_marker(body + "\nquoted by a person") is None
    assert WALKTHROUGH == "<!-- reviewbot:v1 walkthrough -->"
    assert is_walkthrough(f"## Walkthrough\n{WALKTHROUGH}") and not is_walkthrough(
        WALKTHROUGH + "x"
    )


def test_walkthrough_state_line() -> None:
    assert walkthrough_tail(b"{}") == (
        "<!-- reviewbot:v1 walkthrough-state e30= -->\n<!-- reviewbot:v1 walkthrough -->"
    )
    assert read_walkthrough_state("### x\n" + walkthrough_tail(b"{}")) == b"{}"


def test_a_thread_comment_loses_only_its_closing_marker() -> None:
    assert without_marker("Fixed, thanks.\n<!-- reviewbot:v1 reply -->\n") == "Fixed, thanks."
    assert without_marker("**major**: x\n" + comment_marker(TYPO)) == "**major**: x"
    assert without_marker("quote <!-- reviewbot:v1 reply --> then more") == (
        "quote <!-- reviewbot:v1 reply --> then more"
    )
    assert (
        without_marker("a > b\n<!-- reviewbot:v1 x > y -->") == "a > b\n<!-- reviewbot:v1 x > y -->"
    )
    assert without_marker("<!-- reviewbot:v1 -->") == ""
    assert without_marker("plain -->") == "plain -->"


# The rule as a regex (what the reply flow used): the reference for the linear version.
_STRIP_RULE = re.compile(r"\n?<!-- reviewbot:v1 [^>]*-->\s*$")


@given(st.lists(st.sampled_from(["<!-- reviewbot:v1 ", "-->", ">", "-", "\n", " ", "x"])))
def test_marker_stripping_matches_its_rule(parts: list[str]) -> None:
    body = "".join(parts)
    assert without_marker(body) == _STRIP_RULE.sub("", body.rstrip())


def test_stripping_a_65_kb_comment_of_marker_openers_is_linear() -> None:
    opener = "<!-- reviewbot:v1 "
    for body, expected in (
        (opener * 3_600, (opener * 3_600).rstrip()),  # no `-->`: nothing to strip
        ("\n<!-- reviewbot:v1 a" * 3_000 + "-->", ""),  # one marker from the first opener
        ("x>" + (opener + "-" * 30) * 1_300 + " -->", "x>"),
    ):
        assert len(body) > 60_000
        start = time.perf_counter()
        out = without_marker(body)
        assert time.perf_counter() - start < 0.2  # a sanity margin: the regex took 0.5-0.9 s
        assert out == expected


def test_the_thread_markers_are_pinned() -> None:
    """Replies already posted on pull requests end with these; changing one orphans them."""
    from reviewbot.markers import ADDRESSED, REPLY, REPLY_LIMIT, RESOLVED

    assert REPLY == "<!-- reviewbot:v1 reply -->"
    assert REPLY_LIMIT == "<!-- reviewbot:v1 reply limit -->"
    assert RESOLVED == "<!-- reviewbot:v1 resolved -->"
    assert ADDRESSED == "<!-- reviewbot:v1 addressed -->"

"""Matching rules and figures of `reviewbot eval`, on small hand-made cases."""

from __future__ import annotations

import pytest

from reviewbot.evaluation.cases import Golden
from reviewbot.evaluation.score import Found, Tally, distance, match, tally


def gold(line: int, start: int | None = None, path: str = "a.py", side: str = "RIGHT") -> Golden:
    return Golden(path, line, start or line, side, None, "bug")


def found(line: int, start: int | None = None, path: str = "a.py", side: str = "RIGHT",
          severity: str = "major") -> Found:  # fmt: skip
    return Found(path, line, start, side, severity, "t")


@pytest.mark.parametrize(
    ("f", "expected"),
    [
        (found(10), 0),  # inside 10-12
        (found(7), 3),  # 3 lines before the range
        (found(15), 3),  # 3 lines after it
        (found(16), 4),
        (found(20, 5), 0),  # a range that covers the golden one
        (found(9, 6), 1),
        (found(10, path="b.py"), None),
        (found(10, side="LEFT"), None),
        (found(0), None),  # no line: never near anything
    ],
)
def test_distance_between_ranges(f: Found, expected: int | None) -> None:
    assert distance(f, gold(12, 10)) == expected


def test_tolerance_edge_is_inclusive() -> None:
    g = [gold(12, 10)]
    assert match([found(7)], g, 3) == [(0, 0)]
    assert match([found(6)], g, 3) == []
    assert match([found(6)], g, 4) == [(0, 0)]
    assert match([found(10)], g, 0) == [(0, 0)]


def test_each_golden_matches_at_most_once() -> None:
    pairs = match([found(10), found(11), found(12)], [gold(11)], 3)
    assert pairs == [(1, 0)]  # the nearest one
    t = tally([found(10), found(11), found(12)], [gold(11)], pairs)["all"]
    assert (t.precision, t.recall) == (pytest.approx(1 / 3), 1.0)


def test_one_finding_matches_one_golden_and_the_matching_is_largest() -> None:
    # finding 0 is near both; finding 1 only near the second: both goldens get matched
    fs = [found(11), found(16)]
    gs = [gold(10), gold(14)]
    assert match(fs, gs, 3) == [(0, 0), (1, 1)]
    # listed the other way round, the same matching
    assert match(fs[::-1], gs, 3) == [(1, 0), (0, 1)]
    # one finding between two goldens: one match, not two
    assert match([found(12)], gs, 3) == [(0, 0)]


def test_judge_pairs_replace_position() -> None:
    fs = [found(10), found(90)]
    gs = [gold(10)]
    assert match(fs, gs, 3, judged={(1, 0)}) == [(1, 0)]
    assert match(fs, gs, 3, judged=set()) == []


def test_figures_and_severity_split() -> None:
    fs = [found(10, severity="critical"), found(50, severity="nit"), found(80, severity="nit")]
    gs = [Golden("a.py", 10, 10, "RIGHT", "critical", ""), gold(30), gold(80)]
    pairs = match(fs, gs, 3)
    t = tally(fs, gs, pairs)
    assert t["all"] == Tally(3, 2, 3, 2)
    assert t["all"].f1 == pytest.approx(2 / 3)
    assert t["critical"] == Tally(1, 1, 1, 1)
    assert t["nit"] == Tally(2, 1, 0, 0) and t["nit"].recall is None
    assert t["unrated"] == Tally(0, 0, 2, 1)
    assert "major" not in t


def test_undefined_figures_are_none_not_zero() -> None:
    assert Tally(0, 0, 5, 0).precision is None
    assert Tally(0, 0, 5, 0).f1 is None
    assert Tally(4, 0, 0, 0).recall is None
    assert Tally(4, 0, 5, 0).f1 == 0.0

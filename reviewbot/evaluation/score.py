"""Matching a review's findings to golden findings, and precision / recall / F1.

A finding matches a golden one when it is on the same file and side and its line range comes
within `tolerance` lines of the golden range (with a judge: when the judge says it is the same
issue). Each golden finding matches at most one finding and each finding at most one golden
one; among the possible matchings the largest is taken, nearest lines preferred, so the score
does not depend on the order the model listed its findings in.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from reviewbot.evaluation.cases import Golden
from reviewbot.kinds import SEVERITIES

UNRATED = "unrated"  # goldens with no severity (mined ones)


@dataclass(frozen=True, slots=True)
class Found:
    """A finding as scored: where the review placed it (line 0: it has no line)."""

    path: str
    line: int
    start_line: int | None
    side: str
    severity: str
    title: str
    body: str = ""

    @property
    def first(self) -> int:
        return self.start_line if self.start_line is not None else self.line


def distance(f: Found, g: Golden) -> int | None:
    """Lines between the finding's range and the golden range (0: they overlap); None when
    they are not comparable (another file or side, or no line)."""
    if g.path is None or f.path != g.path or f.side != g.side or f.line <= 0:
        return None
    lo, hi = min(f.first, f.line), max(f.first, f.line)
    return max(0, g.start_line - hi, lo - g.line)


def position_pairs(
    found: Sequence[Found], golden: Sequence[Golden], tolerance: int
) -> dict[tuple[int, int], int]:
    """(finding index, golden index) → distance, for the pairs within `tolerance`."""
    out: dict[tuple[int, int], int] = {}
    for i, f in enumerate(found):
        for j, g in enumerate(golden):
            d = distance(f, g)
            if d is not None and d <= tolerance:
                out[(i, j)] = d
    return out


def judge_candidates(found: Sequence[Found], golden: Sequence[Golden]) -> list[tuple[int, int]]:
    """The pairs a judge is asked about: same file (any side), or a golden with no place."""
    return [
        (i, j)
        for j, g in enumerate(golden)
        for i, f in enumerate(found)
        if g.path is None or f.path == g.path
    ]


def best_matching(
    allowed: Iterable[tuple[int, int]], golden_count: int, cost: dict[tuple[int, int], int]
) -> list[tuple[int, int]]:
    """A largest one-to-one matching among `allowed` pairs (augmenting paths), each golden
    trying its nearest findings first. Returns (finding, golden) pairs sorted by golden."""
    options: dict[int, list[int]] = {}
    for i, j in allowed:
        options.setdefault(j, []).append(i)
    for j in options:
        options[j].sort(key=lambda i: (cost.get((i, j), 0), i))
    owner: dict[int, int] = {}  # finding → golden

    def assign(j: int, seen: set[int]) -> bool:
        for i in options.get(j, []):
            if i in seen:
                continue
            seen.add(i)
            if i not in owner or assign(owner[i], seen):
                owner[i] = j
                return True
        return False

    for j in range(golden_count):
        assign(j, set())
    return sorted(((i, j) for i, j in owner.items()), key=lambda p: p[1])


def match(
    found: Sequence[Found],
    golden: Sequence[Golden],
    tolerance: int,
    judged: Collection[tuple[int, int]] | None = None,
) -> list[tuple[int, int]]:
    """The matched (finding, golden) pairs: by position, or by the judge's yes pairs."""
    near = position_pairs(found, golden, tolerance)
    allowed = list(judged) if judged is not None else list(near)
    return best_matching(allowed, len(golden), near)


@dataclass(frozen=True, slots=True)
class Tally:
    """Counts behind precision and recall."""

    findings: int = 0
    findings_matched: int = 0
    golden: int = 0
    golden_matched: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.findings + other.findings,
            self.findings_matched + other.findings_matched,
            self.golden + other.golden,
            self.golden_matched + other.golden_matched,
        )

    @property
    def precision(self) -> float | None:
        """Share of findings that match a golden one; None with no findings."""
        return self.findings_matched / self.findings if self.findings else None

    @property
    def recall(self) -> float | None:
        """Share of golden findings matched; None with no golden findings."""
        return self.golden_matched / self.golden if self.golden else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)

    def figures(self) -> dict[str, float | int | None]:
        return {
            "precision": _round(self.precision),
            "recall": _round(self.recall),
            "f1": _round(self.f1),
            "findings": self.findings,
            "findings_matched": self.findings_matched,
            "golden": self.golden,
            "golden_matched": self.golden_matched,
        }


def tally(
    found: Sequence[Found], golden: Sequence[Golden], pairs: Sequence[tuple[int, int]]
) -> dict[str, Tally]:
    """The overall tally under "all", and one per severity: precision by the finding's
    severity, recall by the golden one's (goldens with none are "unrated")."""
    hit_f = {i for i, _ in pairs}
    hit_g = {j for _, j in pairs}
    out = {"all": Tally(len(found), len(hit_f), len(golden), len(hit_g))}
    for s in (*SEVERITIES, UNRATED):
        fs = [i for i, f in enumerate(found) if f.severity == s]
        gs = [j for j, g in enumerate(golden) if (g.severity or UNRATED) == s]
        if fs or gs:
            out[s] = Tally(len(fs), len(hit_f & set(fs)), len(gs), len(hit_g & set(gs)))
    return out


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)

"""What a flow did, as a value: the entry point turns it into outputs, a step summary, a
notice and an exit code (the Actions adapter), or whatever a server reports."""

from __future__ import annotations

from dataclasses import dataclass

from reviewbot.kinds import Severity, Status
from reviewbot.review import ReviewResult


@dataclass(frozen=True, slots=True)
class ReviewReport:
    """The review a flow made, for a report that lists every finding."""

    result: ReviewResult
    number: int
    head_sha: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the run did. `notes` are the run's facts (incremental, fallbacks, the
    walkthrough); `lines` report an outcome that is not a review (a skip, a reply);
    `details` are markdown lines for the step summary only (agent mode's tool calls)."""

    status: Status
    message: str
    review_url: str = ""
    findings: int = 0
    inline_comments: int = 0
    severities: tuple[Severity, ...] = ()  # of the findings posted on the PR's files (fail_on)
    notes: tuple[str, ...] = ()
    review: ReviewReport | None = None
    lines: tuple[str, ...] = ()
    details: tuple[str, ...] = ()

"""The small vocabularies every stage shares, each with one typed home."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """What a run did (the Action's `status` output)."""

    REVIEWED = "reviewed"
    PARTIAL = "partial"
    SKIPPED = "skipped"
    FAILED = "failed"


class Side(StrEnum):
    """Which side of the diff a line is on (GitHub's names)."""

    RIGHT = "RIGHT"  # the new file: added and unchanged lines
    LEFT = "LEFT"  # the old file: deleted and unchanged lines


class Severity(StrEnum):
    """How much a finding matters, most first."""

    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    NIT = "nit"

    @property
    def rank(self) -> int:
        return SEVERITIES.index(self.value)


class FollowUp(StrEnum):
    """What became of a finding the bot raised on an earlier commit (only OPEN is re-checked)."""

    OPEN = "open"  # this push rewrote its lines: the model is asked whether it is fixed
    UNCHANGED = "open, its lines unchanged by this push"
    FIXED = "fixed"
    DISMISSED = "dismissed"
    REOPENED = "reopened"  # a person reopened what the bot resolved: never resolved again


class Effort(StrEnum):
    """`reasoning.effort` values of the Responses API (the model decides which it accepts)."""

    NONE = "none"
    MINIMAL = "minimal"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    XHIGH = "xhigh"


SEVERITIES: tuple[str, ...] = tuple(s.value for s in Severity)
SEVERITY_RANK: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}
SIDES: tuple[str, ...] = tuple(s.value for s in Side)
EFFORTS: tuple[str, ...] = tuple(e.value for e in Effort)

"""The pull request's manifest: every changed file, and where its diff went (which request, or
why it was not sent); each request shows it with its own files first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reviewbot.chunking import Plan
from reviewbot.diff import FileDiff, Skipped

UNCHANGED = "unchanged since the last review"


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One changed file of the whole pull request, and where its diff went."""

    path: str
    status: str
    added: int
    removed: int
    part: int = 0  # 1-based request the diff is in; 0: not sent
    reason: str = ""  # why it was not sent
    old_path: str | None = None  # where a renamed file came from


MANIFEST_LIMIT = 150  # entries per request; the rest are counted


def manifest_lines(entries: Sequence[ManifestEntry], here: set[str]) -> list[str]:
    """The manifest as one request shows it: its own files first, then the others."""
    order = sorted(entries, key=lambda e: (e.path not in here, e.part == 0, e.path))
    out = []
    for e in order[:MANIFEST_LIMIT]:
        if e.path in here:
            where = "in this request"
        elif e.part:
            where = f"in part {e.part}"
        else:
            where = f"not sent: {e.reason}"
        name = f"{e.old_path} → {e.path}" if e.old_path and e.old_path != e.path else e.path
        out.append(f"- {name} ({e.status}, +{e.added} -{e.removed}): {where}")
    if len(order) > MANIFEST_LIMIT:
        out.append(f"- …and {len(order) - MANIFEST_LIMIT} more files")
    return out


def unchanged_files(pr_files: Sequence[FileDiff], since: Sequence[FileDiff]) -> list[Skipped]:
    """The PR's files this push did not touch: not sent, and not "not reviewed" either."""
    touched = {f.path for f in since}
    return [Skipped(f.path, UNCHANGED) for f in pr_files if f.path not in touched]


def manifest_of(
    files: Sequence[FileDiff], plan: Plan, not_sent: Sequence[Skipped]
) -> tuple[ManifestEntry, ...]:
    part = {f.path: i + 1 for i, chunk in enumerate(plan.chunks) for f in chunk.files}
    reasons = {s.path: s.reason for s in not_sent}
    entries = [
        ManifestEntry(
            f.path,
            f.status,
            f.added,
            f.removed,
            part.get(f.path, 0),
            "" if f.path in part else reasons.get(f.path, "not reviewed"),
            f.old_path,
        )
        for f in files
    ]
    known = {f.path for f in files}
    entries += [
        ManifestEntry(s.path, "changed", 0, 0, 0, s.reason) for s in not_sent if s.path not in known
    ]
    return tuple(entries)

"""The hidden lines that let reviewbot recognise what it wrote, in one place.

These formats are a contract with every review already posted on real pull requests: a
change breaks dedupe and re-runs there. tests/test_markers.py pins them against fixed strings;
change them only as a deliberate, documented migration (bump `v1` and keep reading the old).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from reviewbot.findings import Finding, norm

MAX_FINGERPRINTS = 2_000  # about 26 KB of the review body's 65,536 characters

# A review body ends with this line; it is trusted only there, in exactly this shape (a marker
# quoted anywhere else, from a file name, a PR description or the model, is ignored).
_REVIEW = re.compile(
    r"\n<!-- reviewbot:v1 head=([0-9a-f]{40}|[0-9a-f]{64}) "
    r"fp=((?:[0-9a-f]{12})(?:,[0-9a-f]{12})*)? -->\Z"
)
_COMMENT = re.compile(r"\n<!-- reviewbot:v1 comment fp=([0-9a-f]{12}) -->\Z")
WALKTHROUGH = "<!-- reviewbot:v1 walkthrough -->"
# The walkthrough's memory (its file lines and review history), the line above WALKTHROUGH.
_WALKTHROUGH_STATE = re.compile(
    r"\n<!-- reviewbot:v1 walkthrough-state ([A-Za-z0-9+/=]{0,60000}) -->\n"
    + re.escape(WALKTHROUGH)
    + r"\Z"
)
REPLY = "<!-- reviewbot:v1 reply -->"
REPLY_LIMIT = "<!-- reviewbot:v1 reply limit -->"
RESOLVED = "<!-- reviewbot:v1 resolved -->"
# "Addressed in …", but the token may not resolve the thread: fixed, and still open on GitHub
ADDRESSED = "<!-- reviewbot:v1 addressed -->"


@dataclass(frozen=True, slots=True)
class ReviewMarker:
    """What an earlier review recorded: the head it reviewed and the findings it posted."""

    head_sha: str
    fingerprints: frozenset[str]


def fingerprint(f: Finding) -> str:
    """A short id that survives line shifts: file, side, title and quoted code (or line)."""
    anchor = norm(f.code) if f.code else str(f.line)
    raw = "\0".join((f.path, f.side, norm(f.title), anchor))
    return hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()[:12]


def review_marker(head_sha: str, fingerprints: Sequence[str]) -> str:
    """The last line of a review body: this head, and the findings posted so far (newest
    first; capped, so the oldest drop out)."""
    kept = list(dict.fromkeys(fingerprints))[:MAX_FINGERPRINTS]
    return f"<!-- reviewbot:v1 head={head_sha} fp={','.join(kept)} -->"


def read_review_marker(body: str) -> ReviewMarker | None:
    """The marker at the very end of a review body, if it is there in our exact shape."""
    m = _REVIEW.search(body.rstrip())
    if m is None:
        return None
    return ReviewMarker(m.group(1), frozenset(x for x in (m.group(2) or "").split(",") if x))


def comment_marker(f: Finding) -> str:
    """The last line of an inline comment: which finding it is (for replies and resolving)."""
    return f"<!-- reviewbot:v1 comment fp={fingerprint(f)} -->"


def read_comment_marker(body: str) -> str | None:
    """The fingerprint at the very end of one of our inline comments, else None."""
    m = _COMMENT.search(body.rstrip())
    return m.group(1) if m else None


def ends_with(body: str, marker: str) -> bool:
    """Whether the body's last line is exactly `marker` (where the bot writes its markers)."""
    return body.rstrip().endswith("\n" + marker) or body.strip() == marker


def is_walkthrough(body: str) -> bool:
    """Whether a PR comment is our walkthrough (its last line is the walkthrough marker)."""
    return body.rstrip().endswith("\n" + WALKTHROUGH)


def walkthrough_tail(state: bytes) -> str:
    """The last two lines of the walkthrough: its state (base64 JSON), then the marker."""
    encoded = base64.b64encode(state).decode()
    return f"<!-- reviewbot:v1 walkthrough-state {encoded} -->\n{WALKTHROUGH}"


def read_walkthrough_state(body: str) -> bytes | None:
    """The state a walkthrough carries, if its last two lines are in our exact shape."""
    m = _WALKTHROUGH_STATE.search(body.rstrip())
    if m is None:
        return None
    try:
        return base64.b64decode(m.group(1), validate=True)
    except ValueError:
        return None


MARK = "<!-- reviewbot:v1"  # every marker starts so
_MARKER_OPEN = f"{MARK} "


def notice_marker(delivery: str) -> str:
    """The last line of an App server notice: which webhook delivery it answers."""
    word = "".join(c for c in delivery if c.isalnum() or c in "-_")[:64]
    return f"{MARK} notice delivery={word} -->"


def marked(body: str) -> bool:
    """Whether the text carries a reviewbot marker (who wrote it is another question)."""
    return MARK in body


def without_marker(body: str) -> str:
    """`body` without the marker it ends with (`<!-- reviewbot:v1 ... -->`, on its own line or
    not), for showing a thread's comments to the model. In linear time: the marker is the text
    after the last `>` but one, so one search finds where it starts (a regex tried at every
    `<!-- reviewbot:v1 ` took 0.5 s on a 65 KB comment of them)."""
    text = body.rstrip()
    if not text.endswith("-->"):
        return text
    previous = text.rfind(">", 0, len(text) - 1)  # a marker holds no `>` before its `-->`
    start = text.find(_MARKER_OPEN, previous + 1, len(text) - 3)
    if start < 0 or start + len(_MARKER_OPEN) > len(text) - 3:
        return text
    return text[: start - 1] if text[start - 1 : start] == "\n" else text[:start]


class _HasFingerprints(Protocol):
    @property
    def fingerprints(self) -> frozenset[str]: ...


def posted(reviews: Iterable[_HasFingerprints]) -> frozenset[str]:
    """Every fingerprint the given reviews recorded."""
    return frozenset().union(*(r.fingerprints for r in reviews))

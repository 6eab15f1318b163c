"""Follow-through on earlier findings: which of the bot's threads are still open, which this
push may have fixed (only those whose anchored lines it rewrote), and closing the fixed ones
as far as the token may (resolved when GitHub confirms it, else said in the thread)."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reviewbot.diff import FileDiff
from reviewbot.errors import GitHubError
from reviewbot.kinds import FollowUp, Side
from reviewbot.markers import RESOLVED, ends_with, read_comment_marker
from reviewbot.pulls import History, PullInfo, Thread
from reviewbot.review import Earlier
from reviewbot.run import Run

logger = logging.getLogger(__name__)

# The last line of "Addressed in …" when the thread could not be resolved (the token may not,
# or GitHub refused): the finding is fixed but its thread stays open, so a later push neither
# offers it again nor mistakes it for one a person reopened. (Belongs with reviewbot.markers.)
ADDRESSED = "<!-- reviewbot:v1 addressed -->"
WONT_FIX = re.compile(
    r"won'?t fix|wontfix|not (going|planning) to (fix|change)|by design|working as intended", re.I
)
WRITERS = ("OWNER", "MEMBER", "COLLABORATOR")  # authorAssociation of people with write access


@dataclass(frozen=True, slots=True)
class Changed:
    """What a push did to one file: old-side lines it removed, new-side lines it added."""

    removed: frozenset[int]
    added: frozenset[int]


def changes_of(files: Sequence[FileDiff]) -> dict[str, Changed]:
    """Per path, the lines an (incremental) diff removed and added."""
    out = {}
    for f in files:
        lines = [ln for h in f.hunks for ln in h.lines]
        removed = frozenset(ln.old for ln in lines if ln.kind == "-" and ln.old is not None)
        added = frozenset(ln.new for ln in lines if ln.kind == "+" and ln.new is not None)
        out[f.path] = Changed(removed, added)
    return out


def our_threads(history: History) -> dict[str, Thread]:
    """The bot's own threads on this PR, by the fingerprint its first comment carries."""
    out = {}
    for t in history.threads:
        first = t.comments[0] if t.comments else None
        fp = read_comment_marker(first.body) if first is not None and first.ours else None
        if fp:
            out[fp] = t
    return out


def touched(t: Thread, since: str | None, changes: Mapping[str, Changed] | None) -> bool:
    """Whether this push rewrote a line the finding is anchored to: on the head it was
    written on (the last reviewed one), one of its lines was removed or replaced; written on
    an older head, one of its lines at the new head was added by this push. Without an
    incremental diff (a full review), GitHub's own word: the thread is outdated."""
    if changes is None:
        return t.outdated
    change = changes.get(t.path)
    if change is None or t.side != Side.RIGHT:
        return False
    first = t.comments[0]
    if since and first.commit == since and t.original_line is not None:
        lo = t.original_start_line or t.original_line
        return any(n in change.removed for n in range(lo, t.original_line + 1))
    if t.line is not None:
        lo = t.start_line or t.line
        return any(n in change.added for n in range(lo, t.line + 1))
    return False


def earlier(fp: str, t: Thread, pr: PullInfo, is_touched: bool) -> Earlier:
    """An earlier finding, and what became of it. Only an `open` one is offered to the model
    for re-checking."""
    later = t.comments[1:]
    resolved_note = any(c.ours and ends_with(c.body, RESOLVED) for c in later)
    addressed = any(c.ours and ends_with(c.body, ADDRESSED) for c in later)
    refused = any(
        not c.ours
        and WONT_FIX.search(c.body)
        and (c.association in WRITERS or (bool(pr.author) and c.author == pr.author))
        for c in later
    )
    if t.resolved:
        status = FollowUp.FIXED if resolved_note or addressed else FollowUp.DISMISSED
    elif resolved_note:
        status = (
            FollowUp.REOPENED
        )  # a person reopened what the bot resolved: it is not resolved again
    elif addressed:
        status = FollowUp.FIXED  # fixed, and left open only because the token could not resolve it
    elif refused:
        status = FollowUp.DISMISSED
    else:
        status = FollowUp.OPEN if is_touched else FollowUp.UNCHANGED
    first = t.comments[0].body.split("\n", 1)[0]
    title = re.sub(r"^\W*\*\*\w+\*\*:\s*", "", first).strip()[:200]
    return Earlier(fp, t.path, t.line or t.original_line, title, status)


@dataclass(frozen=True, slots=True)
class Settled:
    """Earlier findings this push fixed: resolved (GitHub confirmed it), or left open (the
    token may not resolve threads; the thread says it was addressed)."""

    resolved: tuple[str, ...] = ()
    left_open: tuple[str, ...] = ()

    def notes(self, verb: str = "resolved") -> list[str]:
        """Lines for the review body; `verb` is what became of the resolved ones."""
        out = []
        if self.resolved:
            out.append(f"{len(self.resolved)} earlier finding(s) fixed by this push: {verb}.")
        if self.left_open:
            out.append(
                f"{len(self.left_open)} earlier finding(s) fixed by this push but left open: "
                "GitHub did not let this token resolve their threads (a reply in each says so)."
            )
        return out


def settle(run: Run, pr: PullInfo, threads: Mapping[str, Thread], fixed: Sequence[str]) -> Settled:
    """Resolve the fixed findings' threads where the token may, and say in each that it
    was addressed (once; a thread the bot could not resolve is marked so)."""
    resolved: list[str] = []
    left_open: list[str] = []
    sha = pr.head_sha[:7]
    for fp in fixed:
        t = threads[fp]
        done = False
        if t.can_resolve:
            try:
                done = run.publisher.resolve(t.id)
            except GitHubError as exc:
                logger.warning("could not resolve the thread on %s: %s", t.path, exc)
        if done:
            body = f"Addressed in `{sha}`.\n{RESOLVED}"
        else:
            body = (
                f"Addressed in `{sha}`. GitHub did not let this token resolve the thread, so "
                f"it stays open: resolve it if you agree.\n{ADDRESSED}"
            )
        (resolved if done else left_open).append(fp)
        try:
            where = f"the fixed finding's thread on {t.path}"
            run.publisher.reply(pr.number, t.comments[0].id, body, where)
        except GitHubError as exc:
            logger.warning("could not reply in the thread on %s: %s", t.path, exc)
    return Settled(tuple(resolved), tuple(left_open))

"""The PR's one walkthrough comment: created by the first review, edited by every later one,
never a second (not after a re-run, nor after a POST that landed despite an error)."""

from __future__ import annotations

from reviewbot import walkthrough
from reviewbot.pulls import History, PullInfo
from reviewbot.review import Prepared, ReviewResult
from reviewbot.run import Run


def keep_walkthrough(
    run: Run,
    pr: PullInfo,
    history: History | None,
    prepared: Prepared,
    result: ReviewResult,
    incremental: bool,
    resolved: int,
) -> str:
    """Create or edit it through the run's publisher; the line for the step summary says
    which (or why not). `resolved`: threads GitHub confirmed resolved by this push."""
    if history is None:  # it may exist: creating one could make a second
        return "Walkthrough not updated: GitHub could not list the pull request's comments."
    existing = history.walkthrough
    before = walkthrough.read_state(existing.body) if existing else walkthrough.State()
    u = result.usage
    this = walkthrough.Round(
        pr.head_sha[:7],
        "incremental" if incremental else "full",
        str(result.status),
        len(result.placed),
        resolved,
        u.input_tokens + u.output_tokens,
    )
    pr_paths = [m.path for m in prepared.manifest]
    state = walkthrough.update(
        before, result.summary, incremental, result.file_summaries, pr_paths, this
    )
    push = result.summary if incremental else ""
    body = walkthrough.render(state, prepared.manifest, result.skipped, push, redact=run.redact)
    return run.publisher.walkthrough(pr.number, existing, body, history.extra_walkthroughs)

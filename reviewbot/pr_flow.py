"""The pull request review flow: diff → (incremental) pipeline → dedupe → one published review,
then follow-through on earlier findings and the walkthrough.

It takes one `Run`: GitHub only through the `GitHub` protocol (reviewbot.pulls), the model
only through `Model`, every write through the run's `Publisher`, so it runs the same against
the real adapters, a dry run and fakes.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from reviewbot import ledger, render
from reviewbot.anchor import in_body
from reviewbot.diff import parse_diff
from reviewbot.errors import GitHubError, LLMError
from reviewbot.filetexts import GitHubFiles
from reviewbot.followthrough import changes_of, earlier, our_threads, settle, touched
from reviewbot.gate import Go
from reviewbot.gather import prepare_from
from reviewbot.kinds import Severity, Side, Status
from reviewbot.markers import comment_marker, fingerprint, review_marker
from reviewbot.outcome import Outcome, ReviewReport
from reviewbot.prompts import PullRequestText
from reviewbot.pulls import History, InlineComment, PullInfo, ReviewRejected
from reviewbot.review import IncrementalReview, ReviewResult, run_review
from reviewbot.run import Run
from reviewbot.walkthrough_flow import keep_walkthrough

logger = logging.getLogger(__name__)


def review_pull_request(run: Run, pr: PullInfo, go: Go) -> Outcome:
    """Review `pr` as `go` says and publish one review."""
    gh, config = run.github, run.config
    fetched = gh.diff(pr.number)
    notes: list[str] = []
    if fetched.via_files_api:
        notes.append("GitHub could not send this diff whole; it was rebuilt from the files API.")
    source, scope, changes = fetched, None, None
    if go.since:
        since = gh.incremental_diff(go.since, pr.head_sha)
        if since.diff is None:
            notes.append(f"Full review: {since.why_full}.")
        else:
            notes.append(f"Incremental review: only the changes since {go.since[:7]}.")
            scope = IncrementalReview(tuple(parse_diff(fetched.text)), go.since)
            in_pr = {f.path for f in scope.pr_files} | {m.path for m in fetched.missing}
            missing = tuple(m for m in since.diff.missing if m.path in in_pr)
            source = replace(since.diff, missing=missing)
            changes = changes_of(parse_diff(since.diff.text))
    history = _history(run, pr.number, notes) if go.reviewed_before else History()
    threads = our_threads(history) if history is not None else {}
    before = [earlier(fp, t, pr, touched(t, go.since, changes)) for fp, t in threads.items()]
    text = PullRequestText(pr.title, pr.body)
    repo = GitHubFiles(gh, pr.head_sha, pr.base_sha)
    prepared = prepare_from(
        repo,
        source.text,
        config,
        text,
        incremental=scope,
        missing=source.missing,
        earlier=before,
    )
    notes += prepared.notes
    if prepared.guidance.names:
        notes.append(f"Review guidance from the base branch: {', '.join(prepared.guidance.names)}.")
    if shown := run.publisher.plan(ledger.estimate(prepared, config).line()):
        notes.append(shown)  # a dry run: what the run may cost, before it asks (reviewbot.ledger)
    result = run_review(prepared, config, run.model)
    if result.status == Status.FAILED:
        raise LLMError(f"nothing was reviewed: {result.failure or 'no request succeeded'}")

    fresh = tuple(p for p in result.placed if fingerprint(p.finding) not in go.posted)
    if len(fresh) < len(result.placed):
        repeated = len(result.placed) - len(fresh)
        notes.append(f"{repeated} finding(s) already posted on an earlier commit are not repeated.")
    result = replace(result, placed=fresh)
    report = ReviewReport(result, pr.number, pr.head_sha)
    if result.status == Status.SKIPPED and not fresh and not result.skipped:
        return Outcome(Status.SKIPPED, "no reviewable changes", notes=tuple(notes), review=report)
    # Also when every changed file was skipped: a short review says so to the PR's readers.

    # Before the review, so that its body claims "resolved" only where GitHub confirmed it.
    settled = settle(run, pr, threads, result.resolved)
    notes += settled.notes(run.publisher.tense("resolved", "would be resolved"))
    # This head's findings first, then earlier ones, so a cap drops the oldest.
    fps = [fingerprint(f) for f in result.findings] + sorted(go.posted)
    mark = review_marker(pr.head_sha, fps)
    url = _publish(run, pr, result, notes, mark)
    if config.walkthrough:  # its line goes to the step summary (the review is posted already)
        incremental = scope is not None
        resolved = len(settled.resolved)
        notes.append(keep_walkthrough(run, pr, history, prepared, result, incremental, resolved))
    # Only findings on the PR's own files count for fail_on (a model may name any path).
    pr_paths = {f.path for f in parse_diff(fetched.text)} | {m.path for m in fetched.missing}
    verb = run.publisher.tense("posted", "would post")
    return Outcome(
        status=result.status,
        message=f"{verb} a review of #{pr.number} with {len(result.comments)} inline comment(s)",
        review_url=url,
        findings=len(result.placed),
        inline_comments=len(result.comments),
        severities=tuple(Severity(f.severity) for f in result.findings if f.path in pr_paths),
        notes=tuple(notes),
        review=report,
    )


def _history(run: Run, number: int, notes: list[str]) -> History | None:
    """The bot's threads and walkthrough on a PR it reviewed before (None: GitHub failed)."""
    us = run.us
    try:
        return us.history(run.github.history(number, us.walkthrough))
    except GitHubError as exc:  # a help for the model, never a reason to fail the review
        logger.warning("could not list the review threads: %s", exc)
        notes.append("GitHub could not list the review threads: earlier findings not re-checked.")
        return None


def _publish(run: Run, pr: PullInfo, result: ReviewResult, notes: list[str], mark: str) -> str:
    """The review, through the run's publisher; anchors GitHub refuses go to the body."""
    redact, model = run.redact, run.config.model

    def body_of(r: ReviewResult) -> str:
        return redact(render.review_body(r, model, notes, mark))

    def landed() -> str | None:  # after a failed POST: is our review of this head there?
        return run.us.review_at(run.github.reviews(pr.number), pr.head_sha)

    comments = [
        InlineComment(
            c.path,
            c.line,
            Side(c.side),
            redact(render.comment_body(c)) + "\n" + comment_marker(c.finding),
            c.start_line,
        )
        for c in result.comments
    ]
    publish = run.publisher.review
    try:
        return publish(pr.number, pr.head_sha, body_of(result), comments, landed)
    except ReviewRejected as exc:
        logger.warning("%s; posting the comments in the review body instead", exc)
        moved = tuple(
            in_body(c.finding, f"GitHub did not accept it inline: {exc}") for c in result.comments
        )
        fallback = replace(result, placed=moved + result.notes)
        return publish(pr.number, pr.head_sha, body_of(fallback), [], landed)

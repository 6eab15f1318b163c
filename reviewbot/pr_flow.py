"""The pull request review flow: diff → (incremental) pipeline → dedupe → one published review,
then follow-through on earlier findings and the walkthrough.

It takes one `Run`: GitHub only through the `GitHub` protocol (reviewbot.pulls), the model
only through `Model`, every write through the run's `Publisher`, so it runs the same against
the real adapters, a dry run and fakes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace

from reviewbot import ledger, render
from reviewbot.anchor import in_body
from reviewbot.config import Config
from reviewbot.diff import parse_diff
from reviewbot.errors import GitHubError, LLMError
from reviewbot.filetexts import MAX_CONTEXT_BYTES, GitHubFiles
from reviewbot.filters import content_decided
from reviewbot.followthrough import changes_of, earlier, our_threads, settle, touched
from reviewbot.gate import Go
from reviewbot.gather import prepare_from
from reviewbot.kinds import Severity, Side, Status
from reviewbot.markers import comment_marker, fingerprint, review_marker
from reviewbot.markup import inline_code
from reviewbot.outcome import Outcome, ReviewReport
from reviewbot.prompts import PullRequestText
from reviewbot.pulls import History, InlineComment, PullInfo, ReviewRejected, Thread
from reviewbot.review import IncrementalReview, Prepared, ReviewResult, run_review
from reviewbot.run import Run
from reviewbot.walkthrough_flow import keep_walkthrough

logger = logging.getLogger(__name__)


class IdentityChanged(Exception):
    """The gate trusted reviews by the identity an installation token was assumed to have,
    and GitHub says the token is another (an App): decide again, before any model call or
    write (reviewbot.action does)."""


def review_pull_request(
    run: Run, pr: PullInfo, go: Go, seen: Collection[str] | None = None
) -> Outcome:
    """Review `pr` as `go` says and publish one review. `seen`: the URLs of the reviews the PR
    had when the run listed them (the gate's read); None: they are listed before posting."""
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
    me = gh.identity()  # maybe only assumed (an installation token): the history read says
    history = _history(run, pr.number, notes) if go.reviewed_before else History()
    if go.reviewed_before and gh.confirmed_identity() != me:
        raise IdentityChanged(f"the token writes as {gh.identity()}, not {me}")
    threads = our_threads(history) if history is not None else {}
    texts = _anchored_files(run, pr, threads, notes) if changes is None else {}
    before = [
        earlier(fp, t, pr, touched(t, go.since, changes, texts.get(t.path)))
        for fp, t in threads.items()
    ]
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
    if shown := run.publisher.plan(lambda: ledger.estimate(prepared, config).line()):
        notes.append(shown)  # a dry run: what the run may cost, before it asks (reviewbot.ledger)
    looked = _review(run, pr, prepared, config, notes)
    result, details = looked.result, looked.details
    if result.status == Status.FAILED:
        raise LLMError(f"nothing was reviewed: {result.failure or 'no request succeeded'}")

    fresh = tuple(p for p in result.placed if fingerprint(p.finding) not in go.posted)
    if len(fresh) < len(result.placed):
        repeated = len(result.placed) - len(fresh)
        notes.append(f"{repeated} finding(s) already posted on an earlier commit are not repeated.")
    result = replace(result, placed=fresh)
    if hidden := [s.path for s in result.skipped if content_decided(s.reason)]:
        names = ", ".join(inline_code(p) for p in hidden[:10]) + (" …" if len(hidden) > 10 else "")
        notes.append(
            f"⚠️ {len(hidden)} file(s) not reviewed because their own content says so (a "
            f"generated-file header, very long lines), which this pull request decides: "
            f"{names}. List them under `include` to have them reviewed."
        )
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
    if seen is None:
        seen = [r.url for r in gh.reviews(pr.number)]
    url = _publish(run, pr, result, notes, mark, frozenset(seen))
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
        details=details,
    )


@dataclass(frozen=True, slots=True)
class _Looked:
    result: ReviewResult
    details: tuple[str, ...] = ()  # the step summary's account of agent mode


def _review(
    run: Run, pr: PullInfo, prepared: Prepared, config: Config, notes: list[str]
) -> _Looked:
    """The model's review of `prepared`; in agent mode with the read-only tools over a
    snapshot of the head commit (or with scope context alone, said in `notes`, when there is
    none), each part's coverage gap in `notes` and its tool calls in the details."""
    from reviewbot.agent.loop import first_request
    from reviewbot.agent.wiring import gap_notes, preview, pull_agent, trail_lines

    if not prepared.requests:  # nothing to ask: no archive to download either
        return _Looked(run_review(prepared, config, run.model))
    agent, config, why_not = pull_agent(config, run.github, pr, run.workspace)
    if why_not:
        notes.append(why_not[0].upper() + why_not[1:] + ".")
    if agent is None:
        return _Looked(run_review(prepared, config, run.model))
    try:
        first = first_request(prepared.requests[0], agent.cache_key)
        what = "agent mode: the tools and the first request"
        run.publisher.preview(what, lambda: run.redact(preview(first)))
        result, reports = agent.review(prepared, config, run.model)
    finally:
        agent.snapshot.close()
    notes += gap_notes(reports)
    return _Looked(result, tuple(trail_lines(reports)))


def _anchored_files(
    run: Run, pr: PullInfo, threads: Mapping[str, Thread], notes: list[str]
) -> dict[str, str | None]:
    """On a full review: the head's text of each file with an open, outdated thread of ours,
    to see whether its anchored lines really changed (one read; none when there is no such
    thread). Unreadable: nothing is offered for re-checking."""
    paths = sorted({t.path for t in threads.values() if t.outdated and not t.resolved})
    if not paths:
        return {}
    specs = [f"{pr.head_sha}:{p}" for p in paths]
    try:
        found = run.github.objects(specs, with_text=True, cap=MAX_CONTEXT_BYTES)
    except GitHubError as exc:  # AnswerTooLarge included
        logger.warning("could not read the files of earlier findings: %s", exc)
        notes.append("GitHub could not send the files of earlier findings: none re-checked.")
        return {}
    return {p: found[s].text if s in found else None for p, s in zip(paths, specs, strict=True)}


def _history(run: Run, number: int, notes: list[str]) -> History | None:
    """The bot's threads and walkthrough on a PR it reviewed before (None: GitHub failed)."""
    us = run.us
    try:
        return us.history(run.github.history(number, us.walkthrough))
    except GitHubError as exc:  # a help for the model, never a reason to fail the review
        logger.warning("could not list the review threads: %s", exc)
        notes.append("GitHub could not list the review threads: earlier findings not re-checked.")
        return None


def _publish(
    run: Run,
    pr: PullInfo,
    result: ReviewResult,
    notes: list[str],
    mark: str,
    seen: frozenset[str],
) -> str:
    """The review, through the run's publisher; anchors GitHub refuses go to the body."""
    redact, model = run.redact, run.config.model

    def body_of(r: ReviewResult) -> str:
        return redact(render.review_body(r, model, notes, mark))

    def landed_as(body: str) -> Callable[[], str | None]:
        def landed() -> str | None:
            """After a failed POST: is THIS review there? Only one of ours that was not
            there before (a `/review full` of a reviewed head has an older one) and that
            ends with the marker that was sent (this head, these findings)."""
            for r in run.github.reviews(pr.number):
                if r.url in seen or _last_line(r.body) != _last_line(body):
                    continue
                if run.us.wrote(r.author, r.body):
                    return r.url or "posted"
            return None

        return landed

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
        body = body_of(result)
        return publish(pr.number, pr.head_sha, body, comments, landed_as(body))
    except ReviewRejected as exc:
        logger.warning("%s; posting the comments in the review body instead", exc)
        moved = tuple(
            in_body(c.finding, f"GitHub did not accept it inline: {exc}") for c in result.comments
        )
        fallback = replace(result, placed=moved + result.notes)
        body = body_of(fallback)
        return publish(pr.number, pr.head_sha, body, [], landed_as(body))


def _last_line(text: str) -> str:
    return text.rstrip().rsplit("\n", 1)[-1].strip()

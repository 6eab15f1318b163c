"""The pull request review flow: diff → (incremental) pipeline → dedupe → one posted review.

It depends on GitHub only through the `GitHub` protocol (reviewbot.pulls) and on the model
only through `Model`, so it runs the same against the real adapters and against fakes.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from reviewbot import ledger, render, walkthrough
from reviewbot.anchor import in_body
from reviewbot.diff import parse_diff
from reviewbot.errors import GitHubError, LLMError
from reviewbot.followthrough import changes_of, earlier, our_threads, settle, touched
from reviewbot.gate import Go
from reviewbot.guidance import GENERAL_FILES, INSTRUCTIONS_DIR, instruction_file_names
from reviewbot.kinds import Status
from reviewbot.markers import comment_marker, fingerprint, review_marker
from reviewbot.model import Model
from reviewbot.prompts import PullRequestText
from reviewbot.pulls import (
    AnswerTooLarge,
    GitHub,
    History,
    InlineComment,
    PullInfo,
    ReviewRejected,
)
from reviewbot.redact import workflow_command
from reviewbot.review import (
    IncrementalReview,
    Prepared,
    ReviewResult,
    prepare,
    run_review,
)

logger = logging.getLogger(__name__)


MAX_CONTEXT_BYTES = 512_000  # larger files are not used: their hunks keep plain context
TEXTS_AT_ONCE = 10  # up to this many files, texts come in the first request (no sizes first)
# ...and of that first answer at most this much is read: past it (a large file among them),
# reading stops and sizes come first, so no large file is downloaded whole.
AT_ONCE_BYTES = 1_000_000


class GitHubFiles:
    """File texts for the scope context (the head; the base for hunks that only delete) and
    the base branch's guidance files, through GraphQL. A small PR's texts come in one request;
    a larger one's sizes come first, so no file over MAX_CONTEXT_BYTES is downloaded (nor, for
    a small PR, more than AT_ONCE_BYTES of its first answer). Instruction
    files (`.github/instructions/*.instructions.md`) take one more request when there are any."""

    def __init__(self, gh: GitHub, head_sha: str, base_sha: str) -> None:
        self._gh = gh
        self._revs = {"RIGHT": head_sha, "LEFT": base_sha}
        self._base = base_sha
        self._texts: dict[str, str | None] = {}
        self.notes: list[str] = []

    def _spec(self, path: str, side: str) -> str:
        return f"{self._revs[side]}:{path}"

    def prefetch(self, wanted: Sequence[tuple[str, str]]) -> None:
        guides = [f"{self._base}:{name}" for name in GENERAL_FILES]
        folder = f"{self._base}:{INSTRUCTIONS_DIR}"
        files = list(dict.fromkeys(self._spec(p, s) for p, s in wanted))
        specs = list(dict.fromkeys([*files, *guides, folder]))
        at_once = len(files) <= TEXTS_AT_ONCE
        try:
            try:
                found = (
                    self._gh.objects(specs, with_text=True, cap=AT_ONCE_BYTES)
                    if at_once
                    else self._gh.objects(specs, with_text=False)
                )
            except AnswerTooLarge:  # a large file among them: its size first after all
                logger.info("file texts over %d bytes: asking sizes first", AT_ONCE_BYTES)
                at_once = False
                found = self._gh.objects(specs, with_text=False)
            entries = found[folder].entries if folder in found else ()
            extra = [f"{self._base}:{n}" for n in instruction_file_names(entries)]
            usable = [
                s
                for s in specs
                if s != folder and s in found and not found[s].binary
                if found[s].size <= MAX_CONTEXT_BYTES
            ]
            big = [s for s in specs if s in found and found[s].size > MAX_CONTEXT_BYTES]
            ask = extra if at_once else [*usable, *extra]
            texts = dict(found) if at_once else {}
            texts |= self._gh.objects(ask, with_text=True) if ask else {}
        except GitHubError as exc:  # context is a help, never a reason to fail the review
            logger.warning("could not read file contents for context: %s", exc)
            self.notes.append("GitHub could not send file contents: scope context is off.")
            return
        self._texts = {s: texts[s].text if s in texts else None for s in [*usable, *extra]}
        if big:
            self.notes.append(
                f"{len(big)} file(s) over {MAX_CONTEXT_BYTES // 1000} KB keep their plain hunk "
                "context."
            )

    def text(self, path: str, side: str) -> str | None:
        return self._texts.get(self._spec(path, side))

    def guidance_texts(self) -> dict[str, str | None]:
        prefix = f"{self._base}:"
        return {s.removeprefix(prefix): t for s, t in self._texts.items() if s.startswith(prefix)}


def print_dry_run(what: str, *texts: str) -> None:
    """Print what would be posted, in a log group where model and PR text cannot be read as
    workflow commands (`::add-mask::`, `::error::`, ...)."""
    token = secrets.token_hex(16)
    print(workflow_command("group", f"reviewbot dry run: {what}"))
    print(f"::stop-commands::{token}")
    for text in texts:
        print(text)
    print(f"::{token}::")
    print("::endgroup::", flush=True)


@dataclass(slots=True)
class Outcome:
    """What the run did, for the outputs, the step summary and the exit code."""

    status: str
    message: str
    review_url: str = ""
    findings: int = 0
    inline_comments: int = 0
    summary_lines: list[str] = field(default_factory=list)
    severities: tuple[str, ...] = ()  # of the findings posted on the PR's files (fail_on)


def review_pull_request(
    gh: GitHub,
    pr: PullInfo,
    go: Go,
    model: Model,
    dry_run: bool = False,
    redact: Callable[[str], str] = str,
) -> Outcome:
    """Review `pr` as `go` says and post (or, in a dry run, print) one review."""
    config = go.config
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
    history = _history(gh, pr.number, notes) if go.reviewed_before else History()
    threads = our_threads(history) if history is not None else {}
    before = [earlier(fp, t, pr, touched(t, go.since, changes)) for fp, t in threads.items()]
    text = PullRequestText(pr.title, pr.body)
    repo = GitHubFiles(gh, pr.head_sha, pr.base_sha)
    prepared = prepare(
        source.text,
        config,
        text,
        incremental=scope,
        missing=source.missing,
        repo=repo,
        earlier=before,
    )
    notes += repo.notes
    if prepared.guidance.names:
        notes.append(f"Review guidance from the base branch: {', '.join(prepared.guidance.names)}.")
    if dry_run:  # what the run may cost, before it asks (reviewbot.ledger)
        notes.append(ledger.estimate(prepared, config).line())
        print(notes[-1], flush=True)
    result = run_review(prepared, config, model)
    if result.status == Status.FAILED:
        raise LLMError(f"nothing was reviewed: {result.failure or 'no request succeeded'}")

    fresh = tuple(p for p in result.placed if fingerprint(p.finding) not in go.posted)
    if len(fresh) < len(result.placed):
        repeated = len(result.placed) - len(fresh)
        notes.append(f"{repeated} finding(s) already posted on an earlier commit are not repeated.")
    result = replace(result, placed=fresh)
    if result.status == Status.SKIPPED and not fresh and not result.skipped:
        summary = render.step_summary(result, pr.number, pr.head_sha, notes, "")
        return Outcome(Status.SKIPPED, "no reviewable changes", summary_lines=summary)
    # Also when every changed file was skipped: a short review says so to the PR's readers.

    # Before the review, so that its body claims "resolved" only where GitHub confirmed it.
    settled = settle(gh, pr, threads, result.resolved, dry_run, print_dry_run)
    notes += settled.notes(dry_run)
    # This head's findings first, then earlier ones, so a cap drops the oldest.
    fps = [fingerprint(f) for f in result.findings] + sorted(go.posted)
    mark = review_marker(pr.head_sha, fps)
    url = _publish(gh, pr, result, config.model, notes, mark, dry_run, redact)
    if config.walkthrough:  # its line goes to the step summary (the review is posted already)
        kept = Walkthrough(gh, pr, dry_run, redact)
        notes.append(kept.keep(history, prepared, result, scope is not None, len(settled.resolved)))
    # Only findings on the PR's own files count for fail_on (a model may name any path).
    pr_paths = {f.path for f in parse_diff(fetched.text)} | {m.path for m in fetched.missing}
    verb = "would post" if dry_run else "posted"
    return Outcome(
        status=result.status,
        message=f"{verb} a review of #{pr.number} with {len(result.comments)} inline comment(s)",
        review_url=url,
        findings=len(result.placed),
        inline_comments=len(result.comments),
        summary_lines=render.step_summary(result, pr.number, pr.head_sha, notes, url),
        severities=tuple(f.severity for f in result.findings if f.path in pr_paths),
    )


def _history(gh: GitHub, number: int, notes: list[str]) -> History | None:
    """The bot's threads and walkthrough on a PR it reviewed before (None: GitHub failed)."""
    try:
        return gh.history(number)
    except GitHubError as exc:  # a help for the model, never a reason to fail the review
        logger.warning("could not list the review threads: %s", exc)
        notes.append("GitHub could not list the review threads: earlier findings not re-checked.")
        return None


class Walkthrough:
    """The PR's one walkthrough comment: created by the first review, edited by every later one,
    never a second (not after a re-run, nor after a POST that landed despite an error)."""

    def __init__(
        self, gh: GitHub, pr: PullInfo, dry_run: bool, redact: Callable[[str], str]
    ) -> None:
        self._gh, self._pr, self._dry_run, self._redact = gh, pr, dry_run, redact

    def keep(
        self,
        history: History | None,
        prepared: Prepared,
        result: ReviewResult,
        incremental: bool,
        resolved: int,
    ) -> str:
        """Create or edit it; the line for the step summary says which (or why not)."""
        if history is None:  # it may exist: creating one could make a second
            return "Walkthrough not updated: GitHub could not list the pull request's comments."
        existing = history.walkthrough
        before = walkthrough.read_state(existing.body) if existing else walkthrough.State()
        u = result.usage
        this = walkthrough.Round(
            self._pr.head_sha[:7],
            "incremental" if incremental else "full",
            str(result.status),
            len(result.placed),
            resolved,  # only threads GitHub confirmed resolved
            u.input_tokens + u.output_tokens,
        )
        pr_paths = [m.path for m in prepared.manifest]
        state = walkthrough.update(
            before, result.summary, incremental, result.file_summaries, pr_paths, this
        )
        push = result.summary if incremental else ""
        body = walkthrough.render(
            state, prepared.manifest, result.skipped, push, redact=self._redact
        )
        if self._dry_run:
            verb = "edited" if existing else "posted"
            print_dry_run(f"the walkthrough comment that would be {verb}", body)
            return f"Walkthrough: would be {verb}."
        try:
            if existing is not None:
                url = self._gh.edit_comment(existing.id, body)
                return f"Walkthrough updated: {url}" + self._remove(history.extra_walkthroughs)
            return f"Walkthrough posted: {self._gh.post_comment(self._pr.number, body).url}"
        except GitHubError as exc:  # the adapter checked whether a failed POST landed
            logger.warning("could not post the walkthrough: %s", exc)
            return f"Walkthrough not posted: {exc}"

    def _remove(self, duplicates: Sequence[int]) -> str:
        """Two runs at once (a push and a `/review`) can each post the PR's first walkthrough;
        the next review keeps the oldest and removes the others (all the bot's own)."""
        removed = 0
        for comment_id in duplicates:
            try:
                self._gh.delete_comment(comment_id)
                removed += 1
            except GitHubError as exc:
                logger.warning("could not remove a duplicate walkthrough: %s", exc)
        return f" (removed {removed} duplicate(s))" if removed else ""


def _publish(
    gh: GitHub,
    pr: PullInfo,
    result: ReviewResult,
    model: str,
    notes: list[str],
    mark: str,
    dry_run: bool,
    redact: Callable[[str], str],
) -> str:
    def body_of(r: ReviewResult) -> str:
        return redact(render.review_body(r, model, notes, mark))

    comments = [
        InlineComment(
            c.path,
            c.line,
            c.side,
            redact(render.comment_body(c)) + "\n" + comment_marker(c.finding),
            c.start_line,
        )
        for c in result.comments
    ]
    if dry_run:
        texts = [f"\n--- {c.path}:{c.line} ({c.side})\n{c.body}" for c in comments]
        print_dry_run("the review that would be posted", body_of(result), *texts)
        return ""
    try:
        return gh.post_review(pr.number, pr.head_sha, body_of(result), comments)
    except ReviewRejected as exc:
        logger.warning("%s; posting the comments in the review body instead", exc)
        moved = tuple(
            in_body(c.finding, f"GitHub did not accept it inline: {exc}") for c in result.comments
        )
        fallback = replace(result, placed=moved + result.notes)
        return gh.post_review(pr.number, pr.head_sha, body_of(fallback), [])

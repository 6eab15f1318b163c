"""The review pipeline: diff → filter → plan → prompts → model → findings → anchored comments."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from reviewbot.anchor import Placed, anchor_findings
from reviewbot.chunking import Chunk, Plan, plan_chunks, split_chunk
from reviewbot.config import Config
from reviewbot.context import ContextStats, FileTexts, wanted_files, widen
from reviewbot.cost import COST_LIMIT
from reviewbot.diff import FileDiff, Skipped, parse_diff, restrict_to
from reviewbot.filters import filter_files
from reviewbot.findings import (
    SEVERITY_RANK,
    Finding,
    MalformedOutput,
    dedupe,
    output_problem,
    parse_output,
    response_schema,
)
from reviewbot.guidance import Guidance, read_guidance
from reviewbot.kinds import Status
from reviewbot.manifest import (
    ManifestEntry,
    manifest_lines,
    manifest_of,
    unchanged_files,
)
from reviewbot.model import Model, ModelReply, ModelRequest, OutputSchema, Usage
from reviewbot.prompts import PromptRenderer, PullRequestText
from reviewbot.verify import Checked, check

REVIEW_OUTPUT = OutputSchema("code_review", response_schema(), output_problem)
REVIEWED, PARTIAL, SKIPPED, FAILED = Status.REVIEWED, Status.PARTIAL, Status.SKIPPED, Status.FAILED
__all__ = ["FAILED", "PARTIAL", "REVIEWED", "SKIPPED", "Model", "Prepared", "ReviewResult"]
# Scope context is a help: it may spend this share of the run's time, the rest is the model's.
CONTEXT_SHARE = 0.25


@dataclass(frozen=True, slots=True)
class IncrementalReview:
    """An incremental review: the model sees only `changes` (restricted to what the pull request
    itself changes), comments anchor on the whole PR diff, and on new-side lines only."""

    pr_files: tuple[FileDiff, ...]
    since: str  # the last reviewed head


@dataclass(frozen=True, slots=True)
class Prepared:
    """Everything decided before the model is called (and how to render a smaller part)."""

    files: tuple[FileDiff, ...]
    skipped: tuple[Skipped, ...]
    plan: Plan
    requests: tuple[ModelRequest, ...]
    renderer: PromptRenderer
    pr: PullRequestText | None = None
    incremental: IncrementalReview | None = None
    manifest: tuple[ManifestEntry, ...] = ()
    context: ContextStats | None = None  # None: scope context is off
    context_note: str = ""
    instructions: str = ""
    guidance: Guidance = field(default_factory=Guidance)
    earlier: tuple[Earlier, ...] = ()
    deadline: float = math.inf  # time.monotonic() by which the whole run ends (prepare sets it)
    notes: tuple[str, ...] = ()  # run facts for the review's notes (context left out, why)

    @property
    def recheck(self) -> tuple[Earlier, ...]:
        """Earlier open findings on files this review sends: the model says which are fixed."""
        sent = {f.path for f in self.files}
        return tuple(e for e in self.earlier if e.status == "open" and e.path in sent)

    def request_for(self, chunk: Chunk, part: int, parts: int) -> ModelRequest:
        """The request for a chunk (planned, or split after the plan; same instructions)."""
        paths = [f.path for f in chunk.files]
        lines = manifest_lines(self.manifest, set(paths))
        guide = self.guidance.for_paths(paths)
        history = [
            f"- {e.path}{f':{e.line}' if e.line else ''}: {e.title} ({e.status})"
            for e in self.earlier[:EARLIER_LIMIT]
        ]
        recheck = [
            f"- id: {e.id} — {e.path}{f':{e.line}' if e.line else ''}: {e.title}"
            for e in self.recheck
            if e.path in paths
        ]
        text = self.renderer.input(
            chunk.files, self.pr, part, parts, lines, guide, history, recheck
        )
        return ModelRequest.ask(self.instructions, text, REVIEW_OUTPUT)


@dataclass(frozen=True, slots=True)
class Earlier:
    """A finding the bot raised on an earlier commit: `status` open, fixed, dismissed or
    reopened. Open ones on changed files are offered for re-checking by `id`."""

    id: str  # its fingerprint
    path: str
    line: int | None
    title: str
    status: str


EARLIER_LIMIT = 100  # earlier findings listed per request


@dataclass(frozen=True, slots=True)
class ReviewResult:
    status: Status
    summary: str
    placed: tuple[Placed, ...]  # every finding shown, with where it went
    skipped: tuple[Skipped, ...]
    problems: tuple[str, ...]
    usage: Usage
    files_reviewed: int
    below_threshold: int = 0
    failure: str = ""  # with status FAILED: the one line that says why
    resolved: tuple[str, ...] = ()  # ids of earlier findings the model found fixed
    file_summaries: tuple[tuple[str, str], ...] = ()  # (path, line) for the files reviewed
    checked: Checked = field(default_factory=Checked)  # verification, confidence, cost cap

    @property
    def reviewed_nothing(self) -> bool:
        return self.status in (SKIPPED, FAILED)

    @property
    def comments(self) -> tuple[Placed, ...]:
        """The findings placed inline."""
        return tuple(p for p in self.placed if p.inline)

    @property
    def notes(self) -> tuple[Placed, ...]:
        """The findings in the review body."""
        return tuple(p for p in self.placed if not p.inline)

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(p.finding for p in self.placed)


@dataclass(frozen=True, slots=True)
class Selected:
    """A diff parsed and filtered: the files a review keeps and skips, and the (path, side)
    texts scope context would widen them with (for the caller to read before `prepare`)."""

    files: tuple[FileDiff, ...]  # the diff's files (an incremental review: the PR's own)
    keep: tuple[FileDiff, ...]
    skipped: tuple[Skipped, ...]
    wanted: tuple[tuple[str, str], ...]


def select(
    diff: bytes | str, config: Config, incremental: IncrementalReview | None = None
) -> Selected:
    """Parse and filter the diff (pure)."""
    files = parse_diff(diff)
    if incremental is not None:
        files = restrict_to(files, incremental.pr_files)
    keep, skipped = filter_files(files, config.include, config.exclude)
    wanted = wanted_files(keep) if config.scope_context else []
    return Selected(tuple(files), tuple(keep), tuple(skipped), tuple(wanted))


def prepare(
    diff: bytes | str | Selected,
    config: Config,
    pr: PullRequestText | None = None,
    renderer: PromptRenderer | None = None,
    incremental: IncrementalReview | None = None,
    missing: Sequence[Skipped] = (),
    texts: FileTexts | None = None,
    earlier: Sequence[Earlier] = (),
    deadline: float | None = None,
) -> Prepared:
    """Parse, filter, widen and plan the diff, and render one request per chunk. Pure: file
    texts and guidance come in as `texts` (read by the caller, e.g. reviewbot.gather), and what
    could not be read comes with them as notes.

    With `incremental`, only changes the PR itself makes are kept; `missing` are changed files
    GitHub sent no patch for (the review is then partial). `deadline` (time.monotonic()) ends the
    whole run, `timeout_minutes` from now by default: the scope context may use a share of it,
    and the model calls the rest.
    """
    start = time.monotonic()
    run_time = config.timeout_minutes * 60
    deadline = start + run_time if deadline is None else deadline
    selected = diff if isinstance(diff, Selected) else select(diff, config, incremental)
    files, keep, skipped = list(selected.files), list(selected.keep), list(selected.skipped)
    stats: ContextStats | None = None
    note = ""
    if config.scope_context and texts is not None:
        until = min(deadline, start + run_time * CONTEXT_SHARE)
        keep, stats = widen(keep, texts, config.context_lines, until)
    elif config.scope_context:
        note = "scope context is off: no file contents (a diff without its repository)"
    guidance = read_guidance(texts.guidance if texts else {}, config.path_instructions)
    plan = plan_chunks(keep, config.max_request_tokens, config.max_total_tokens)
    plan = replace(plan, not_reviewed=plan.not_reviewed + tuple(missing))
    renderer = renderer or PromptRenderer(config.prompts_dir)
    instructions = renderer.instructions(
        "\n\n".join(t for t in (config.instructions.strip(), guidance.general_text()) if t)
    )
    whole_pr = incremental.pr_files if incremental is not None else files
    unchanged = [] if incremental is None else unchanged_files(incremental.pr_files, files)
    manifest = manifest_of(whole_pr, plan, [*skipped, *plan.not_reviewed, *unchanged])
    # what could not be read, and files a cap left with plain context: for the review's notes
    notes = (texts.problems if texts else ()) + tuple(
        n for n in (stats.note() if stats else "",) if n
    )
    prepared = Prepared(
        tuple(keep),
        tuple(skipped),
        plan,
        (),
        renderer,
        pr,
        incremental,
        manifest,
        stats,
        note,
        instructions,
        guidance,
        tuple(earlier),
        deadline,
        notes,
    )
    n = len(plan.chunks)
    requests = tuple(prepared.request_for(chunk, i + 1, n) for i, chunk in enumerate(plan.chunks))
    return replace(prepared, requests=requests)


def run_review(
    prepared: Prepared,
    config: Config,
    model: Model,
    on_done: Callable[[int, int], None] | None = None,
    verifier: Model | None = None,
) -> ReviewResult:
    """Call the model for every planned request and turn the replies into placed findings;
    `verifier` checks them (default: `model`; agent mode's verification has no tools)."""
    plan = prepared.plan
    not_reviewed = list(prepared.skipped) + list(plan.not_reviewed)
    if not plan.chunks:
        why = "no reviewable changes" if not prepared.files else "nothing fit the token budget"
        return ReviewResult(
            status=SKIPPED,
            summary=f"Nothing to review: {why}.",
            placed=(),
            skipped=tuple(not_reviewed),
            problems=(),
            usage=Usage(),
            files_reviewed=0,
        )

    minutes = f"{config.timeout_minutes:g} minute{'s' if config.timeout_minutes != 1 else ''}"
    deadline = prepared.deadline
    answered, usage = _ask(prepared, model, on_done, deadline)
    summaries: list[str] = []
    raw: list[Finding] = []
    problems: list[str] = []
    failed_chunks = timed_out = 0
    first_failure = ""
    resolved: list[str] = []
    reviewed_paths: set[str] = set()
    file_lines: dict[str, str] = {}
    for label, chunk, reply in answered:
        problem = reply.problem or "the model gave no answer text"
        if reply.timed_out:
            problem = f"the model did not answer within {minutes}"
            timed_out += 1
        elif reply.text is not None:
            try:
                parsed = parse_output(reply.text)
            except MalformedOutput as exc:
                problem = f"malformed model output ({exc})"
            else:
                if parsed.summary:
                    summaries.append(parsed.summary)
                raw.extend(parsed.findings)
                resolved.extend(parsed.resolved)
                sent = {f.path for f in chunk.files}
                file_lines |= {p: line for p, line in parsed.file_summaries if p in sent}
                problems.extend(f"{label}: {p}" for p in parsed.problems)
                reviewed_paths.update(f.path for f in chunk.files)
                continue
        failed_chunks += 1
        first_failure = first_failure or str(problem)
        problems.append(f"{label}: {problem}")
        reason = (
            problem
            if reply.timed_out or problem == COST_LIMIT
            else f"model request failed: {problem}"
        )
        not_reviewed.extend(Skipped(f.path, str(reason)) for f in chunk.files)

    threshold = SEVERITY_RANK[config.severity_threshold]
    unique = dedupe(raw)
    shown = [f for f in unique if SEVERITY_RANK[f.severity] <= threshold]
    capped = any(r.problem == COST_LIMIT for _, _, r in answered)
    files = {f.path: f for f in prepared.files}
    shown, checked = check(
        shown, files, prepared.renderer, config, verifier or model, deadline, (usage, capped)
    )
    usage = sum((u for _, u in checked.phases), Usage())
    incremental = prepared.incremental
    anchor_files = prepared.files if incremental is None else incremental.pr_files
    files_by_path = {f.path: f for f in anchor_files if f.path in reviewed_paths}
    reasons = {s.path: s.reason for s in not_reviewed}
    placed = anchor_findings(
        shown, files_by_path, reasons, config.max_comments, right_only=incremental is not None
    )

    failure = ""
    if failed_chunks == len(answered):
        status = FAILED
        timeout = f"the model timed out after {minutes}"
        failure = timeout if timed_out == failed_chunks else first_failure
    elif failed_chunks or plan.not_reviewed or checked.capped:  # something is missing
        status = PARTIAL
    else:
        status = REVIEWED
    return ReviewResult(
        status=status,
        summary=one_summary(summaries),
        placed=placed,
        skipped=tuple(not_reviewed),
        problems=tuple(problems),
        usage=usage,
        files_reviewed=len(reviewed_paths),
        below_threshold=len(unique) - len(shown),
        failure=failure,
        resolved=tuple(dict.fromkeys(r for r in resolved if r in {e.id for e in prepared.recheck})),
        file_summaries=tuple(file_lines.items()),
        checked=checked,
    )


def _ask(
    prepared: Prepared,
    model: Model,
    on_done: Callable[[int, int], None] | None,
    deadline: float,
) -> tuple[list[tuple[str, Chunk, ModelReply]], Usage]:
    """Every planned request's final reply, and the tokens spent in all. A request too large
    for the model is split in two and asked again (down to a single hunk), each part labelled."""
    n = len(prepared.plan.chunks)
    pending = [
        (f"request {i + 1} of {n}", i + 1, chunk, req)
        for i, (chunk, req) in enumerate(zip(prepared.plan.chunks, prepared.requests, strict=True))
    ]
    out: list[tuple[str, Chunk, ModelReply]] = []
    usage = Usage()
    while pending:
        replies = model.run([p[3] for p in pending], on_done, deadline)
        again = []
        for (label, part, chunk, _), reply in zip(pending, replies, strict=True):
            usage = usage + reply.usage
            halves = split_chunk(chunk) if reply.split else None
            if halves is None:
                out.append((label, chunk, reply))
                continue
            for k, half in enumerate(halves, 1):
                # "request 1 of 1, split part 2.1": the half taken at each split, in order
                sub = f"{label}.{k}" if ", split part " in label else f"{label}, split part {k}"
                again.append((sub, part, half, prepared.request_for(half, part, n)))
        pending = again
    return out, usage


def one_summary(summaries: Sequence[str]) -> str:
    """The parts' summaries as one: repeats dropped ("Looks fine." once, not fifteen times)."""
    seen: dict[str, str] = {}
    for text in summaries:
        seen.setdefault(" ".join(text.casefold().split()), text.strip())
    distinct = [t for t in seen.values() if t]
    if len(distinct) <= 1:
        return distinct[0] if distinct else ""
    return "\n".join(f"- {t}" for t in distinct)

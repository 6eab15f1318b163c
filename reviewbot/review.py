"""The review pipeline: diff → filter → plan → prompts → model → findings → anchored comments."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from reviewbot.anchor import BodyNote, Comment, anchor_findings
from reviewbot.chunking import Plan, plan_chunks
from reviewbot.config import Config
from reviewbot.diff import FileDiff, Skipped, filter_files, parse_diff, restrict_to
from reviewbot.findings import SEVERITY_RANK, Finding, MalformedOutput, dedupe, parse_output
from reviewbot.llm import ModelReply, ModelRequest, Usage
from reviewbot.prompts import PromptRenderer, PullRequestText

REVIEWED, PARTIAL, SKIPPED, FAILED = "reviewed", "partial", "skipped", "failed"


class Model(Protocol):
    """What the pipeline needs from a model client (ResponsesClient, or a fake in tests)."""

    def run(
        self,
        requests: Sequence[ModelRequest],
        on_done: Callable[[int, int], None] | None = None,
    ) -> list[ModelReply]: ...


@dataclass(frozen=True, slots=True)
class Prepared:
    """Everything decided before the model is called."""

    files: tuple[FileDiff, ...]
    skipped: tuple[Skipped, ...]
    plan: Plan
    requests: tuple[ModelRequest, ...]


@dataclass(frozen=True, slots=True)
class ReviewResult:
    status: str
    summary: str
    comments: tuple[Comment, ...]
    notes: tuple[BodyNote, ...]
    findings: tuple[Finding, ...]
    skipped: tuple[Skipped, ...]
    problems: tuple[str, ...]
    usage: Usage
    files_reviewed: int
    below_threshold: int = 0

    @property
    def reviewed_nothing(self) -> bool:
        return self.status in (SKIPPED, FAILED)


def prepare(
    diff: bytes | str,
    config: Config,
    pr: PullRequestText | None = None,
    renderer: PromptRenderer | None = None,
    within: Sequence[FileDiff] | None = None,
) -> Prepared:
    """Parse, filter and plan the diff, and render one request per chunk (no I/O).

    With `within` (the whole PR's diff), only changes that are part of it are kept.
    """
    files = parse_diff(diff)
    if within is not None:
        files = restrict_to(files, within)
    keep, skipped = filter_files(files, config.include, config.exclude)
    plan = plan_chunks(keep, config.max_request_tokens, config.max_total_tokens)
    renderer = renderer or PromptRenderer(config.prompts_dir)
    instructions = renderer.instructions(config.instructions)
    n = len(plan.chunks)
    requests = tuple(
        ModelRequest(instructions, renderer.input(chunk.files, pr, i + 1, n))
        for i, chunk in enumerate(plan.chunks)
    )
    return Prepared(tuple(keep), tuple(skipped), plan, requests)


def run_review(
    prepared: Prepared,
    config: Config,
    model: Model,
    on_done: Callable[[int, int], None] | None = None,
    anchor_on: Sequence[FileDiff] | None = None,
) -> ReviewResult:
    """Call the model for every planned request and turn the replies into anchored comments.

    `anchor_on` is the diff GitHub will anchor comments on when the model saw only part of
    it (an incremental review); then comments go on new-side lines only.
    """
    plan = prepared.plan
    not_reviewed = list(prepared.skipped) + list(plan.not_reviewed)
    if not plan.chunks:
        why = "no reviewable changes" if not prepared.files else "nothing fit the token budget"
        return ReviewResult(
            status=SKIPPED,
            summary=f"Nothing to review: {why}.",
            comments=(),
            notes=(),
            findings=(),
            skipped=tuple(not_reviewed),
            problems=(),
            usage=Usage(),
            files_reviewed=0,
        )

    replies = model.run(prepared.requests, on_done)
    usage = Usage()
    summaries: list[str] = []
    raw: list[Finding] = []
    problems: list[str] = []
    failed_chunks = 0
    reviewed_paths: set[str] = set()
    for i, (chunk, reply) in enumerate(zip(plan.chunks, replies, strict=True)):
        usage = usage + reply.usage
        label = f"request {i + 1} of {len(plan.chunks)}"
        problem = reply.problem
        if reply.text is not None:
            try:
                parsed = parse_output(reply.text)
            except MalformedOutput as exc:
                problem = f"malformed model output ({exc})"
            else:
                if parsed.summary:
                    summaries.append(parsed.summary)
                raw.extend(parsed.findings)
                problems.extend(f"{label}: {p}" for p in parsed.problems)
                reviewed_paths.update(f.path for f in chunk.files)
                continue
        failed_chunks += 1
        problems.append(f"{label}: {problem}")
        not_reviewed.extend(
            Skipped(f.path, f"model request failed: {problem}") for f in chunk.files
        )

    threshold = SEVERITY_RANK[config.severity_threshold]
    unique = dedupe(raw)
    shown = [f for f in unique if SEVERITY_RANK[f.severity] <= threshold]
    anchor_files = prepared.files if anchor_on is None else anchor_on
    files_by_path = {f.path: f for f in anchor_files if f.path in reviewed_paths}
    reasons = {s.path: s.reason for s in not_reviewed}
    anchored = anchor_findings(
        shown, files_by_path, reasons, config.max_comments, right_only=anchor_on is not None
    )

    if failed_chunks == len(plan.chunks):
        status = FAILED
    elif failed_chunks or plan.not_reviewed:  # something the filters let through is missing
        status = PARTIAL
    else:
        status = REVIEWED
    return ReviewResult(
        status=status,
        summary="\n\n".join(summaries),
        comments=anchored.comments,
        notes=anchored.notes,
        findings=tuple(shown),
        skipped=tuple(not_reviewed),
        problems=tuple(problems),
        usage=usage,
        files_reviewed=len(reviewed_paths),
        below_threshold=len(unique) - len(shown),
    )

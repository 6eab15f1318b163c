"""Running the review over every case (concurrently, bounded) and scoring each run of it."""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reviewbot.config import Config
from reviewbot.errors import DiffError, ReviewbotError
from reviewbot.evaluation import judge as judging
from reviewbot.evaluation.cases import Case
from reviewbot.evaluation.gitrepo import commit_diff
from reviewbot.evaluation.score import Found, Tally, judge_candidates, match, tally
from reviewbot.localdiff import GitContents
from reviewbot.model import Model, ModelReply, ModelRequest, Usage

if TYPE_CHECKING:
    from reviewbot.review import Prepared, ReviewResult


@dataclass(frozen=True, slots=True)
class CaseRun:
    """One case reviewed once, and scored."""

    case_id: str
    run: int  # 1-based
    status: str  # the review's status, or "error" when the case could not be reviewed
    found: tuple[Found, ...]
    pairs: tuple[tuple[int, int], ...]  # matched (finding index, golden index)
    tallies: dict[str, Tally]
    usage: Usage
    seconds: float
    problems: tuple[str, ...] = ()
    judge_usage: Usage = field(default_factory=Usage)
    judge_problem: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """Every case run that finished; `interrupted` when Ctrl-C stopped the rest."""

    runs: tuple[CaseRun, ...]
    planned: int
    seconds: float
    interrupted: bool = False


class OneAtATime:
    """A model that sends a case's requests one after another, so that `jobs` cases in
    flight keep at most `jobs` requests in flight (the usual concurrency limit holds)."""

    def __init__(self, inner: Model) -> None:
        self._inner = inner

    def run(
        self,
        requests: Sequence[ModelRequest],
        on_done: Callable[[int, int], None] | None = None,
        deadline: float | None = None,
    ) -> list[ModelReply]:
        """One reply per request, in order."""
        return [self._inner.run([r], None, deadline)[0] for r in requests]


def case_diff(case: Case) -> bytes:
    """The case's diff: inline, or `git diff base head` in its repository."""
    if case.diff is not None:
        return case.diff.encode()
    assert case.repo is not None and case.base and case.head
    return commit_diff(case.repo, case.base, case.head)


def review_case(
    case: Case,
    number: int,
    config: Config,
    model: Model,
    tolerance: int,
    judge: Model | None = None,
) -> CaseRun:
    """Review one case the way `reviewbot review` does, and score it."""
    from reviewbot.gather import prepare_from
    from reviewbot.prompts import PullRequestText

    start = time.monotonic()
    files = None  # the repository's texts on each side, as `review --git base..head` reads
    if case.repo is not None and case.base and case.head:
        files = GitContents(case.base, case.head, os.environ, cwd=case.repo)
    try:
        prepared = prepare_from(
            files, case_diff(case), config, PullRequestText(case.title, case.description)
        )
    except (DiffError, ReviewbotError) as exc:
        empty = tally((), case.golden, ())
        return CaseRun(case.id, number, "error", (), (), empty, Usage(), 0.0, (str(exc),))
    finally:
        if files is not None:
            files.close()
    result, notes = _review(case, prepared, config, model)
    found = tuple(
        Found(
            p.path,
            p.line,
            p.start_line,
            p.side,
            p.finding.severity,
            p.finding.title,
            p.finding.body,
        )
        for p in result.placed
    )
    problems = [*notes, *result.problems]
    if result.failure:
        problems.insert(0, result.failure)
    verdicts = None
    if judge is not None:
        deadline = time.monotonic() + config.timeout_minutes * 60
        candidates = judge_candidates(found, case.golden)
        verdicts = judging.ask(judge, candidates, found, case.golden, deadline)
    judged = verdicts.same if verdicts is not None and verdicts.problem is None else None
    pairs = match(found, case.golden, tolerance, judged)
    return CaseRun(
        case.id,
        number,
        str(result.status),
        found,
        tuple(pairs),
        tally(found, case.golden, pairs),
        result.usage,
        time.monotonic() - start,
        tuple(problems),
        verdicts.usage if verdicts is not None else Usage(),
        verdicts.problem if verdicts is not None else None,
    )


def _review(
    case: Case, prepared: Prepared, config: Config, model: Model
) -> tuple[ReviewResult, list[str]]:
    """The case's review; in agent mode with the tools over its repository at `head` (a case
    with an inline diff has none: scope context, and the note says so, so a comparison of
    agent and scope never counts such a case as agent mode's)."""
    from reviewbot.review import run_review

    if config.context != "agent":
        return run_review(prepared, config, model), []
    from dataclasses import replace

    from reviewbot.agent.wiring import cache_key, gap_notes, repo_agent

    if case.repo is None or not case.base or not case.head:
        scope = replace(config, context="scope")
        return run_review(prepared, scope, model), ["agent mode needs the case's repository: scope"]
    key = cache_key("eval", case.id)
    agent, config, why = repo_agent(config, case.base, case.head, key, cwd=case.repo)
    if agent is None:
        return run_review(prepared, config, model), [f"{why}: scope"]
    try:
        result, reports = agent.review(prepared, config, model)
    finally:
        agent.snapshot.close()
    return result, gap_notes(reports)


def run_all(
    cases: Sequence[Case],
    runs: int,
    jobs: int,
    review: Callable[[Case, int], CaseRun],
    progress: Callable[[int, int], None] | None = None,
) -> Outcome:
    """Every case `runs` times, `jobs` at once. Ctrl-C returns what finished (interrupted);
    an error that concerns the whole run (a bad key, an unknown model) stops it and is raised."""
    tasks: queue.SimpleQueue[tuple[Case, int]] = queue.SimpleQueue()
    for n in range(1, runs + 1):
        for case in cases:
            tasks.put((case, n))
    total = len(cases) * runs
    done: queue.SimpleQueue[CaseRun | BaseException] = queue.SimpleQueue()
    stop = threading.Event()

    def work() -> None:
        while not stop.is_set():
            try:
                case, n = tasks.get_nowait()
            except queue.Empty:
                return
            try:
                done.put(review(case, n))
            except BaseException as exc:  # handed to the main thread, which decides
                done.put(exc)

    start = time.monotonic()
    # Daemon threads: Ctrl-C returns at once, with requests still in flight abandoned.
    for _ in range(max(1, min(jobs, total))):
        threading.Thread(target=work, daemon=True).start()
    finished: list[CaseRun] = []
    try:
        while len(finished) < total:
            try:
                item = done.get(timeout=0.1)  # a timeout keeps Ctrl-C deliverable
            except queue.Empty:
                continue
            if isinstance(item, BaseException):
                stop.set()
                raise item
            finished.append(item)
            if progress is not None:
                progress(len(finished), total)
    except KeyboardInterrupt:
        stop.set()
        return Outcome(_ordered(finished, cases), total, time.monotonic() - start, True)
    return Outcome(_ordered(finished, cases), total, time.monotonic() - start)


def _ordered(runs: Sequence[CaseRun], cases: Sequence[Case]) -> tuple[CaseRun, ...]:
    order = {c.id: i for i, c in enumerate(cases)}
    return tuple(sorted(runs, key=lambda r: (r.run, order[r.case_id])))

"""The pipeline in-process with a fake model (the Model protocol), and the review body."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence

from reviewbot.config import Config
from reviewbot.diff import parse_diff
from reviewbot.model import ModelReply, ModelRequest, Usage
from reviewbot.render import review_body, sanitize
from reviewbot.review import IncrementalReview, prepare, run_review
from tests.conftest import FakeResponses
from tests.test_chunking_prompts import gen_file


class FakeModel:
    def __init__(self, answers: Callable[[int, ModelRequest], ModelReply]) -> None:
        self.answers = answers
        self.requests: list[ModelRequest] = []

    def run(
        self,
        requests: Sequence[ModelRequest],
        on_done: Callable[[int, int], None] | None = None,
        deadline: float | None = None,
    ) -> list[ModelReply]:
        self.requests.extend(requests)
        return [self.answers(i, r) for i, r in enumerate(requests)]


def reply(findings: list[dict[str, object]], summary: str = "ok") -> ModelReply:
    return ModelReply(json.dumps({"summary": summary, "findings": findings}), Usage(10, 5, 0, 0, 1))


def f(path: str, line: int, severity: str = "major", title: str = "t") -> dict[str, object]:
    return {
        "path": path,
        "line": line,
        "start_line": None,
        "side": "RIGHT",
        "severity": severity,
        "title": title,
        "body": "b",
        "code": None,
        "suggestion": None,
    }


DIFF = "".join(gen_file(f"src/m{i}.py", 2) for i in range(4))


def small_budget() -> Config:
    one = prepare(gen_file("src/m0.py", 2), Config()).plan.tokens
    return Config(max_request_tokens=one * 2, verify=False)  # verification: test_verify.py


def test_one_failed_request_makes_a_partial_review_that_says_what_was_missed() -> None:
    config = small_budget()
    prepared = prepare(DIFF, config)
    assert len(prepared.requests) == 2

    def answers(i: int, req: ModelRequest) -> ModelReply:
        if i == 1:
            return ModelReply(
                None, Usage(requests=1), "the response is incomplete (max_output_tokens)"
            )
        return reply([f("src/m0.py", 2)])

    result = run_review(prepared, config, FakeModel(answers))
    assert result.status == "partial"
    failed = {s.path for s in result.skipped}
    assert len(failed) == 2 and failed.isdisjoint(p.path for p in prepared.plan.chunks[0].files)
    assert all(
        "model request failed: the response is incomplete" in s.reason for s in result.skipped
    )
    body = review_body(result, "m")
    assert "Partial review" in body and "<b>Not reviewed</b>" in body
    assert result.usage.requests == 2


def test_all_requests_failing_is_failed_status() -> None:
    prepared = prepare(DIFF, Config())
    model = FakeModel(lambda i, r: ModelReply("not json", Usage(requests=1)))
    result = run_review(prepared, Config(), model)
    assert result.status == "failed" and result.reviewed_nothing
    assert result.problems[0].startswith("request 1 of 1: malformed model output")


def test_duplicates_across_chunks_are_posted_once_and_threshold_counts_hidden() -> None:
    config = small_budget().with_overrides({"severity_threshold": "major"})
    prepared = prepare(DIFF, config)
    dup = f("src/m0.py", 2, title="Same")
    model = FakeModel(lambda i, r: reply([dup, f("src/m1.py", 3, "nit", "small")]))
    result = run_review(prepared, config, model)
    assert result.status == "reviewed"
    assert [(c.path, c.line) for c in result.comments] == [("src/m0.py", 2)]
    assert result.below_threshold == 1
    assert "1 finding(s) below the severity threshold are not shown." in review_body(result, "m")


def test_nothing_reviewable_skips_without_calling_the_model() -> None:
    lock = gen_file("package-lock.json", 1)
    model = FakeModel(lambda i, r: reply([]))
    result = run_review(prepare(lock, Config()), Config(), model)
    assert result.status == "skipped" and model.requests == []
    assert result.skipped[0].reason == "lock file (skipped by default)"


def test_findings_for_files_of_a_failed_chunk_go_to_the_body() -> None:
    config = small_budget()
    prepared = prepare(DIFF, config)
    second = prepared.plan.chunks[1].files[0].path

    def answers(i: int, req: ModelRequest) -> ModelReply:
        if i == 1:
            return ModelReply(None, Usage(requests=1), "the model refused: no")
        return reply([f(second, 2)])  # the model talks about a file it was not shown

    result = run_review(prepared, config, FakeModel(answers))
    assert result.comments == ()
    assert result.notes[0].reason.startswith("file not reviewed inline (model request failed")


def test_review_body_is_sanitised_and_within_limits() -> None:
    assert sanitize("hi @octocat and @org/team") == "hi @\u200boctocat and @\u200borg/team"
    assert sanitize("mail a@b.com and `@decorator`") == "mail a@b.com and `@decorator`"
    assert sanitize("<!-- reviewbot:fake -->") == "&lt;!-- reviewbot:fake -->"
    assert sanitize("<details><summary>x</summary>hidden</details>") == (
        "&lt;details>&lt;summary>x&lt;/summary>hidden&lt;/details>"
    )
    long = sanitize("x" * 100_000)
    assert len(long) < 65_536 and long.endswith("(truncated by reviewbot)")


def test_review_body_with_a_huge_marker_stays_within_githubs_limit() -> None:
    from reviewbot.markers import review_marker as marker

    prepared = prepare(DIFF, Config())
    many = [{**f("src/m0.py", 2, title=f"finding {i}"), "body": "y" * 3000} for i in range(400)]
    result = run_review(
        prepared, Config(max_comments=0, verify=False), FakeModel(lambda i, r: reply(many))
    )
    mark = marker("a" * 40, [f"{i:012x}" for i in range(5000)])
    body = review_body(result, "m", ["Incremental review."], mark)
    assert len(body) <= 65_536
    assert body.endswith(mark) and mark.count(",") == 1999
    assert "…(review body truncated)" in body


def test_a_chunk_too_long_for_the_model_is_split_and_both_halves_reviewed() -> None:
    config = small_budget()
    prepared = prepare(DIFF, config)
    first = [fd.path for fd in prepared.plan.chunks[0].files]
    assert len(first) == 2

    def answers(i: int, req: ModelRequest) -> ModelReply:
        if all(f"FILE: {p}" in req.input for p in first):  # the whole first chunk: too long
            return ModelReply(None, Usage(input_tokens=7, requests=1), "too long", split=True)
        names = ("src/m0.py", "src/m1.py", "src/m2.py", "src/m3.py")
        shown = [p for p in names if f"FILE: {p}" in req.input]
        return reply([f(p, 2, title=f"in {p}") for p in shown])

    model = FakeModel(answers)
    result = run_review(prepared, config, model)
    assert result.status == "reviewed" and result.files_reviewed == 4
    assert len(model.requests) == 2 + 2  # the plan, then the first chunk's two halves
    assert sorted(c.path for c in result.comments) == sorted(f"src/m{i}.py" for i in range(4))
    assert result.usage.input_tokens == 7 + 3 * 10  # the refused request's tokens count too


def test_a_single_hunk_too_long_for_the_model_fails_that_part_only() -> None:
    config = small_budget()
    prepared = prepare(DIFF + gen_file("src/big.py", 1), config)
    model = FakeModel(
        lambda i, req: (
            ModelReply(None, Usage(requests=1), "too long", split=True)
            if "FILE: src/big.py" in req.input
            else reply([])
        )
    )
    result = run_review(prepared, config, model)
    assert result.status == "partial"
    assert [s.path for s in result.skipped] == ["src/big.py"]
    assert result.skipped[0].reason == "model request failed: too long"


def test_a_hung_endpoint_is_abandoned_at_the_deadline_and_the_rest_is_kept(
    fake_responses: FakeResponses,
) -> None:
    from reviewbot.llm import client_for

    config = small_budget().with_overrides(
        {"base_url": fake_responses.base_url, "api_key": "k", "timeout_minutes": "0.02"}
    )
    prepared = prepare(DIFF, config)
    hung = prepared.plan.chunks[1].files[0].path
    fake_responses.by_content[f"FILE: {hung}"] = "hang"
    started = time.monotonic()
    result = run_review(prepared, config, client_for(config))
    assert time.monotonic() - started < 5  # 1.2 s deadline, not the socket's 600 s
    assert result.status == "partial"
    lost = {s.path: s.reason for s in result.skipped}
    assert set(lost) == {fd.path for fd in prepared.plan.chunks[1].files}
    assert set(lost.values()) == {"the model did not answer within 0.02 minutes"}
    assert result.files_reviewed == 2


def test_nothing_answered_by_the_deadline_is_a_failure_that_says_so(
    fake_responses: FakeResponses,
) -> None:
    from reviewbot.llm import client_for

    config = Config(base_url=fake_responses.base_url, api_key="k", timeout_minutes=0.01)
    fake_responses.by_content["src/"] = "hang"
    result = run_review(prepare(DIFF, config), config, client_for(config))
    assert result.status == "failed"
    assert result.failure == "the model timed out after 0.01 minutes"


def test_parts_summaries_become_one_and_diagnostics_stay_out_of_the_review() -> None:
    config = small_budget()
    prepared = prepare(DIFF, config)
    odd = {**f("src/m0.py", 2), "severity": "blocker"}  # repaired, with a diagnostic
    model = FakeModel(lambda i, r: reply([odd] if i == 0 else [], summary="Looks fine."))
    result = run_review(prepared, config, model)
    assert result.summary == "Looks fine."  # not once per part
    assert any("severity" in p for p in result.problems)
    body = review_body(result, "m")
    assert body.count("Looks fine.") == 1 and "blocker" not in body and "Problems" not in body


def test_the_manifest_names_where_a_renamed_file_came_from() -> None:
    diff = (
        "diff --git a/old/name.py b/new/name.py\nsimilarity index 100%\n"
        "rename from old/name.py\nrename to new/name.py\n"
        "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1 +1,2 @@\n x\n+y\n"
    )
    [req] = prepare(diff, Config()).requests
    assert "- old/name.py → new/name.py (renamed, +0 -0): not sent: renamed without" in req.input


def test_an_incremental_review_lists_untouched_files_as_unchanged_not_unreviewed() -> None:
    whole = gen_file("src/a.py", 1) + gen_file("src/b.py", 1)
    incremental = IncrementalReview(tuple(parse_diff(whole)), "a" * 40)
    prepared = prepare(gen_file("src/a.py", 1), Config(), incremental=incremental)
    [req] = prepared.requests
    assert "- src/a.py (modified, +10 -0): in this request" in req.input
    assert "- src/b.py (modified, +10 -0): not sent: unchanged since the last review" in req.input
    model = FakeModel(lambda i, r: reply([]))
    result = run_review(prepared, Config(), model)
    assert result.status == "reviewed" and result.skipped == ()  # nothing "not reviewed"


def test_the_deadline_runs_from_prepare_so_scope_context_counts_against_it() -> None:
    config = Config(timeout_minutes=1)
    before = time.monotonic()
    prepared = prepare(DIFF, config)
    assert prepared.deadline is not None
    assert before + 60 <= prepared.deadline <= time.monotonic() + 60
    seen: list[float | None] = []

    class Recording(FakeModel):
        def run(
            self,
            requests: Sequence[ModelRequest],
            on_done: Callable[[int, int], None] | None = None,
            deadline: float | None = None,
        ) -> list[ModelReply]:
            seen.append(deadline)
            return super().run(requests, on_done, deadline)

    run_review(prepared, config, Recording(lambda i, r: reply([])))
    assert seen == [prepared.deadline]


def test_prepare_takes_what_was_read_as_values_and_reads_nothing_itself() -> None:
    """`prepare` is pure: file texts, guidance and what could not be read come in as one value
    (reviewbot.gather reads them through an adapter first); the problems become review notes."""
    from reviewbot.context import FileTexts
    from reviewbot.review import select

    old = "def area(w, h):\n    x = 1\n    return w * h\n"
    new = "def area(w, h):\n    x = 1\n    return w * h * 2\n"
    diff = "--- a/geo.py\n+++ b/geo.py\n@@ -3 +3 @@\n-    return w * h\n+    return w * h * 2\n"
    config = Config()
    chosen = select(diff, config)
    assert chosen.wanted == (("geo.py", "RIGHT"),)  # what a caller reads before prepare
    texts = FileTexts(
        {("geo.py", "RIGHT"): new, ("geo.py", "LEFT"): old},
        {"AGENTS.md": "Prefer integers."},
        ("GitHub could not send one file.",),
    )
    prepared = prepare(chosen, config, texts=texts)
    [req] = prepared.requests
    assert "def area(w, h):" in req.input  # widened to its function from the given text
    assert "Prefer integers." in req.instructions
    assert prepared.notes[0] == "GitHub could not send one file."
    plain = prepare(diff, config)  # no texts: no scope, no guidance, nothing read
    assert "def area(w, h):" not in plain.requests[0].input and plain.notes == ()

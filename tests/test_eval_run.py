"""`reviewbot eval run` end to end (a subprocess) on the frozen set, against a scripted model
on 127.0.0.1: which findings it returns decides the figures the tests expect."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tests.conftest import DATA, FAKE_KEY, ROOT, FakeResponses, cli_env, responses_body, run_cli

CASES = DATA / "eval" / "click.jsonl"
GOLDEN_TOTAL = sum(len(json.loads(line)["golden"]) for line in CASES.read_text().splitlines())
A = "Resolve the pager command once, in `_pager_contextmanager`"  # goldens 491, 539, 598, 604-605
B = "Validate style() color arguments, fix explicit black color argument"  # 672, 674
C = "type-hint out varibale"  # golden shell_completion.py:505


def finding(path: str, line: int, severity: str, title: str, **more: object) -> dict[str, object]:
    return {
        "path": path,
        "line": line,
        "start_line": None,
        "side": "RIGHT",
        "severity": severity,
        "title": title,
        "body": "why",
        "code": None,
        "suggestion": None,
    } | more


PAGER = "src/click/_termui_impl.py"
SCRIPT: dict[str, list[dict[str, object]]] = {
    A: [
        finding(PAGER, 494, "major", "3 lines from golden 491: matches"),
        finding(PAGER, 543, "minor", "JUDGE-YES 4 lines from golden 539: no match at 3"),
        # near both 598 and 604-605: one finding matches one golden only
        finding(PAGER, 601, "major", "between two goldens", start_line=600),
    ],
    B: [finding("src/click/termui.py", 672, "major", "old side: not comparable", side="LEFT")],
    C: [
        finding("src/click/shell_completion.py", 505, "critical", "on the golden line"),
        finding("src/click/shell_completion.py", 506, "nit", "the same golden again"),
    ],
}


def title_of(body: bytes) -> str:
    text = json.loads(body)["input"]
    m = re.search(r"^Pull request title: (.*)$", text, re.M)
    return m.group(1) if m else ""


def scripted(
    fake: FakeResponses, later: dict[str, list[dict[str, object]]] | None = None
) -> Counter[str]:
    """Answer reviews from SCRIPT (from `later` on a case's second request) and judge
    requests: same issue only for review comments titled JUDGE-YES."""
    asked: Counter[str] = Counter()

    def respond(headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        request = json.loads(body)
        if request["instructions"].startswith("You judge"):
            pairs = re.split(r"^## Pair (\d+)$", request["input"], flags=re.M)[1:]
            verdicts = [
                {"pair": int(n), "same_issue": "JUDGE-YES" in text, "reason": "scripted"}
                for n, text in zip(pairs[::2], pairs[1::2], strict=True)
            ]
            return 200, {}, responses_body({"verdicts": verdicts})
        if request["instructions"].startswith("You are reviewbot's verifier"):
            ids = re.findall(r"^## Finding id (\d+)$", request["input"], flags=re.M)
            keep = [{"id": int(n), "verdict": "keep", "severity": None, "reason": "s"} for n in ids]
            return 200, {}, responses_body({"verdicts": keep})
        title = title_of(body)
        asked[title] += 1
        script = SCRIPT if asked[title] == 1 or later is None else later
        return 200, {}, responses_body({"summary": "s", "findings": script.get(title, [])})

    fake.respond = respond
    return asked


def eval_run(fake: FakeResponses, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "eval", "run", str(CASES), "--base-url", fake.base_url, "--context", "diff", *args,
        REVIEWBOT_API_KEY=FAKE_KEY,
    )  # fmt: skip


def test_frozen_set_scored_by_position_with_the_tolerance_and_one_match_per_golden(
    fake_responses: FakeResponses,
) -> None:
    scripted(fake_responses)
    p = eval_run(fake_responses, "--format", "json")
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout)
    # matched: 494↔491 (3 lines: the edge), 601↔598 (not also 604-605), 505↔505 (not 506)
    assert (report["findings"], report["findings_matched"]) == (6, 3)
    assert (report["golden"], report["golden_matched"]) == (GOLDEN_TOTAL, 3)
    assert report["precision"] == 0.5
    assert report["recall"] == round(3 / GOLDEN_TOTAL, 4)
    p_, r_ = 0.5, 3 / GOLDEN_TOTAL
    assert report["f1"] == round(2 * p_ * r_ / (p_ + r_), 4)
    by = report["by_severity"]
    assert (by["major"]["findings"], by["major"]["findings_matched"]) == (3, 2)
    assert (by["critical"]["findings_matched"], by["nit"]["findings_matched"]) == (1, 0)
    assert by["minor"]["precision"] == 0.0
    assert by["unrated"]["golden"] == GOLDEN_TOTAL and "precision" in by["unrated"]
    assert len(report["no_finding"]) == 17
    assert report["findings_per_case"] == 0.3
    # 20 reviews and 3 verifications (one per case with findings)
    assert report["tokens"] == {"input": 2300, "output": 460, "cached": 0, "requests": 23}
    assert report["settings"]["judge_model"] is None
    assert report["settings"]["tolerance"] == 3
    case_a = next(c for c in report["cases"] if c["id"] == "click-9835b0f7612d")
    assert [m["line"] for m in case_a["runs"][0]["matches"]] == [494, 601]
    assert [u["line"] for u in case_a["runs"][0]["unmatched_findings"]] == [543]
    assert len(fake_responses.seen) == 23


def test_table_is_the_default_and_markdown_is_written(
    fake_responses: FakeResponses, tmp_path: Path
) -> None:
    scripted(fake_responses)
    md = tmp_path / "report.md"
    p = eval_run(fake_responses, "--markdown", str(md))
    assert p.returncode == 0, p.stderr
    assert "tolerance 3 lines, matched by position" in p.stdout
    overall = next(line for line in p.stdout.splitlines() if line.startswith("overall"))
    assert overall.split()[1:4] == ["0.500", f"{3 / GOLDEN_TOTAL:.3f}", "0.107"]
    assert "cases with no finding: 17" in p.stdout
    text = md.read_text()
    assert "| **overall** | 0.500 |" in text
    assert "| `click-c4a6b57bb8a7` | 1 | reviewed | 2 | 1/1 |" in text


def test_wider_tolerance_matches_the_finding_four_lines_away(fake_responses: FakeResponses) -> None:
    scripted(fake_responses)
    report = json.loads(eval_run(fake_responses, "--format", "json", "--tolerance", "4").stdout)
    assert report["findings_matched"] == 4


def test_judge_decides_same_issue_and_is_named(fake_responses: FakeResponses) -> None:
    scripted(fake_responses)
    p = eval_run(fake_responses, "--format", "json", "--judge", "judge/model")
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout)
    # The judge said yes only for the JUDGE-YES finding (4 lines away): position no longer
    # decides, and that finding matches one golden finding, not all four it was paired with.
    assert (report["findings_matched"], report["golden_matched"]) == (1, 1)
    assert report["settings"]["judge_model"] == "judge/model"
    judged = [json.loads(b) for _, _, b in fake_responses.seen if b"You judge" in b]
    # one judge request per case with same-file pairs: A (3 × 4 pairs), B (1 × 2), C (2 × 1)
    assert sorted(j["input"].count("## Pair ") for j in judged) == [2, 2, 12]
    assert {j["model"] for j in judged} == {"judge/model"}
    assert judged[0]["text"]["format"]["schema"]["required"] == ["verdicts"]
    assert report["judge_tokens"]["requests"] == 3
    table = eval_run(fake_responses, "--judge", "judge/model").stdout
    assert "matched by judge judge/model" in table


def test_an_unusable_judge_answer_falls_back_to_position_and_says_so(
    fake_responses: FakeResponses,
) -> None:
    scripted(fake_responses)
    review = fake_responses.respond
    assert review is not None

    def respond(headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        if b"You judge" in body:
            return 200, {}, responses_body({"no": "verdicts"})
        return review(headers, body)

    fake_responses.respond = respond
    report = json.loads(eval_run(fake_responses, "--format", "json", "--judge").stdout)
    assert report["findings_matched"] == 3  # position, as without a judge
    case_a = next(c for c in report["cases"] if c["id"] == "click-9835b0f7612d")
    assert case_a["runs"][0]["judge_problem"] == (
        "the judge failed: no `verdicts` list after 3 attempts"
    )
    assert report["settings"]["judge_model"] == "openai/gpt-5-3-codex"


def test_runs_repeat_every_case_and_report_the_spread(fake_responses: FakeResponses) -> None:
    asked = scripted(fake_responses, later={B: SCRIPT[B], C: SCRIPT[C]})  # A finds nothing later
    p = eval_run(fake_responses, "--format", "json", "--runs", "2", "--jobs", "1")
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout)
    # 2 × 20 reviews; 3 verifications, then 2 (A finds nothing on its second run)
    assert asked[A] == 2 and len(fake_responses.seen) == 45
    first, second = report["runs"]
    assert (first["findings"], first["findings_matched"]) == (6, 3)
    assert (second["findings"], second["findings_matched"]) == (3, 1)
    assert report["spread"]["recall"] == {
        "min": round(1 / GOLDEN_TOTAL, 4),
        "max": round(3 / GOLDEN_TOTAL, 4),
        "stdev": round(1 / GOLDEN_TOTAL, 4),
    }
    # overall: pooled over both runs
    assert (report["findings"], report["findings_matched"]) == (9, 4)
    assert report["golden"] == 2 * GOLDEN_TOTAL
    assert [len(c["runs"]) for c in report["cases"]] == [2] * 20


def test_compare_prints_settings_figures_and_per_case_wins(
    fake_responses: FakeResponses, tmp_path: Path
) -> None:
    scripted(fake_responses)
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert eval_run(fake_responses, "--format", "json", "--output", str(a)).returncode == 0
    assert (
        eval_run(
            fake_responses, "--format", "json", "--output", str(b), "--tolerance", "4"
        ).returncode
        == 0
    )
    p = run_cli("eval", "--compare", str(a), str(b))
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    tolerance = next(line for line in lines if line.startswith("tolerance"))
    assert tolerance.split() == ["tolerance", "3", "4", "*"]
    precision = next(line for line in lines if line.startswith("precision"))
    assert precision.split() == ["precision", "0.500", "0.667", "+0.167"]
    assert "per case (B against A): 1 better, 0 worse, 19 same" in p.stdout
    assert "better  click-9835b0f7612d: matched 2 → 3, unmatched findings 1 → 0" in p.stdout
    assert "reviewbot: note" not in p.stderr  # the same case file


def test_compare_refuses_a_file_that_is_not_a_report(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"a": 1}')
    p = run_cli("eval", "--compare", str(bad), str(bad))
    assert p.returncode == 2
    assert (
        p.stderr.strip()
        == f"reviewbot: error: {bad} is not a `reviewbot eval run --format json` report"
    )


def test_sample_response_runs_offline_without_a_key() -> None:
    p = run_cli(
        "eval", "run", str(CASES), "--sample-response", str(ROOT / "examples" / "demo-response.json"),
        "--format", "json",
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout)
    # the demo's findings name files these diffs do not have: every one is a false positive
    assert (report["findings"], report["findings_matched"], report["precision"]) == (100, 0, 0.0)
    assert report["case_runs_done"] == 20 and not report["interrupted"]
    assert "no model is called" in p.stderr


def test_no_key_is_exit_2_naming_the_variable() -> None:
    p = run_cli("eval", "run", str(CASES))
    assert p.returncode == 2
    assert "REVIEWBOT_API_KEY" in p.stderr


def test_review_flags_that_choose_the_input_are_refused() -> None:
    p = run_cli("eval", "run", str(CASES), "--git", "HEAD~1", REVIEWBOT_API_KEY=FAKE_KEY)
    assert p.returncode == 2
    assert "unrecognized arguments: --git HEAD~1" in p.stderr


def test_ctrl_c_prints_what_is_done(fake_responses: FakeResponses) -> None:
    scripted(fake_responses)
    fake_responses.by_content[f"Pull request title: {A}"] = "hang"
    proc = subprocess.Popen(
        [sys.executable, "-m", "reviewbot", "eval", "run", str(CASES), "--base-url",
         fake_responses.base_url, "--context", "diff", "--jobs", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=cli_env(REVIEWBOT_API_KEY=FAKE_KEY), cwd=ROOT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while len(fake_responses.seen) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # the 19 answered cases are scored
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "INTERRUPTED: 19 of 20 case runs done" in out
    assert "click-9835b0f7612d" not in out  # the hung case is not reported as done
    assert "click-c4a6b57bb8a7" in out
    assert err.strip().splitlines()[-1].startswith("reviewbot: interrupted: 19 of 20 case runs")


def test_golden_without_a_place_is_matched_only_by_the_judge(
    fake_responses: FakeResponses, tmp_path: Path
) -> None:
    diff = "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
    case = {"id": "crb-1", "title": "crb", "diff": diff,
            "golden": [{"path": None, "description": "x should stay 1", "severity": "major"}]}  # fmt: skip
    cases = tmp_path / "crb.jsonl"
    cases.write_text(json.dumps(case) + "\n")
    SCRIPT["crb"] = [finding("a.py", 1, "major", "JUDGE-YES x changed")]
    try:
        scripted(fake_responses)
        base = [
            "eval",
            "run",
            str(cases),
            "--base-url",
            fake_responses.base_url,
            "--format",
            "json",
        ]
        plain = json.loads(run_cli(*base, REVIEWBOT_API_KEY=FAKE_KEY).stdout)
        judged = json.loads(run_cli(*base, "--judge", REVIEWBOT_API_KEY=FAKE_KEY).stdout)
    finally:
        del SCRIPT["crb"]
    assert (plain["golden_matched"], plain["recall"]) == (0, 0.0)
    assert (judged["golden_matched"], judged["recall"], judged["precision"]) == (1, 1.0, 1.0)
    assert judged["by_severity"]["major"]["recall"] == 1.0


def test_progress_is_shown_on_a_terminal_only(fake_responses: FakeResponses) -> None:
    import os
    import pty

    scripted(fake_responses)
    main_fd, child_fd = pty.openpty()
    p = subprocess.run(
        [sys.executable, "-m", "reviewbot", "eval", "run", str(CASES), "--base-url",
         fake_responses.base_url, "--context", "diff"],
        stdout=subprocess.PIPE, stderr=child_fd, env=cli_env(REVIEWBOT_API_KEY=FAKE_KEY),
        cwd=ROOT, timeout=60,
    )  # fmt: skip
    os.close(child_fd)
    shown = os.read(main_fd, 65536).decode()
    os.close(main_fd)
    assert p.returncode == 0
    assert "reviewbot eval: 20/20 case runs done" in shown
    assert b"case runs done" not in p.stdout
    piped = eval_run(fake_responses)
    assert "case runs done" not in piped.stderr


def test_agent_mode_reads_each_cases_repository_and_says_when_a_case_has_none(
    tmp_path: Path, fake_responses: FakeResponses
) -> None:
    """`--context agent` must be agent mode wherever a case allows it, and say where it is
    not, or a comparison with scope would credit agent mode with scope's results."""
    from tests.conftest import git_repo

    repo = tmp_path / "repo"
    repo.mkdir()
    git = git_repo(repo)
    (repo / "a.py").write_text("def f():\n    return 1\n")
    git("add", "-A")
    git("commit", "-qm", "base")
    (repo / "a.py").write_text("def f():\n    return 2\n")
    git("commit", "-qam", "head")
    heads = subprocess.run(
        ["git", "rev-parse", "HEAD~1", "HEAD"], cwd=repo, capture_output=True, text=True
    ).stdout.split()
    inline = "--- a/b.py\n+++ b/b.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
    cases = tmp_path / "cases.jsonl"
    cases.write_text(
        json.dumps({"id": "in-repo", "repo": str(repo), "base": heads[0], "head": heads[1],
                    "title": "In a repository", "golden": []}) + "\n"
        + json.dumps({"id": "inline", "diff": inline, "title": "Inline", "golden": []}) + "\n"
    )  # fmt: skip
    fake_responses.default = (200, {}, responses_body({"summary": "ok", "findings": []}))
    p = run_cli(
        "eval", "run", str(cases), "--context", "agent", "--format", "json",
        REVIEWBOT_API_KEY=FAKE_KEY, REVIEWBOT_BASE_URL=fake_responses.base_url,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    by_title = {title_of(body): json.loads(body) for _, _, body in fake_responses.seen}
    assert [t["name"] for t in by_title["In a repository"]["tools"]][:1] == ["read_file"]
    assert "tools" not in by_title["Inline"]
    problems = {c["id"]: c["runs"][0].get("problems", []) for c in json.loads(p.stdout)["cases"]}
    assert problems == {"in-repo": [], "inline": ["agent mode needs the case's repository: scope"]}


def test_the_report_prices_the_run_when_the_config_prices_the_model(
    tmp_path: Path, fake_responses: FakeResponses
) -> None:
    conf = tmp_path / "c.yml"
    conf.write_text("prices:\n  openai/gpt-5-3-codex: {input: 1000, output: 1000}\n")
    fake_responses.default = (200, {}, responses_body({"summary": "ok", "findings": []}))
    common = ("eval", "run", str(CASES), "--format", "json", "--no-verify")
    env = {"REVIEWBOT_API_KEY": FAKE_KEY, "REVIEWBOT_BASE_URL": fake_responses.base_url}
    priced = json.loads(run_cli(*common, "--config", str(conf), **env).stdout)
    tokens = priced["tokens"]["input"] + priced["tokens"]["output"]
    assert tokens > 0 and priced["money"] == round(tokens * 1000 / 1e6, 4)
    assert json.loads(run_cli(*common, **env).stdout)["money"] is None  # no price: not guessed

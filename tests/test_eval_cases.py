"""The eval case format: what a good line reads as, one clear error per bad line (exit 2),
and Code Review Bench's golden comments converted into cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reviewbot.errors import UsageError
from reviewbot.evaluation.cases import Case, Golden, dump_cases, load_cases
from tests.conftest import FAKE_KEY, run_cli

DIFF = "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"


def write(tmp_path: Path, *lines: object) -> Path:
    path = tmp_path / "cases.jsonl"
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


def test_inline_and_repository_cases_read_back(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {"id": "one", "diff": DIFF, "golden": [{"path": "a.py", "line": 3, "start_line": 1,
                                               "severity": "major", "description": "d"}]},
        "",
        {"id": "two", "repo": "sub/repo", "base": "HEAD~1", "head": "HEAD", "golden": []},
    )  # fmt: skip
    one, two = load_cases(path)
    assert one.golden == (Golden("a.py", 3, 1, "RIGHT", "major", "d"),)
    assert two.repo == tmp_path / "sub" / "repo"  # relative to the case file
    assert (two.base, two.head, two.golden) == ("HEAD~1", "HEAD", ())
    again = tmp_path / "again.jsonl"
    again.write_text("".join(dump_cases([one, two])))
    assert load_cases(again) == [one, two]


def test_every_bad_line_is_named_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {"id": "ok", "diff": DIFF, "golden": []},
        "{not json",
        {"id": "nowhere", "golden": []},
        {"id": "g", "diff": DIFF, "golden": [{"path": "a.py", "line": 0}]},
        {"id": "s", "diff": DIFF, "golden": [{"path": "a.py", "line": 2, "severity": "High"}]},
        {"id": "r", "diff": DIFF, "golden": [{"path": "a.py", "line": 2, "start_line": 5}]},
        {"id": "ok", "diff": DIFF, "golden": []},
        {"id": "k", "diff": DIFF, "golden": [], "gold": []},
        {"id": "b", "repo": ".", "base": "HEAD", "golden": []},
    )
    with pytest.raises(UsageError) as err:
        load_cases(path)
    assert str(err.value).splitlines() == [
        "bad cases:",
        f"{path}:2: not JSON (Expecting property name enclosed in double quotes at column 2)",
        f"{path}:3: case 'nowhere': give `diff` (a unified diff) or `repo` with `base` and `head`",
        f"{path}:4: case 'g', golden 1: `line` must be a whole number ≥ 1",
        f"{path}:5: case 's', golden 1: `severity` must be one of critical, major, minor, nit",
        f"{path}:6: case 'r', golden 1: `start_line` must be a whole number from 1 to `line`",
        f"{path}:7: id 'ok' repeats line 1",
        f"{path}:8: unknown key 'gold' (known: base, description, diff, golden, head, id, repo, source, title)",
        f"{path}:9: case 'b': `repo` needs `head`, a revision",
    ]


def test_bad_case_file_is_exit_2_with_the_lines_on_stderr(tmp_path: Path) -> None:
    path = write(tmp_path, {"id": "x", "diff": DIFF, "golden": [{"line": 1}]})
    p = run_cli("eval", "run", str(path), REVIEWBOT_API_KEY=FAKE_KEY)
    assert p.returncode == 2
    assert p.stderr.splitlines() == [
        "reviewbot: error: bad cases:",
        f"{path}:1: case 'x', golden 1: a golden with no `path` needs a `description`",
    ]
    assert p.stdout == ""


def test_missing_or_empty_case_file_is_exit_2(tmp_path: Path) -> None:
    p = run_cli("eval", "run", str(tmp_path / "none.jsonl"), REVIEWBOT_API_KEY=FAKE_KEY)
    assert (p.returncode, p.stderr.strip()) == (
        2, f"reviewbot: error: cannot read cases {tmp_path / 'none.jsonl'}: No such file or directory"
    )  # fmt: skip
    p = run_cli("eval", "run", str(write(tmp_path, "")), REVIEWBOT_API_KEY=FAKE_KEY)
    assert p.returncode == 2 and "no cases in" in p.stderr


CRB = [
    {
        "pr_title": "Span buffer",
        "url": "https://github.com/getsentry/sentry/pull/93824",
        "comments": [
            {"comment": "Tags say shard and shards.", "severity": "Medium", "category": "bug"},
            {"comment": "isinstance is always false for SpawnProcess.", "severity": "High"},
        ],
    },
    {
        "pr_title": "No diff given for this one",
        "url": "https://github.com/getsentry/sentry/pull/80528",
        "comments": [{"comment": "Returns the old config.", "severity": "High"}],
    },
]


def test_code_review_bench_golden_comments_become_cases(tmp_path: Path) -> None:
    (tmp_path / "diffs").mkdir()
    (tmp_path / "diffs" / "93824.diff").write_text(DIFF)
    (tmp_path / "sentry.json").write_text(json.dumps(CRB))
    out = tmp_path / "crb.jsonl"
    p = run_cli(
        "eval", "convert-crb", str(tmp_path / "sentry.json"), "--diffs", str(tmp_path / "diffs"),
        "--output", str(out),
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    [case] = load_cases(out)
    assert case == Case(
        id="sentry-93824",
        golden=(
            Golden(None, 0, 0, "RIGHT", "minor", "Tags say shard and shards.", "bug"),
            Golden(None, 0, 0, "RIGHT", "major", "isinstance is always false for SpawnProcess."),
        ),
        diff=DIFF,
        title="Span buffer",
        source={"method": "code-review-bench", "url": CRB[0]["url"]},
    )
    assert (
        "reviewbot: left out: https://github.com/getsentry/sentry/pull/80528: no readable "
        f"{tmp_path / 'diffs' / '80528.diff'}"
    ) in p.stderr
    assert "1 cases, 2 golden comments" in p.stderr


def test_code_review_bench_bad_severity_is_named(tmp_path: Path) -> None:
    bad = [{"url": CRB[0]["url"], "comments": [{"comment": "c", "severity": "Huge"}]}]
    (tmp_path / "g.json").write_text(json.dumps(bad))
    p = run_cli("eval", "convert-crb", str(tmp_path / "g.json"), "--diffs", str(tmp_path))
    assert p.returncode == 2
    assert p.stderr.strip() == (
        "reviewbot: error: PR 1, comment 1: unknown severity 'Huge' (Low, Medium, High, Critical)"
    )

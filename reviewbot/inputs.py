"""The Action's inputs (`INPUT_*` variables) and event payload, read and checked once."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reviewbot.config import explicit_settings, parse_bool
from reviewbot.errors import ConfigError, UsageError
from reviewbot.event import FORK_POLICIES
from reviewbot.kinds import SEVERITIES, Severity
from reviewbot.redact import Redactor, url_secrets

# Inputs the repository config file may also set (see config.explicit_settings: who wins).
CONFIG_INPUTS = (
    "model",
    "base_url",
    "wire_api",
    "max_comments",
    "include",
    "exclude",
    "reasoning_effort",
    "timeout_minutes",
    "context",
    "verify",
    "max_tokens_per_run",
    "max_usd_per_run",
)


@dataclass(frozen=True, slots=True)
class Inputs:
    """The action's inputs (INPUT_<NAME> variables), read once."""

    api_key: str = field(repr=False)
    github_token: str = field(repr=False)
    trigger_phrase: str
    config_path: str
    dry_run: bool
    fail_on_error: bool
    overrides: dict[str, Any]
    fork_prs: str = "members"
    fail_on: Severity | None = None  # exit 3 after posting when a finding reaches it
    workspace: str = ""  # GITHUB_WORKSPACE: a checkout that may hold the PR's commits

    def redactor(self) -> Redactor:
        """Hides the key, the token and a base_url password in everything the run writes."""
        base_url = str(self.overrides.get("base_url", ""))
        return Redactor([self.api_key, self.github_token, *url_secrets(base_url)])


def read_inputs(env: Mapping[str, str]) -> Inputs:
    """Read INPUT_* variables; a hyphenated or bad input is a configuration error before any
    request is made."""
    hyphenated = sorted(k for k in env if k.startswith("INPUT_") and "-" in k)
    if hyphenated:
        names = ", ".join(k.removeprefix("INPUT_").lower() for k in hyphenated)
        raise ConfigError(f"input names use underscores, not hyphens: {names}")

    def get(name: str, default: str = "") -> str:
        return env.get(f"INPUT_{name.upper()}", "").strip() or default

    try:
        overrides = explicit_settings({name: get(name) for name in CONFIG_INPUTS})
    except ConfigError as exc:
        raise ConfigError(f"input {exc}") from None
    fork_prs = get("fork_prs", "members").lower()
    if fork_prs not in FORK_POLICIES:
        allowed = ", ".join(FORK_POLICIES)
        raise ConfigError(f"input fork_prs must be one of {allowed}, not {fork_prs[:40]!r}")
    fail_on = get("fail_on", "none").lower()
    if fail_on not in ("none", *SEVERITIES):
        allowed = ", ".join(("none", *SEVERITIES))
        raise ConfigError(f"input fail_on must be one of {allowed}, not {fail_on[:40]!r}")
    return Inputs(
        api_key=get("api_key"),
        github_token=get("github_token") or env.get("GITHUB_TOKEN", ""),
        trigger_phrase=get("trigger_phrase", "/review"),
        config_path=get("config", ".github/reviewbot.yml"),
        dry_run=parse_bool("dry_run", get("dry_run", "false")),
        fail_on_error=parse_bool("fail_on_error", get("fail_on_error", "true")),
        overrides=overrides,
        fork_prs=fork_prs,
        fail_on=None if fail_on == "none" else Severity(fail_on),
        workspace=env.get("GITHUB_WORKSPACE", ""),
    )


def read_payload(env: Mapping[str, str]) -> dict[str, Any]:
    path = env.get("GITHUB_EVENT_PATH", "")
    if not path:
        raise UsageError(
            "GITHUB_EVENT_PATH is not set: `reviewbot action` runs inside GitHub Actions"
        )
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the event payload {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise UsageError(f"the event payload {path} is not a JSON object")
    return data

"""Server settings from the environment, read and checked once (one table: names, defaults and
the help text `reviewbot serve --help` and `reviewbot worker --help` print)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reviewbot.errors import ConfigError

# (variable, default, help). Empty default: not set. Order is the order of --help.
SETTINGS: tuple[tuple[str, str, str], ...] = (
    ("REVIEWBOT_APP_ID", "", "the GitHub App's id (required)"),
    ("REVIEWBOT_APP_PRIVATE_KEY", "", "the App's private key, PEM text (or the _FILE variant)"),
    ("REVIEWBOT_APP_PRIVATE_KEY_FILE", "", "a file holding the App's private key (PEM)"),
    ("REVIEWBOT_WEBHOOK_SECRET", "", "the App's webhook secret (required)"),
    ("REVIEWBOT_REDIS_URL", "redis://localhost:6379/0", "Redis: the job queue, locks, limits"),
    ("GITHUB_API_URL", "https://api.github.com", "GitHub's API (GitHub Enterprise: its /api/v3)"),
    ("REVIEWBOT_API_KEY", "", "the model endpoint's key (required by the worker)"),
    ("REVIEWBOT_BASE_URL", "", "the Responses base URL (default: the built-in one)"),
    ("REVIEWBOT_MODEL", "", "the model id (default: the built-in one)"),
    ("REVIEWBOT_WIRE_API", "", "responses or chat, where the installed reviewbot supports it"),
    ("REVIEWBOT_DEFAULTS_FILE", "", "YAML with defaults for every repository's reviewbot.yml"),
    ("REVIEWBOT_TRIGGER_PHRASE", "/review", "the comment command that asks for a review"),
    ("REVIEWBOT_FORK_PRS", "members", "members, contributors or all: whose fork PRs are reviewed"),
    ("REVIEWBOT_TIMEOUT_MINUTES", "20", "most minutes of model calls per job (caps the repo's)"),
    ("REVIEWBOT_MAX_DAILY_TOKENS", "0", "model tokens per installation per UTC day (0: no cap)"),
    ("REVIEWBOT_INSTALLATION_CONCURRENCY", "2", "jobs of one installation running at once"),
    ("REVIEWBOT_WRITES_PER_MINUTE", "60", "GitHub writes per installation per minute (<= 80)"),
    ("REVIEWBOT_JOB_RETRIES", "5", "retries of a job after a transient failure"),
    ("REVIEWBOT_REQUEUE_SECONDS", "60", "a dead worker's jobs go back to the queue after this"),
    ("REVIEWBOT_MAX_BODY_BYTES", "26214400", "largest webhook body accepted (GitHub's cap: 25 MB)"),
)
SLACK_MINUTES = 10  # a job's hard limit: its model time plus this, for GitHub reads and writes


@dataclass(frozen=True, slots=True)
class Settings:
    """What the server and the workers are told by the environment."""

    app_id: str
    private_key: str = field(repr=False)
    webhook_secret: str = field(repr=False)
    redis_url: str = field(repr=False)  # may carry a password
    api_url: str = "https://api.github.com"
    api_key: str = field(default="", repr=False)
    overrides: dict[str, str] = field(default_factory=dict)  # model, base_url, wire_api
    defaults_file: str = ""
    trigger_phrase: str = "/review"
    fork_prs: str = "members"
    timeout_minutes: int = 20
    max_daily_tokens: int = 0
    installation_concurrency: int = 2
    writes_per_minute: int = 60
    job_retries: int = 5
    requeue_seconds: float = 60.0
    max_body_bytes: int = 26_214_400
    lease_seconds: float = 60.0  # locks live this long without a renewal (a dead worker's end)

    @property
    def job_time_limit_ms(self) -> int:
        return (self.timeout_minutes + SLACK_MINUTES) * 60_000

    def secrets(self) -> list[str]:
        """Everything a log line must never show."""
        from reviewbot.redact import url_secrets

        lines = [x.strip() for x in self.private_key.splitlines() if len(x.strip()) >= 16]
        return [
            self.webhook_secret,
            self.api_key,
            *lines,
            *url_secrets(self.redis_url),
            *url_secrets(self.overrides.get("base_url", "")),
        ]


def read_settings(env: Mapping[str, str], worker: bool = False) -> Settings:
    """The settings, or a ConfigError that names the variable; `worker` also needs the key."""

    def get(name: str) -> str:
        default = next(d for n, d, _ in SETTINGS if n == name)
        return env.get(name, "").strip() or default

    app_id = get("REVIEWBOT_APP_ID")
    if not app_id.isdigit():
        raise ConfigError("REVIEWBOT_APP_ID must be the GitHub App's numeric id")
    secret = env.get("REVIEWBOT_WEBHOOK_SECRET", "")
    if not secret:
        raise ConfigError("REVIEWBOT_WEBHOOK_SECRET is not set (the App's webhook secret)")
    key = _private_key(env)
    api_key = get("REVIEWBOT_API_KEY")
    if worker and not api_key:
        raise ConfigError("REVIEWBOT_API_KEY is not set (the model endpoint's key)")
    overrides = {
        name: get(f"REVIEWBOT_{name.upper()}")
        for name in ("model", "base_url", "wire_api")
        if get(f"REVIEWBOT_{name.upper()}")
    }
    fork_prs = get("REVIEWBOT_FORK_PRS").lower()
    if fork_prs not in ("members", "contributors", "all"):
        raise ConfigError("REVIEWBOT_FORK_PRS must be members, contributors or all")
    defaults_file = get("REVIEWBOT_DEFAULTS_FILE")
    if defaults_file and not Path(defaults_file).is_file():
        raise ConfigError(f"REVIEWBOT_DEFAULTS_FILE {defaults_file} is not a readable file")
    requeue = _number(get, "REVIEWBOT_REQUEUE_SECONDS", 1, float)
    return Settings(
        app_id=app_id,
        private_key=key,
        webhook_secret=secret,
        redis_url=get("REVIEWBOT_REDIS_URL"),
        api_url=get("GITHUB_API_URL").rstrip("/"),
        api_key=api_key,
        overrides=overrides,
        defaults_file=defaults_file,
        trigger_phrase=get("REVIEWBOT_TRIGGER_PHRASE"),
        fork_prs=fork_prs,
        timeout_minutes=_number(get, "REVIEWBOT_TIMEOUT_MINUTES", 1, int),
        max_daily_tokens=_number(get, "REVIEWBOT_MAX_DAILY_TOKENS", 0, int),
        installation_concurrency=_number(get, "REVIEWBOT_INSTALLATION_CONCURRENCY", 1, int),
        writes_per_minute=_number(get, "REVIEWBOT_WRITES_PER_MINUTE", 1, int),
        job_retries=_number(get, "REVIEWBOT_JOB_RETRIES", 0, int),
        requeue_seconds=requeue,
        max_body_bytes=_number(get, "REVIEWBOT_MAX_BODY_BYTES", 1024, int),
        lease_seconds=requeue,  # a dead worker's locks free up when its jobs are requeued
    )


def _private_key(env: Mapping[str, str]) -> str:
    text = env.get("REVIEWBOT_APP_PRIVATE_KEY", "").strip()
    path = env.get("REVIEWBOT_APP_PRIVATE_KEY_FILE", "").strip()
    if text and path:
        raise ConfigError(
            "set REVIEWBOT_APP_PRIVATE_KEY or REVIEWBOT_APP_PRIVATE_KEY_FILE, not both"
        )
    if path:
        try:
            text = Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            why = getattr(exc, "strerror", None) or "not text"
            raise ConfigError(f"cannot read REVIEWBOT_APP_PRIVATE_KEY_FILE {path}: {why}") from None
    if not text:
        raise ConfigError(
            "the App's private key is missing: set REVIEWBOT_APP_PRIVATE_KEY_FILE to the .pem "
            "file GitHub gave you (or REVIEWBOT_APP_PRIVATE_KEY to its text)"
        )
    if "PRIVATE KEY-----" not in text:
        raise ConfigError("the App's private key is not a PEM private key")
    return text.replace("\\n", "\n")  # one-line env values often carry escaped line breaks


def _number(get: Any, name: str, minimum: int, kind: type[int] | type[float]) -> Any:
    raw = get(name)
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw[:20]!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}")
    return value


def help_text(worker: bool) -> str:
    """The environment section of --help: every setting, its default, what it does."""
    lines = ["environment (settings):"]
    for name, default, text in SETTINGS:
        if name == "REVIEWBOT_MAX_BODY_BYTES" and worker:
            continue
        shown = f" (default {default})" if default and default != "0" else ""
        lines.append(f"  {name:<35} {text}{shown}")
    return "\n".join(lines)


DESCRIPTIONS = {
    "serve": (
        "Receive the GitHub App's webhooks at /webhook and queue review jobs for `reviewbot "
        "worker`; /healthz and /metrics (Prometheus) beside it."
    ),
    "worker": (
        "Run review jobs from the queue (Dramatiq on Redis). Start as many as you like, on as "
        "many machines: every job runs once; a dead worker's job goes back to the queue."
    ),
}


def parser(command: str, add_help: bool = True) -> argparse.ArgumentParser:
    """`reviewbot serve` or `reviewbot worker`'s options, with every setting in the epilog
    (argparse only, so that `reviewbot --help` can list them without loading the server)."""
    p = argparse.ArgumentParser(
        prog=f"reviewbot {command}",
        description=DESCRIPTIONS[command],
        epilog=help_text(worker=command == "worker"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=add_help,
    )
    if command == "serve":
        p.add_argument("--host", default="127.0.0.1", help="address to listen on")
        p.add_argument("--port", type=int, default=8080, help="port to listen on")
    else:
        p.add_argument(
            "--processes", type=int, default=2, help="worker processes (one job each at a time)"
        )
    return p

"""Settings from defaults, the repository's config file and explicit options → one frozen Config."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from reviewbot.diff import split_patterns
from reviewbot.errors import ConfigError
from reviewbot.kinds import EFFORTS, SEVERITIES

DEFAULT_MODEL = "openai/gpt-5-3-codex"
DEFAULT_BASE_URL = "https://api.aimlapi.com/v1"


@dataclass(frozen=True, slots=True)
class Config:
    """Everything a review run needs to know, built once at the entry point and passed down."""

    model: str = DEFAULT_MODEL
    base_url: str = DEFAULT_BASE_URL
    api_key: str = field(default="", repr=False)
    reasoning_effort: str = "medium"
    max_comments: int = 25
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    instructions: str = ""
    prompts_dir: Path | None = None
    severity_threshold: str = "nit"
    review_drafts: bool = False
    max_request_tokens: int = 48_000
    max_total_tokens: int = 600_000
    max_output_tokens: int = 32_000
    concurrency: int = 4
    timeout: float = 600.0  # seconds one HTTP read may take
    timeout_minutes: float = 20.0  # deadline for all model calls of one review

    def with_overrides(self, values: Mapping[str, Any]) -> Config:
        """A copy with the given (already named) settings checked and applied."""
        return replace(self, **{k: _check(k, v) for k, v in values.items() if v is not None})


# Keys a repository config file may set; the api key and endpoint stay with the workflow.
FILE_KEYS = frozenset(
    {
        "include",
        "exclude",
        "instructions",
        "max_comments",
        "severity_threshold",
        "review_drafts",
        "reasoning_effort",
        "model",
        "max_request_tokens",
        "max_total_tokens",
        "max_output_tokens",
        "timeout_minutes",
    }
)


def parse_config_file(text: str, source: str) -> dict[str, Any]:
    """Parse and check a YAML config file; a bad key or value is an error naming it."""
    import yaml  # only needed when a config file is present

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{source}{where}: not valid YAML") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of settings at the top level")
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        if name not in FILE_KEYS:
            allowed = ", ".join(sorted(FILE_KEYS))
            raise ConfigError(f"{source}: unknown key {key!r} (allowed: {allowed})")
        try:
            out[name] = _check(name, value)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
    return out


def explicit_settings(values: Mapping[str, str]) -> dict[str, Any]:
    """Settings given explicitly (Action inputs): set, and not left at the built-in default,
    checked. action.yml shows the defaults, so GitHub always passes a value; one equal to the
    default lets the repository's config file decide."""
    defaults = Config()
    out: dict[str, Any] = {}
    for name, value in values.items():
        if value and getattr(defaults.with_overrides({name: value}), name) != getattr(
            defaults, name
        ):
            out[name] = value
    return out


def resolve(file_text: str | None, source: str, overrides: Mapping[str, Any]) -> Config:
    """Defaults < a config file's settings (None: no file) < explicit overrides."""
    config = Config()
    if file_text is not None:
        config = config.with_overrides(parse_config_file(file_text, source))
    return config.with_overrides(overrides)


def load_config_file(path: Path) -> dict[str, Any]:
    """Read a local config file (the CLI's --config)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    return parse_config_file(text, str(path))


_TYPES = {f.name: f.type for f in fields(Config)}


def _check(name: str, value: Any) -> Any:
    """Coerce one setting to its type, or raise ConfigError naming it."""
    kind = _TYPES.get(name)
    if kind is None:
        raise ConfigError(f"unknown setting {name!r}")
    if name in ("include", "exclude"):
        if not isinstance(value, str | list | tuple) or (
            not isinstance(value, str) and not all(isinstance(v, str) for v in value)
        ):
            raise ConfigError(f"{name!r} must be a list of glob patterns")
        return split_patterns(value)
    if kind == "int":
        if isinstance(value, bool):
            raise ConfigError(f"{name!r} must be a whole number, not {_show(value)}")
        try:
            number = int(str(value).strip())
        except ValueError:
            raise ConfigError(f"{name!r} must be a whole number, not {_show(value)}") from None
        if number < 0 or (number == 0 and name != "max_comments"):
            raise ConfigError(f"{name!r} must be positive, not {number}")
        if name == "max_output_tokens" and number < 16:
            raise ConfigError(f"'max_output_tokens' must be at least 16, not {number}")
        return number
    if kind == "float":
        try:
            number_f = float(str(value).strip()) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError):
            number_f = math.nan
        if not math.isfinite(number_f) or number_f <= 0:
            raise ConfigError(f"{name!r} must be a positive number, not {_show(value)}")
        return number_f
    if kind == "bool":
        return parse_bool(name, value)
    if kind == "Path | None":
        return Path(str(value))
    if not isinstance(value, str):
        raise ConfigError(f"{name!r} must be text, not {_show(value)}")
    value = value.strip() if name != "instructions" else value
    if name == "severity_threshold" and value.lower() not in SEVERITIES:
        raise ConfigError(f"{name!r} must be one of {', '.join(SEVERITIES)}, not {_show(value)}")
    if name == "reasoning_effort" and value.lower() not in EFFORTS:
        raise ConfigError(f"{name!r} must be one of {', '.join(EFFORTS)}, not {_show(value)}")
    if name in ("severity_threshold", "reasoning_effort"):
        return value.lower()
    if name in ("model", "base_url") and not value:
        raise ConfigError(f"{name!r} must not be empty")
    if name == "base_url":
        _check_base_url(value)
    return value


LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def _check_base_url(value: str) -> None:
    """https, or http to this machine only: the key must not cross a network in clear."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ConfigError("'base_url' is not a valid URL") from None
    if parts.scheme not in ("https", "http") or not host:
        raise ConfigError("'base_url' must be an https:// URL with a host name")
    if parts.scheme == "http" and host not in LOCAL_HOSTS and not host.startswith("127."):
        raise ConfigError(
            "'base_url' must use https:// (http:// is allowed only for localhost): "
            "the API key would travel in clear text"
        )


def _show(value: Any) -> str:
    """A value for an error message: short, whatever the input (no 80 MB messages)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_bool(name: str, value: Any) -> bool:
    """true/false (also yes/no, on/off, 1/0) or ConfigError naming the setting."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off", ""):
        return False
    raise ConfigError(f"{name!r} must be true or false, not {_show(value)}")

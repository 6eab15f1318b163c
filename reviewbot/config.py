"""Settings from defaults, the repository's config file and explicit options → one frozen Config."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from reviewbot.cost import Prices, parse_prices
from reviewbot.errors import ConfigError
from reviewbot.filters import split_patterns
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
    context: str = "scope"  # diff: hunks only; scope: hunks widened to their enclosing scope
    # agent: hunks, and read-only tools over the reviewed code, within these budgets per part
    agent_turns: int = 8
    agent_tool_calls: int = 16
    agent_result_bytes: int = 3_000
    agent_tokens: int = 10_000
    context_lines: int = 160  # most lines of scope context added around one hunk
    path_instructions: tuple[tuple[str, str], ...] = ()  # (glob, instructions) from the file
    reply_to: str = "writers_and_author"  # who the bot answers in its threads
    max_replies: int = 20  # bot replies per pull request, counted from its threads
    walkthrough: bool = True  # one PR comment with the overview, edited by every review
    wire_api: str = "responses"  # or "chat": Chat Completions, for servers without /responses
    verify: bool = True  # a second request checks each part's findings (reviewbot.verify)
    min_confidence: float = 0.5  # findings the model rates below it are listed, not posted
    max_tokens_per_run: int | None = None  # a hard cap on what a run sends and receives
    max_usd_per_run: float | None = None  # the same in US$ (needs `prices` for the model)
    prices: Prices = ()  # (model, US$ per million input, cached input, output tokens)

    @property
    def scope_context(self) -> bool:
        """Hunks widened to their enclosing scope: `scope`, and `agent` (which adds tools)."""
        return self.context in ("scope", "agent")

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
        "context",
        "context_lines",
        "agent_turns",
        "agent_tool_calls",
        "agent_result_bytes",
        "agent_tokens",
        "path_instructions",
        "reply_to",
        "max_replies",
        "walkthrough",
        "verify",
        "min_confidence",
        "max_tokens_per_run",
        "max_usd_per_run",
        "prices",
    }
)


MAX_YAML_DEPTH = 16  # the deepest setting (path_instructions) needs 3 levels


def parse_config_file(text: str, source: str) -> dict[str, Any]:
    """Parse and check a YAML config file; a bad key or value is an error naming it."""
    import yaml  # only needed when a config file is present

    try:
        _check_yaml_shape(text, source)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{source}{where}: not valid YAML") from exc
    except ValueError:  # e.g. an integer of thousands of digits (Python's conversion limit)
        raise ConfigError(f"{source}: a value is too large to read") from None
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


def raw_settings(text: str, source: str) -> dict[str, Any]:
    """The file's settings as written, keys in their underscore form, after every check
    parse_config_file makes (ConfigError naming what is wrong): for merging two files into
    one text before it is parsed."""
    import yaml

    parse_config_file(text, source)
    data = yaml.safe_load(text) or {}
    return {str(key).replace("-", "_"): value for key, value in data.items()}


def _check_yaml_shape(text: str, source: str) -> None:
    """Refuse anchors, aliases and deep nesting from the parser's events, before anything is
    built: an alias repeats a value without copying it, so a few hundred bytes can stand for
    billions of values once a check walks or prints them, and building a deeply nested value
    recurses. The event parser itself is a loop; it reads the text once."""
    import yaml

    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1 if event.start_mark is not None else 0
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise ConfigError(
                f"{source} line {line}: YAML anchors and aliases (&name, *name, <<) are not "
                "allowed in the config; write the value out"
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise ConfigError(
                    f"{source} line {line}: nested more than {MAX_YAML_DEPTH} levels deep"
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


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
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text") from None
    return parse_config_file(text, str(path))


def _check(name: str, value: Any) -> Any:
    """Coerce one setting with its parser from the table, or raise ConfigError naming it."""
    parse = _PARSERS.get(name)
    if parse is None:
        raise ConfigError(f"unknown setting {name!r}")
    return parse(name, value)


Parser = Callable[[str, Any], Any]


def _whole(minimum: int) -> Parser:
    def parse(name: str, value: Any) -> int:
        try:
            number = int(str(value).strip()) if not isinstance(value, bool) else None
        except ValueError:
            number = None
        if number is None:
            raise ConfigError(f"{name!r} must be a whole number, not {_show(value)}")
        if number < minimum:
            limit = "positive" if minimum == 1 else f"at least {minimum}"
            raise ConfigError(f"{name!r} must be {limit}, not {number}")
        return number

    return parse


def _positive(name: str, value: Any) -> float:
    try:
        number = float(str(value).strip()) if not isinstance(value, bool) else math.nan
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number <= 0:
        raise ConfigError(f"{name!r} must be a positive number, not {_show(value)}")
    return number


def _fraction(name: str, value: Any) -> float:
    try:
        number = float(str(value).strip()) if not isinstance(value, bool) else math.nan
    except ValueError:
        number = math.nan
    if not 0 <= number <= 1:
        raise ConfigError(f"{name!r} must be a number from 0 to 1, not {_show(value)}")
    return number


def _text(strip: bool = True, required: bool = False) -> Parser:
    def parse(name: str, value: Any) -> str:
        if not isinstance(value, str):
            raise ConfigError(f"{name!r} must be text, not {_show(value)}")
        text = value.strip() if strip else value
        if required and not text:
            raise ConfigError(f"{name!r} must not be empty")
        return text

    return parse


def _choice(options: tuple[str, ...]) -> Parser:
    def parse(name: str, value: Any) -> str:
        text = str(_text()(name, value)).lower()
        if text not in options:
            raise ConfigError(f"{name!r} must be one of {', '.join(options)}, not {_show(value)}")
        return text

    return parse


def _patterns(name: str, value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(v, str) for v in items):
        raise ConfigError(f"{name!r} must be a list of glob patterns")
    return split_patterns(value)


def _path_instructions(name: str, value: Any) -> tuple[tuple[str, str], ...]:
    """A list of {path: glob, instructions: text}."""
    if not isinstance(value, list | tuple):
        raise ConfigError(f"{name!r} must be a list of {{path: glob, instructions: text}}")
    out = []
    for item in value:
        if isinstance(item, tuple) and len(item) == 2:  # already parsed (settings re-applied)
            item = {"path": item[0], "instructions": item[1]}
        if not isinstance(item, dict) or set(item) != {"path", "instructions"}:
            raise ConfigError(f"{name!r} must be a list of {{path: glob, instructions: text}}")
        path, text = item["path"], item["instructions"]
        if not isinstance(path, str) or not isinstance(text, str) or not path.strip():
            raise ConfigError(f"{name!r} entries need a glob `path` and text `instructions`")
        out.append((path.strip(), text))
    return tuple(out)


def _url(name: str, value: Any) -> str:
    text = str(_text(required=True)(name, value))
    _check_base_url(text)
    return text


_PARSERS: dict[str, Parser] = {
    "model": _text(required=True),
    "base_url": _url,
    "api_key": _text(),
    "reasoning_effort": _choice(EFFORTS),
    "max_comments": _whole(0),
    "include": _patterns,
    "exclude": _patterns,
    "instructions": _text(strip=False),
    "prompts_dir": lambda _name, value: Path(str(value)),
    "severity_threshold": _choice(SEVERITIES),
    "review_drafts": lambda name, value: parse_bool(name, value),
    "max_request_tokens": _whole(1),
    "max_total_tokens": _whole(1),
    "max_output_tokens": _whole(16),  # the API's minimum
    "concurrency": _whole(1),
    "timeout": _positive,
    "timeout_minutes": _positive,
    "context": _choice(("diff", "scope", "agent")),
    "context_lines": _whole(0),
    "agent_turns": _whole(1),
    "agent_tool_calls": _whole(0),
    "agent_result_bytes": _whole(500),
    "agent_tokens": _whole(0),
    "path_instructions": lambda name, value: _path_instructions(name, value),
    "reply_to": _choice(("writers", "writers_and_author", "anyone")),
    "max_replies": _whole(0),
    "walkthrough": lambda name, value: parse_bool(name, value),
    "wire_api": _choice(("responses", "chat")),
    "verify": lambda name, value: parse_bool(name, value),
    "min_confidence": lambda name, value: _fraction(name, value),
    "max_tokens_per_run": _whole(1),
    "max_usd_per_run": _positive,
    "prices": parse_prices,
}
assert set(_PARSERS) == {f.name for f in fields(Config)}, "every Config field needs a parser"


def is_loopback(host: str) -> bool:
    """`localhost` or a loopback address literal (127.0.0.0/8, ::1); never a name that merely
    starts with "127." (`127.attacker.example` is somebody else's machine)."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
    if parts.scheme == "http" and not is_loopback(host):
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

"""Configuration: the YAML file and explicit settings become one checked Config."""

from __future__ import annotations

import time

import pytest

from reviewbot.config import Config, parse_config_file
from reviewbot.errors import ConfigError


def test_a_valid_file_sets_its_keys() -> None:
    values = parse_config_file(
        "exclude: ['docs/**', '*.snap']\nmax-comments: 5\nreview_drafts: yes\n"
        "severity_threshold: MAJOR\ninstructions: |\n  Be brief.\n",
        "cfg",
    )
    config = Config().with_overrides(values)
    assert config.exclude == ("docs/**", "*.snap")
    assert config.max_comments == 5 and config.review_drafts is True
    assert config.severity_threshold == "major"
    assert config.instructions == "Be brief.\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("max_comments: many\n", "cfg: 'max_comments' must be a whole number, not 'many'"),
        (
            "severity_threshold: high\n",
            "cfg: 'severity_threshold' must be one of critical, major, minor, nit",
        ),
        ("review_drafts: maybe\n", "cfg: 'review_drafts' must be true or false, not 'maybe'"),
        ("exclude: 3\n", "cfg: 'exclude' must be a list of glob patterns"),
        ("api_key: sk-123\n", "cfg: unknown key 'api_key'"),
        ("- a\n- b\n", "cfg: expected a mapping of settings at the top level"),
        ("a: [\n", "cfg line 2: not valid YAML"),
        ("max_total_tokens: 0\n", "cfg: 'max_total_tokens' must be positive, not 0"),
        ("walkthrough: sometimes\n", "cfg: 'walkthrough' must be true or false, not 'sometimes'"),
    ],
)
def test_bad_files_name_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config_file(text, "cfg")
    assert str(err.value).startswith(message)


def test_empty_file_changes_nothing() -> None:
    assert (
        parse_config_file("", "cfg") == {} and parse_config_file("# only a comment\n", "cfg") == {}
    )


def test_base_url_must_be_http() -> None:
    with pytest.raises(ConfigError, match="'base_url' must be an http"):
        Config().with_overrides({"base_url": "ftp://x"})


def test_the_key_never_shows_in_repr() -> None:
    assert "sk-secret" not in repr(Config(api_key="sk-secret"))


def test_the_example_config_is_valid() -> None:
    from reviewbot.config import Config, parse_config_file
    from tests.conftest import ROOT

    text = (ROOT / "examples" / "config" / "reviewbot.yml").read_text()
    config = Config().with_overrides(parse_config_file(text, "examples/config/reviewbot.yml"))
    assert config.reply_to == "writers_and_author" and config.context == "scope"
    assert config.path_instructions[0][0] == "**/migrations/**"


def billion_laughs(key: str) -> str:
    """Nine levels of nine aliases under one allowed key: 387 million strings in ~400 bytes."""
    levels = ["  - &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"  - &{name} [{','.join([f'*{prev}'] * 9)}]")
    return f"{key}:\n" + "\n".join(levels) + "\n"


@pytest.mark.parametrize("key", ["max_comments", "instructions", "exclude"])
def test_yaml_aliases_are_refused_at_once_with_one_clear_line(key: str) -> None:
    text = billion_laughs(key)
    assert len(text) < 500
    start = time.perf_counter()
    with pytest.raises(ConfigError) as exc:
        parse_config_file(text, "cfg")
    assert time.perf_counter() - start < 1.0  # was 35 s and 1.1 GB for such a file
    assert str(exc.value) == (
        "cfg line 2: YAML anchors and aliases (&name, *name, <<) are not allowed in the config; "
        "write the value out"
    )


def test_an_anchor_or_a_merge_key_alone_is_refused_too() -> None:
    with pytest.raises(ConfigError, match="cfg line 2: YAML anchors and aliases"):
        parse_config_file("max_comments: 5\ninstructions: &note Be brief.\n", "cfg")
    with pytest.raises(ConfigError, match="anchors and aliases"):
        parse_config_file("base: &b {max_comments: 5}\n<<: *b\n", "cfg")


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000,
        "- " * 100_000,
        "instructions: " + "{a: " * 50_000,
        "x:\n" + "".join(" " * i + "y:\n" for i in range(1, 5_000)),
    ],
)
def test_deeply_nested_yaml_is_one_clear_line_not_a_recursion_error(text: str) -> None:
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=r"^cfg line \d+: nested more than 16 levels deep$"):
        parse_config_file(text, "cfg")
    assert time.perf_counter() - start < 1.0


def test_nesting_a_config_needs_still_parses() -> None:
    values = parse_config_file(
        "path_instructions:\n  - path: 'src/**'\n    instructions: |\n      Check bounds.\n"
        "include: [src/**, lib/**]\n",
        "cfg",
    )
    assert values["path_instructions"] == (("src/**", "Check bounds.\n"),)
    assert values["include"] == ("src/**", "lib/**")


def test_an_integer_of_thousands_of_digits_is_one_clear_line() -> None:
    with pytest.raises(ConfigError, match="too large to read"):
        parse_config_file("max_comments: " + "9" * 5000 + "\n", ".github/reviewbot.yml")

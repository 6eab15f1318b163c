"""Configuration: the YAML file and explicit settings become one checked Config."""

from __future__ import annotations

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

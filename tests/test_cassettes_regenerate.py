"""The committed cassettes are exactly what their builders write: a scenario edited without
regenerating, a builder that is not deterministic, or a cassette no builder writes any more
fails here, naming the file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests import agent_cassettes, llm_cassettes, make_cassettes, pr_cassettes
from tests.conftest import CASSETTES

BUILDERS: dict[str, Callable[[Path], None]] = {
    "agent": agent_cassettes.main,  # and agent/chat
    "action": make_cassettes.main,
    "llm": llm_cassettes.main,  # and llm/chat
    "pr": pr_cassettes.main,
}


def files_under(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize("folder", sorted(BUILDERS))
def test_regenerating_the_cassettes_is_byte_identical(folder: str, tmp_path: Path) -> None:
    BUILDERS[folder](tmp_path)
    built, committed = files_under(tmp_path), files_under(CASSETTES / folder)
    assert sorted(built) == sorted(committed), "cassettes written and committed differ"
    stale = [name for name in built if built[name] != committed[name]]
    assert not stale, f"regenerate with `python -m tests.<builder>`: {stale}"


def test_every_cassette_folder_has_a_builder() -> None:
    assert sorted(p.name for p in CASSETTES.iterdir() if p.is_dir()) == sorted(BUILDERS)

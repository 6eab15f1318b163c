from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import vcr

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
DATA = TESTS / "data"
CASSETTES = TESTS / "cassettes"
FAKE_KEY = "sk-test-not-a-real-key-1234567890"


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test depends on the machine's GitHub, Actions or key variables."""
    for name in list(os.environ):
        if name.startswith(("GITHUB_", "INPUT_", "RUNNER_")) or name in (
            "REVIEWBOT_API_KEY",
            "OPENAI_API_KEY",
            "CI",
        ):
            monkeypatch.delenv(name, raising=False)
    yield


def cassette_vcr(module: str) -> vcr.VCR:
    return vcr.VCR(
        cassette_library_dir=str(CASSETTES / module),
        record_mode="none",
        filter_headers=["authorization"],
        match_on=["method", "scheme", "host", "port", "path"],
    )

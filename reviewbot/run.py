"""A run: one value holding what every flow needs, so two runs in one process (a worker
serving many repositories) share nothing by accident: not the token, not the model client,
not the secrets their logs hide."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from reviewbot.config import Config
from reviewbot.model import Model
from reviewbot.ours import Us
from reviewbot.publish import Publisher
from reviewbot.pulls import GitHub
from reviewbot.redact import Redactor


@dataclass(frozen=True, slots=True)
class Run:
    """Config (the base branch's, under the entry's settings), GitHub, the model, where
    writes go, the clock deadlines are measured on, and the redactor of everything the run
    writes (its log records too, while the run is active: `Redactor.active`), and where a
    local clone is (the Action's workspace)."""

    config: Config
    github: GitHub
    model: Model
    publisher: Publisher
    redact: Redactor = field(default_factory=Redactor)
    clock: Callable[[], float] = time.monotonic
    workspace: Path | None = None  # a clone that may hold the reviewed commits (agent mode)

    @property
    def us(self) -> Us:
        """Which of what GitHub returns is the bot's own."""
        return Us(self.github)

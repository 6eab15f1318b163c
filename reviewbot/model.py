"""What the pipeline exchanges with a model, independent of how it is called (no httpx here)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    requests: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_tokens + other.cached_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
            self.requests + other.requests,
        )


@dataclass(frozen=True, slots=True)
class ModelRequest:
    instructions: str
    input: str


@dataclass(frozen=True, slots=True)
class ModelReply:
    """What one request produced: the output text, or the problem that prevented it.

    `problem` is safe to publish (it never quotes the server); `split` asks the pipeline to
    retry the request's content in smaller parts; `timed_out` means the deadline passed.
    """

    text: str | None
    usage: Usage
    problem: str | None = None
    split: bool = False
    timed_out: bool = False


class Model(Protocol):
    """What the pipeline needs from a model client (ResponsesClient, or a fake in tests)."""

    def run(
        self,
        requests: Sequence[ModelRequest],
        on_done: Callable[[int, int], None] | None = None,
        deadline: float | None = None,
    ) -> list[ModelReply]:
        """One reply per request, in order; `deadline` is a `time.monotonic()` value."""
        ...

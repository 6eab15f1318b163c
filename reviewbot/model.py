"""What the pipeline exchanges with a model, independent of how it is called (no httpx here).

A request is a conversation so far: instructions, input items (messages, function calls and
their outputs, reasoning), the schema the final answer must follow and the tools the model may
call. A reply is every output item in order, the usage and the final text. A one-shot review or
thread answer is the one-item case (`ModelRequest.ask`). The request carries its own schema, so
the runner and its codecs know no flow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


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
class Message:
    """Text from the user, the model (`assistant`) or the system. `phase` is the Responses
    API's label on a model message (`commentary` or `final_answer`; None: unlabelled)."""

    role: str
    text: str
    phase: str | None = None
    refusal: str | None = None  # the model declined; its words, for the log only


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """The model asks for a tool: `arguments` is JSON text, `call_id` pairs it with its output."""

    call_id: str
    name: str
    arguments: str
    id: str = ""  # the Responses API's item id (fc_…), when it gave one


@dataclass(frozen=True, slots=True)
class FunctionCallOutput:
    """What a tool answered, sent back in the next request."""

    call_id: str
    output: str


@dataclass(frozen=True, slots=True)
class Reasoning:
    """The model's reasoning item; only its `encrypted_content` can be sent back (stateless)."""

    id: str
    encrypted_content: str | None = None
    summary: tuple[str, ...] = ()


Item = Message | FunctionCall | FunctionCallOutput | Reasoning


@dataclass(frozen=True, slots=True)
class OutputSchema:
    """The strict JSON schema the final answer follows, and `check`: what is wrong with an
    answer text (None: usable); an unusable answer is asked for again."""

    name: str
    schema: Mapping[str, Any]
    check: Callable[[str], str | None] | None = None


def answers(items: Sequence[Item]) -> list[Message]:
    """The model's answer among its output: its messages not labelled as commentary."""
    return [
        i
        for i in items
        if isinstance(i, Message) and i.role == "assistant" and i.phase in (None, "final_answer")
    ]


@dataclass(frozen=True, slots=True)
class Tool:
    """A function the model may call; `parameters` is a strict JSON schema."""

    name: str
    description: str
    parameters: Mapping[str, Any]

    def function(self) -> dict[str, Any]:
        """The function as both wire formats describe it (strict: the schema is enforced)."""
        return {
            "name": self.name,
            "description": self.description,
            "parameters": dict(self.parameters),
            "strict": True,
        }


# One key for every reviewbot request: requests share their instructions, so the endpoint's
# prompt cache can route them together.
CACHE_KEY = "reviewbot-review-v1"


@dataclass(frozen=True, slots=True)
class ModelRequest:
    instructions: str
    items: tuple[Item, ...]
    output: OutputSchema | None = None  # None: free text
    tools: tuple[Tool, ...] = ()
    cache_key: str = CACHE_KEY
    tool_choice: str = "auto"  # with tools: auto, or none (the final answer, without tools)

    @classmethod
    def ask(cls, instructions: str, text: str, output: OutputSchema | None) -> ModelRequest:
        """The one-shot case: one user message."""
        return cls(instructions, (Message("user", text),), output)

    @property
    def input(self) -> str:
        """The text of the user's messages (a one-shot request's whole input)."""
        return "\n\n".join(
            i.text for i in self.items if isinstance(i, Message) and i.role == "user"
        )


@dataclass(frozen=True, slots=True)
class ModelReply:
    """What one request produced: the final text, or the problem that prevented it.

    `problem` is safe to publish (it never quotes the server); `split` asks the pipeline to
    retry the request's content in smaller parts; `timed_out` means the deadline passed.
    `items` are all output items in order; a reply with function calls has no text and no
    problem: the caller runs the tools and asks again with the calls and their outputs.
    """

    text: str | None
    usage: Usage
    problem: str | None = None
    split: bool = False
    timed_out: bool = False
    items: tuple[Item, ...] = ()

    @property
    def calls(self) -> tuple[FunctionCall, ...]:
        return tuple(i for i in self.items if isinstance(i, FunctionCall))


class Model(Protocol):
    """What the pipeline needs from a model client (the runner, or a fake in tests)."""

    def run(
        self,
        requests: Sequence[ModelRequest],
        on_done: Callable[[int, int], None] | None = None,
        deadline: float | None = None,
    ) -> list[ModelReply]:
        """One reply per request, in order; `deadline` is a `time.monotonic()` value."""
        ...

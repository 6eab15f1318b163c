"""What a run may spend: prices per model, and the meter the runner consults before every
request it sends (first attempts, its own retries and re-asks alike).

The meter reserves each request's worst case before it goes out (its input, estimated from the
body's size, plus every output token it allows) and records what was actually spent when the
answer comes back. A run whose next request would not fit stops asking: the cap holds under
concurrency, since reservations in flight count, and under retry storms, since a failed attempt
is counted as sent (its input, estimated) although no usage comes back for it.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from reviewbot.errors import ConfigError
from reviewbot.model import Usage

COST_LIMIT = "stopped at the cost limit"
# A request body's bytes per token, an over-estimate: JSON escaping and the schema make a body
# longer than its text, and code tokenises at about 3.2 characters a token (reviewbot.chunking).
BYTES_PER_TOKEN = 3.2
PRICE_KEYS = ("input", "cached_input", "output")


class Price(NamedTuple):
    """US$ per million tokens (a tuple: settings are printed as JSON by `eval`)."""

    input: float
    cached_input: float
    output: float

    def of(self, usage: Usage) -> float:
        """What `usage` costs: cached input at its own price, reasoning inside output."""
        cached = min(usage.cached_tokens, usage.input_tokens)
        fresh = usage.input_tokens - cached
        return (
            fresh * self.input + cached * self.cached_input + usage.output_tokens * self.output
        ) / 1e6

    def worst(self, input_tokens: int, output_tokens: int) -> float:
        """The most a request can cost: nothing from cache, every output token used."""
        return (input_tokens * self.input + output_tokens * self.output) / 1e6


Prices = tuple[tuple[str, Price], ...]  # (model id, price), as the config holds them


def price_for(prices: Prices, model: str) -> Price | None:
    return dict(prices).get(model)


def parse_prices(name: str, value: Any) -> Prices:
    """`{<model>: {input: N, cached_input: N, output: N}}` (US$ per million tokens;
    `cached_input` defaults to `input`), or ConfigError naming what is wrong."""
    if isinstance(value, tuple):  # already parsed (settings re-applied)
        return value
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{name!r} must map a model id to {{input: N, cached_input: N, output: N}} "
            "(US$ per million tokens)"
        )
    out: list[tuple[str, Price]] = []
    for model, entry in value.items():
        if not isinstance(entry, Mapping) or not set(entry) <= set(PRICE_KEYS):
            raise ConfigError(
                f"{name!r}: {str(model)[:60]!r} needs {{input: N, cached_input: N, output: N}}"
            )
        numbers: dict[str, float] = {}
        for key in PRICE_KEYS:
            raw = entry.get(key, entry.get("input") if key == "cached_input" else None)
            number = _number(raw)
            if number is None:
                raise ConfigError(
                    f"{name!r}: {key} of {str(model)[:60]!r} must be a number of US$ per "
                    f"million tokens (0 or more), not {str(raw)[:40]!r}"
                )
            numbers[key] = number
        out.append((str(model), Price(**numbers)))
    return tuple(out)


def _number(raw: object) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        return None
    try:
        number = float(raw)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def estimate_tokens(payload_bytes: int) -> int:
    return math.ceil(payload_bytes / BYTES_PER_TOKEN)


def usd(amount: float) -> str:
    """Money as the reports show it: `$0.07`; a cent's fraction is not hidden as `$0.00`."""
    return f"${amount:,.2f}" if amount == 0 or amount >= 0.005 else "<$0.01"


class CostLimitReached(Exception):
    """The next request would not fit under the run's cap: the run stops asking."""


@dataclass(frozen=True, slots=True)
class Ticket:
    """One attempt's reservation: its worst case, released when the attempt is settled."""

    input_tokens: int
    output_tokens: int
    usd: float


class Meter:
    """The run's spending, shared by the runner's threads. No cap: it only counts."""

    def __init__(
        self,
        max_tokens: int | None = None,
        max_usd: float | None = None,
        price: Price | None = None,
    ) -> None:
        self.max_tokens, self.max_usd, self.price = max_tokens, max_usd, price
        self._lock = threading.Condition()
        self._charged_tokens = 0  # tokens counted against the cap (failed attempts included)
        self._charged_usd = 0.0
        self._held_tokens = 0  # reservations in flight
        self._held_usd = 0.0
        self._stopped = False

    @property
    def stopped(self) -> bool:
        """True once a request was refused: every later one is refused too."""
        return self._stopped

    @property
    def tokens(self) -> int:
        """Tokens counted against the cap so far."""
        return self._charged_tokens

    def reserve(
        self,
        payload_bytes: int,
        max_output_tokens: int,
        gave_up: Callable[[], bool] = lambda: False,
    ) -> Ticket:
        """Hold the worst case of one attempt, or raise CostLimitReached. While other attempts
        are in flight, one that does not fit waits for them: their answers usually spend far
        less than they held. `gave_up`: the run is over, stop waiting."""
        tokens_in = estimate_tokens(payload_bytes)
        money = self.price.worst(tokens_in, max_output_tokens) if self.price else 0.0
        with self._lock:
            while not self._stopped and not self._fits(tokens_in + max_output_tokens, money):
                if self._held_tokens == 0 and self._held_usd <= 0:
                    self._stopped = True  # nothing in flight will free room: stop asking
                    break
                if gave_up():
                    raise CostLimitReached(COST_LIMIT)
                self._lock.wait(0.5)
            if self._stopped:
                raise CostLimitReached(COST_LIMIT)
            self._held_tokens += tokens_in + max_output_tokens
            self._held_usd += money
        return Ticket(tokens_in, max_output_tokens, money)

    def _fits(self, tokens: int, money: float) -> bool:
        over_tokens = self.max_tokens is not None and (
            self._charged_tokens + self._held_tokens + tokens > self.max_tokens
        )
        over_usd = self.max_usd is not None and (
            self._charged_usd + self._held_usd + money > self.max_usd
        )
        return not (over_tokens or over_usd)

    def settle(self, ticket: Ticket, usage: Usage | None) -> None:
        """Release `ticket` and count what the attempt spent: the reported usage, or, when
        none came back (an error, a dropped connection), its input as sent."""
        if usage is None or usage.input_tokens + usage.output_tokens == 0:
            spent_tokens = ticket.input_tokens
            spent_usd = self.price.worst(ticket.input_tokens, 0) if self.price else 0.0
        else:
            spent_tokens = usage.input_tokens + usage.output_tokens
            spent_usd = self.price.of(usage) if self.price else 0.0
        with self._lock:
            self._held_tokens -= ticket.input_tokens + ticket.output_tokens
            self._held_usd -= ticket.usd
            self._charged_tokens += spent_tokens
            self._charged_usd += spent_usd
            self._lock.notify_all()


def meter_for(max_tokens: int | None, max_usd: float | None, prices: Prices, model: str) -> Meter:
    """The meter of a run of `model` with these settings (ConfigError: a money cap without
    the model's price)."""
    price = price_for(prices, model)
    if max_usd is not None and price is None:
        known = ", ".join(m for m, _ in prices) or "none"
        raise ConfigError(
            f"'max_usd_per_run' needs the price of {model!r} under 'prices' (priced: {known})"
        )
    return Meter(max_tokens, max_usd, price)

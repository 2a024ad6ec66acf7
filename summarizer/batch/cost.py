"""Token usage, prices and the budget of a batch.

Prices are US dollars per million tokens (input, output), for common hosted
models as published by their providers; a local server or the embedded
engine costs nothing. The table is a default: ``--prices FILE`` (JSON
``{"model": {"input": X, "output": Y}}``) overrides or extends it. A model
without a price has an unknown cost, and a dollar budget then refuses to run.

The budget is checked **before** a document starts, against its worst case:
``validation_attempts x (1 + grounding_reasks)`` completions, each billed its
estimated prompt tokens plus the whole output-token limit. Documents in
flight hold their worst case until they finish and their real usage replaces
it; so a job never exceeds its budget, and what it did not start a rerun with
a higher budget picks up.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from summarizer.config import Settings
from summarizer.errors import ConfigError
from summarizer.inputs import Document

__all__ = [
    "PRICES",
    "Budget",
    "Price",
    "Tally",
    "add_usage",
    "load_prices",
    "price_for",
    "usage_dict",
    "worst_case_usage",
]


_USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")


def usage_dict(prompt_tokens: int = 0, completion_tokens: int = 0) -> dict[str, int]:
    """An OpenAI-shaped usage dict (``total_tokens`` is the sum of the other two)."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def add_usage(total: dict[str, int], more: dict[str, int]) -> None:
    """Add the usage ``more`` into ``total``, key by key."""
    for key in _USAGE_KEYS:
        total[key] = total.get(key, 0) + more.get(key, 0)


@dataclass(frozen=True)
class Price:
    """US dollars per million input (prompt) and output (completion) tokens."""

    input: float
    output: float

    def cost(self, usage: dict[str, int]) -> float:
        """Dollars for an OpenAI-shaped usage dict."""
        return (
            usage.get("prompt_tokens", 0) * self.input
            + usage.get("completion_tokens", 0) * self.output
        ) / 1_000_000


# USD per 1M tokens, standard (not batch-discounted) rates.
PRICES: dict[str, Price] = {
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-5": Price(1.25, 10.00),
    "gpt-5-mini": Price(0.25, 2.00),
    "gpt-5-nano": Price(0.05, 0.40),
    "o3-mini": Price(1.10, 4.40),
    "o4-mini": Price(1.10, 4.40),
    "gpt-3.5-turbo": Price(0.50, 1.50),
}
_FREE = Price(0.0, 0.0)


def load_prices(path: Path) -> dict[str, Price]:
    """Read a price file: ``{"model": {"input": X, "output": Y}}`` in USD per 1M tokens.

    Raises:
        ConfigError: unreadable, not JSON, or a price that is not a non-negative number.
    """
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read prices from {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: prices must be a JSON object of models")
    table: dict[str, Price] = {}
    for model, entry in data.items():
        values = [entry.get(k) for k in ("input", "output")] if isinstance(entry, dict) else []
        numbers = [
            float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)
        ]
        if len(numbers) != 2 or min(numbers) < 0:
            raise ConfigError(f'{path}: {model!r} needs numeric "input" and "output" >= 0')
        table[str(model)] = Price(numbers[0], numbers[1])
    return table


def price_for(
    model: str, settings: Settings, overrides: dict[str, Price] | None = None
) -> Price | None:
    """The price of ``model``: an override, the table, free when local, else unknown."""
    table = {**PRICES, **(overrides or {})}
    if model in table:
        return table[model]
    if settings.provider == "embedded":
        return _FREE
    if settings.provider == "openai":
        # Dated snapshots ("gpt-4o-mini-2024-07-18") cost what their family costs.
        family = max((m for m in table if model.startswith(m + "-")), key=len, default=None)
        return table[family] if family else None
    return None


def worst_case_usage(document: Document, settings: Settings) -> dict[str, int]:
    """The most tokens one document can be billed for (see the module docstring)."""
    completions = settings.validation_attempts * (1 + settings.grounding_reasks)
    # chars/4 of the document, plus the system prompt and field guide (~1,000 tokens).
    prompt = len(document.text) // 4 + 1000
    return {
        "prompt_tokens": completions * prompt,
        "completion_tokens": completions * settings.max_output_tokens,
        "total_tokens": completions * (prompt + settings.max_output_tokens),
    }


@dataclass
class Tally:
    """Usage and cost summed over every attempt of every document."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def add(self, usage: dict[str, int], price: Price | None) -> None:
        """Count one document's usage (its cost is unknown without a price)."""
        self.prompt_tokens += usage.get("prompt_tokens", 0)
        self.completion_tokens += usage.get("completion_tokens", 0)
        if price is None:
            self.cost_usd = None
        elif self.cost_usd is not None:
            self.cost_usd += price.cost(usage)


@dataclass
class Budget:
    """Token and dollar limits; holds each in-flight document's worst case.

    ``reserve`` says whether a document may start. It is refused when its worst
    case does not fit what is left after spending and in-flight reservations.
    """

    max_tokens: int | None = None
    max_usd: float | None = None
    price: Price | None = None
    spent_tokens: int = 0
    spent_usd: float = 0.0
    _held_tokens: int = 0
    _held_usd: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.max_usd is not None and self.price is None:
            raise ConfigError(
                "--budget-usd needs a price for this model: give one with --prices FILE"
            )

    @property
    def limited(self) -> bool:
        """Whether any limit is set."""
        return self.max_tokens is not None or self.max_usd is not None

    def _usd(self, usage: dict[str, int]) -> float:
        return self.price.cost(usage) if self.price is not None else 0.0

    def fits(self, worst: dict[str, int], *, alone: bool = False) -> bool:
        """Whether ``worst`` fits now (``alone``: if nothing else were in flight)."""
        with self._lock:
            held_t = 0 if alone else self._held_tokens
            held_u = 0.0 if alone else self._held_usd
            if self.max_tokens is not None:
                if self.spent_tokens + held_t + worst["total_tokens"] > self.max_tokens:
                    return False
            if self.max_usd is not None:
                if self.spent_usd + held_u + self._usd(worst) > self.max_usd:
                    return False
            return True

    def reserve(self, worst: dict[str, int]) -> bool:
        """Hold ``worst`` for a starting document if it fits; say whether it did."""
        if not self.fits(worst):
            return False
        with self._lock:
            self._held_tokens += worst["total_tokens"]
            self._held_usd += self._usd(worst)
        return True

    def release(self, worst: dict[str, int] | None, used: dict[str, int]) -> None:
        """Replace a reservation (or nothing) by what the document really used."""
        with self._lock:
            if worst is not None:
                self._held_tokens -= worst["total_tokens"]
                self._held_usd -= self._usd(worst)
            self.spent_tokens += used.get("total_tokens", 0)
            self.spent_usd += self._usd(used)

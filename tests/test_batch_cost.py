"""Prices, usage tallies and the budget's worst-case admission."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from summarizer.batch.cost import Budget, Price, Tally, load_prices, price_for, worst_case_usage
from summarizer.config import Settings
from summarizer.errors import ConfigError
from summarizer.inputs import document_from_text

USAGE = {"prompt_tokens": 1_000_000, "completion_tokens": 500_000, "total_tokens": 1_500_000}


def test_price_cost() -> None:
    assert Price(0.15, 0.60).cost(USAGE) == pytest.approx(0.15 + 0.30)


def test_price_lookup() -> None:
    openai = Settings(provider="openai", model="gpt-4o-mini")
    assert price_for("gpt-4o-mini", openai) == Price(0.15, 0.60)
    assert price_for("gpt-4o-mini-2024-07-18", openai) == Price(0.15, 0.60)
    assert price_for("mystery", openai) is None
    assert price_for("qwen", Settings(provider="embedded", model="qwen")) == Price(0, 0)
    assert price_for("llama3", Settings(provider="compatible", model="llama3")) is None
    local = Settings(provider="compatible", model="llama3")
    assert price_for("llama3", local, {"llama3": Price(0.01, 0.02)}) == Price(0.01, 0.02)


def test_price_file(tmp_path: Path) -> None:
    good = tmp_path / "p.json"
    good.write_text(json.dumps({"my-model": {"input": 1, "output": 2.5}}))
    assert load_prices(good) == {"my-model": Price(1.0, 2.5)}
    for bad in ([1], {"m": {"input": "1", "output": 2}}, {"m": {"input": -1, "output": 2}}):
        path = tmp_path / "bad.json"
        path.write_text(json.dumps(bad))
        with pytest.raises(ConfigError):
            load_prices(path)
    with pytest.raises(ConfigError):
        load_prices(tmp_path / "missing.json")


def test_tally_sums_and_unknown_price_makes_cost_unknown() -> None:
    tally = Tally()
    tally.add(USAGE, Price(1, 1))
    tally.add(USAGE, Price(1, 1))
    assert (tally.total_tokens, tally.cost_usd) == (3_000_000, pytest.approx(3.0))
    tally.add(USAGE, None)
    assert tally.cost_usd is None


def test_worst_case_covers_every_completion_a_document_can_cost() -> None:
    settings = Settings(provider="compatible", model="m", max_output_tokens=1000)
    worst = worst_case_usage(document_from_text("x" * 4000), settings)
    completions = settings.validation_attempts * (1 + settings.grounding_reasks)
    assert worst["completion_tokens"] == completions * 1000
    assert worst["prompt_tokens"] == completions * (1000 + 1000)


def test_budget_holds_in_flight_worst_cases_and_refunds_actual_use() -> None:
    budget = Budget(max_tokens=1000)
    worst = {"prompt_tokens": 300, "completion_tokens": 100, "total_tokens": 400}
    assert budget.reserve(worst)
    assert budget.reserve(worst)
    assert not budget.reserve(worst)  # 1200 > 1000 while two are in flight
    assert budget.fits(worst, alone=True)
    budget.release(worst, {"total_tokens": 50})
    assert budget.reserve(worst)  # 50 spent + 400 held + 400 = 850 <= 1000
    assert not budget.reserve(worst)  # 50 + 800 + 400 > 1000
    assert budget.spent_tokens == 50


def test_dollar_budget_needs_a_price() -> None:
    with pytest.raises(ConfigError, match="prices"):
        Budget(max_usd=1.0, price=None)
    budget = Budget(max_usd=1.0, price=Price(1_000_000, 0))  # $1 per prompt token
    assert not budget.reserve({"prompt_tokens": 2, "completion_tokens": 0, "total_tokens": 2})
    assert budget.reserve({"prompt_tokens": 1, "completion_tokens": 0, "total_tokens": 1})

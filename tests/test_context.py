"""Tests for summarizer.context: the context table, the override and the chunk budget."""

from __future__ import annotations

import pytest

from summarizer.config import resolve_settings
from summarizer.context import (
    PROMPT_OVERHEAD_TOKENS,
    chunk_budget,
    context_tokens,
    estimate_text_tokens,
    needs_chunking,
)
from summarizer.errors import ConfigError
from summarizer.inputs import document_from_text


def test_estimate_is_characters_over_four_rounded_up() -> None:
    assert estimate_text_tokens("") == 0
    assert estimate_text_tokens("abcd") == 1
    assert estimate_text_tokens("abcde") == 2


@pytest.mark.parametrize(
    ("model", "window"),
    [
        ("gpt-4o", 128_000),
        ("gpt-4o-2024-08-06", 128_000),
        ("gpt-4o-mini", 128_000),
        ("gpt-4.1-mini-2025-04-14", 1_047_576),
        ("gpt-4", 8_192),
        ("gpt-4-0613", 8_192),
        ("openai/o3-mini", 200_000),
        ("o1-mini", 128_000),
    ],
)
def test_hosted_models_resolve_by_longest_prefix(model: str, window: int) -> None:
    settings = resolve_settings(env={"OPENAI_API_KEY": "sk-test"}, model=model)
    assert context_tokens(settings) == window


def test_unknown_hosted_model_has_no_budget_and_is_never_chunked() -> None:
    settings = resolve_settings(base_url="http://127.0.0.1:9/v1", model="my-llama", env={})
    assert context_tokens(settings) is None
    assert chunk_budget(settings) is None
    assert not needs_chunking(document_from_text("word " * 100_000), settings)


def test_embedded_engine_uses_its_configured_context() -> None:
    settings = resolve_settings(env={"SUMMARIZER_ENGINE_CTX": "8192"})
    assert context_tokens(settings) == 8192
    assert chunk_budget(settings) == 8192 - PROMPT_OVERHEAD_TOKENS - settings.max_output_tokens


def test_override_wins_over_engine_and_table_from_env_and_argument() -> None:
    env = {"OPENAI_API_KEY": "sk-test", "SUMMARIZER_CONTEXT_TOKENS": "6000"}
    assert context_tokens(resolve_settings(env=env, model="gpt-4o")) == 6000
    assert context_tokens(resolve_settings(env=env, context_tokens=9000)) == 9000
    embedded = resolve_settings(env={"SUMMARIZER_CONTEXT_TOKENS": "5000"})
    assert context_tokens(embedded) == 5000


@pytest.mark.parametrize("raw", ["lots", "0", "-5"])
def test_bad_override_is_a_config_error(raw: str) -> None:
    with pytest.raises(ConfigError) as err:
        resolve_settings(env={"SUMMARIZER_CONTEXT_TOKENS": raw})
    assert "\n" not in str(err.value)
    assert err.value.exit_code == 2


def test_context_too_small_for_prompt_and_answer_is_a_config_error() -> None:
    settings = resolve_settings(env={"SUMMARIZER_CONTEXT_TOKENS": "4000"})
    with pytest.raises(ConfigError, match="4000-token context"):
        chunk_budget(settings)


def test_needs_chunking_at_the_budget_edge() -> None:
    settings = resolve_settings(env={"SUMMARIZER_CONTEXT_TOKENS": "5000"}, max_output_tokens=1000)
    budget = chunk_budget(settings)
    assert budget == 5000 - PROMPT_OVERHEAD_TOKENS - 1000
    fits = document_from_text("x" * (budget * 4))
    over = document_from_text("x" * (budget * 4 + 1))
    assert not needs_chunking(fits, settings)
    assert needs_chunking(over, settings)


def test_parts_of_the_embedded_default_are_smaller_than_the_context_allows() -> None:
    from summarizer.context import EMBEDDED_PART_TOKENS, part_budget

    embedded = resolve_settings(env={})
    assert embedded.provider == "embedded"
    assert part_budget(embedded, 12_412) == EMBEDDED_PART_TOKENS
    assert part_budget(embedded, 3_000) == 3_000  # never above what fits
    hosted = resolve_settings(base_url="http://127.0.0.1:9/v1", model="m", env={})
    assert part_budget(hosted, 12_412) == 12_412
    capped = resolve_settings(
        base_url="http://127.0.0.1:9/v1", model="m", env={"SUMMARIZER_PART_TOKENS": "2500"}
    )
    assert part_budget(capped, 12_412) == 2_500
    with pytest.raises(ConfigError, match="SUMMARIZER_PART_TOKENS"):
        resolve_settings(env={"SUMMARIZER_PART_TOKENS": "0"})

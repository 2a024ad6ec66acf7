"""Tests for summarizer.config: provider choice, precedence, validation, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from summarizer.config import (
    EMBEDDED_MODEL_ALIAS,
    OPENAI_DEFAULT_MODEL,
    Settings,
    resolve_settings,
)
from summarizer.errors import ConfigError


def _error(**kwargs: object) -> str:
    with pytest.raises(ConfigError) as err:
        resolve_settings(**kwargs)  # type: ignore[arg-type]
    message = str(err.value)
    assert message and "\n" not in message
    assert err.value.exit_code == 2
    return message


# -- provider ------------------------------------------------------------------------------


def test_nothing_configured_means_the_embedded_engine() -> None:
    settings = resolve_settings(env={})
    assert settings.provider == "embedded"
    assert settings.model == EMBEDDED_MODEL_ALIAS
    assert settings.base_url is None
    assert settings.api_key is None


def test_api_key_alone_means_openai_with_the_default_model() -> None:
    settings = resolve_settings(env={"OPENAI_API_KEY": "sk-test"})
    assert settings.provider == "openai"
    assert settings.model == OPENAI_DEFAULT_MODEL
    assert settings.api_key == "sk-test"
    assert settings.base_url is None


def test_base_url_precedence_argument_then_summarizer_then_openai_variable() -> None:
    env = {
        "SUMMARIZER_BASE_URL": "http://summarizer.test/v1",
        "OPENAI_BASE_URL": "http://openai.test/v1",
        "OPENAI_API_KEY": "sk-test",
    }
    assert resolve_settings(base_url="http://arg.test/v1/", env=env).base_url == (
        "http://arg.test/v1"
    )
    assert resolve_settings(env=env).base_url == "http://summarizer.test/v1"
    del env["SUMMARIZER_BASE_URL"]
    assert resolve_settings(env=env).base_url == "http://openai.test/v1"
    # A base URL wins over the key: an OpenAI-compatible server, model left to the server.
    settings = resolve_settings(env=env)
    assert settings.provider == "compatible"
    assert settings.model is None
    assert settings.api_key == "sk-test"


def test_empty_variables_count_as_unset() -> None:
    settings = resolve_settings(
        env={"SUMMARIZER_BASE_URL": "", "OPENAI_API_KEY": "", "SUMMARIZER_MODEL": ""}
    )
    assert settings.provider == "embedded"
    assert settings.model == EMBEDDED_MODEL_ALIAS


# -- precedence ----------------------------------------------------------------------------


def test_model_argument_beats_variable_beats_default() -> None:
    env = {"OPENAI_API_KEY": "sk-test", "SUMMARIZER_MODEL": "env-model"}
    assert resolve_settings(model="arg-model", env=env).model == "arg-model"
    assert resolve_settings(env=env).model == "env-model"
    del env["SUMMARIZER_MODEL"]
    assert resolve_settings(env=env).model == OPENAI_DEFAULT_MODEL
    assert resolve_settings(env={"SUMMARIZER_MODEL": "local.gguf"}).model == "local.gguf"


def test_mode_argument_beats_variable_beats_default() -> None:
    env = {"SUMMARIZER_MODE": "json"}
    assert resolve_settings(mode="tools", env=env).mode == "tools"
    assert resolve_settings(env=env).mode == "json"
    assert resolve_settings(env={}).mode == "json_schema"
    # Spelling is forgiving: case and dashes.
    assert resolve_settings(mode="JSON-Schema", env={}).mode == "json_schema"


def test_numbers_from_arguments_and_variables() -> None:
    env = {
        "SUMMARIZER_TIMEOUT": "12.5",
        "SUMMARIZER_ENGINE_CTX": "4096",
        "SUMMARIZER_ENGINE_THREADS": "3",
        "SUMMARIZER_MAX_INPUT_BYTES": "1000",
    }
    settings = resolve_settings(env=env)
    assert settings.timeout_s == 12.5
    assert (settings.engine_ctx, settings.engine_threads, settings.max_input_bytes) == (
        4096,
        3,
        1000,
    )
    assert resolve_settings(timeout_s=3.0, env=env).timeout_s == 3.0


def test_prompt_and_prompts_dir(tmp_path: Path) -> None:
    env = {"SUMMARIZER_PROMPT": "brief", "SUMMARIZER_PROMPTS_DIR": str(tmp_path)}
    settings = resolve_settings(env=env)
    assert (settings.prompt, settings.prompts_dir) == ("brief", tmp_path)
    assert resolve_settings(prompt="other", env=env).prompt == "other"
    assert resolve_settings(env={}).prompt == "summarize"


def test_cache_dir_from_summarizer_variable_then_xdg(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    assert resolve_settings(env=env).cache_dir == tmp_path / "xdg" / "summarizer"
    env["SUMMARIZER_CACHE_DIR"] = str(tmp_path / "own")
    assert resolve_settings(env=env).cache_dir == tmp_path / "own"


# -- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("SUMMARIZER_ENGINE_CTX", "16k", "SUMMARIZER_ENGINE_CTX must be an integer, got '16k'"),
        ("SUMMARIZER_ENGINE_THREADS", "2.5", "SUMMARIZER_ENGINE_THREADS must be an integer"),
        ("SUMMARIZER_MAX_INPUT_BYTES", "5MB", "SUMMARIZER_MAX_INPUT_BYTES must be an integer"),
        ("SUMMARIZER_TIMEOUT", "soon", "SUMMARIZER_TIMEOUT must be a number, got 'soon'"),
        ("SUMMARIZER_TIMEOUT", "0", "timeout must be positive"),
        ("SUMMARIZER_MODE", "xml", "unknown mode 'xml': choose one of json_schema, tools, json"),
    ],
)
def test_malformed_variables_raise_config_error(variable: str, value: str, expected: str) -> None:
    assert expected in _error(env={variable: value})


def test_malformed_value_with_a_newline_still_gives_one_line() -> None:
    message = _error(env={"SUMMARIZER_ENGINE_CTX": "12\n34"})
    assert message.startswith("SUMMARIZER_ENGINE_CTX must be an integer")


def test_unknown_mode_argument_raises_even_if_the_variable_is_valid() -> None:
    assert "unknown mode 'yaml'" in _error(mode="yaml", env={"SUMMARIZER_MODE": "tools"})


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"transport_attempts": 0}, "transport_attempts must be at least 1"),
        ({"validation_attempts": 0}, "validation_attempts must be at least 1"),
        ({"max_output_tokens": 0}, "max_output_tokens must be at least 1"),
        ({"grounding_reasks": -1}, "grounding_reasks must be 0 or more"),
        ({"timeout_s": -5.0}, "timeout must be positive"),
    ],
)
def test_out_of_range_arguments_raise_config_error(
    kwargs: dict[str, object], expected: str
) -> None:
    assert _error(env={}, **kwargs) == expected


def test_nonexistent_prompts_dir_raises(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    assert _error(prompts_dir=missing, env={}) == f"prompts folder {missing} does not exist"
    assert "does not exist" in _error(env={"SUMMARIZER_PROMPTS_DIR": str(missing)})
    file = tmp_path / "file.md"
    file.write_text("x", encoding="utf-8")
    assert "does not exist" in _error(prompts_dir=file, env={})


# -- secrets and derived values ------------------------------------------------------------


def test_api_key_never_appears_in_repr_or_str() -> None:
    secret = "sk-very-secret-0123456789"
    for settings in (
        resolve_settings(env={"OPENAI_API_KEY": secret}),
        resolve_settings(api_key=secret, base_url="http://server.test/v1", env={}),
    ):
        assert settings.api_key == secret
        assert secret not in repr(settings)
        assert secret not in str(settings)
        assert secret not in repr(settings.with_overrides(model="m"))


@pytest.mark.parametrize(
    ("transport", "validation", "reasks", "expected"),
    [(3, 2, 1, 12), (1, 1, 0, 1), (2, 3, 2, 18), (5, 1, 0, 5)],
)
def test_worst_case_calls(transport: int, validation: int, reasks: int, expected: int) -> None:
    settings = resolve_settings(
        transport_attempts=transport,
        validation_attempts=validation,
        grounding_reasks=reasks,
        env={},
    )
    assert settings.worst_case_calls == expected
    assert settings.worst_case_calls == transport * validation * (1 + reasks)


def test_defaults_give_twelve_calls_at_worst() -> None:
    assert resolve_settings(env={}).worst_case_calls == 12


def test_settings_are_frozen_and_overrides_ignore_none() -> None:
    settings = resolve_settings(env={})
    with pytest.raises(AttributeError):
        settings.model = "other"  # type: ignore[misc]
    changed = settings.with_overrides(model="other", mode=None)
    assert (changed.model, changed.mode) == ("other", settings.mode)
    assert settings.model == EMBEDDED_MODEL_ALIAS
    assert isinstance(changed, Settings)

"""Settings, resolved once: explicit argument, then environment, then default.

This is the only module that reads ``os.environ``. Every variable it reads:

========================== ===================================================
``SUMMARIZER_MODEL``       model name sent to the provider
``SUMMARIZER_BASE_URL``    OpenAI-compatible endpoint (wins over ``OPENAI_BASE_URL``)
``SUMMARIZER_MODE``        instructor mode: ``json_schema``, ``tools`` or ``json``
``SUMMARIZER_PROMPT``      prompt template name (default ``summarize``)
``SUMMARIZER_PROMPTS_DIR`` folder searched for templates before the bundled ones
``SUMMARIZER_CACHE_DIR``   where the embedded model and engine are kept
                           (default ``$XDG_CACHE_HOME/summarizer`` or ``~/.cache/summarizer``)
``SUMMARIZER_ENGINE_MODEL`` a GGUF file to serve instead of the default model
``SUMMARIZER_ENGINE_BIN``  an existing ``llama-server`` binary to use
``SUMMARIZER_ENGINE_THREADS`` engine threads (default: CPU count)
``SUMMARIZER_ENGINE_CTX``  engine context size in tokens (default 16384)
``SUMMARIZER_TIMEOUT``     seconds per HTTP request (default 600)
``SUMMARIZER_CONTEXT_TOKENS`` the model's context window in tokens, overriding the
                           built-in table and the engine's context (``summarizer.context``)
``SUMMARIZER_MAX_INPUT_BYTES`` largest document accepted (default 5 MiB)
``OPENAI_API_KEY``         read only to decide that the provider is OpenAI; the SDK
                           reads it itself
``OPENAI_BASE_URL``        an OpenAI-compatible endpoint, as the SDK understands it
========================== ===================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from summarizer.errors import ConfigError

__all__ = ["ProviderKind", "Settings", "StructuredMode", "resolve_settings"]

ProviderKind = Literal["openai", "compatible", "embedded"]
StructuredMode = Literal["json_schema", "tools", "json"]

EMBEDDED_MODEL_ALIAS = "qwen2.5-coder-0.5b-instruct"
OPENAI_DEFAULT_MODEL = "gpt-4o-mini"
_MODES: tuple[StructuredMode, ...] = ("json_schema", "tools", "json")


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know, frozen after resolution.

    ``api_key`` is excluded from ``repr`` so it cannot leak through logs or
    tracebacks that print the settings.
    """

    provider: ProviderKind
    model: str | None
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    mode: StructuredMode = "json_schema"
    prompt: str = "summarize"
    prompts_dir: Path | None = None
    temperature: float = 0.0
    seed: int | None = 7
    max_output_tokens: int = 3072
    # Worst case HTTP calls per document =
    #   transport_attempts x validation_attempts x (1 + grounding_reasks)
    transport_attempts: int = 3
    validation_attempts: int = 2
    grounding_reasks: int = 1
    timeout_s: float = 600.0
    max_input_bytes: int = 5 * 1024 * 1024
    cache_dir: Path = Path.home() / ".cache" / "summarizer"
    engine_model_path: Path | None = None
    engine_bin: Path | None = None
    engine_threads: int = max(1, os.cpu_count() or 1)
    engine_ctx: int = 16384
    # None: known from the model (summarizer.context); set for unlisted models.
    context_tokens: int | None = None
    # Largest part of a long document, in tokens of text (None: see
    # summarizer.context.part_budget; the embedded default uses smaller parts).
    part_tokens: int | None = None
    # A long document with a part that failed: return what the other parts gave
    # (listing the missing ones) instead of raising IncompleteSummaryError.
    allow_partial: bool = False

    @property
    def worst_case_calls(self) -> int:
        """Largest number of HTTP requests one document can cause."""
        return self.transport_attempts * self.validation_attempts * (1 + self.grounding_reasks)

    def with_overrides(self, **changes: object) -> Settings:
        """Return a copy with some fields replaced (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]


def _int(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def _float(env: Mapping[str, str], name: str) -> float | None:
    raw = env.get(name)
    if raw is None or raw == "":
        return None
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None


def _mode(value: str | None) -> StructuredMode | None:
    if value is None or value == "":
        return None
    lowered = value.strip().lower().replace("-", "_")
    for mode in _MODES:
        if lowered == mode:
            return mode
    raise ConfigError(f"unknown mode {value!r}: choose one of {', '.join(_MODES)}")


def _default_cache_dir(env: Mapping[str, str]) -> Path:
    if env.get("SUMMARIZER_CACHE_DIR"):
        return Path(env["SUMMARIZER_CACHE_DIR"]).expanduser()
    xdg = env.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "summarizer"


def resolve_settings(
    *,
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    mode: str | None = None,
    prompt: str | None = None,
    prompts_dir: str | os.PathLike[str] | None = None,
    max_output_tokens: int | None = None,
    temperature: float | None = None,
    transport_attempts: int | None = None,
    validation_attempts: int | None = None,
    grounding_reasks: int | None = None,
    timeout_s: float | None = None,
    engine_model_path: str | os.PathLike[str] | None = None,
    context_tokens: int | None = None,
    allow_partial: bool | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve settings from arguments, then ``SUMMARIZER_*`` variables, then defaults.

    The provider follows from what is configured: a base URL means an
    OpenAI-compatible server; otherwise an ``OPENAI_API_KEY`` means OpenAI;
    otherwise the embedded engine.

    Raises:
        ConfigError: a variable is malformed or a value is out of range.
    """
    env = os.environ if env is None else env
    base_url = base_url or env.get("SUMMARIZER_BASE_URL") or env.get("OPENAI_BASE_URL") or None
    key = api_key or env.get("OPENAI_API_KEY") or None
    provider: ProviderKind
    if base_url:
        provider = "compatible"
    elif key:
        provider = "openai"
    else:
        provider = "embedded"

    chosen_model = model or env.get("SUMMARIZER_MODEL") or None
    if chosen_model is None and provider == "openai":
        chosen_model = OPENAI_DEFAULT_MODEL
    if chosen_model is None and provider == "embedded":
        chosen_model = EMBEDDED_MODEL_ALIAS

    engine_model = engine_model_path or env.get("SUMMARIZER_ENGINE_MODEL") or None
    engine_bin = env.get("SUMMARIZER_ENGINE_BIN") or None
    folder = prompts_dir or env.get("SUMMARIZER_PROMPTS_DIR") or None
    settings = Settings(
        provider=provider,
        model=chosen_model,
        base_url=base_url.rstrip("/") if base_url else None,
        api_key=key,
        mode=_mode(mode) or _mode(env.get("SUMMARIZER_MODE")) or "json_schema",
        prompt=prompt or env.get("SUMMARIZER_PROMPT") or "summarize",
        prompts_dir=Path(folder).expanduser() if folder else None,
        cache_dir=_default_cache_dir(env),
        engine_model_path=Path(engine_model).expanduser() if engine_model else None,
        engine_bin=Path(engine_bin).expanduser() if engine_bin else None,
    ).with_overrides(
        max_output_tokens=max_output_tokens,
        temperature=temperature,
        transport_attempts=transport_attempts,
        validation_attempts=validation_attempts,
        grounding_reasks=grounding_reasks,
        timeout_s=timeout_s if timeout_s is not None else _float(env, "SUMMARIZER_TIMEOUT"),
        max_input_bytes=_int(env, "SUMMARIZER_MAX_INPUT_BYTES"),
        engine_threads=_int(env, "SUMMARIZER_ENGINE_THREADS"),
        engine_ctx=_int(env, "SUMMARIZER_ENGINE_CTX"),
        context_tokens=(
            context_tokens if context_tokens is not None else _int(env, "SUMMARIZER_CONTEXT_TOKENS")
        ),
        allow_partial=allow_partial,
        part_tokens=_int(env, "SUMMARIZER_PART_TOKENS"),
    )
    _check(settings)
    return settings


def _check(settings: Settings) -> None:
    for name in ("transport_attempts", "validation_attempts", "max_output_tokens"):
        if getattr(settings, name) < 1:
            raise ConfigError(f"{name} must be at least 1")
    if settings.grounding_reasks < 0:
        raise ConfigError("grounding_reasks must be 0 or more")
    if settings.part_tokens is not None and settings.part_tokens < 1:
        raise ConfigError("SUMMARIZER_PART_TOKENS must be at least 1")
    if settings.context_tokens is not None and settings.context_tokens < 1:
        raise ConfigError("context tokens must be at least 1")
    if settings.timeout_s <= 0:
        raise ConfigError("timeout must be positive")
    if settings.prompts_dir is not None and not settings.prompts_dir.is_dir():
        raise ConfigError(f"prompts folder {settings.prompts_dir} does not exist")

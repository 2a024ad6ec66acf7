"""How many tokens a model can read, and when a document must be chunked.

A document is summarized in one call when its prompt fits the model's context
window with room left for the answer; otherwise it goes through typed
map-reduce (``summarizer.chunking`` then ``summarizer.merge``).

The context window is known, in this order:

1. ``Settings.context_tokens`` (``SUMMARIZER_CONTEXT_TOKENS``): an explicit
   override, for models the table does not list or servers configured smaller;
2. the embedded engine: its configured ``engine_ctx``
   (``SUMMARIZER_ENGINE_CTX``), since that is what llama.cpp allocates;
3. :data:`MODEL_CONTEXT`, a table of common hosted models, matched on the
   longest listed prefix so dated snapshots (``gpt-4o-2024-08-06``) resolve;
4. otherwise unknown: ``None``, and the document is sent whole (the provider
   reports an overflow itself, as it does today).

Token counts are estimates with no tokenizer: characters / 4
(:data:`CHARS_PER_TOKEN`), the same rule as ``summarizer.llm.estimate_tokens``
and the pre-flight check in ``summarizer.api``. English prose is about 4.0-4.5
characters per token on the GPT and Qwen tokenizers, so the estimate leans
towards "more tokens", which is the safe side for a budget.
"""

from __future__ import annotations

import math

from summarizer.config import Settings
from summarizer.errors import ConfigError
from summarizer.inputs import Document

__all__ = [
    "CHARS_PER_TOKEN",
    "MODEL_CONTEXT",
    "PROMPT_OVERHEAD_TOKENS",
    "chunk_budget",
    "context_tokens",
    "estimate_text_tokens",
    "needs_chunking",
    "part_budget",
]

CHARS_PER_TOKEN = 4.0
# The fixed part of every request: system prompt, field guide and the JSON schema
# that instructor sends (prompt v2 measured 559 tokens on the embedded engine),
# plus the fence and the re-ask suffix. api._check_fits reserves the same 900.
PROMPT_OVERHEAD_TOKENS = 900
# Below this, chunks would be so small that the per-chunk overhead dominates and
# a speaker turn would rarely fit: treat it as a configuration mistake.
MIN_CHUNK_TOKENS = 256

# Part size of the embedded default, in tokens of text (see part_budget).
EMBEDDED_PART_TOKENS = 6000

# Context windows (input + output tokens) as published by the providers.
MODEL_CONTEXT: dict[str, int] = {
    "gpt-4o": 128_000,
    "gpt-4o-mini": 128_000,
    "chatgpt-4o-latest": 128_000,
    "gpt-4.1": 1_047_576,
    "gpt-4.1-mini": 1_047_576,
    "gpt-4.1-nano": 1_047_576,
    "gpt-4-turbo": 128_000,
    "gpt-4": 8_192,
    "gpt-3.5-turbo": 16_385,
    "o1": 200_000,
    "o1-mini": 128_000,
    "o3": 200_000,
    "o3-mini": 200_000,
    "o4-mini": 200_000,
}


def estimate_text_tokens(text: str) -> int:
    """Estimated tokens of ``text``: characters / :data:`CHARS_PER_TOKEN`, rounded up."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def _table_lookup(model: str) -> int | None:
    name = model.strip().lower()
    # "openai/gpt-4o" style names from routers: the part after the last slash.
    name = name.rsplit("/", 1)[-1]
    best: str | None = None
    for prefix in MODEL_CONTEXT:
        if (name == prefix or name.startswith(prefix + "-")) and (
            best is None or len(prefix) > len(best)
        ):
            best = prefix
    return MODEL_CONTEXT[best] if best is not None else None


def context_tokens(settings: Settings) -> int | None:
    """The model's context window in tokens, or ``None`` when it is not known."""
    if settings.context_tokens is not None:
        return settings.context_tokens
    if settings.provider == "embedded":
        return settings.engine_ctx
    if settings.model:
        return _table_lookup(settings.model)
    return None


def chunk_budget(settings: Settings) -> int | None:
    """Tokens of document text one chunk may hold, or ``None`` when the context is unknown.

    The context window minus the fixed prompt (:data:`PROMPT_OVERHEAD_TOKENS`)
    and the answer (``max_output_tokens``).

    Raises:
        ConfigError: the context leaves fewer than ``MIN_CHUNK_TOKENS`` for text.
    """
    window = context_tokens(settings)
    if window is None:
        return None
    budget = window - PROMPT_OVERHEAD_TOKENS - settings.max_output_tokens
    if budget < MIN_CHUNK_TOKENS:
        raise ConfigError(
            f"a {window}-token context leaves {budget} tokens for the document after the "
            f"prompt and {settings.max_output_tokens} answer tokens; at least "
            f"{MIN_CHUNK_TOKENS} are needed (raise the context or lower max_output_tokens)"
        )
    return budget


def part_budget(settings: Settings, budget: int) -> int:
    """Tokens of text per part once a document is chunked: ``budget`` or less.

    Chunking starts when a document does not fit (``chunk_budget``), but the
    parts need not fill the context. ``Settings.part_tokens``
    (``SUMMARIZER_PART_TOKENS``) caps them; the embedded default caps them at
    :data:`EMBEDDED_PART_TOKENS` because on a CPU both prompt evaluation and
    generation slow down as the context fills (a 12,000-token part of an ICSI
    transcript took over 7 minutes), and a 0.5B model extracts more from a
    shorter text. The fixed prompt repeated per part costs about 559 / 6,000,
    under 10% more prompt tokens.
    """
    cap = settings.part_tokens
    if cap is None and settings.provider == "embedded":
        cap = EMBEDDED_PART_TOKENS
    return min(budget, cap) if cap is not None else budget


def needs_chunking(document: Document, settings: Settings) -> bool:
    """Whether ``document`` is too long to summarize in one call."""
    budget = chunk_budget(settings)
    return budget is not None and estimate_text_tokens(document.text) > budget

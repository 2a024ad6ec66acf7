"""Batch jobs: many documents, bounded concurrency, rate limits, resume, cache, budget.

Modules, one concept each:

* :mod:`~summarizer.batch.items` — inputs (files, folders, globs, JSONL) to items; shards
* :mod:`~summarizer.batch.limiter` — client-side RPM/TPM limiter, paused together on 429
* :mod:`~summarizer.batch.cache` — content-addressed SQLite cache of finished summaries
* :mod:`~summarizer.batch.results` — crash-safe append-only results and errors files
* :mod:`~summarizer.batch.cost` — usage, price table, budget
* :mod:`~summarizer.batch.runner` — the job itself, and ``summarize_many`` / ``asummarize_many``
* :mod:`~summarizer.batch.progress` — progress bar and report table (``rich``)
* :mod:`~summarizer.batch.batch_api` — the provider's Batch API path (submit/status/collect)
"""

from summarizer.batch.runner import (
    Batch,
    BatchOptions,
    BatchReport,
    ItemResult,
    asummarize_many,
    summarize_many,
)

__all__ = [
    "Batch",
    "BatchOptions",
    "BatchReport",
    "ItemResult",
    "asummarize_many",
    "summarize_many",
]

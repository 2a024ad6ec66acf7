"""A content-addressed cache of finished summaries, so a rerun never pays twice.

The key is a SHA-256 over everything that decides the answer: the model id,
the sampling parameters (temperature, seed, output-token limit, structured
mode, retry bounds that change what is kept), the hash of the output schema's
JSON Schema, the prompt templates' names and versions, and the input text's
SHA-256. Change any of them and the entry no longer matches.

Storage is one SQLite file (``<cache_dir>/batch-cache.sqlite3``) in WAL mode
with a busy timeout, so several processes on one machine (the shards of a job)
read and write it at the same time. Each write is its own short transaction.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from summarizer.config import Settings
from summarizer.context import context_tokens

__all__ = ["CACHE_FILE", "ResultCache", "cache_key", "schema_hash"]

CACHE_FILE = "batch-cache.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    input_sha256 TEXT NOT NULL,
    model TEXT NOT NULL,
    created REAL NOT NULL DEFAULT (julianday('now')),
    result TEXT NOT NULL
)
"""


@functools.lru_cache(maxsize=32)
def schema_hash(schema: type[BaseModel]) -> str:
    """SHA-256 of the schema's JSON Schema (key order normalised).

    Memoised per class: generating a JSON Schema costs ~10 ms, once per document
    would be a noticeable share of a fast batch's CPU.
    """
    text = json.dumps(schema.model_json_schema(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_key(
    *,
    model: str,
    settings: Settings,
    schema: type[BaseModel],
    prompts: dict[str, str],
    input_sha256: str,
) -> str:
    """The cache key of one document's summary (see the module docstring)."""
    parts = {
        "model": model,
        "temperature": settings.temperature,
        "seed": settings.seed,
        "max_output_tokens": settings.max_output_tokens,
        "mode": settings.mode,
        "grounding_reasks": settings.grounding_reasks,
        # Where a long document is cut into parts changes its summary.
        "context_tokens": context_tokens(settings),
        "schema": schema_hash(schema),
        "prompts": dict(sorted(prompts.items())),
        "input": input_sha256,
    }
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ResultCache:
    """SQLite-backed ``key -> {"summary", "run"}`` store, safe across threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # One connection guarded by a lock: calls are short, and sqlite3 objects
        # must not be used by two threads at once.
        self._db = sqlite3.connect(path, timeout=30.0, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
            self._db.commit()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored result for ``key``, or None."""
        with self._lock:
            row = self._db.execute("SELECT result FROM results WHERE key = ?", (key,)).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        data: dict[str, Any] = json.loads(row[0])
        return data

    def put(self, key: str, *, input_sha256: str, model: str, result: dict[str, Any]) -> None:
        """Store (or replace) one result."""
        text = json.dumps(result, ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO results (key, input_sha256, model, result) "
                "VALUES (?, ?, ?, ?)",
                (key, input_sha256, model, text),
            )
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT COUNT(*) FROM results").fetchone()
        return int(count)

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

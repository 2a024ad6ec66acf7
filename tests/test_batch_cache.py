"""The result cache: what the key depends on, and sharing one file between connections."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from summarizer.batch.cache import ResultCache, cache_key, schema_hash
from summarizer.config import Settings
from summarizer.schemas.meeting import MeetingSummary

SETTINGS = Settings(provider="compatible", model="m")
PROMPTS = {"summarize": "1", "reask_quotes": "1"}


class Other(BaseModel):
    title: str


def key(**changes: Any) -> str:
    args: dict[str, Any] = {
        "model": "m",
        "settings": SETTINGS,
        "schema": MeetingSummary,
        "prompts": PROMPTS,
        "input_sha256": "abc",
    }
    args.update(changes)
    return cache_key(**args)


def test_the_key_is_stable() -> None:
    assert key() == key()
    assert key(prompts=dict(reversed(PROMPTS.items()))) == key()


@pytest.mark.parametrize(
    "changes",
    [
        {"model": "m2"},
        {"settings": replace(SETTINGS, temperature=0.5)},
        {"settings": replace(SETTINGS, seed=8)},
        {"settings": replace(SETTINGS, max_output_tokens=100)},
        {"settings": replace(SETTINGS, mode="tools")},
        {"schema": Other},
        {"prompts": {"summarize": "2", "reask_quotes": "1"}},
        {"input_sha256": "abd"},
    ],
)
def test_every_ingredient_changes_the_key(changes: dict[str, Any]) -> None:
    assert key(**changes) != key()


def test_schema_hash_tracks_the_json_schema() -> None:
    assert schema_hash(MeetingSummary) == schema_hash(MeetingSummary)
    assert schema_hash(MeetingSummary) != schema_hash(Other)


def test_put_get_and_sharing_between_connections(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    first, second = ResultCache(path), ResultCache(path)
    assert first.get("k") is None
    first.put("k", input_sha256="abc", model="m", result={"summary": {"t": 1}, "run": {}})
    assert second.get("k") == {"summary": {"t": 1}, "run": {}}  # another connection sees it
    assert (first.misses, second.hits) == (1, 1)
    assert len(second) == 1
    first.close()
    second.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)

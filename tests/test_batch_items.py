"""Batch inputs: folders, globs, JSONL records, duplicate ids, bad records, shards."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from summarizer.batch.items import Item, Shard, collect_items, parse_shard
from summarizer.errors import ConfigError, EmptyInputError, InputError, MalformedInputError

TEXT = "Alice Schmidt: we agreed to ship on Friday.\n"


def load_all(items: list[Item]) -> dict[str, object]:
    """id -> document text, or the InputError class raised when loading."""
    outcome: dict[str, object] = {}
    for item in items:
        try:
            outcome[item.id] = item.load().text
        except InputError as exc:
            outcome[item.id] = type(exc)
    return outcome


def test_folders_are_walked_for_documents_with_relative_ids(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "a.txt").write_text(TEXT)
    (tmp_path / "sub" / "b.vtt").write_text(
        "WEBVTT\n\n00:00.000 --> 00:01.000\n<v Bob Jones>Hello.\n"
    )
    (tmp_path / "notes.pdf").write_bytes(b"%PDF")
    (tmp_path / ".hidden" / "c.txt").write_text(TEXT)
    items = collect_items([str(tmp_path)], max_bytes=10_000)
    assert [item.id for item in items] == ["a.txt", "sub/b.vtt"]
    assert load_all(items)["a.txt"] == TEXT.strip()


def test_globs_and_files_keep_the_path_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("m1.txt", "m2.txt", "x.md"):
        Path(name).write_text(TEXT)
    items = collect_items(["m*.txt", "x.md", "nope.txt", "z*.txt"], max_bytes=10_000)
    assert [item.id for item in items] == ["m1.txt", "m2.txt", "x.md", "nope.txt", "z*.txt"]
    loaded = load_all(items)
    assert loaded["nope.txt"] is InputError and loaded["z*.txt"] is InputError


def test_jsonl_records_good_and_bad(tmp_path: Path) -> None:
    (tmp_path / "doc.txt").write_text(TEXT)
    lines = [
        {"id": "r1", "text": TEXT},
        {"id": 7, "path": "doc.txt"},
        {"id": "r3", "text": "   "},
        {"id": "r4"},
        {"text": TEXT},
        {"id": "r6", "path": "missing.txt"},
    ]
    body = "\n".join(json.dumps(line) for line in lines) + "\nnot json\n\n"
    source = tmp_path / "batch.jsonl"
    source.write_text(body)
    items = collect_items([str(source)], max_bytes=10_000)
    loaded = load_all(items)
    assert loaded == {
        "r1": TEXT.strip(),
        "7": TEXT.strip(),
        "r3": EmptyInputError,
        "r4": MalformedInputError,
        f"{source}:5": MalformedInputError,
        "r6": InputError,
        f"{source}:7": MalformedInputError,
    }


def test_a_repeated_id_is_reported_not_merged(tmp_path: Path) -> None:
    source = tmp_path / "batch.jsonl"
    source.write_text(
        json.dumps({"id": "a", "text": TEXT})
        + "\n"
        + json.dumps({"id": "a", "text": "other"})
        + "\n"
    )
    items = collect_items([str(source)], max_bytes=10_000)
    assert [item.id for item in items] == ["a", "a"]
    assert items[0].load().text == TEXT.strip()
    with pytest.raises(InputError, match="more than once"):
        items[1].load()


def test_no_inputs_is_a_usage_error() -> None:
    with pytest.raises(ConfigError):
        collect_items([], max_bytes=10)


def test_shards_partition_the_job_deterministically(tmp_path: Path) -> None:
    source = tmp_path / "batch.jsonl"
    source.write_text(
        "".join(json.dumps({"id": f"doc-{i}", "text": TEXT}) + "\n" for i in range(200))
    )
    everything = {item.id for item in collect_items([str(source)], max_bytes=10_000)}
    shards = [
        {item.id for item in collect_items([str(source)], max_bytes=10_000, shard=Shard(k, 3))}
        for k in (1, 2, 3)
    ]
    assert set().union(*shards) == everything
    assert sum(len(s) for s in shards) == len(everything)
    assert all(40 <= len(s) <= 95 for s in shards)  # roughly even
    again = {item.id for item in collect_items([str(source)], max_bytes=10_000, shard=Shard(2, 3))}
    assert again == shards[1]


@pytest.mark.parametrize("text", ["0/3", "4/3", "1", "a/b", "1/0", ""])
def test_bad_shards_are_usage_errors(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_shard(text)


def test_parse_shard() -> None:
    assert parse_shard("2/5") == Shard(2, 5)

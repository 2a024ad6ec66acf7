"""The results and errors files: one complete line per document, torn tails repaired."""

from __future__ import annotations

import json
from pathlib import Path

from summarizer.batch.results import ResultsWriter, errors_path, read_records
from summarizer.errors import EmptyInputError, ProviderError

RESULT = {"summary": {"title": "t"}, "run": {"model": "m"}}


def test_errors_file_sits_next_to_the_results() -> None:
    assert errors_path(Path("out/results.jsonl")) == Path("out/results.errors.jsonl")


def test_records_have_the_contract_shape(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    with ResultsWriter(out) as writer:
        writer.write_result("a.txt", "abc", RESULT, "sync")
        writer.write_error("b.txt", None, EmptyInputError("empty", source="b.txt"))
        writer.write_error("c.txt", "def", ProviderError("HTTP 500\nagain"))
    [result] = [json.loads(line) for line in out.read_text().splitlines()]
    assert result == {
        "id": "a.txt",
        "input_sha256": "abc",
        "summary": {"title": "t"},
        "run": {"model": "m"},
        "via": "sync",
    }
    errors = [json.loads(line) for line in errors_path(out).read_text().splitlines()]
    assert errors[0] == {
        "id": "b.txt",
        "input_sha256": None,
        "error": {"type": "EmptyInputError", "message": "b.txt: empty", "exit_code": 2},
    }
    assert errors[1]["error"] == {
        "type": "ProviderError",
        "message": "HTTP 500 again",
        "exit_code": 1,
    }


def test_reopening_knows_what_is_done(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    with ResultsWriter(out) as writer:
        writer.write_result("a", "1", RESULT, "sync")
        writer.write_result("b", "2", RESULT, "cache")
    with ResultsWriter(out) as writer:
        assert writer.done == {"a": "1", "b": "2"}
        writer.write_result("c", "3", RESULT, "sync")
    assert [r["id"] for r in read_records(out)] == ["a", "b", "c"]


def test_a_torn_last_line_is_cut_and_the_next_record_starts_clean(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    with ResultsWriter(out) as writer:
        writer.write_result("a", "1", RESULT, "sync")
    with out.open("ab") as handle:  # what a crash in the middle of a write leaves
        handle.write(b'{"id": "b", "input_sha256": "2", "summ')
    assert [r["id"] for r in read_records(out)] == ["a"]  # readers never see it
    with ResultsWriter(out) as writer:
        assert writer.repaired_bytes > 0
        assert set(writer.done) == {"a"}
        writer.write_result("b", "2", RESULT, "sync")
    lines = out.read_bytes().split(b"\n")
    assert lines[-1] == b""
    assert [json.loads(line)["id"] for line in lines[:-1]] == ["a", "b"]


def test_a_file_that_is_only_a_torn_line_becomes_empty(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    out.write_bytes(b'{"id": "x"')
    with ResultsWriter(out) as writer:
        assert writer.done == {}
    assert out.read_bytes() == b""


def test_the_errors_file_appears_with_its_first_record(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    with ResultsWriter(out) as writer:
        writer.write_result("a", "1", RESULT, "batch-api")
    assert out.exists() and not errors_path(out).exists()
    with ResultsWriter(out) as writer:
        assert writer.has_result("a", "1") and not writer.has_result("a", "2")
        writer.write_error("b", "2", ProviderError("HTTP 500"), message="batch failed;\nretry too")
    [error] = list(read_records(errors_path(out)))
    assert error["error"] == {
        "type": "ProviderError",
        "message": "batch failed; retry too",
        "exit_code": 1,
    }

"""Loading eval datasets: user JSONL, meeting JSON files with a labels file, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from summarizer.errors import InputError
from summarizer.evaluate.datasets import load_datasets, reference_items

RECORD = {
    "id": "pier",
    "text": "Harbour board, Tallinn, 3 March 2025. Present: Kadri Tamm and Mart Põld.",
    "expected": {
        "participants": ["Kadri Tamm", ["Mart Põld", "M. Põld"]],
        "mentioned": [],
        "date": "2025-03-03",
        "location": "Tallinn",
        "decisions": ["Repair the pier."],
    },
}


def _jsonl(tmp_path: Path, *records: object, name: str = "set.jsonl") -> Path:
    path = tmp_path / name
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_user_jsonl_is_loaded_with_aliases_and_accepted_answers(tmp_path: Path) -> None:
    other = {"id": "ferry", "text": "Ferry committee met.", "expected": {"date": None}}
    [pier, ferry] = load_datasets([_jsonl(tmp_path, RECORD, "", other)])
    assert pier.id == "pier" and pier.expected.participants == [
        ["Kadri Tamm"],
        ["Mart Põld", "M. Põld"],
    ]
    assert pier.expected.date == ["2025-03-03"] and pier.expected.location == ["Tallinn"]
    assert pier.expected.action_items is None  # not labelled: the metric skips it
    assert ferry.expected.date == [] and ferry.expected.participants is None


def _meeting(tmp_path: Path, doc_id: str, kind: str, refs: list[dict[str, str]]) -> Path:
    path = tmp_path / f"{doc_id}.json"
    data = {"id": doc_id, "kind": kind, "text": "A: We agree.", "reference_summaries": refs}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_meeting_folder_takes_labels_by_id_and_reference_decisions(tmp_path: Path) -> None:
    folder = tmp_path / "meetings"
    folder.mkdir()
    refs = [
        {"type": "decisions", "text": "The remote will be yellow. It gets a dial."},
        {"type": "actions", "text": "NA."},
        {"type": "abstract", "text": "Ignored."},
    ]
    _meeting(folder, "ami-1", "transcript", refs)
    _meeting(folder, "news-1", "news", [])
    labels = _jsonl(tmp_path, {"id": "news-1", "expected": {"participants": ["Kadri Tamm"]}})
    ami, news = load_datasets([folder], labels=labels)
    assert ami.expected.decisions == ["The remote will be yellow.", "It gets a dial."]
    assert ami.expected.action_items == []
    assert ami.expected.participants is None
    assert news.expected.participants == [["Kadri Tamm"]] and news.expected.decisions is None
    [only] = load_datasets([folder], labels=labels, kinds=["news"])
    assert only.id == "news-1"


def test_reference_items_split_sentences() -> None:
    assert reference_items("NA.") == []
    assert reference_items("  ") == []
    assert reference_items("First one. Second one? Third") == ["First one.", "Second one?", "Third"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "set.jsonl:2: not valid JSON"),
        ("[1, 2]", "set.jsonl:2: a record must be a JSON object"),
        ('{"text": "x"}', "set.jsonl:2: missing string id"),
        ('{"id": "b", "text": "  "}', "set.jsonl:2: missing or empty text"),
        ('{"id": "b", "text": "x", "expected": []}', "expected must be an object"),
        ('{"id": "b", "text": "x", "expected": {"peoples": []}}', "unknown key expected.peoples"),
        ('{"id": "b", "text": "x", "expected": {"date": "3 March"}}', "must be an ISO date"),
        ('{"id": "b", "text": "x", "expected": {"participants": "Tamm"}}', "must be a list"),
        ('{"id": "b", "text": "x", "expected": {"participants": [[]]}}', "list of aliases"),
        ('{"id": "b", "text": "x", "expected": {"location": 5}}', "expected.location must be"),
        ('{"id": "b", "text": "x", "expected": {"decisions": "x"}}', "list of strings"),
        ('{"id": "pier", "text": "x"}', "duplicate document id 'pier'"),
    ],
)
def test_malformed_records_are_one_line_input_errors(
    tmp_path: Path, line: str, message: str
) -> None:
    path = _jsonl(tmp_path, RECORD, line)
    with pytest.raises(InputError) as caught:
        load_datasets([path])
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_missing_path_wrong_suffix_and_empty_set(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_datasets([tmp_path / "nope.jsonl"])
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="a .jsonl or a meeting .json"):
        load_datasets([tmp_path / "notes.txt"])
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(InputError, match="no documents"):
        load_datasets([tmp_path / "empty.jsonl"])
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(InputError, match="not a readable JSON meeting file"):
        load_datasets([bad])
    labels = _jsonl(
        tmp_path, {"id": "a", "expected": {}}, {"id": "a", "expected": {}}, name="l.jsonl"
    )
    with pytest.raises(InputError, match="duplicate id 'a'"):
        load_datasets([tmp_path / "empty.jsonl"], labels=labels)

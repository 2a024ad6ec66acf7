"""Labelled documents for ``summarizer eval`` and the two formats they come in.

1. The evaluation set's JSON files (``../shared/data/meetings/<id>.json``, a file
   or a folder of them): the text and, for AMI/ICSI meetings, the reference
   ``decisions`` / ``actions`` summaries. Participants, date and location come
   from a separate labels file (``--labels``, JSONL of ``{"id", "expected"}``)
   matched by id, because the set has no gold labels for them.
2. A user's JSONL file, one ``{"id", "text", "expected": {...}}`` per line.

A malformed record is the caller's mistake: one ``InputError`` naming the file
and line, and nothing is run.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from summarizer.errors import InputError

__all__ = ["EvalDocument", "Expected", "load_datasets", "load_labels", "parse_expected"]

_EXPECTED_KEYS = frozenset(
    {"participants", "mentioned", "optional", "date", "location", "decisions", "action_items"}
)
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# A reference summary's sentences are its items; "NA." means "none".
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'])")
_MISSING = object()


@dataclass(frozen=True)
class Expected:
    """The labels of one document. ``None`` means "not labelled": that metric skips it.

    People are lists of aliases (any alias may match). ``date`` and ``location``
    are lists of accepted answers; an empty list means the document does not
    state one (so any predicted value is spurious).
    """

    participants: list[list[str]] | None = None
    mentioned: list[list[str]] = field(default_factory=list)
    optional: list[list[str]] = field(default_factory=list)
    date: list[str] | None = None
    location: list[str] | None = None
    decisions: list[str] | None = None
    action_items: list[str] | None = None


@dataclass(frozen=True)
class EvalDocument:
    """One document to summarise and score."""

    id: str
    text: str
    source: str
    expected: Expected
    kind: str | None = None


def _people(value: Any, where: str, key: str) -> list[list[str]]:
    if not isinstance(value, list):
        raise InputError(f"{where}: expected.{key} must be a list of names")
    people: list[list[str]] = []
    for entry in value:
        aliases = [entry] if isinstance(entry, str) else entry
        if (
            not isinstance(aliases, list)
            or not aliases
            or not all(isinstance(a, str) and a.strip() for a in aliases)
        ):
            raise InputError(f"{where}: expected.{key} entries must be a name or a list of aliases")
        people.append(list(aliases))
    return people


def _answers(value: Any, where: str, key: str) -> list[str]:
    """``null`` → ``[]`` (not stated); a string or a list of strings → accepted answers."""
    if value is None:
        return []
    answers = [value] if isinstance(value, str) else value
    if not isinstance(answers, list) or not all(isinstance(a, str) and a for a in answers):
        raise InputError(f"{where}: expected.{key} must be null, a string or a list of strings")
    if key == "date" and not all(_ISO_DATE.match(a) for a in answers):
        raise InputError(f"{where}: expected.date must be an ISO date (YYYY-MM-DD)")
    return list(answers)


def _texts(value: Any, where: str, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise InputError(f"{where}: expected.{key} must be a list of strings")
    return list(value)


def parse_expected(data: Any, where: str) -> Expected:
    """Validate an ``expected`` object (see the README for the format)."""
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected must be an object")
    unknown = sorted(set(data) - _EXPECTED_KEYS)
    if unknown:
        raise InputError(f"{where}: unknown key expected.{unknown[0]}")
    get = data.get
    return Expected(
        participants=(
            _people(data["participants"], where, "participants") if "participants" in data else None
        ),
        mentioned=_people(get("mentioned", []), where, "mentioned"),
        optional=_people(get("optional", []), where, "optional"),
        date=_answers(data["date"], where, "date") if "date" in data else None,
        location=_answers(data["location"], where, "location") if "location" in data else None,
        decisions=_texts(data["decisions"], where, "decisions") if "decisions" in data else None,
        action_items=(
            _texts(data["action_items"], where, "action_items") if "action_items" in data else None
        ),
    )


def _jsonl(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """``(where, record)`` for every non-blank line of a JSONL file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read: {error}") from None
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputError(f"{where}: not valid JSON ({error.msg})") from None
        if not isinstance(record, dict):
            raise InputError(f"{where}: a record must be a JSON object")
        if not isinstance(record.get("id"), str) or not record["id"]:
            raise InputError(f"{where}: missing string id")
        records.append((where, record))
    return records


def load_labels(path: Path) -> dict[str, Expected]:
    """A labels file: JSONL of ``{"id", "expected"}`` (extra keys such as ``note`` allowed)."""
    labels: dict[str, Expected] = {}
    for where, record in _jsonl(path):
        if record["id"] in labels:
            raise InputError(f"{where}: duplicate id {record['id']!r}")
        labels[record["id"]] = parse_expected(record.get("expected", _MISSING), where)
    return labels


def _user_records(path: Path) -> list[EvalDocument]:
    documents = []
    for where, record in _jsonl(path):
        text = record.get("text")
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"{where}: missing or empty text")
        expected = parse_expected(record.get("expected", {}), where)
        documents.append(EvalDocument(record["id"], text, f"{path}", expected))
    return documents


def reference_items(text: str) -> list[str]:
    """The sentences of an AMI/ICSI reference section; ``NA.`` gives none."""
    text = " ".join(text.split())
    if not text or text.rstrip(".").upper() in ("NA", "N/A", "NONE"):
        return []
    return [s for s in _SENTENCE_END.split(text) if s.strip()]


def _references(data: dict[str, Any], kind: str) -> list[str] | None:
    sections = [r for r in data.get("reference_summaries", []) if r.get("type") == kind]
    if not sections:
        return None
    return [item for r in sections for item in reference_items(str(r.get("text", "")))]


def _meeting_file(path: Path, labels: dict[str, Expected]) -> EvalDocument:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path}: not a readable JSON meeting file ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        raise InputError(f"{path}: a meeting file needs a text field")
    doc_id = str(data.get("id") or path.stem)
    label = labels.get(doc_id, Expected())
    decisions = label.decisions if label.decisions is not None else _references(data, "decisions")
    actions = label.action_items if label.action_items is not None else _references(data, "actions")
    expected = Expected(
        participants=label.participants,
        mentioned=label.mentioned,
        optional=label.optional,
        date=label.date,
        location=label.location,
        decisions=decisions,
        action_items=actions,
    )
    kind = data.get("kind") if isinstance(data.get("kind"), str) else None
    return EvalDocument(doc_id, data["text"], str(path), expected, kind)


def load_datasets(
    paths: list[Path],
    *,
    labels: Path | None = None,
    kinds: list[str] | None = None,
) -> list[EvalDocument]:
    """Every labelled document in ``paths`` (files or folders), in a stable order.

    Args:
        paths: ``.jsonl`` user datasets, meeting ``.json`` files, or folders of them.
        labels: a labels JSONL matched by id to the meeting files.
        kinds: keep only meeting files of these kinds (``news``, ``minutes``, ...).

    Raises:
        InputError: a path is missing, a record is malformed, or an id repeats.
    """
    label_map = load_labels(labels) if labels is not None else {}
    documents: list[EvalDocument] = []
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix in (".json", ".jsonl"))
        elif path.is_file():
            files = [path]
        else:
            raise InputError(f"{path}: no such file or folder")
        for file in files:
            if file.suffix == ".jsonl":
                documents += _user_records(file)
            elif file.suffix == ".json":
                documents.append(_meeting_file(file, label_map))
            else:
                raise InputError(f"{file}: a dataset is a .jsonl or a meeting .json file")
    if kinds:
        documents = [d for d in documents if d.kind is None or d.kind in kinds]
    seen: set[str] = set()
    for document in documents:
        if document.id in seen:
            raise InputError(f"{document.source}: duplicate document id {document.id!r}")
        seen.add(document.id)
    if not documents:
        raise InputError("no documents to evaluate")
    return documents

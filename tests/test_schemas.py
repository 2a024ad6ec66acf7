"""Tests for the output schemas: committed JSON Schema files, validation and the field guide."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel, ValidationError

from summarizer.schemas import (
    ActionItem,
    Decision,
    MeetingSummary,
    OptionalDate,
    Participant,
    Position,
)
from summarizer.schemas.export import EXPORTED, render_schema, write_all
from summarizer.schemas.guide import field_guide

SCHEMAS = Path(__file__).parent.parent / "schemas"
TOPICS_LIMIT = next(
    m.max_length for m in MeetingSummary.model_fields["topics"].metadata if hasattr(m, "max_length")
)
MEETING_SCHEMA = json.loads((SCHEMAS / "meeting_summary.schema.json").read_text(encoding="utf-8"))


def _summary() -> MeetingSummary:
    return MeetingSummary(
        title="Library board meeting",
        date="2023-03-14",
        location="Riverside",
        participants=[
            Participant(
                name="Margaret Hollis",
                role="Chair",
                organization="Riverside Community Library Board",
                evidence="Margaret Hollis opened the meeting at 6:30 pm",
            )
        ],
        topics=["Weekend opening hours", "Roof repairs"],
        positions=[
            Position(
                party="Priya Natarajan",
                stance="The budget has no room for paid hours.",
                evidence="Priya Natarajan warned that the current budget has no room",
            )
        ],
        decisions=[
            Decision(
                description="Run a Sunday opening trial.",
                evidence="The board agreed to run a Sunday opening trial",
            )
        ],
        action_items=[
            ActionItem(
                task="Circulate the revised budget",
                owner="Priya Natarajan",
                due_date="2023-03-31",
                evidence="Priya Natarajan will circulate the revised budget by 31 March 2023.",
            ),
            ActionItem(
                task="Draft a reply to the mayor",
                owner=None,
                due_date=None,
                evidence="Tomasz Wielgosz will draft a reply to the mayor's letter.",
            ),
        ],
        summary="The board agreed a Sunday trial and a roof repair.",
    )


# -- committed files -----------------------------------------------------------------------


@pytest.mark.parametrize("file_name", sorted(EXPORTED))
def test_committed_schema_matches_the_model(file_name: str) -> None:
    committed = SCHEMAS / file_name
    assert committed.is_file(), f"{committed} is missing: run `python -m summarizer.schemas.export`"
    expected = render_schema(EXPORTED[file_name])
    assert committed.read_bytes() == expected.encode("utf-8"), (
        f"{committed} is out of date with its pydantic model: "
        "run `python -m summarizer.schemas.export` and commit the result"
    )


def test_every_schema_file_is_exported() -> None:
    assert {p.name for p in SCHEMAS.glob("*.json")} == set(EXPORTED)


@pytest.mark.parametrize("file_name", sorted(EXPORTED))
def test_committed_schema_is_valid_json_schema(file_name: str) -> None:
    schema = json.loads((SCHEMAS / file_name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_write_all_writes_what_render_schema_gives(tmp_path: Path) -> None:
    written = write_all(tmp_path / "out")
    assert sorted(p.name for p in written) == sorted(EXPORTED)
    for path in written:
        assert path.read_text(encoding="utf-8") == render_schema(EXPORTED[path.name])


def test_render_schema_is_stable_text() -> None:
    text = render_schema(MeetingSummary)
    assert text == render_schema(MeetingSummary)
    assert text.endswith("}\n")
    keys = list(json.loads(text))
    assert keys == sorted(keys)


# -- validation against the committed file -------------------------------------------------


def _errors(instance: Any) -> list[tuple[tuple[str | int, ...], str]]:
    validator = jsonschema.Draft202012Validator(MEETING_SCHEMA)
    return [(tuple(e.absolute_path), e.validator) for e in validator.iter_errors(instance)]


def test_a_valid_summary_validates_against_the_committed_schema() -> None:
    assert _errors(_summary().model_dump(mode="json")) == []


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda d: d.update(extra="x"), ((), "additionalProperties")),
        (
            lambda d: d["participants"][0].update(email="a@b.c"),
            (("participants", 0), "additionalProperties"),
        ),
        (lambda d: d.update(date="14 March 2023"), (("date",), "anyOf")),
        (
            lambda d: d["action_items"][0].update(due_date="2023-3-31"),
            (("action_items", 0, "due_date"), "anyOf"),
        ),
        (lambda d: d.pop("summary"), ((), "required")),
        (
            lambda d: d.update(topics=[f"topic {i}" for i in range(TOPICS_LIMIT + 1)]),
            (("topics",), "maxItems"),
        ),
        (
            lambda d: d["decisions"][0].update(evidence="x" * 251),
            (("decisions", 0, "evidence"), "maxLength"),
        ),
    ],
    ids=["extra", "nested-extra", "date", "due-date", "missing", "too-many", "too-long"],
)
def test_invalid_dumps_fail_the_committed_schema_and_the_model(change: Any, error: Any) -> None:
    data = copy.deepcopy(_summary().model_dump(mode="json"))
    change(data)
    assert _errors(data) == [error]
    with pytest.raises(ValidationError):
        MeetingSummary.model_validate(data)


def test_model_forbids_extra_keys_at_every_level() -> None:
    data = _summary().model_dump()
    MeetingSummary.model_validate(data)
    with pytest.raises(ValidationError, match="extra_forbidden"):
        MeetingSummary.model_validate({**data, "notes": "x"})
    data["action_items"][0]["priority"] = "high"
    with pytest.raises(ValidationError, match="extra_forbidden"):
        MeetingSummary.model_validate(data)


def test_nullable_fields_are_still_required() -> None:
    # Constrained decoding needs every key; null is the way to say "not stated".
    data = _summary().model_dump()
    del data["location"]
    with pytest.raises(ValidationError, match="location"):
        MeetingSummary.model_validate(data)


# -- field guide ---------------------------------------------------------------------------


def _field_names(model: type[BaseModel]) -> set[str]:
    names = set(model.model_fields)
    for sub in (Participant, Position, Decision, ActionItem):
        names |= set(sub.model_fields)
    return names


def test_field_guide_mentions_every_field_and_list_limit() -> None:
    guide = field_guide(MeetingSummary)
    listed = set(re.findall(r"^\s*- (\w+) \(", guide, flags=re.MULTILINE))
    assert listed == _field_names(MeetingSummary)
    asked = MeetingSummary.model_json_schema()["properties"]
    for name, info in MeetingSummary.model_fields.items():
        # The guide states what the model is asked for: the JSON Schema's maxItems.
        limit = asked[name].get("maxItems")
        line = next(x for x in guide.splitlines() if x.startswith(f"- {name} ("))
        if name in {"participants", "topics", "positions", "decisions", "action_items"}:
            assert f"at most {limit}," in line or f"at most {limit})" in line, line
        assert info.description and info.description in line


def test_field_guide_shows_types_and_nesting() -> None:
    lines = field_guide(MeetingSummary).splitlines()
    assert "- date (YYYY-MM-DD or null): " in "\n".join(lines)
    assert any(x.startswith("- location (text or null)") for x in lines)
    assert any(x.startswith(f"- topics (list of text, at most {TOPICS_LIMIT})") for x in lines)
    assert any(x.startswith("  - due_date (YYYY-MM-DD or null)") for x in lines)
    # Nested fields are indented under their list.
    at = next(i for i, x in enumerate(lines) if x.startswith("- action_items ("))
    assert lines[at].endswith("Each has:")
    assert [x.split(" (")[0] for x in lines[at + 1 : at + 5]] == [
        "  - task",
        "  - owner",
        "  - due_date",
        "  - evidence",
    ]


def test_field_guide_for_a_user_model() -> None:
    class Step(BaseModel):
        what: str
        when: OptionalDate = None

    class Plan(BaseModel):
        """A plan."""

        goal: str
        steps: list[Step]
        budget: float | None
        done: bool

    guide = field_guide(Plan)
    assert guide.splitlines() == [
        "- goal (text)",
        "- steps (list of objects) Each has:",
        "  - what (text)",
        "  - when (YYYY-MM-DD or null)",
        "- budget (number or null)",
        "- done (true/false)",
    ]


def test_the_model_is_asked_for_six_participants_and_a_summary_holds_twenty() -> None:
    # The request schema bounds what a small model generates; the pipeline adds the
    # rest of an attendance list itself (summarizer.refine), so validation allows more.
    assert MeetingSummary.model_json_schema()["properties"]["participants"]["maxItems"] == 6
    assert "participants (list of objects, at most 6)" in field_guide(MeetingSummary)
    person = {"role": None, "organization": None, "evidence": "Present: all."}
    data = {
        "title": "t",
        "date": None,
        "location": None,
        "participants": [{"name": f"P{i}", **person} for i in range(20)],
        "topics": [],
        "positions": [],
        "decisions": [],
        "action_items": [],
        "summary": "s",
    }
    assert len(MeetingSummary.model_validate(data).participants) == 20
    # the exported file describes results, so it carries the validation limit
    exported = json.loads(render_schema(MeetingSummary))
    assert exported["properties"]["participants"]["maxItems"] == 20
    jsonschema.validate(data, exported)
    data["participants"] = [{"name": f"P{i}", **person} for i in range(21)]
    with pytest.raises(ValidationError):
        MeetingSummary.model_validate(data)

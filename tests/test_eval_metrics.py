"""The eval metrics on hand-built predictions (no model involved)."""

from __future__ import annotations

from typing import Any

import pytest

from summarizer.evaluate.datasets import Expected
from summarizer.evaluate.metrics import (
    location_matches,
    name_key,
    names_match,
    recall_items,
    score_document,
    score_participants,
    token_recall,
)

TEXT = (
    "Harbour board, Tallinn, 3 March 2025. Present: Chair Kadri Tamm, "
    "treasurer Jüri Õun and Dr. Mart Põld. Mayor Laine Kask was quoted in the papers. "
    "The board agreed to repair the north pier before June. Mart Põld will ask for three quotes."
)


@pytest.mark.parametrize(
    ("predicted", "expected", "same"),
    [
        ("Blinken", "Antony J. Blinken", True),
        ("Antony Blinken", "Antony J. Blinken", True),
        ("A. Blinken", "Antony J. Blinken", True),
        ("Secretary of State Antony J. Blinken", "Antony J. Blinken", True),
        ("President Eisenhower", "Dwight D. Eisenhower", True),
        ("The President", "The President", True),
        ("Mr. Gromyko", "Andrei Gromyko", True),
        ("Marta Lucia Ramirez", "Marta Lucía Ramírez", True),
        ("JESPER MØLLER SØRENSEN", "Jesper Moller Sorensen", True),
        ("Eduardo Campos", "Eduardo Dutra", False),
        ("Roberto Blinken", "Antony J. Blinken", False),
        ("The Secretary", "The President", False),
        ("", "Antony J. Blinken", False),
    ],
)
def test_name_matching(predicted: str, expected: str, same: bool) -> None:
    assert names_match(predicted, expected) is same


def test_name_key_keeps_a_bare_title() -> None:
    assert name_key("The President") == ["president"]
    assert name_key("Vice President Marta Lucía Ramírez") == ["marta", "lucia", "ramirez"]


def test_participants_count_mentioned_people_and_duplicates_as_errors() -> None:
    expected = Expected(
        participants=[["Kadri Tamm"], ["Jüri Õun"], ["Mart Põld"]],
        mentioned=[["Laine Kask"]],
        optional=[["Harbour Master"]],
    )
    score = score_participants(
        ["Kadri Tamm", "Tamm", "Laine Kask", "Mart Põld", "Harbour Master", "Someone Else"],
        expected,
    )
    assert score is not None
    # Tamm twice: one hit, one repeat; Kask mentioned only; the optional name is ignored.
    assert (score.tp, score.fp, score.fn, score.mentioned) == (2, 3, 1, 1)


def test_participants_unlabelled_is_skipped_and_empty_label_penalises_every_name() -> None:
    assert score_participants(["Kadri Tamm"], Expected()) is None
    score = score_participants(["Kadri Tamm"], Expected(participants=[]))
    assert score is not None and (score.tp, score.fp, score.fn) == (0, 1, 0)


@pytest.mark.parametrize(
    ("predicted", "accepted", "ok"),
    [
        ("Cusco, Peru", ["Cusco"], True),
        ("Washington", ["Washington, D.C."], True),
        ("Brasilia", ["Brasília"], True),
        ("Department of State, Washington", ["Department of State"], True),
        ("Peru", ["Cusco", "Ayacucho"], False),
        ("Berlin", ["Berlingen"], False),
        (None, ["Berlin"], False),
        ("", ["Berlin"], False),
    ],
)
def test_location_matching(predicted: str | None, accepted: list[str], ok: bool) -> None:
    assert location_matches(predicted, accepted) is ok


def test_token_recall_uses_content_words_only() -> None:
    assert token_recall("The board agreed to repair the pier.", "board: pier repair agreed") == 1.0
    assert token_recall("The board agreed to repair the pier.", "the to the") == 0.0
    assert token_recall("the of", "anything") == 0.0  # no content words: never recalled
    refs = ["The board will repair the north pier.", "Budget for lighthouse paint approved."]
    assert recall_items(refs, ["Repair of the north pier agreed by the board."]) == 1
    assert recall_items(refs, []) == 0
    # The threshold is inclusive: exactly half of the content words is enough.
    assert recall_items(["lighthouse paint"], ["paint"], threshold=0.5) == 1
    assert recall_items(["lighthouse paint"], ["paint"], threshold=0.6) == 0


def _summary(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Harbour board",
        "date": "2025-03-03",
        "location": "Tallinn",
        "participants": [
            {
                "name": "Kadri Tamm",
                "role": "Chair",
                "organization": None,
                "evidence": "Chair Kadri Tamm",
            },
            {
                "name": "Laine Kask",
                "role": "Mayor",
                "organization": None,
                "evidence": "Mayor Laine Kask",
            },
        ],
        "topics": [],
        "positions": [],
        "decisions": [
            {
                "description": "Repair the north pier before June.",
                "evidence": "The board agreed to repair the north pier before June.",
            }
        ],
        "action_items": [
            {
                "task": "Ask for quotes",
                "owner": "Mart Põld",
                "due_date": None,
                "evidence": "a made-up quote",
            }
        ],
        "summary": "The board met.",
    }
    data.update(over)
    return data


def test_score_document_counts_every_metric() -> None:
    expected = Expected(
        participants=[["Kadri Tamm"], ["Jüri Õun"], ["Mart Põld"]],
        mentioned=[["Laine Kask"]],
        date=["2025-03-03"],
        location=["Tallinn"],
        decisions=["Repair of the north pier agreed.", "New ferry timetable adopted."],
        action_items=["Mart Põld to collect three quotes for the pier."],
    )
    score = score_document(_summary(), TEXT, expected)
    assert (score.evidence_found, score.evidence_total) == (3, 4)
    assert score.participants is not None and score.participants.mentioned == 1
    assert (score.date_stated, score.date_correct, score.date_spurious) == (True, True, None)
    assert (score.location_stated, score.location_correct) == (True, True)
    assert (score.decisions_recalled, score.decisions_reference) == (1, 2)
    assert (score.actions_recalled, score.actions_reference) == (1, 1)


def test_score_document_wrong_and_invented_answers() -> None:
    wrong = score_document(
        _summary(date="2025-03-04", location="Tartu"),
        TEXT,
        Expected(date=["2025-03-03"], location=["Tallinn"]),
    )
    assert (wrong.date_correct, wrong.location_correct) == (False, False)
    invented = score_document(_summary(), TEXT, Expected(date=[], location=[]))
    assert (invented.date_stated, invented.date_spurious) == (False, True)
    assert (invented.location_stated, invented.location_spurious) == (False, True)
    silent = score_document(
        _summary(date=None, location=None), TEXT, Expected(date=[], location=[])
    )
    assert (silent.date_spurious, silent.location_spurious) == (False, False)
    unlabelled = score_document(_summary(), TEXT, Expected())
    assert unlabelled.participants is None and unlabelled.date_stated is None
    assert unlabelled.decisions_reference is None

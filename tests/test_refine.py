"""refine(): deterministic corrections of a grounded summary, alone and inside summarize()."""

from __future__ import annotations

import json

from summarizer import summarize
from summarizer.grounding import SourceText
from summarizer.refine import Refinement, refine
from summarizer.schemas.meeting import MeetingSummary
from tests.factories import answer, person, summary
from tests.fakeserver import FakeOpenAI, completion

MINUTES = """Memorandum of Conversation
Harbour House, May 6, 2030, 9:00 a.m.

PARTICIPANTS
The Chair
Ms. Vera Holt
Mr. Ansel Brook
Dr. Ines Varga

The Chair opened the session. Ms. Vera Holt presented the ferry timetable.
"""

READOUT = (
    "Minister Varga’s Meeting with Mayor Holt\n\n"
    "This readout is attributed to Press Officer Dana Pike:\n\n"
    "Minister Ines Varga met with Mayor Vera Holt and Port Director Olaf Brennan today in "
    "Kelport. They discussed the ferry timetable.\n"
)


def test_the_attendance_list_completes_the_models_participants_without_repeats() -> None:
    summary = MeetingSummary.model_validate(
        answer(participants=[person("Vera Holt", "Ms. Vera Holt presented the ferry timetable.")])
    )
    refined, change = refine(summary, MINUTES)
    assert [p.name for p in refined.participants] == [
        "Vera Holt",
        "The Chair",
        "Mr. Ansel Brook",
        "Dr. Ines Varga",
    ]
    assert change.added == ["The Chair", "Mr. Ansel Brook", "Dr. Ines Varga"]
    # Place and date came from the heading, which states the year.
    assert (refined.location, refined.date) == ("Harbour House", "2030-05-06")
    assert change.filled == ["location", "date"]
    # Everything added is grounded: each quote is in the text, and the result validates.
    source = SourceText(MINUTES)
    assert all(source.find(p.evidence) is not None for p in refined.participants)
    MeetingSummary.model_validate(refined.model_dump())


def test_what_the_model_found_is_kept_and_not_overwritten() -> None:
    given = summary(location="Harbour House", date="2030-05-06")
    refined, change = refine(given, MINUTES.replace("May 6", "May 7"))
    assert (refined.location, refined.date) == ("Harbour House", "2030-05-06")
    assert change.filled == []


def test_the_spokesperson_goes_and_the_people_who_met_come_in() -> None:
    summary = MeetingSummary.model_validate(
        answer(
            participants=[
                person("Dana Pike", "This readout is attributed to Press Officer Dana Pike:"),
                person("Vera Holt", "Minister Ines Varga met with Mayor Vera Holt"),
            ]
        )
    )
    refined, change = refine(summary, READOUT)
    names = [p.name for p in refined.participants]
    assert "Dana Pike" not in names
    assert change.removed == ["Dana Pike"]
    assert names == ["Vera Holt", "Ines Varga", "Olaf Brennan"]
    assert refined.location == "Kelport"


def test_a_misspelt_first_name_takes_the_texts_spelling() -> None:
    summary = MeetingSummary.model_validate(
        answer(
            participants=[person("Olaf Brennan", "Minister Ines Varga met with Mayor Vera Holt")]
        )
    )
    text = READOUT.replace("Olaf", "Olafur")
    refined, _ = refine(summary, text)
    names = [p.name for p in refined.participants]
    assert "Olafur Brennan" in names
    assert "Olaf Brennan" not in names


def test_the_participant_cap_of_the_schema_holds() -> None:
    names = [f"Person{chr(65 + i)} Surname{chr(65 + i)}" for i in range(25)]
    text = "Present:\n" + "\n".join(names) + "\n\nThe meeting was short.\n"
    refined, change = refine(MeetingSummary.model_validate(answer()), text)
    assert len(refined.participants) == 20
    assert len(change.added) == 20
    MeetingSummary.model_validate(refined.model_dump())


def test_summarize_applies_the_refinement_to_the_model_answer() -> None:
    # The model (a real local HTTP server) names two people; the list names four.
    reply = answer(
        participants=[person("Vera Holt", "Ms. Vera Holt presented the ferry timetable.")]
    )
    with FakeOpenAI([completion(json.dumps(reply))]) as srv:
        result = summarize(
            MINUTES, base_url=srv.base_url, model="fake-model", api_key="sk-test", env={}
        )
    assert len(srv.chat_requests) == 1
    names = [p.name for p in result.summary.participants]
    assert names == ["Vera Holt", "The Chair", "Mr. Ansel Brook", "Dr. Ines Varga"]
    assert result.summary.location == "Harbour House"
    assert result.run.dropped == []
    # The run record says what the text, not the model, contributed.
    assert result.run.refined.added == ["The Chair", "Mr. Ansel Brook", "Dr. Ines Varga"]
    assert result.run.refined.filled == ["location", "date"]
    assert result.run.refined.removed == []


def test_a_long_documents_refinements_are_recorded_once() -> None:
    total = Refinement(added=["A"], filled=["date"])
    total.include(Refinement(added=["A", "B"], removed=["C"], filled=["date", "location"]))
    assert (total.added, total.removed, total.filled) == (["A", "B"], ["C"], ["date", "location"])

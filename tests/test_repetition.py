"""Generation loops in free text: repeated sentences and the cut-off tail go, and are reported."""

from __future__ import annotations

import json

import pytest

from summarizer import summarize
from summarizer.repetition import cut_repeats, without_repeats
from tests.factories import answer, summary
from tests.fakeserver import FakeOpenAI, completion

LOOP = "The group reviewed the recorder setup."


def test_a_repeated_sentence_is_kept_once() -> None:
    text, removed = without_repeats(f"It began at nine. {LOOP} {LOOP} {LOOP.upper()}")
    assert text == f"It began at nine. {LOOP}"
    assert [why for _, why in removed] == ["repeats an earlier sentence (a generation loop)"] * 2


def test_the_unfinished_tail_of_a_loop_goes_too() -> None:
    text, removed = without_repeats(f"It began at nine. {LOOP} {LOOP} The group revie")
    assert text == f"It began at nine. {LOOP}"
    assert removed[-1] == ("The group revie", "unfinished sentence after a generation loop")


def test_an_earlier_sentence_restated_behind_a_preamble_goes() -> None:
    said = "Grad B and Grad F are recording the meeting on the far-field microphones."
    text, removed = without_repeats(f"It began at nine. {said} The document states that {said}")
    assert text == f"It began at nine. {said}"
    assert len(removed) == 1


def test_an_abbreviation_does_not_end_a_sentence() -> None:
    # Read as one sentence each, these two differ: nothing is removed.
    text = (
        "Delegates from Lakeport, U.S.A. and Kelport met in Geneva on trade. "
        "Delegates from Lakeport, U.S.A. and Kelport met in Geneva on fishing."
    )
    assert without_repeats(text) == (text, [])


@pytest.mark.parametrize(
    "text",
    [
        "Dr. Holt opened. Dr. Varga closed. Both agreed.",  # "Dr." twice is no loop
        "The plan costs 3.5 million. Nobody objected",  # unfinished, but nothing repeated
        "Yes. Yes. Agreed.",  # short answers repeat in real meetings
        "",
    ],
)
def test_text_without_a_loop_is_returned_unchanged(text: str) -> None:
    assert without_repeats(text) == (text, [])


def test_every_top_level_text_field_is_checked_and_reported() -> None:
    looped = summary(title="Recorder review", summary=f"{LOOP} {LOOP}", topics=[LOOP, LOOP])
    cleaned, dropped = cut_repeats(looped)
    assert cleaned.summary == LOOP
    assert cleaned.title == "Recorder review"
    assert cleaned.topics == [LOOP, LOOP]  # lists are grounding's business, not this
    assert dropped == [
        {
            "key": "summary",
            "item": LOOP,
            "reason": "repeats an earlier sentence (a generation loop)",
        }
    ]


def test_summarize_removes_a_looping_narrative() -> None:
    # The model (a real local HTTP server) loops in its narrative.
    reply = answer(title="Recorder review", summary=f"It began at nine. {LOOP} {LOOP} {LOOP} The")
    with FakeOpenAI([completion(json.dumps(reply))]) as srv:
        result = summarize(
            "Chair: It began at nine. We reviewed the recorder setup.",
            base_url=srv.base_url,
            model="fake-model",
            api_key="sk-test",
            env={},
        )
    assert result.summary.summary == f"It began at nine. {LOOP}"
    assert [d.key for d in result.run.dropped] == ["summary"] * 3

"""Tests for summarizer.grounding: look-ups, alignment, anchoring and the whole ground() pass."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from summarizer.grounding import (
    Failure,
    GroundingReport,
    SourceText,
    apply_quote_fixes,
    drop_failures,
    ground,
    normalise,
)
from summarizer.schemas import (
    ActionItem,
    Decision,
    Evidence,
    MeetingSummary,
    Mentioned,
    Participant,
    Position,
)
from tests.factories import summary as _summary

FIXTURES = Path(__file__).parent / "fixtures"
BOARD = (FIXTURES / "board_meeting.txt").read_text(encoding="utf-8")
NEWS = (FIXTURES / "ministers_news.txt").read_text(encoding="utf-8")
BOARD_SOURCE = SourceText(BOARD)
NEWS_SOURCE = SourceText(NEWS)

# Sentences of board_meeting.txt, verbatim.
OPENED = (
    "Margaret Hollis opened the meeting at 6:30 pm and welcomed Leon Farrant, who was "
    "attending for the first time on behalf of the council."
)
WARNED = (
    "Priya Natarajan warned that the current budget has no room for additional paid hours "
    "before the next financial year."
)
ROOF_DECISION = (
    "The board agreed to close the children's section for one week in April for the roof repair."
)
BUDGET_ACTION = "Priya Natarajan will circulate the revised budget by 31 March 2023."
MINUTES = "The minutes of the February meeting were approved without changes."


def _person(name: str, evidence: str, role: str | None = None) -> Participant:
    return Participant(name=name, role=role, organization=None, evidence=evidence)


def _decision(description: str, evidence: str) -> Decision:
    return Decision(description=description, evidence=evidence)


def _evidences(model: BaseModel) -> list[str]:
    """Every value of a field called ``evidence`` or ``quote`` anywhere in the model."""
    found: list[str] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if name in ("evidence", "quote") and isinstance(value, str):
            found.append(value)
        elif isinstance(value, BaseModel):
            found += _evidences(value)
        elif isinstance(value, list):
            for element in value:
                if isinstance(element, BaseModel):
                    found += _evidences(element)
    return found


# -- SourceText.find / original -----------------------------------------------------------


def test_find_ignores_whitespace_quote_characters_and_case_and_returns_the_original_slice() -> None:
    text = "Opening.\nThe chair said \u201cwe will   reopen\u201d\n   the crossing on Monday.\nEnd."
    source = SourceText(text)
    span = source.find('THE CHAIR SAID "We will reopen" the crossing')
    assert span is not None
    original = source.original(*span)
    assert original == "The chair said \u201cwe will   reopen\u201d\n   the crossing"
    assert original in text


def test_find_maps_single_quote_variants_to_each_other() -> None:
    source = SourceText("Leon Farrant said the children\u2019s section leaks.")
    span = source.find("the children's section")
    assert span is not None
    assert source.original(*span) == "the children\u2019s section"


def test_find_returns_none_for_absent_or_empty_quotes() -> None:
    assert BOARD_SOURCE.find("The board approved a swimming pool.") is None
    assert BOARD_SOURCE.find("") is None
    assert BOARD_SOURCE.find(" \n\t ") is None


def test_find_matches_letters_whose_lower_case_is_longer() -> None:
    # "İ".lower() is two characters; an exact quote must still be found.
    text = "The delegation met in \u0130stanbul on Monday. \u0130lkay Demir chaired."
    source = SourceText(text)
    span = source.find("met in \u0130stanbul on Monday")
    assert span is not None
    assert source.original(*span) == "met in \u0130stanbul on Monday"
    assert source.mentions("\u0130lkay Demir")
    assert source.mentions("\u0130stanbul")


# -- SourceText.align ----------------------------------------------------------------------


def test_align_restores_a_dropped_word() -> None:
    quote = WARNED.replace("the current budget", "the budget")
    assert BOARD_SOURCE.find(quote) is None
    aligned = BOARD_SOURCE.align(quote, 0.85)
    assert aligned is not None
    start, end, ratio = aligned
    assert 0.85 <= ratio < 1
    assert BOARD_SOURCE.original(start, end) == WARNED.rstrip(".")


def test_align_replaces_a_changed_word_by_the_source_word() -> None:
    quote = WARNED.replace("warned", "cautioned")
    aligned = BOARD_SOURCE.align(quote, 0.85)
    assert aligned is not None
    assert BOARD_SOURCE.original(aligned[0], aligned[1]) == WARNED.rstrip(".")


def test_align_rejects_an_unrelated_sentence() -> None:
    assert (
        BOARD_SOURCE.align("The committee approved a new swimming pool for the town.", 0.85) is None
    )


def test_align_rejects_a_quote_that_agrees_too_little() -> None:
    # Half the words replaced: the anchor run exists but the Dice ratio is far below 0.85.
    quote = "Priya Natarajan warned that our entire plan lacks funding for extra staff this spring."
    assert BOARD_SOURCE.align(quote, 0.85) is None


def test_align_never_aligns_quotes_under_four_words() -> None:
    assert BOARD_SOURCE.align("roof leaks again", 0.0) is None
    assert BOARD_SOURCE.align("roof is leaking", 0.0) is None
    # The same kind of near-miss with four words is aligned.
    aligned = BOARD_SOURCE.align("roof above the kids section", 0.5)
    assert aligned is not None
    assert BOARD_SOURCE.original(aligned[0], aligned[1]).startswith("roof above the")


# -- mentions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["Margaret Hollis", "Hollis", "MARGARET HOLLIS", "Ms Hollis", "Leon Farrant"]
)
def test_mentions_accepts_full_name_and_surname(name: str) -> None:
    assert BOARD_SOURCE.mentions(name)


@pytest.mark.parametrize("name", ["Hans Gruber", "Holl", "Farr", "Natara", "", "  "])
def test_mentions_rejects_absent_names_and_word_fragments(name: str) -> None:
    assert not BOARD_SOURCE.mentions(name)


def test_mentions_needs_whole_words() -> None:
    source = SourceText("Present: Alice Johnson and Bob Leeland, from O\u2019Brien & Partners.")
    assert not source.mentions("John")
    assert not source.mentions("Bob Lee")
    assert source.mentions("Alice")
    assert source.mentions("O'Brien")
    assert source.mentions("Bob Leeland")


# -- states_date ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "The meeting took place on March 14, 2023.",
        "Held on 14 March 2023 in Riga.",
        "Date: 2023-03-14",
        "It was the 14th of March 2023.",
    ],
)
def test_states_date_accepts_common_spellings(text: str) -> None:
    assert SourceText(text).states_date("2023-03-14")


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("The meeting took place on March 14.", "2023-03-14"),  # year absent
        ("The meeting took place on March 14, 2023.", "2023-03-15"),  # other day
        ("The meeting took place on March 14, 2023.", "2024-03-14"),  # other year
        ("The meeting took place on March 14, 2023.", "2023-04-14"),  # other month
        ("It was held on February 30, 2023.", "2023-02-30"),  # impossible date
        ("It was held on 2023-02-30.", "2023-02-30"),
        ("The meeting took place on March 14, 2023.", "14-03-2023"),  # not ISO
        ("The meeting took place on March 14, 2023.", "March 14"),
    ],
)
def test_states_date_rejects_unstated_or_impossible_dates(text: str, iso: str) -> None:
    assert not SourceText(text).states_date(iso)


def test_states_date_on_the_fixture() -> None:
    assert BOARD_SOURCE.states_date("2023-03-14")
    assert BOARD_SOURCE.states_date("2023-06-25")
    assert not BOARD_SOURCE.states_date("2023-03-15")
    assert NEWS_SOURCE.states_date("2024-09-30")
    assert not NEWS_SOURCE.states_date("2025-09-30")


# -- sentences / anchor --------------------------------------------------------------------


def _sentences(source: SourceText) -> list[str]:
    return [source.norm[a:b] for a, b in source.sentences()]


def test_sentences_end_at_line_breaks_and_sentence_marks() -> None:
    source = SourceText("Agenda item one\nThe chair spoke. Did anyone object?  Nobody did!\n\nEnd")
    assert _sentences(source) == [
        "agenda item one",
        "the chair spoke.",
        "did anyone object?",
        "nobody did!",
        "end",
    ]


def test_sentences_do_not_end_at_abbreviations() -> None:
    source = SourceText("The talks began on Feb. 22 in the city. Mr. Smith chaired the U.S. panel.")
    assert _sentences(source) == [
        "the talks began on feb. 22 in the city.",
        "mr. smith chaired the u.s. panel.",
    ]


def test_sentence_spans_map_back_to_original_text() -> None:
    for start, end in BOARD_SOURCE.sentences():
        original = BOARD_SOURCE.original(start, end)
        assert original in BOARD
        assert normalise(original) == BOARD_SOURCE.norm[start:end]
    assert ROOF_DECISION in [BOARD_SOURCE.original(a, b) for a, b in BOARD_SOURCE.sentences()]


def test_anchor_picks_the_sentence_that_names_the_person() -> None:
    span = BOARD_SOURCE.anchor("Leon Farrant roof leaking", ["Leon Farrant"], 0.5, 400)
    assert span is not None
    assert BOARD_SOURCE.original(*span) == (
        "Leon Farrant reported that the roof above the children's section is leaking again."
    )


def test_anchor_prefers_the_best_supported_sentence() -> None:
    span = BOARD_SOURCE.anchor("close the children's section for the roof repair", [], 0.5, 400)
    assert span is not None
    assert BOARD_SOURCE.original(*span) == ROOF_DECISION


def test_anchor_returns_none_without_support_or_without_the_name() -> None:
    assert BOARD_SOURCE.anchor("swimming pool construction tender", [], 0.5, 400) is None
    assert BOARD_SOURCE.anchor("roof repair", ["Hans Gruber"], 0.0, 400) is None


def test_anchor_needs_two_shared_words_for_a_claim_of_two_or_more() -> None:
    source = SourceText("Choir committee, St Anne's hall, 5 May 2025.\nThe choir sang well.")
    # Half of {committee, resigned} is shared, but one word is a topic, not support.
    assert source.anchor("The committee resigned.", [], 0.5, 400) is None
    span = source.anchor("The choir sang.", [], 0.5, 400)
    assert span is not None
    assert source.original(*span) == "The choir sang well."


def test_anchor_cuts_long_sentences_at_word_boundaries() -> None:
    span = BOARD_SOURCE.anchor("Grace Adebayo volunteer coordinator", ["Grace Adebayo"], 0.5, 60)
    assert span is not None
    start, end = span
    assert end - start <= 60
    cut = BOARD_SOURCE.original(start, end)
    assert cut in BOARD
    assert "Grace Adebayo" in cut
    # Both ends fall on word boundaries of the source.
    at = BOARD.index(cut)
    assert not BOARD[at - 1].isalnum() and not BOARD[at + len(cut)].isalnum()


# -- ground() end to end -------------------------------------------------------------------


def test_exact_quote_is_kept_and_reports_nothing() -> None:
    summary = _summary(
        date="2023-03-14",
        location="Riverside",
        participants=[_person("Margaret Hollis", OPENED)],
        decisions=[_decision("Close the children's section for the roof repair", ROOF_DECISION)],
    )
    grounded, report = ground(summary, BOARD_SOURCE)
    assert grounded == summary
    assert report == GroundingReport()


def test_quote_differing_only_in_case_and_spacing_becomes_the_source_text() -> None:
    sloppy = ROOF_DECISION.upper().replace(" ", "  ")
    summary = _summary(decisions=[_decision("Close the children's section", sloppy)])
    grounded, report = ground(summary, BOARD_SOURCE)
    assert grounded.decisions[0].evidence == ROOF_DECISION  # type: ignore[attr-defined]
    assert report.aligned == [] and report.failures == []


def test_near_verbatim_quote_is_aligned() -> None:
    quote = WARNED.replace("the current budget", "the budget")
    summary = _summary(
        positions=[
            Position(party="Priya Natarajan", stance="No budget for paid hours", evidence=quote)
        ]
    )
    grounded, report = ground(summary, BOARD_SOURCE)
    assert report.aligned == ["positions[0].evidence"]
    assert report.failures == []
    assert grounded.positions[0].evidence == WARNED.rstrip(".")  # type: ignore[attr-defined]


def test_participant_quote_that_does_not_name_them_is_reanchored() -> None:
    summary = _summary(participants=[_person("Grace Adebayo", MINUTES)])
    grounded, report = ground(summary, BOARD_SOURCE)
    assert report.anchored == ["participants[0].evidence"]
    assert report.failures == []
    evidence = grounded.participants[0].evidence  # type: ignore[attr-defined]
    assert "Grace Adebayo" in evidence
    assert evidence in BOARD
    assert len(evidence) <= 250


def test_invented_decision_is_a_reaskable_failure() -> None:
    invented = "The board approved a new swimming pool beside the parking garage."
    summary = _summary(decisions=[_decision("Build a swimming pool", invented)])
    grounded, report = ground(summary, BOARD_SOURCE)
    assert [(f.key, f.problem, f.reask) for f in report.failures] == [
        ("decisions[0]", "not found in the document", True)
    ]
    failure = report.failures[0]
    assert failure.evidence == invented
    assert failure.item == "description=Build a swimming pool"
    assert failure.field == "evidence"
    # The item stays in place until drop_failures.
    assert grounded.decisions[0].evidence == invented  # type: ignore[attr-defined]


def test_existing_quote_that_does_not_support_the_decision_fails() -> None:
    summary = _summary(decisions=[_decision("Build a swimming pool next to the garage", MINUTES)])
    _, report = ground(summary, BOARD_SOURCE)
    assert [(f.key, f.problem) for f in report.failures] == [
        ("decisions[0]", "the quote does not support the item")
    ]


def test_participant_not_in_the_source_is_not_reaskable() -> None:
    summary = _summary(
        participants=[
            _person("Margaret Hollis", OPENED),
            _person("Hans Gruber", "The chair closed the meeting at 8:05 pm."),
        ]
    )
    _, report = ground(summary, BOARD_SOURCE)
    assert report.failures, "an invented participant must fail"
    assert {f.key for f in report.failures} == {"participants[1]"}
    assert "name not in the document" in [f.problem for f in report.failures]
    # A new quote cannot save the item, so none of its failures asks for one.
    assert not any(f.reask for f in report.failures)


def test_invented_location_and_due_date_are_cleared_and_listed() -> None:
    summary = _summary(
        date="2023-03-14",
        location="Springfield",
        action_items=[
            ActionItem(
                task="Circulate the revised budget",
                owner="Priya Natarajan",
                due_date="2023-09-09",
                evidence=BUDGET_ACTION,
            )
        ],
    )
    grounded, report = ground(summary, BOARD_SOURCE)
    assert grounded.location is None  # type: ignore[attr-defined]
    assert grounded.date == "2023-03-14"  # type: ignore[attr-defined]
    assert grounded.action_items[0].due_date is None  # type: ignore[attr-defined]
    assert report.dropped == [
        {"key": "location", "item": "Springfield", "reason": "not in the document"},
        {
            "key": "action_items[0].due_date",
            "item": "2023-09-09",
            "reason": "date not stated in the document",
        },
    ]
    assert report.failures == []


def test_repeated_topics_and_items_are_removed() -> None:
    summary = _summary(
        topics=["Weekend opening hours", "Roof repairs", "weekend  OPENING hours"],
        participants=[
            _person("Margaret Hollis", OPENED, role="Chair"),
            _person("margaret hollis", "Margaret Hollis", role="chair"),
        ],
    )
    grounded, report = ground(summary, BOARD_SOURCE)
    assert grounded.topics == ["Weekend opening hours", "Roof repairs"]  # type: ignore[attr-defined]
    assert [p.name for p in grounded.participants] == ["Margaret Hollis"]  # type: ignore[attr-defined]
    repeats = [d for d in report.dropped if d["reason"] == "repeats an earlier item"]
    assert sorted(d["key"] for d in repeats) == ["participants[1]", "topics[2]"]


def test_ground_leaves_the_input_untouched() -> None:
    summary = _summary(location="Springfield", participants=[_person("Grace Adebayo", MINUTES)])
    before = summary.model_dump()
    ground(summary, BOARD_SOURCE)
    assert summary.model_dump() == before


def _messy_summary() -> MeetingSummary:
    return _summary(
        date="2023-03-14",
        location="Elm Street branch",
        participants=[
            _person("Margaret Hollis", OPENED.lower()),
            _person("Grace Adebayo", MINUTES),
            _person("Tomasz Wielgosz", "Tomasz Wielgosz argued that Sunday opening would help."),
            _person("Hans Gruber", "Hans Gruber attended the meeting."),
        ],
        positions=[
            Position(
                party="Priya Natarajan",
                stance="No room in the budget",
                evidence=WARNED.replace("warned", "cautioned"),
            )
        ],
        decisions=[
            _decision("Close the children's section for a week", ROOF_DECISION),
            _decision("Hire a full-time security guard", "The board hired a guard."),
        ],
        action_items=[
            ActionItem(
                task="Draft a reply to the mayor",
                owner="Tomasz Wielgosz",
                due_date=None,
                evidence="Tomasz Wielgosz will draft a reply to the mayors letter",
            )
        ],
    )


def test_every_evidence_after_grounding_is_a_slice_of_the_source_or_a_listed_failure() -> None:
    grounded, report = ground(_messy_summary(), BOARD_SOURCE)
    failed = {f.evidence for f in report.failures}
    for evidence in _evidences(grounded):
        assert evidence in BOARD or evidence in failed, evidence
    final, _ = drop_failures(grounded, report.failures)
    evidences = _evidences(final)
    assert len(evidences) == 6  # 4 + 1 + 2 + 1 items, less the two failures
    for evidence in evidences:
        assert evidence in BOARD, evidence
    MeetingSummary.model_validate(final.model_dump())  # still fits the schema's limits


def test_anchored_evidence_fits_the_field_limit_despite_wide_whitespace() -> None:
    # The sentence is under 250 characters once whitespace is collapsed but over it as written.
    long_sentence = "Alice Moreau  presented   the  figures  and  " + "  ".join(["explained"] * 25)
    text = f"Opening remarks.\n{long_sentence} everything.\nBob Reyes closed the meeting."
    source = SourceText(text)
    summary = _summary(participants=[_person("Alice Moreau", "Bob Reyes closed the meeting.")])
    grounded, report = ground(summary, source)
    assert report.anchored == ["participants[0].evidence"]
    evidence = grounded.participants[0].evidence  # type: ignore[attr-defined]
    assert evidence.startswith("Alice Moreau")
    assert evidence in text
    assert len(evidence) <= 250
    MeetingSummary.model_validate(grounded.model_dump())


def test_failure_keys_address_the_returned_model_after_repeats_are_removed() -> None:
    invented = "The board voted to sell the library building."
    summary = _summary(
        decisions=[
            _decision("Close the children's section", ROOF_DECISION),
            _decision("Close the children's section", ROOF_DECISION),  # a repeat, removed
            _decision("Sell the library building", invented),
            _decision("Approve the February minutes", MINUTES),
        ]
    )
    grounded, report = ground(summary, BOARD_SOURCE)
    assert [f.key for f in report.failures] == ["decisions[1]"]
    assert grounded.decisions[1].evidence == invented  # type: ignore[attr-defined]
    final, dropped = drop_failures(grounded, report.failures)
    assert [d.evidence for d in final.decisions] == [ROOF_DECISION, MINUTES]  # type: ignore[attr-defined]
    assert [d["key"] for d in dropped] == ["decisions[1]"]


# -- apply_quote_fixes / drop_failures -----------------------------------------------------


def test_apply_quote_fixes_then_drop_failures() -> None:
    # Too many unsupported details to anchor, but the right quote supports it.
    roof = "Close the children's section for the roof and hire three roofers and a scaffolding firm"
    summary = _summary(
        participants=[_person("Hans Gruber", "Hans Gruber attended.")],
        decisions=[
            _decision(roof, "The board closed the roof."),
            _decision("Build a swimming pool", "The board approved a swimming pool."),
            _decision("Approve the February minutes", MINUTES),
        ],
    )
    grounded, report = ground(summary, BOARD_SOURCE)
    askable = [f for f in report.failures if f.reask]
    assert [f.key for f in askable] == ["decisions[0]", "decisions[1]"]
    fixes: dict[str, str | None] = {"decisions[0]": ROOF_DECISION, "decisions[1]": None}
    fixed = apply_quote_fixes(grounded, askable, fixes)
    assert fixed.decisions[0].evidence == ROOF_DECISION  # type: ignore[attr-defined]
    assert fixed.decisions[1].evidence == "The board approved a swimming pool."  # type: ignore[attr-defined]
    assert grounded.decisions[0].evidence == "The board closed the roof."  # type: ignore[attr-defined]

    regrounded, report = ground(fixed, BOARD_SOURCE)
    assert sorted({f.key for f in report.failures}) == ["decisions[1]", "participants[0]"]
    final, dropped = drop_failures(regrounded, report.failures)
    assert final.participants == []  # type: ignore[attr-defined]
    assert [d.evidence for d in final.decisions] == [ROOF_DECISION, MINUTES]  # type: ignore[attr-defined]
    by_key = {d["key"]: d for d in dropped}
    assert sorted(by_key) == ["decisions[1]", "participants[0]"]
    assert by_key["decisions[1]"] == {
        "key": "decisions[1]",
        "item": "description=Build a swimming pool",
        "reason": "not found in the document",
    }
    assert "name not in the document" in by_key["participants[0]"]["reason"]
    # drop_failures works on a copy.
    assert len(regrounded.decisions) == 3  # type: ignore[attr-defined]


def test_drop_failures_removes_an_item_with_several_failures_once() -> None:
    summary = _summary(
        participants=[
            _person("Margaret Hollis", OPENED),
            _person("Hans Gruber", "Hans Gruber attended."),  # bad name and bad quote
            _person("Leon Farrant", "Leon Farrant reported that the roof is leaking."),
        ]
    )
    grounded, report = ground(summary, BOARD_SOURCE)
    assert len(report.failures) == 2
    assert {f.key for f in report.failures} == {"participants[1]"}
    final, dropped = drop_failures(grounded, report.failures)
    assert [p.name for p in final.participants] == ["Margaret Hollis", "Leon Farrant"]  # type: ignore[attr-defined]
    assert len(dropped) == 1
    assert dropped[0]["key"] == "participants[1]"
    assert "name not in the document" in dropped[0]["reason"]


def test_drop_failures_ignores_unknown_keys() -> None:
    summary = _summary(decisions=[_decision("Close the section", ROOF_DECISION)])
    stale = Failure("decisions[7]", "description=x", "quote", "not found in the document")
    final, dropped = drop_failures(summary, [stale])
    assert final == summary
    assert dropped == []


# -- a user's own schema -------------------------------------------------------------------


class Speaker(BaseModel):
    name: Mentioned
    said: str | None = None
    quote: Evidence


class Venue(BaseModel):
    city: Mentioned
    evidence: Evidence


class Briefing(BaseModel):
    headline: str
    location: Mentioned | None = None
    speakers: list[Speaker] = []
    venue: Venue | None = None
    host: Venue
    evidence: Evidence


MARCHETTI = (
    "Marchetti said Valdoria wanted the crossing open to trucks within a month, arguing that "
    "farmers in the northern provinces had lost most of their export season."
)
AGREEMENT = (
    "The foreign ministers of Valdoria and Ostrelia agreed to reopen their shared border "
    "crossing at Karsk to freight traffic, the two governments said on Friday."
)
DELEGATION = (
    "Brevik also said Ostrelia would send a delegation of customs officials to Valdoria next "
    "month, though no date was given."
)
DATELINE = "VALDORIA CITY, March 1 (Northwind Press)"


def _briefing(**fields: object) -> Briefing:
    base: dict[str, object] = {
        "headline": "Ministers agree to reopen the Karsk crossing",
        "host": Venue(city="Valdoria City", evidence=DATELINE),
        "evidence": AGREEMENT,
    }
    base.update(fields)
    return Briefing(**base)


def test_user_schema_is_grounded_through_its_markers() -> None:
    briefing = _briefing(
        location="Geneva",
        speakers=[
            Speaker(name="Elena Marchetti", quote=MARCHETTI.replace("wanted", "wants")),
            Speaker(name="Piet Lorentz", quote=AGREEMENT),  # exists, does not name him
            Speaker(name="Carl Jensen", quote="Jensen said the talks had failed."),
        ],
        venue=Venue(city="Oslo", evidence="The talks were held in Oslo."),
    )
    grounded, report = ground(briefing, NEWS_SOURCE)
    assert isinstance(grounded, Briefing)
    assert grounded.evidence == AGREEMENT
    assert grounded.host.evidence == DATELINE
    assert report.aligned == ["speakers[0].quote"]
    assert grounded.speakers[0].quote == MARCHETTI.rstrip(".")
    assert report.anchored == ["speakers[1].quote"]
    assert "Piet Lorentz" in grounded.speakers[1].quote
    assert grounded.speakers[1].quote in NEWS
    assert grounded.location is None
    assert report.dropped == [
        {"key": "location", "item": "Geneva", "reason": "not in the document"}
    ]
    problems = sorted((f.key, f.field, f.problem, f.reask) for f in report.failures)
    assert problems == [
        ("speakers[2]", "name", "name not in the document", False),
        ("speakers[2]", "quote", "not found in the document", False),
        ("venue", "city", "city not in the document", False),
        ("venue", "evidence", "not found in the document", False),
    ]
    # Every evidence left is a slice of the source, or belongs to a failed item.
    failed = {f.evidence for f in report.failures}
    assert all(e in NEWS or e in failed for e in _evidences(grounded))


def test_user_schema_quote_fix_goes_into_its_own_field_name() -> None:
    speaker = Speaker(
        name="Jonas Brevik",
        said="Brevik promised customs officials, scanners, trucks, funding and academies",
        quote="Brevik promised a delegation.",
    )
    grounded, report = ground(_briefing(speakers=[speaker]), NEWS_SOURCE)
    assert [(f.key, f.field, f.reask) for f in report.failures] == [("speakers[0]", "quote", True)]
    # The re-ask shows the item without its quote.
    assert report.failures[0].item.startswith("name=Jonas Brevik; said=")
    assert "quote=" not in report.failures[0].item
    fixed = apply_quote_fixes(grounded, report.failures, {"speakers[0]": DELEGATION})
    assert fixed.speakers[0].quote == DELEGATION  # type: ignore[attr-defined]
    regrounded, report = ground(fixed, NEWS_SOURCE)
    assert report.failures == []
    assert regrounded.speakers[0].quote == DELEGATION  # type: ignore[attr-defined]


def test_user_schema_root_quote_can_be_fixed_or_is_reported_as_kept() -> None:
    briefing = _briefing(
        headline="Ministers sign a peace treaty",
        evidence="The ministers signed a peace treaty in Karsk.",
    )
    grounded, report = ground(briefing, NEWS_SOURCE)
    assert [(f.key, f.field, f.reask) for f in report.failures] == [("Briefing", "evidence", True)]

    final, dropped = drop_failures(grounded, report.failures)
    assert final == grounded
    assert len(dropped) == 1
    assert dropped[0]["key"] == "Briefing"
    assert dropped[0]["reason"] == "not found in the document (kept: the whole result)"

    fixed = apply_quote_fixes(grounded, report.failures, {"Briefing": AGREEMENT})
    assert fixed.evidence == AGREEMENT  # type: ignore[attr-defined]
    _, report = ground(fixed, NEWS_SOURCE)
    assert report.failures == []


def test_item_without_content_words_is_not_anchored_to_an_arbitrary_sentence() -> None:
    class Note(BaseModel):
        evidence: Evidence

    class Notes(BaseModel):
        notes: list[Note]

    grounded, report = ground(Notes(notes=[Note(evidence="Nothing like this.")]), NEWS_SOURCE)
    assert report.anchored == []
    assert [(f.key, f.problem) for f in report.failures] == [
        ("notes[0]", "not found in the document")
    ]
    assert grounded.notes[0].evidence == "Nothing like this."  # type: ignore[attr-defined]


def test_user_schema_required_nested_failure_is_kept_and_optional_one_cleared() -> None:
    briefing = _briefing(
        host=Venue(city="Oslo", evidence="Oslo hosted the talks."),
        venue=Venue(city="Geneva", evidence="Geneva hosted a gala dinner."),
    )
    grounded, report = ground(briefing, NEWS_SOURCE)
    assert sorted({f.key for f in report.failures}) == ["host", "venue"]
    final, dropped = drop_failures(grounded, report.failures)
    assert final.venue is None  # type: ignore[attr-defined]
    assert final.host.city == "Oslo"  # type: ignore[attr-defined]
    reasons = {d["key"]: d["reason"] for d in dropped}
    assert sorted(reasons) == ["host", "venue"]
    assert reasons["host"].endswith("(kept: field is required)")
    assert reasons["venue"] == "city not in the document; not found in the document"


def test_apply_quote_fixes_never_overwrites_a_name() -> None:
    briefing = _briefing(speakers=[Speaker(name="Carl Jensen", quote="Jensen left early.")])
    grounded, report = ground(briefing, NEWS_SOURCE)
    name_failure = next(f for f in report.failures if f.field == "name")
    fixed = apply_quote_fixes(grounded, [name_failure], {"speakers[0]": AGREEMENT})
    assert fixed.speakers[0].name == "Carl Jensen"  # type: ignore[attr-defined]
    assert fixed.speakers[0].quote == "Jensen left early."  # type: ignore[attr-defined]


# -- property: find() locates any slice of the source ----------------------------------------


def _respace(text: str, wide: bool) -> str:
    return re.sub(r"\s+", "\n  \t" if wide else " ", text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fixture=st.sampled_from([BOARD_SOURCE, NEWS_SOURCE]),
    start=st.floats(min_value=0, max_value=1, exclude_max=True),
    length=st.integers(min_value=1, max_value=300),
    wide=st.sampled_from([None, False, True]),
    case=st.sampled_from([str, str.upper, str.lower, str.swapcase]),
    curly=st.booleans(),
)
def test_find_locates_any_slice_of_the_source(
    fixture: SourceText,
    start: float,
    length: int,
    wide: bool | None,
    case: object,
    curly: bool,
) -> None:
    text = fixture.text
    at = int(start * len(text))
    piece = text[at : at + length]
    needle = normalise(piece)
    if not needle:
        return
    quote = piece if wide is None else _respace(piece, wide)
    quote = case(quote)  # type: ignore[operator]
    if curly:
        quote = quote.replace("'", "\u2019").replace('"', "\u201c")
    span = fixture.find(quote)
    assert span is not None, quote
    original = fixture.original(*span)
    assert original in text
    assert normalise(original) == needle


TRANSCRIPT = (
    "[00:00:04] Noor Haddad: Welcome, everyone, let's start with the ferry timetable.\n"
    "[00:00:09] Tomas Varga: The winter timetable starts on the second of November.\n"
    "Noor Haddad: Thanks. Any objections? None.\n"
)


def test_a_quote_of_what_someone_said_is_supported_by_their_turn_label() -> None:
    source = SourceText(TRANSCRIPT)
    summary = _summary(
        participants=[
            _person("Tomas Varga", "The winter timetable starts on the second of November.")
        ]
    )
    grounded, report = ground(summary, source)
    assert report.failures == [] and report.anchored == []
    assert grounded.participants[0].evidence.startswith("The winter timetable")  # type: ignore[attr-defined]


def test_another_speakers_words_do_not_support_a_participant() -> None:
    source = SourceText(TRANSCRIPT)
    # Tomas's line quoted for Noor: not what she said, so the quote is replaced
    summary = _summary(
        participants=[
            _person("Noor Haddad", "The winter timetable starts on the second of November.")
        ]
    )
    grounded, report = ground(summary, source)
    assert report.anchored == ["participants[0].evidence"]
    assert "Noor Haddad" in grounded.participants[0].evidence  # type: ignore[attr-defined]


def test_speaker_at_reads_the_turn_label_only_after_it() -> None:
    source = SourceText(TRANSCRIPT)
    utterance = source.find("Any objections?")
    label = source.find("Noor Haddad: Thanks")
    assert utterance is not None and label is not None
    assert source.speaker_at(utterance[0]) == "noor haddad"
    assert source.speaker_at(label[0]) is None  # the label itself is not an utterance
    minutes = SourceText("The board approved the budget.\nA vote followed.\n")
    found = minutes.find("A vote followed")
    assert found is not None and minutes.speaker_at(found[0]) is None

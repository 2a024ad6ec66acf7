"""Tests for summarizer.merge: names, similarity, positions, offsets, caps, determinism."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from summarizer.chunking import Chunk, chunk_text
from summarizer.inputs import load_document
from summarizer.merge import (
    SIMILARITY_THRESHOLD,
    ChunkSummary,
    merge_summaries,
    name_key,
    same_person,
    text_similarity,
)
from tests.factories import person, summary

LONG = load_document(Path(__file__).parent / "fixtures" / "long_meeting.txt").text
CHUNKS = chunk_text(LONG, 2000)


def chunk_with(needle: str) -> Chunk:
    return next(c for c in CHUNKS if needle in c.text)


def turns(chunk: Chunk) -> list[str]:
    """What each speaker said in the chunk, one entry per turn."""
    return [line.split(": ", 1)[1] for line in chunk.text.split("\n") if line.startswith("[")]


def quote(chunk: Chunk, needle: str) -> str:
    """A quote that really is in the chunk (fails loudly if the fixture changes)."""
    assert needle in chunk.text, needle
    return needle


# -- names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Lavrov", "Sergei Lavrov"),
        ("Foreign Minister Sergei Lavrov", "lavrov"),
        ("Dr. Hannah Brandt", "Hannah Brandt"),
        ("Mr S. Lavrov", "Sergei Lavrov"),
        ("José Álvarez", "Jose Alvarez"),
        ("Mei-Ling Zhou", "Ms Zhou"),
    ],
)
def test_same_person(a: str, b: str) -> None:
    assert same_person(a, b)
    assert same_person(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Sergei Lavrov", "Sergei Ivanov"),
        ("Sergei", "Sergei Lavrov"),  # a first name alone is not enough
        ("Anna Smith", "John Smith"),
        ("Minister", "Lavrov"),
    ],
)
def test_different_people(a: str, b: str) -> None:
    assert not same_person(a, b)


def test_name_key_drops_titles_but_never_everything() -> None:
    assert name_key("Dr. Hannah Brandt") == ("hannah", "brandt")
    assert name_key("Minister") == ("minister",)


def test_participants_deduplicated_across_chunks_keep_fullest_name_and_first_role() -> None:
    a, b, c = CHUNKS[0], CHUNKS[1], chunk_with("Item seven, any other")
    parts = [
        ChunkSummary(
            a,
            summary(
                participants=[
                    person("Brandt", quote(a, "I have to leave around eight")),
                    person("Ingrid Solberg", quote(a, "I'm Ingrid Solberg"), role="Chair"),
                ]
            ),
        ),
        ChunkSummary(
            b,
            summary(
                participants=[
                    person(
                        "Dr. Hannah Brandt",
                        quote(b, "I'll email it to you tomorrow."),
                        org="Harbour Authority",
                    ),
                    person("solberg", quote(b, "Item four, the winter timetable.")),
                ]
            ),
        ),
        ChunkSummary(
            c,
            summary(participants=[person("Ingrid Sólberg", quote(c, "Item seven, any other"))]),
        ),
    ]
    result = merge_summaries(parts, LONG)
    people = result.summary.participants
    # In document order of their earliest evidence.
    assert [p.name for p in people] == ["Ingrid Solberg", "Dr. Hannah Brandt"]
    assert people[1].organization == "Harbour Authority"
    assert people[1].evidence == "I have to leave around eight"  # earliest evidence kept
    assert people[0].role == "Chair"
    assert result.report.duplicates["participants"] == 3
    assert result.report.provenance["participants[0]"] == [0, 1, c.index]


def test_ambiguous_surname_joins_nobody() -> None:
    chunk = Chunk(0, 0, 0, 60, "", "line 1")
    text = "Anna Smith: hello.\nJohn Smith: hi.\nSmith: and me.\n"
    chunk = Chunk(0, 0, 0, len(text), text, "lines 1\u20133")
    parts = [
        ChunkSummary(
            chunk,
            summary(
                participants=[
                    person("Anna Smith", "Anna Smith: hello."),
                    person("John Smith", "John Smith: hi."),
                    person("Smith", "Smith: and me."),
                ]
            ),
        )
    ]
    names = [p.name for p in merge_summaries(parts, text).summary.participants]
    assert names == ["Anna Smith", "John Smith", "Smith"]


# -- similarity de-duplication -------------------------------------------------------------


def test_similarity_measure() -> None:
    assert text_similarity("Approve the Kestrel overhaul", "approved the kestrel overhauls") >= (
        SIMILARITY_THRESHOLD
    )
    assert text_similarity("Raise single fares", "Hire a pier marshal") < SIMILARITY_THRESHOLD
    assert text_similarity("", "") == 1.0


def test_restated_decision_and_action_merge_and_fill_missing_fields() -> None:
    first, last = CHUNKS[0], chunk_with("we approved the full overhaul")
    decision_1 = quote(first, "The committee approves the full overhaul of both Kestrel gearboxes")
    decision_2 = quote(last, "we approved the full overhaul of both gearboxes on the Kestrel")
    action_1 = quote(first, "I'll submit the application to the Harbour Authority safety fund")
    action_2 = quote(last, "Mei-Ling applies to the Harbour Authority safety fund")
    parts = [
        ChunkSummary(
            last,
            summary(
                decisions=[
                    {
                        "description": "Full overhaul of both Kestrel gearboxes approved.",
                        "evidence": decision_2,
                    }
                ],
                action_items=[
                    {
                        "task": "Apply to the Harbour Authority safety fund",
                        "owner": "Mei-Ling Zhou",
                        "due_date": "2025-11-30",
                        "evidence": action_2,
                    },
                    {
                        # Same words, but a different owner, stated after Mei-Ling's.
                        "task": "Apply to the Harbour Authority safety fund",
                        "owner": "Rafael",
                        "due_date": None,
                        "evidence": quote(last, "I'll phone the yard on Monday."),
                    },
                ],
            ),
        ),
        ChunkSummary(
            first,
            summary(
                decisions=[
                    {
                        "description": "Approve full overhaul of both Kestrel gearboxes",
                        "evidence": decision_1,
                    },
                    {
                        "description": "July minutes approved with a correction",
                        "evidence": quote(first, "With that correction, are the minutes approved?"),
                    },
                ],
                action_items=[
                    {
                        "task": "Apply to the Harbour Authority safety fund",
                        "owner": None,
                        "due_date": None,
                        "evidence": action_1,
                    },
                ],
            ),
        ),
    ]
    result = merge_summaries(parts, LONG)
    decisions = result.summary.decisions
    evidences = [d.evidence for d in decisions]
    assert decision_1 in evidences  # the earliest wording is kept
    assert decision_2 not in evidences
    assert len(decisions) == 2
    assert result.report.duplicates["decisions"] == 1
    kestrel = evidences.index(decision_1)
    assert result.report.provenance[f"decisions[{kestrel}]"] == [0, last.index]
    actions = result.summary.action_items
    # Rafael is a different owner: never folded into Mei-Ling's task.
    assert len(actions) == 2
    merged = next(a for a in actions if a.owner == "Mei-Ling Zhou")
    assert merged.evidence == action_1
    assert merged.due_date == "2025-11-30"


def test_same_evidence_passage_from_overlapping_chunks_is_one_item() -> None:
    chunks = chunk_text(LONG, 1500, overlap_units=2)
    pair = next((a, b) for a, b in itertools.pairwise(chunks) if b.start < b.new_start)
    shared = LONG[pair[1].start : pair[1].new_start].split("\n")[0].split(": ", 1)[1][:120]
    parts = [
        ChunkSummary(c, summary(decisions=[{"description": words, "evidence": shared}]))
        for c, words in zip(
            pair, ["Something agreed", "An entirely different wording"], strict=True
        )
    ]
    result = merge_summaries(parts, LONG)
    assert len(result.summary.decisions) == 1
    assert result.report.duplicates["decisions"] == 1


# -- positions ---------------------------------------------------------------------------


def test_positions_merged_per_party_and_grouped() -> None:
    a, b = CHUNKS[0], CHUNKS[2]
    berth = chunk_with("Fifteen minutes is tight")
    parts = [
        ChunkSummary(
            berth,
            summary(
                positions=[
                    {
                        "party": "Rafael Quintero",
                        "stance": "Fifteen minutes is too tight",
                        "evidence": quote(berth, "Fifteen minutes is tight for the Puffin."),
                    },
                ]
            ),
        ),
        ChunkSummary(
            a,
            summary(
                participants=[person("Oluwaseun Adeyemi", quote(a, "from the crew union"))],
                positions=[
                    {
                        "party": "Oluwaseun Adeyemi",
                        "stance": "Supports the winter overhaul",
                        "evidence": quote(a, "We support doing the overhaul in the winter"),
                    },
                    {
                        "party": "Adeyemi",
                        "stance": "Wants a pier marshal on Sundays",
                        "evidence": quote(berth, "a marshal on the pier for the Sunday afternoon"),
                    },
                ],
            ),
        ),
        ChunkSummary(
            b,
            summary(
                positions=[
                    {
                        "party": "Mr Adeyemi",
                        "stance": "Supports the overhaul in winter",
                        "evidence": quote(b, "The crews would support holding the commuter pass."),
                    },
                ]
            ),
        ),
    ]
    result = merge_summaries(parts, LONG)
    parties = [p.party for p in result.summary.positions]
    assert parties == ["Oluwaseun Adeyemi", "Adeyemi", "Rafael Quintero"]
    assert result.report.duplicates["positions"] == 1


def test_same_stance_of_different_parties_is_kept_twice() -> None:
    a = CHUNKS[0]
    stance = "Supports the full overhaul"
    parts = [
        ChunkSummary(
            a,
            summary(
                positions=[
                    {
                        "party": "Rafael Quintero",
                        "stance": stance,
                        "evidence": quote(a, "January is our quietest month."),
                    },
                    {
                        "party": "Oluwaseun Adeyemi",
                        "stance": stance,
                        "evidence": quote(a, "We support doing the overhaul in the winter"),
                    },
                ]
            ),
        )
    ]
    assert len(merge_summaries(parts, LONG).summary.positions) == 2


# -- offsets -----------------------------------------------------------------------------


def test_evidence_offsets_point_into_the_original_text() -> None:
    parts = []
    for chunk in CHUNKS:
        line = chunk.text.split("\n")[3]
        said = line.split(": ", 1)[1][:100]
        # Quotes as a model gives them: other case and whitespace than the source.
        parts.append(
            ChunkSummary(
                chunk,
                summary(
                    decisions=[
                        {
                            "description": f"Item {chunk.index}",
                            "evidence": "  " + said.upper().replace(" ", "  "),
                        }
                    ]
                ),
            )
        )
    result = merge_summaries(parts, LONG)
    assert len(result.summary.decisions) == 5
    for i, decision in enumerate(result.summary.decisions):
        span = result.report.evidence_spans[f"decisions[{i}]"]
        assert span is not None
        start, end = span
        assert " ".join(LONG[start:end].upper().split()) == " ".join(decision.evidence.split())
    assert result.report.unmapped == []


def test_unlocatable_quote_is_reported_not_hidden() -> None:
    chunk = CHUNKS[1]
    parts = [
        ChunkSummary(chunk, summary(decisions=[{"description": "x", "evidence": "never said"}]))
    ]
    result = merge_summaries(parts, LONG)
    assert result.report.evidence_spans["decisions[0]"] is None
    assert result.report.unmapped == ["decisions[0]"]


# -- caps, scalars, determinism -------------------------------------------------------------


def decisions_in(chunk: Chunk, n: int) -> list[Any]:
    # Each decision is one turn of the chunk, worded as that turn: distinct items.
    return [{"description": said[:150], "evidence": said[:80]} for said in turns(chunk)[:n]]


def test_caps_keep_best_supported_then_earliest_in_document_order() -> None:
    a, b = CHUNKS[0], CHUNKS[1]
    many = decisions_in(a, 5) + decisions_in(b, 3)
    repeated = decisions_in(b, 3)  # b's three decisions stated again by chunk 2
    parts = [
        ChunkSummary(a, summary(decisions=many[:5])),
        ChunkSummary(b, summary(decisions=many[5:])),
        ChunkSummary(CHUNKS[2], summary(decisions=repeated)),
    ]
    result = merge_summaries(parts, LONG)
    kept = [d.description for d in result.summary.decisions]
    assert kept == [many[0]["description"], many[1]["description"]] + [
        d["description"] for d in many[5:]
    ]
    assert result.report.capped["decisions"] == 3


def test_date_and_location_by_majority_then_first_stated() -> None:
    parts = [
        ChunkSummary(CHUNKS[0], summary(date="2025-10-09", location="Pier Four")),
        ChunkSummary(CHUNKS[1], summary(date="2025-10-08", location="Harbourview")),
        ChunkSummary(CHUNKS[2], summary(date="2025-10-08", location=None)),
    ]
    merged = merge_summaries(parts, LONG).summary
    assert merged.date == "2025-10-08"
    assert merged.location == "Pier Four"


def test_topics_deduplicated_and_summary_capped() -> None:
    long_summary = "The committee discussed many things at length. " * 10
    others = ["Berth allocation", "Winter timetable", "Crew fatigue", "Fares", "Lost property"]
    parts = [
        ChunkSummary(
            c, summary(topics=["Kestrel gearbox overhaul", others[c.index]], summary=long_summary)
        )
        for c in CHUNKS
    ]
    result = merge_summaries(parts, LONG)
    assert result.report.all_topics[0] == "Kestrel gearbox overhaul"
    assert len(result.report.all_topics) == 1 + len(CHUNKS)
    assert len(result.summary.topics) == 5
    assert result.summary.topics[0] == "Kestrel gearbox overhaul"
    assert len(result.summary.summary) <= 900
    assert result.summary.summary.endswith(".")


def test_result_does_not_depend_on_the_order_of_parts() -> None:
    parts = [
        ChunkSummary(
            c,
            summary(
                participants=[person("Zhou" if c.index % 2 else "Mei-Ling Zhou", turns(c)[0][:60])],
                decisions=decisions_in(c, 2),
            ),
        )
        for c in CHUNKS
    ]
    expected = merge_summaries(parts, LONG)
    for order in itertools.islice(itertools.permutations(parts), 0, 120, 7):
        again = merge_summaries(list(order), LONG)
        assert again.summary == expected.summary
        assert again.report == expected.report


def test_nothing_to_merge_is_an_error() -> None:
    with pytest.raises(ValueError, match="nothing to merge"):
        merge_summaries([], LONG)


def test_position_cap_takes_each_party_best_stance_first() -> None:
    chunk = CHUNKS[2]
    said = turns(chunk)
    many = [
        {"party": "Ingrid Solberg", "stance": f"Stance {word}", "evidence": said[i][:60]}
        for i, word in enumerate(["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"])
    ]
    lone = {"party": "Rafael Quintero", "stance": "Only stance", "evidence": said[7][:60]}
    # alpha and bravo are stated by two chunks; the lone Rafael stance by one, late.
    parts = [
        ChunkSummary(chunk, summary(positions=[*many[:4], lone])),
        ChunkSummary(CHUNKS[3], summary(positions=[*many[:2], *many[4:]])),
    ]
    result = merge_summaries(parts, LONG)
    kept = result.summary.positions
    assert len(kept) == 5
    assert "Rafael Quintero" in [p.party for p in kept]
    # Grouped per party.
    parties = [p.party for p in kept]
    assert parties == sorted(parties, key=parties.index)
    assert result.report.capped["positions"] == 2
    assert [p.stance for p in kept if p.party == "Ingrid Solberg"] == [
        "Stance alpha",
        "Stance bravo",
        "Stance charlie",
        "Stance delta",
    ]

"""Tests for summarizer.chunking: whole utterances, exact offsets, budgets, labels."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from summarizer.chunking import Chunk, chunk_text, is_transcript
from summarizer.context import estimate_text_tokens
from summarizer.inputs import load_document

FIXTURES = Path(__file__).parent / "fixtures"
LONG = load_document(FIXTURES / "long_meeting.txt").text
TURN = re.compile(r"^(?:\[\d\d:\d\d:\d\d\] )?[A-Z][\w-]+(?: [A-Z][\w-]+)?: ", re.M)


def turn_starts(text: str) -> list[int]:
    return [m.start() for m in TURN.finditer(text)]


def assert_tiles(chunks: list[Chunk], text: str) -> None:
    """The chunks' own parts give back the text exactly, and each text is its slice."""
    assert "".join(text[c.new_start : c.end] for c in chunks) == text
    for i, c in enumerate(chunks):
        assert c.index == i
        assert c.text == text[c.start : c.end]
        assert c.start <= c.new_start < c.end


# -- the long fixture -------------------------------------------------------------------


def test_long_fixture_is_a_long_transcript() -> None:
    assert len(LONG.split()) > 5000
    assert is_transcript(LONG)
    assert len({m.group(0).split("] ")[-1] for m in TURN.finditer(LONG)}) >= 4


@pytest.mark.parametrize("budget", [700, 1500, 3000, 20_000])
def test_long_fixture_chunks_cut_only_at_turns(budget: int) -> None:
    chunks = chunk_text(LONG, budget)
    assert_tiles(chunks, LONG)
    starts = set(turn_starts(LONG))
    for chunk in chunks[1:]:
        assert chunk.start in starts, LONG[chunk.start : chunk.start + 40]
    for chunk in chunks:
        assert estimate_text_tokens(chunk.text) <= budget
    if budget >= estimate_text_tokens(LONG):
        assert len(chunks) == 1


def test_long_fixture_labels_are_timestamp_ranges() -> None:
    chunks = chunk_text(LONG, 2000)
    assert len(chunks) >= 4
    assert chunks[0].label.startswith("00:00:05\u2013")
    assert chunks[-1].label.endswith("\u201300:37:51")
    for chunk in chunks:
        first, last = chunk.label.split("\u2013")
        assert chunk.text.find(f"[{first}]") >= 0
        assert chunk.text.find(f"[{last}]") >= 0


def greedy_count(text: str, budget: int) -> int:
    """How many chunks plain greedy packing of whole turns needs (turns fit here)."""
    bounds = [0, *turn_starts(text)[1:], len(text)]
    count, start = 1, 0
    for end in bounds[1:]:
        if estimate_text_tokens(text[start:end]) > budget:
            count, start = count + 1, bounds[bounds.index(end) - 1]
    return count


@pytest.mark.parametrize("budget", [1500, 2028, 4220])
def test_chunks_are_as_few_as_greedy_packing_and_balanced(budget: int) -> None:
    chunks = chunk_text(LONG, budget)
    assert len(chunks) == greedy_count(LONG, budget)
    sizes = [len(c.text) for c in chunks]
    # No tiny tail: greedy packing of this fixture at 4220 left a 42-second last chunk.
    assert min(sizes) * 2 > max(sizes)


def test_overlap_repeats_whole_previous_turns_within_budget() -> None:
    plain = chunk_text(LONG, 1500)
    overlapped = chunk_text(LONG, 1500, overlap_units=2)
    assert_tiles(overlapped, LONG)
    starts = set(turn_starts(LONG))
    repeated = [c for c in overlapped if c.start < c.new_start]
    assert repeated, "some chunk should have room for overlap"
    for chunk in overlapped:
        assert chunk.start in starts or chunk.start == 0
        assert estimate_text_tokens(chunk.text) <= 1500
        previous_turns = [s for s in starts if chunk.start <= s < chunk.new_start]
        assert len(previous_turns) <= 2
    assert [c.new_start for c in overlapped] == [c.start for c in plain]


def test_deterministic() -> None:
    assert chunk_text(LONG, 1200, overlap_units=1) == chunk_text(LONG, 1200, overlap_units=1)


# -- generated transcripts ---------------------------------------------------------------

NAMES = st.sampled_from(["Ana Ruiz", "Bo", "Chidi Okoro", "Dara", "Emil Novak"])
WORD = st.text(alphabet="abcdefghij", min_size=1, max_size=9)
SENTENCE = st.lists(WORD, min_size=1, max_size=12).map(lambda ws: " ".join(ws).capitalize() + ".")
UTTERANCE = st.lists(SENTENCE, min_size=1, max_size=8).map(" ".join)


@st.composite
def transcripts(draw: st.DrawFn) -> tuple[str, list[int]]:
    """A transcript and the offsets where each turn starts."""
    turns = draw(st.lists(st.tuples(NAMES, UTTERANCE), min_size=1, max_size=30))
    stamped = draw(st.booleans())
    text, starts = "", []
    for i, (name, said) in enumerate(turns):
        starts.append(len(text))
        stamp = f"[00:{i // 60:02d}:{i % 60:02d}] " if stamped else ""
        text += f"{stamp}{name}: {said}\n"
    return text, starts


@settings(max_examples=150, deadline=None)
@given(data=transcripts(), budget=st.integers(min_value=5, max_value=400))
def test_never_cuts_mid_utterance_unless_it_alone_exceeds_the_budget(
    data: tuple[str, list[int]], budget: int
) -> None:
    text, starts = data
    chunks = chunk_text(text, budget)
    assert_tiles(chunks, text)
    bounds = [*starts, len(text)]
    for chunk in chunks:
        assert estimate_text_tokens(chunk.text) <= budget
        if chunk.start in starts:
            continue
        # Inside a turn: only allowed when that turn alone is over budget, and then
        # at a sentence end when the sentence fits.
        turn = max(s for s in starts if s < chunk.start)
        turn_end = bounds[bounds.index(turn) + 1]
        assert estimate_text_tokens(text[turn:turn_end]) > budget
        before = text[: chunk.start]
        sentence_end = before.endswith(". ")
        space_cut = before.endswith(" ")
        assert sentence_end or space_cut


@settings(max_examples=100, deadline=None)
@given(data=transcripts(), budget=st.integers(min_value=5, max_value=400))
def test_cuts_at_every_turn_that_fits_when_turns_are_small(
    data: tuple[str, list[int]], budget: int
) -> None:
    text, starts = data
    bounds = [*starts, len(text)]
    longest = max(b - a for a, b in zip(bounds, bounds[1:], strict=False))
    if longest > budget * 4:
        return  # covered by the test above
    chunks = chunk_text(text, budget)
    assert all(c.start in starts for c in chunks)


# -- prose and long utterances -------------------------------------------------------------


def test_prose_is_cut_at_paragraphs() -> None:
    paragraphs = [f"Paragraph {i} says something. It has two sentences." for i in range(20)]
    text = "\n\n".join(paragraphs) + "\n"
    assert not is_transcript(text)
    chunks = chunk_text(text, 40)
    assert len(chunks) > 1
    assert_tiles(chunks, text)
    for chunk in chunks:
        assert chunk.text.startswith("Paragraph ")
        assert chunk.text.rstrip("\n").endswith("two sentences.")
        assert chunk.label.startswith("line")


def test_prose_labels_are_one_based_line_ranges() -> None:
    text = "First line.\nSecond line.\n\nThird paragraph.\n"
    chunks = chunk_text(text, 7)
    assert [c.label for c in chunks] == ["lines 1\u20133", "line 4"]


def test_single_long_utterance_is_split_at_sentence_ends() -> None:
    monologue = " ".join(f"Sentence number {i} is here." for i in range(60))
    text = f"Ana Ruiz: Short opener.\nBo: {monologue}\nAna Ruiz: Thanks.\n"
    chunks = chunk_text(text, 50)
    assert_tiles(chunks, text)
    inner = [c for c in chunks if c.start not in turn_starts(text)]
    assert inner, "the monologue must have been split"
    for chunk in inner:
        assert text[: chunk.start].endswith("here. ")
    assert all(estimate_text_tokens(c.text) <= 50 for c in chunks)


def test_text_without_any_break_is_cut_at_the_budget_as_last_resort() -> None:
    text = "x" * 1000
    chunks = chunk_text(text, 10)
    assert [len(c.text) for c in chunks] == [40] * 25
    assert_tiles(chunks, text)


def test_empty_text_has_no_chunks_and_bad_arguments_raise() -> None:
    assert chunk_text("", 100) == []
    with pytest.raises(ValueError):
        chunk_text("a", 0)
    with pytest.raises(ValueError):
        chunk_text("a", 10, overlap_units=-1)


def test_captions_without_speakers_are_cut_at_cue_lines() -> None:
    text = "".join(f"[00:00:{i:02d}] words of cue {i} without a full stop\n" for i in range(40))
    assert is_transcript(text)
    chunks = chunk_text(text, 60)
    assert len(chunks) > 1
    assert_tiles(chunks, text)
    assert all(c.text.startswith("[00:00:") for c in chunks)
    assert chunks[1].label == f"{chunks[1].text[1:9]}\u2013{chunks[1].text.splitlines()[-1][1:9]}"


def test_long_prose_paragraph_without_full_stops_is_cut_at_line_breaks() -> None:
    text = "".join(f"Heading number {i} of the minutes\n" for i in range(30))
    chunks = chunk_text(text, 30)
    assert len(chunks) > 1
    assert_tiles(chunks, text)
    assert all(c.text.startswith("Heading number") for c in chunks)

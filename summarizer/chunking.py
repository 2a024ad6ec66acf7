"""Cut a long document into chunks that each fit the model, never mid-utterance.

The map step of typed map-reduce summarizes every chunk into the same schema;
``summarizer.merge`` joins the results. Chunking is pure and deterministic:
the same text and budget always give the same chunks.

How the text is cut:

1. The text is split into *units* that must stay whole. A document is a
   transcript when most of its non-blank lines are speaker turns
   (``Speaker: text``, ``[HH:MM:SS] Speaker: text`` or ``[HH:MM:SS] text``,
   the forms ``summarizer.inputs`` renders captions and JSON utterances in). Then a unit
   is one turn: the turn line plus any following lines that are not a new turn
   (a wrapped utterance). Otherwise (prose, minutes) a unit is a paragraph,
   ending at a blank line. Text before the first turn is a unit of its own.
2. Units are packed, in order, into as few chunks of at most ``budget``
   estimated tokens (``summarizer.context.estimate_text_tokens``) as greedy
   packing needs, balanced so that the largest chunk is as small as possible
   (no tiny last chunk).
3. The only exception to "whole units": a unit that alone exceeds the budget
   (a monologue, a paragraph of a wall of text) is split at sentence ends or
   line breaks; a
   single sentence over budget is split at the last space that fits, and only
   text with no space at all is cut at the budget itself.

Every unit carries its trailing newlines, so the units tile the text: chunk
``i`` covers ``text[chunk.start:chunk.end]`` and, without overlap, the chunks
concatenated give back the text exactly. Offsets are character offsets in the
original ``Document.text``, which is what evidence is checked against.

Overlap (``overlap_units``, default 0): each chunk after the first may also
repeat the last *n* whole units of the previous chunk, as context (who was
speaking, what a "this" refers to), as long as the chunk stays in budget.
``Chunk.new_start`` marks where the chunk's own text begins; the repeated
units can yield the same item twice, which the merge de-duplicates by
evidence offset.

Each chunk has a ``label`` for messages such as "part 3 of 7 (00:12:00-00:24:30)
could not be summarized": the span of ``[HH:MM:SS]`` stamps when the chunk has
them, else the 1-based line range.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from summarizer.context import CHARS_PER_TOKEN
from summarizer.grounding import speaker_of

__all__ = ["Chunk", "chunk_text", "is_transcript", "span_label"]

_STAMP_RE = re.compile(r"^\[([0-9]{1,9}:[0-9]{2}:[0-9]{2})\] ")
# A sentence ends at . ! ? or an ellipsis (optionally followed by a closing
# quote or bracket) and the whitespace after it; a line break ends one too (a
# heading, a list item, a wrapped line of minutes).
_SENTENCE_END_RE = re.compile(r"(?<=[.!?\u2026])[\"'\u201d\u2019)\]]*\s+|\n+")
_EN_DASH = "\u2013"


@dataclass(frozen=True)
class Chunk:
    """One piece of a document, located in the original text.

    Attributes:
        index: 0-based position among the document's chunks.
        start: offset of the chunk's first character (overlap included).
        new_start: offset where the chunk's own text begins (``start`` when there
            is no overlap); ``text[new_start:end]`` of all chunks tile the text.
        end: offset just past the chunk's last character.
        text: ``document_text[start:end]``.
        label: where the chunk is, for people: "00:12:00–00:24:30" or "lines 120–340".
    """

    index: int
    start: int
    new_start: int
    end: int
    text: str
    label: str


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int


def _is_turn(line: str) -> bool:
    if _STAMP_RE.match(line):
        return True  # a caption cue with no speaker is still a turn of its own
    return speaker_of(line) is not None


def is_transcript(text: str) -> bool:
    """Whether most non-blank lines of ``text`` are speaker turns (``Speaker: ...``)."""
    lines = [line for line in text.split("\n") if line.strip()]
    turns = sum(1 for line in lines if _is_turn(line))
    return bool(lines) and turns * 2 > len(lines)


def _lines(text: str) -> list[tuple[int, int]]:
    """Spans of each line, its newline included (the spans tile the text)."""
    spans: list[tuple[int, int]] = []
    at = 0
    while at < len(text):
        nl = text.find("\n", at)
        end = len(text) if nl < 0 else nl + 1
        spans.append((at, end))
        at = end
    return spans


def _units(text: str) -> list[_Unit]:
    transcript = is_transcript(text)
    units: list[_Unit] = []
    start = 0
    previous_blank = False
    for line_start, line_end in _lines(text):
        line = text[line_start:line_end]
        blank = not line.strip()
        if transcript:
            boundary = _is_turn(line)
        else:
            # A paragraph starts at the first non-blank line after a blank one, so
            # blank lines stay at the end of the paragraph before them.
            boundary = previous_blank and not blank
        if boundary and line_start > start:
            units.append(_Unit(start, line_start))
            start = line_start
        previous_blank = blank
    if start < len(text):
        units.append(_Unit(start, len(text)))
    return units


def _split_long(text: str, unit: _Unit, max_chars: int) -> list[_Unit]:
    """Split an over-long unit at sentence ends (then spaces, then anywhere)."""
    cuts = [m.end() for m in _SENTENCE_END_RE.finditer(text, unit.start, unit.end)]
    sentences: list[_Unit] = []
    start = unit.start
    for cut in [*cuts, unit.end]:
        if cut > start:
            sentences.append(_Unit(start, cut))
            start = cut
    pieces: list[_Unit] = []
    for sentence in sentences:
        start = sentence.start
        while sentence.end - start > max_chars:
            # The last space that keeps the piece in budget; no space: a hard cut.
            space = text.rfind(" ", start + 1, start + max_chars)
            stop = space + 1 if space > start else start + max_chars
            pieces.append(_Unit(start, stop))
            start = stop
        pieces.append(_Unit(start, sentence.end))
    # Rejoin neighbours greedily so pieces are as large as the budget allows.
    merged: list[_Unit] = []
    for piece in pieces:
        if merged and piece.end - merged[-1].start <= max_chars:
            merged[-1] = _Unit(merged[-1].start, piece.end)
        else:
            merged.append(piece)
    return merged


def span_label(text: str, start: int, end: int) -> str:
    """Where ``text[start:end]`` is, for people: its ``[HH:MM:SS]`` span, else its lines."""
    stamps = [
        m.group(1)
        for line in text[start:end].split("\n")
        if (m := _STAMP_RE.match(line)) is not None
    ]
    if stamps:
        return stamps[0] if stamps[0] == stamps[-1] else f"{stamps[0]}{_EN_DASH}{stamps[-1]}"
    first = text.count("\n", 0, start) + 1
    # The line holding the chunk's last character (its newline belongs to it).
    last = text.count("\n", 0, end - 1) + 1
    return f"line {first}" if first == last else f"lines {first}{_EN_DASH}{last}"


def _pack(units: list[_Unit], limit: int) -> list[list[_Unit]]:
    """Greedy packing: each chunk takes units while it stays within ``limit`` chars."""
    groups: list[list[_Unit]] = []
    for unit in units:
        if groups and unit.end - groups[-1][0].start <= limit:
            groups[-1].append(unit)
        else:
            groups.append([unit])
    return groups


def _balanced(units: list[_Unit], max_chars: int) -> list[list[_Unit]]:
    """As few chunks as greedy packing needs, with the largest chunk as small as possible.

    Greedy packing alone leaves a small last chunk (a few turns summarized on
    their own, with little context). The smallest limit that still packs into
    the same number of chunks is found by bisection; greedy packing under a
    limit gives the fewest chunks for that limit, so the count does not grow.
    """
    groups = _pack(units, max_chars)
    if len(groups) < 2:
        return groups
    low = max(u.end - u.start for u in units)  # no limit below the largest unit works
    high = max_chars
    while low < high:
        middle = (low + high) // 2
        if len(_pack(units, middle)) <= len(groups):
            high = middle
        else:
            low = middle + 1
    return _pack(units, high)


def chunk_text(text: str, budget: int, *, overlap_units: int = 0) -> list[Chunk]:
    """Cut ``text`` into chunks of at most ``budget`` estimated tokens.

    Args:
        text: the document text (``Document.text``).
        budget: tokens of text per chunk (``summarizer.context.chunk_budget``).
        overlap_units: whole units of the previous chunk to repeat at the start of
            the next one, as context, when they fit.

    Returns:
        The chunks in document order; one chunk when the text fits whole, none
        for an empty text.

    Raises:
        ValueError: ``budget`` is below 1 or ``overlap_units`` below 0.
    """
    if budget < 1:
        raise ValueError("budget must be at least 1 token")
    if overlap_units < 0:
        raise ValueError("overlap_units must be 0 or more")
    max_chars = int(budget * CHARS_PER_TOKEN)
    units: list[_Unit] = []
    for unit in _units(text):
        if unit.end - unit.start > max_chars:
            units.extend(_split_long(text, unit, max_chars))
        else:
            units.append(unit)

    groups = _balanced(units, max_chars)

    chunks: list[Chunk] = []
    for index, group in enumerate(groups):
        new_start, end = group[0].start, group[-1].end
        start = new_start
        if index > 0 and overlap_units:
            for unit in reversed(groups[index - 1][-overlap_units:]):
                if end - unit.start > max_chars:
                    break
                start = unit.start
        chunks.append(
            Chunk(
                index=index,
                start=start,
                new_start=new_start,
                end=end,
                text=text[start:end],
                label=span_label(text, start, end),
            )
        )
    return chunks

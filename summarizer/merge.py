"""Deterministic merge of per-chunk summaries into one (the reduce step, minus the LLM).

Each chunk of a long document (``summarizer.chunking``) is summarized into the
same ``MeetingSummary`` schema, with evidence quoted from the chunk. This
module joins those summaries without a model; only the narrative ``summary``
and the consolidation of ``topics`` are left to an LLM reduce call, which
receives :attr:`MergeReport.chunk_summaries` and :attr:`MergeReport.all_topics`.

Rules (all deterministic; the result does not depend on the order of the
``parts`` list, which is sorted by chunk index first):

* **Evidence offsets.** Every quote is located in the *original* document with
  ``summarizer.grounding.SourceText`` (exact modulo whitespace, quote style and
  case), searching first inside the item's own chunk, then the whole text. Items
  are ordered by that offset; an unlocated quote sorts after its chunk's start
  and is listed in ``MergeReport.unmapped``.
* **Participants** are the same person when their normalised names (case,
  diacritics and punctuation folded, honorifics and titles such as "Dr.",
  "Minister", "Ms" removed) share the surname (last word) and every other word
  of the shorter name matches a word of the longer one (an initial matches a
  word it begins): "Lavrov" = "Sergei Lavrov" = "Mr S. Lavrov". A short name
  that fits two different people ("Smith" with "Anna Smith" and "John Smith")
  joins neither. The merged participant keeps the fullest name (most words,
  then longest), the first non-null role and organisation, and the earliest
  evidence.
* **Decisions, action items, positions** are duplicates when their evidence
  quotes overlap in the original text (the same passage seen by two
  overlapping chunks), or when their normalised texts are similar:
  similarity = Dice coefficient of their content-word sets (lower-cased,
  diacritics folded, stop words dropped, crude plural ``s`` removed), duplicate
  at >= :data:`SIMILARITY_THRESHOLD` (0.6). Restatements with the same words
  merge; a reworded restatement stays separate (the cap may then drop it).
  Action items with two different known owners are never duplicates; a merged
  action item keeps the earliest wording and fills a missing owner or due date
  from its duplicates.
* **Positions** are merged per party: parties are resolved to participants by
  the name rule above, stances are de-duplicated within a party only, and the
  output lists each party's stances together, parties in order of appearance.
* **Topics** are collected and de-duplicated by the same similarity.
* **Date and location**: the value stated by most chunks; a tie goes to the
  one stated first in the document.
* **Title**: the first chunk's title (the reduce step may replace it).
* **Summary**: the chunk summaries joined in order, cut at a sentence end to the
  schema's 900 characters (a placeholder the reduce step replaces).
* **Caps** (``max_length`` of each list in the schema): when more distinct
  items remain than allowed, the best-supported are kept (supported by the most
  chunks, i.e. most duplicates merged into them), ties going to the earliest in
  the document; kept items are then listed in document order. For positions,
  each party's best stance is chosen before any party's second one.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from summarizer.chunking import Chunk
from summarizer.grounding import SourceText, fold
from summarizer.schemas.fields import max_items
from summarizer.schemas.meeting import (
    ActionItem,
    Decision,
    MeetingSummary,
    Participant,
    Position,
)

__all__ = [
    "SIMILARITY_THRESHOLD",
    "ChunkSummary",
    "MergeReport",
    "MergeResult",
    "merge_summaries",
    "name_key",
    "same_person",
    "text_similarity",
]

SIMILARITY_THRESHOLD = 0.6
_SUMMARY_MAX = 900

_HONORIFICS = frozenset(
    """mr mrs ms miss mx dr prof professor sir dame lord lady madam madame monsieur
    mme herr frau senor senora don dona hon honourable honorable rev reverend
    minister president vice deputy prime foreign secretary general ambassador
    chair chairman chairwoman chairperson mayor governor senator councillor
    councilor commissioner director chief captain colonel judge his her excellency
    h.e he""".split()
)
_STOP_WORDS = frozenset(
    """a an the and or of to in on for at by with from into about as is are was were
    be been being will shall would should can could may might must that this these
    those it its we they he she them their our us i you to do does did has have had
    not no all any each both also than then so such per via agreed agree decided
    decide""".split()
)

T = TypeVar("T")


@dataclass(frozen=True)
class ChunkSummary:
    """The summary one chunk produced, with the chunk it came from."""

    chunk: Chunk
    summary: MeetingSummary


@dataclass
class MergeReport:
    """What the merge did, for the run record and for the LLM reduce step.

    Attributes:
        duplicates: items folded into another, per list ("participants", ...).
        capped: distinct items left out by the schema's caps, per list.
        provenance: for each kept item ("decisions[0]"), the chunk indices that
            produced it or a duplicate of it.
        evidence_spans: for each kept item, the ``(start, end)`` offsets of its
            evidence quote in the original text, or ``None`` if not found.
        unmapped: kept items whose quote could not be located.
        all_topics: every distinct topic, in document order, before the cap.
        chunk_summaries: each chunk's narrative summary, in order.
    """

    duplicates: dict[str, int] = field(default_factory=dict)
    capped: dict[str, int] = field(default_factory=dict)
    provenance: dict[str, list[int]] = field(default_factory=dict)
    evidence_spans: dict[str, tuple[int, int] | None] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)
    all_topics: list[str] = field(default_factory=list)
    chunk_summaries: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class MergeResult:
    """The merged summary and the report of how it was merged."""

    summary: MeetingSummary
    report: MergeReport


# --- normalisation -------------------------------------------------------------


def name_key(name: str) -> tuple[str, ...]:
    """The words of a person's name with case, diacritics and titles removed.

    Honorifics are dropped only while another word remains ("Minister" alone
    stays "minister").
    """
    words = fold(name.replace(".", " ")).split()
    kept = tuple(w for w in words if w not in _HONORIFICS)
    return kept or tuple(words)


def _word_matches(a: str, b: str) -> bool:
    # An initial matches the word it begins ("S" ~ "Sergei"), either way round.
    return a == b or (len(a) == 1 and b.startswith(a)) or (len(b) == 1 and a.startswith(b))


def same_person(a: str, b: str) -> bool:
    """Whether two names can denote the same person (see the module docstring)."""
    ka, kb = name_key(a), name_key(b)
    if not ka or not kb:
        return False
    short, long = (ka, kb) if len(ka) <= len(kb) else (kb, ka)
    if short[-1] != long[-1]:
        return False
    rest = list(long[:-1])
    for word in short[:-1]:
        match = next((w for w in rest if _word_matches(word, w)), None)
        if match is None:
            return False
        rest.remove(match)
    return True


def _content_words(text: str) -> frozenset[str]:
    words = set()
    for word in fold(text).split():
        if word in _STOP_WORDS:
            continue
        # Crude plural folding ("items" ~ "item") without a stemmer dependency.
        words.add(word[:-1] if len(word) > 3 and word.endswith("s") else word)
    return frozenset(words)


def text_similarity(a: str, b: str) -> float:
    """Dice coefficient of the content-word sets of ``a`` and ``b`` (0.0 to 1.0)."""
    wa, wb = _content_words(a), _content_words(b)
    if not wa or not wb:
        return 1.0 if fold(a) == fold(b) else 0.0
    return 2 * len(wa & wb) / (len(wa) + len(wb))


# --- items with their place in the document ------------------------------------


@dataclass
class _Entry:
    """One item of one chunk, located in the original text."""

    item: object
    chunk: int
    order: int  # position inside its chunk's list, for stable ties
    span: tuple[int, int] | None
    sources: set[int] = field(default_factory=set)
    merged: int = 0

    def sort_key(self, chunk_start: dict[int, int]) -> tuple[int, int, int]:
        at = self.span[0] if self.span is not None else chunk_start[self.chunk]
        return (at, self.chunk, self.order)


def _locate(
    source: SourceText, local: SourceText, quote: str, chunk: Chunk
) -> tuple[int, int] | None:
    """Offsets of ``quote`` in the original text, preferring the quoting chunk."""
    found = local.find(quote)
    if found is not None:
        start, end = local.span_in_text(*found)
        return chunk.start + start, chunk.start + end
    found = source.find(quote)
    return source.span_in_text(*found) if found is not None else None


def _overlaps(a: tuple[int, int] | None, b: tuple[int, int] | None) -> bool:
    return a is not None and b is not None and a[0] < b[1] and b[0] < a[1]


def _dedup(
    entries: list[_Entry],
    same: Callable[[_Entry, _Entry], bool],
    combine: Callable[[_Entry, _Entry], None],
) -> tuple[list[_Entry], int]:
    """Fold each entry into the first earlier kept entry it duplicates."""
    kept: list[_Entry] = []
    folded = 0
    for entry in entries:
        target = next((k for k in kept if same(k, entry)), None)
        if target is None:
            entry.sources = {entry.chunk}
            kept.append(entry)
        else:
            combine(target, entry)
            target.sources.add(entry.chunk)
            target.merged += 1
            folded += 1
    return kept, folded


def _cap(kept: list[_Entry], limit: int | None) -> tuple[list[_Entry], int]:
    if limit is None or len(kept) <= limit:
        return kept, 0
    ranked = sorted(enumerate(kept), key=lambda p: (-len(p[1].sources), p[0]))[:limit]
    return [e for _, e in sorted(ranked, key=lambda p: p[0])], len(kept) - limit


def _limit(name: str) -> int | None:
    return max_items(MeetingSummary.model_fields[name])


def _evidence_of(item: object) -> str:
    value = getattr(item, "evidence", "")
    return value if isinstance(value, str) else ""


# --- the merge ----------------------------------------------------------------


def _vote(values: list[tuple[str, int]]) -> str | None:
    """Most frequent value; a tie goes to the first stated (lowest position)."""
    if not values:
        return None
    counts = Counter(v for v, _ in values)
    first: dict[str, int] = {}
    for value, at in values:
        first.setdefault(value, at)
    return min(counts, key=lambda v: (-counts[v], first[v]))


def _join_summaries(texts: list[str]) -> str:
    joined = " ".join(t.strip() for t in texts if t.strip())
    if len(joined) <= _SUMMARY_MAX:
        return joined
    head = joined[:_SUMMARY_MAX]
    ends = [m.end() for m in re.finditer(r"[.!?](?=\s|$)", head)]
    return head[: ends[-1]] if ends else head.rsplit(" ", 1)[0]


def _person_groups(entries: list[_Entry]) -> list[list[_Entry]]:
    """Group participant entries by person; order-independent (see module docstring)."""
    names = sorted(
        {e.item.name for e in entries if isinstance(e.item, Participant)},
        key=lambda n: (-len(name_key(n)), -len(n), n),
    )
    canon: dict[str, str] = {}
    heads: list[str] = []
    for name in names:
        matches = [h for h in heads if same_person(h, name)]
        if len(matches) == 1:
            canon[name] = matches[0]
        else:
            heads.append(name)
            canon[name] = name
    groups: dict[str, list[_Entry]] = {}
    for entry in entries:
        assert isinstance(entry.item, Participant)
        groups.setdefault(canon[entry.item.name], []).append(entry)
    return list(groups.values())


def merge_summaries(parts: Sequence[ChunkSummary], text: str) -> MergeResult:
    """Merge per-chunk summaries of ``text`` into one ``MeetingSummary``.

    Args:
        parts: one summary per chunk that succeeded (any order).
        text: the original document text the chunks were cut from.

    Raises:
        ValueError: ``parts`` is empty (a merge of nothing is never a result).
    """
    if not parts:
        raise ValueError("nothing to merge: no chunk produced a summary")
    ordered = sorted(parts, key=lambda p: p.chunk.index)
    source = SourceText(text)
    chunk_start = {p.chunk.index: p.chunk.start for p in ordered}
    report = MergeReport(chunk_summaries=[p.summary.summary for p in ordered])
    chunk_sources = {p.chunk.index: SourceText(text[p.chunk.start : p.chunk.end]) for p in ordered}

    def entries(attr: str) -> list[_Entry]:
        out: list[_Entry] = []
        for part in ordered:
            for order, item in enumerate(getattr(part.summary, attr)):
                span = _locate(
                    source, chunk_sources[part.chunk.index], _evidence_of(item), part.chunk
                )
                out.append(_Entry(item, part.chunk.index, order, span))
        out.sort(key=lambda e: e.sort_key(chunk_start))
        return out

    # Participants.
    people: list[_Entry] = []
    folded = 0
    for group in _person_groups(entries("participants")):
        head = group[0]
        members = [g.item for g in group if isinstance(g.item, Participant)]
        fullest = max(members, key=lambda p: (len(name_key(p.name)), len(p.name)))
        head.item = Participant(
            name=fullest.name,
            role=next((p.role for p in members if p.role), None),
            organization=next((p.organization for p in members if p.organization), None),
            evidence=members[0].evidence,
        )
        head.sources = {g.chunk for g in group}
        head.merged = len(group) - 1
        folded += len(group) - 1
        people.append(head)
    people.sort(key=lambda e: e.sort_key(chunk_start))
    report.duplicates["participants"] = folded
    canonical = [e.item.name for e in people if isinstance(e.item, Participant)]

    def party_of(name: str) -> str:
        matches = [c for c in canonical if same_person(c, name)]
        return matches[0] if len(matches) == 1 else " ".join(fold(name).split())

    def similar_or_same_quote(a: _Entry, b: _Entry, text_a: str, text_b: str) -> bool:
        return _overlaps(a.span, b.span) or text_similarity(text_a, text_b) >= (
            SIMILARITY_THRESHOLD
        )

    # Decisions.
    def same_decision(a: _Entry, b: _Entry) -> bool:
        assert isinstance(a.item, Decision) and isinstance(b.item, Decision)
        return similar_or_same_quote(a, b, a.item.description, b.item.description)

    decisions, report.duplicates["decisions"] = _dedup(
        entries("decisions"), same_decision, lambda a, b: None
    )

    # Action items.
    def same_action(a: _Entry, b: _Entry) -> bool:
        assert isinstance(a.item, ActionItem) and isinstance(b.item, ActionItem)
        if a.item.owner and b.item.owner and not same_person(a.item.owner, b.item.owner):
            return False
        return similar_or_same_quote(a, b, a.item.task, b.item.task)

    def fill_action(a: _Entry, b: _Entry) -> None:
        assert isinstance(a.item, ActionItem) and isinstance(b.item, ActionItem)
        a.item = a.item.model_copy(
            update={
                "owner": a.item.owner or b.item.owner,
                "due_date": a.item.due_date or b.item.due_date,
            }
        )

    actions, report.duplicates["action_items"] = _dedup(
        entries("action_items"), same_action, fill_action
    )

    # Positions, per party.
    def same_position(a: _Entry, b: _Entry) -> bool:
        assert isinstance(a.item, Position) and isinstance(b.item, Position)
        if party_of(a.item.party) != party_of(b.item.party):
            return False
        return similar_or_same_quote(a, b, a.item.stance, b.item.stance)

    positions, report.duplicates["positions"] = _dedup(
        entries("positions"), same_position, lambda a, b: None
    )

    # Topics: no evidence; located by chunk order.
    topic_entries = [
        _Entry(topic, part.chunk.index, order, None)
        for part in ordered
        for order, topic in enumerate(part.summary.topics)
    ]
    topics, report.duplicates["topics"] = _dedup(
        topic_entries,
        lambda a, b: text_similarity(str(a.item), str(b.item)) >= SIMILARITY_THRESHOLD,
        lambda a, b: None,
    )
    report.all_topics = [str(e.item) for e in topics]

    # Caps.
    people, report.capped["participants"] = _cap(people, _limit("participants"))
    decisions, report.capped["decisions"] = _cap(decisions, _limit("decisions"))
    actions, report.capped["action_items"] = _cap(actions, _limit("action_items"))
    topics, report.capped["topics"] = _cap(topics, _limit("topics"))
    positions, report.capped["positions"] = _cap_positions(positions, _limit("positions"), party_of)

    # Scalars.
    dates = [(p.summary.date, p.chunk.index) for p in ordered if p.summary.date is not None]
    places = [
        (p.summary.location, p.chunk.index) for p in ordered if p.summary.location is not None
    ]

    summary = MeetingSummary(
        title=ordered[0].summary.title,
        date=_vote(dates),
        location=_vote(places),
        participants=[e.item for e in people if isinstance(e.item, Participant)],
        topics=[str(e.item) for e in topics],
        positions=[e.item for e in positions if isinstance(e.item, Position)],
        decisions=[e.item for e in decisions if isinstance(e.item, Decision)],
        action_items=[e.item for e in actions if isinstance(e.item, ActionItem)],
        summary=_join_summaries(report.chunk_summaries),
    )
    for name, kept in (
        ("participants", people),
        ("positions", positions),
        ("decisions", decisions),
        ("action_items", actions),
        ("topics", topics),
    ):
        for i, entry in enumerate(kept):
            key = f"{name}[{i}]"
            report.provenance[key] = sorted(entry.sources)
            if name != "topics":
                report.evidence_spans[key] = entry.span
                if entry.span is None:
                    report.unmapped.append(key)
    return MergeResult(summary, report)


def _cap_positions(
    kept: list[_Entry], limit: int | None, party_of: Callable[[str], str]
) -> tuple[list[_Entry], int]:
    """Cap positions, each party's best stance first; output grouped by party."""
    parties: dict[str, list[_Entry]] = {}
    for entry in kept:
        assert isinstance(entry.item, Position)
        parties.setdefault(party_of(entry.item.party), []).append(entry)
    chosen: set[int] = set()
    if limit is None or len(kept) <= limit:
        chosen = {id(e) for e in kept}
    else:
        rank = 0
        while len(chosen) < limit:
            # Round r takes each party's r-th best stance (most support, then earliest).
            round_entries = []
            for stances in parties.values():
                ranked = sorted(enumerate(stances), key=lambda p: (-len(p[1].sources), p[0]))
                if rank < len(ranked):
                    round_entries.append((ranked[rank][0], ranked[rank][1]))
            if not round_entries:
                break
            round_entries.sort(key=lambda p: (-len(p[1].sources), kept.index(p[1])))
            for _, entry in round_entries[: limit - len(chosen)]:
                chosen.add(id(entry))
            rank += 1
    grouped = [e for stances in parties.values() for e in stances if id(e) in chosen]
    return grouped, len(kept) - len(grouped)

"""Deterministic corrections of a grounded meeting summary, from the text itself.

Runs after grounding (``summarizer.api``), on the document with injected
passages masked. It only adds what the text states in a regular shape and
removes what the text shows is not a participant:

1. participants the model listed who are named only in attribution lines
   ("attributed to Press Officer X") are removed (``summarizer.attendance``);
2. people of attendance lists and "A met with B and C" sentences the model
   missed are added, with the list line or sentence as evidence; a model name
   misspelt against the text ("Philip" for "Philippe") takes the text's spelling;
3. an empty location or date is filled from a heading, a dateline or the
   meeting sentence (``summarizer.dateline``).

Every added value is copied from the text, so the summary stays grounded.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from summarizer.attendance import Attendee, attendance_list, attributed_only, meeting_sentences
from summarizer.dateline import header_date, header_place, meeting_place
from summarizer.grounding import SourceText, fold
from summarizer.merge import same_person
from summarizer.quarantine import MASK
from summarizer.schemas.fields import max_items
from summarizer.schemas.meeting import MeetingSummary, Participant

__all__ = ["Refinement", "refine"]


class Refinement(BaseModel):
    """What ``refine`` changed, for the run record (``RunInfo.refined``)."""

    added: list[str] = Field(
        default_factory=list,
        description="Participants added from an attendance list or a 'met with' sentence.",
    )
    removed: list[str] = Field(
        default_factory=list,
        description="Participants removed: named only in an attribution line.",
    )
    filled: list[str] = Field(
        default_factory=list,
        description="Empty fields ('location', 'date') filled from a heading or dateline.",
    )

    def include(self, other: Refinement) -> None:
        """Add ``other``'s changes (a part's, in a long document), once each."""
        for mine, theirs in (
            (self.added, other.added),
            (self.removed, other.removed),
            (self.filled, other.filled),
        ):
            mine.extend(x for x in theirs if x not in mine)


def _participant_cap() -> int:
    return max_items(MeetingSummary.model_fields["participants"]) or 1_000


def _article(words: list[str]) -> list[str]:
    # "The President" and "President" are one person.
    return words[1:] if len(words) > 1 and words[0] == "the" else words


def _same(a: str, b: str) -> bool:
    """Same person, allowing a misspelt first name ("Philip Errera" ~ "Philippe Errera")."""
    ka, kb = _article(fold(a).split()), _article(fold(b).split())
    if same_person(" ".join(ka), " ".join(kb)):
        return True
    if len(ka) < 2 or len(kb) < 2 or ka[-1] != kb[-1] or len(ka[-1]) < 3:
        return False
    return ka[0][:4] == kb[0][:4] and len(ka[0]) >= 4 and len(kb[0]) >= 4


def _participants(
    people: list[Participant], text: str, source: SourceText, change: Refinement
) -> list[Participant]:
    found: list[Attendee] = [
        p for p in attendance_list(text) + meeting_sentences(text) if MASK not in p.evidence
    ]
    kept: list[Participant] = []
    for person in people:
        listed = any(_same(person.name, a.name) for a in found)
        if not listed and attributed_only(text, person.name):
            change.removed.append(person.name)
            continue
        kept.append(person)
    for attendee in found:
        match = next((i for i, p in enumerate(kept) if _same(p.name, attendee.name)), None)
        if match is not None:
            if source.find(kept[match].name) is None:
                # The model's spelling is not in the text; the list's is.
                kept[match] = kept[match].model_copy(update={"name": attendee.name})
            continue
        kept.append(
            Participant(
                name=attendee.name,
                role=attendee.role,
                organization=None,
                evidence=attendee.evidence,
            )
        )
        change.added.append(attendee.name)
    cap = _participant_cap()
    if len(kept) > cap:
        change.added = [n for n in change.added if n in {p.name for p in kept[:cap]}]
    return kept[:cap]


def refine(summary: MeetingSummary, text: str) -> tuple[MeetingSummary, Refinement]:
    """``summary`` corrected from ``text`` (the masked document) and what changed."""
    change = Refinement()
    source = SourceText(text)
    update: dict[str, object] = {
        "participants": _participants(list(summary.participants), text, source, change)
    }
    if summary.location is None:
        place = header_place(text) or meeting_place(text)
        if place and MASK not in place:
            update["location"] = place
            change.filled.append("location")
    if summary.date is None:
        date = header_date(text)
        if date:
            update["date"] = date
            change.filled.append("date")
    return summary.model_copy(update=update), change

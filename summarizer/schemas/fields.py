"""Field markers that tell the grounding step what to check.

A schema (ours or a user's) marks fields with these ``Annotated`` types; the
grounding step (``summarizer.grounding``) finds them through the field metadata,
so any pydantic model gets the same checks without extra code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field
from pydantic.fields import FieldInfo

__all__ = [
    "Evidence",
    "EvidenceQuote",
    "Mention",
    "Mentioned",
    "MentionedDate",
    "OptionalDate",
    "max_items",
]


@dataclass(frozen=True)
class EvidenceQuote:
    """Marks a string that must be a verbatim quote of the source document."""


@dataclass(frozen=True)
class Mention:
    """Marks a name or place that must occur in the source document.

    Attributes:
        date: the value is an ISO date whose day, month and year must each be
            stated in the source (as digits or a month name), so a date the
            model made up, or a year it assumed, does not survive.
    """

    date: bool = False


Evidence = Annotated[
    str,
    EvidenceQuote(),
    Field(
        description=("Exact quote from the document that supports this item."),
        max_length=250,
    ),
]
Mentioned = Annotated[str, Mention()]
MentionedDate = Annotated[
    str,
    Mention(date=True),
    Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
]
OptionalDate = MentionedDate | None


def max_items(info: FieldInfo) -> int | None:
    """The ``max_length`` a field validates with (a list's cap), if it has one."""
    return next(
        (m.max_length for m in info.metadata if isinstance(getattr(m, "max_length", None), int)),
        None,
    )

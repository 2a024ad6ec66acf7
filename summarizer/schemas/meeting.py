"""The default output schema: a structured summary of one meeting.

Docstrings and field descriptions here are prompt text: they reach the model
through the JSON Schema and through the field guide rendered into the prompt.
Review a wording change here like a prompt change (and re-record cassettes).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from summarizer.schemas.fields import Evidence, Mentioned, OptionalDate

__all__ = ["ActionItem", "Decision", "MeetingSummary", "Participant", "Position"]

_STRICT = ConfigDict(extra="forbid")
ASKED_PARTICIPANTS = 6
"""How many participants the model may list; a summary may hold more (see below)."""


class Participant(BaseModel):
    """A person who took part in the meeting (not someone merely mentioned)."""

    model_config = _STRICT

    name: Mentioned = Field(description="Full name as written in the document.", max_length=80)
    role: str | None = Field(description="Title or role in the meeting.", max_length=120)
    organization: str | None = Field(
        description="Organisation or country the person represents.",
        max_length=80,
    )
    evidence: Evidence


class Position(BaseModel):
    """A view or stance a party stated in the meeting."""

    model_config = _STRICT

    party: str = Field(
        description="Who holds the position: a participant or a side.", max_length=80
    )
    stance: str = Field(description="The position in one short sentence.", max_length=200)
    evidence: Evidence


class Decision(BaseModel):
    """Something decided or agreed in the meeting."""

    model_config = _STRICT

    description: str = Field(
        description="What was decided or agreed, in one sentence.", max_length=200
    )
    evidence: Evidence


class ActionItem(BaseModel):
    """A task someone has to do after the meeting."""

    model_config = _STRICT

    task: str = Field(description="What has to be done.", max_length=200)
    owner: str | None = Field(description="Who will do it.", max_length=80)
    due_date: OptionalDate = Field(description="Deadline.")
    evidence: Evidence


class MeetingSummary(BaseModel):
    """A structured, evidence-grounded summary of one meeting."""

    model_config = _STRICT

    title: str = Field(description="A short title for the meeting.", max_length=120)
    date: OptionalDate = Field(description="Day the meeting took place.")
    location: Mentioned | None = Field(
        description="City or venue of the meeting.",
        max_length=80,
    )
    participants: list[Participant] = Field(
        description="People present at the meeting, each once. Exclude people only mentioned.",
        max_length=20,
        # The model is asked for at most 6 (its JSON Schema, hence a local engine's
        # grammar, says so): a small model loops on long lists. The pipeline adds the
        # rest of an attendance list from the text itself (summarizer.refine).
        json_schema_extra={"maxItems": ASKED_PARTICIPANTS},
    )
    topics: list[Annotated[str, Field(max_length=80)]] = Field(
        description="Main subjects discussed, each different.", max_length=5
    )
    positions: list[Position] = Field(description="Views each party stated.", max_length=5)
    decisions: list[Decision] = Field(
        description="Decisions made and agreements reached.", max_length=5
    )
    action_items: list[ActionItem] = Field(
        description="Tasks assigned for after the meeting.", max_length=6
    )
    summary: str = Field(description="Three to five sentences on what happened.", max_length=900)

"""Output schemas: the default ``MeetingSummary`` and the field markers any schema may use."""

from summarizer.schemas.fields import Evidence, Mentioned, MentionedDate, OptionalDate
from summarizer.schemas.meeting import ActionItem, Decision, MeetingSummary, Participant, Position

__all__ = [
    "ActionItem",
    "Decision",
    "Evidence",
    "MeetingSummary",
    "Mentioned",
    "MentionedDate",
    "OptionalDate",
    "Participant",
    "Position",
]

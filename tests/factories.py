"""Meeting summaries for tests: every field present, the ones a test cares about chosen.

``answer`` is the JSON a model would send (plain dicts), ``summary`` the
validated ``MeetingSummary``; both start from the same empty meeting, so a
test names only what it is about.
"""

from __future__ import annotations

from typing import Any

from summarizer.schemas.meeting import MeetingSummary


def answer(**fields: Any) -> dict[str, Any]:
    """A model answer with no items: title, empty lists, null date and place."""
    data: dict[str, Any] = {
        "title": "Meeting summary",
        "date": None,
        "location": None,
        "participants": [],
        "topics": [],
        "positions": [],
        "decisions": [],
        "action_items": [],
        "summary": "The meeting was summarised.",
    }
    data.update(fields)
    return data


def summary(**fields: Any) -> MeetingSummary:
    """``answer(**fields)`` validated (fields may be dicts or schema objects)."""
    return MeetingSummary.model_validate(answer(**fields))


def person(
    name: str, evidence: str, role: str | None = None, org: str | None = None
) -> dict[str, Any]:
    """One participant as a model answers it."""
    return {"name": name, "role": role, "organization": org, "evidence": evidence}

"""Tests for summarizer.render.to_markdown."""

from __future__ import annotations

import typing

from pydantic import BaseModel

from summarizer.render import to_markdown
from summarizer.schemas import ActionItem, Decision, MeetingSummary, Participant, Position


def _summary(**fields: object) -> MeetingSummary:
    base: dict[str, object] = {
        "title": "Riverside library board",
        "date": "2023-03-14",
        "location": "Elm Street branch",
        "participants": [
            Participant(
                name="Margaret Hollis",
                role="Chair",
                organization="Riverside Community Library Board",
                evidence="Margaret Hollis opened the meeting\n  at 6:30 pm",
            ),
            Participant(
                name="Leon Farrant",
                role=None,
                organization=None,
                evidence="Leon Farrant reported that the roof is leaking again.",
            ),
        ],
        "topics": ["Weekend opening hours", "Roof repairs"],
        "positions": [
            Position(
                party="Priya Natarajan",
                stance="No budget for paid hours.",
                evidence="Priya Natarajan warned that the current budget has no room",
            )
        ],
        "decisions": [
            Decision(
                description="Close the children's section for a week.",
                evidence="The board agreed to close the children's section for one week",
            )
        ],
        "action_items": [
            ActionItem(
                task="Circulate the revised budget",
                owner="Priya Natarajan",
                due_date="2023-03-31",
                evidence="Priya Natarajan will circulate the revised budget by 31 March 2023.",
            ),
            ActionItem(
                task="Find a roofer",
                owner=None,
                due_date=None,
                evidence="The council would cover the cost of the repair",
            ),
        ],
        "summary": "The board agreed a Sunday trial and a roof repair.",
    }
    base.update(fields)
    return MeetingSummary(**base)


class _Prompt(BaseModel):
    name: str
    version: str


class _Dropped(BaseModel):
    key: str
    item: str
    reason: str


class _Run(BaseModel):
    """The fields of summarizer.RunInfo that the footer uses."""

    model: str
    provider: str
    prompt: _Prompt
    usage: dict[str, int]
    duration_s: float
    dropped: list[_Dropped] = []


def test_the_stand_in_run_model_matches_run_info() -> None:
    from summarizer import RunInfo

    fields = RunInfo.model_fields
    assert set(_Run.model_fields) <= set(fields)
    (dropped,) = typing.get_args(fields["dropped"].annotation)
    assert set(_Dropped.model_fields) == set(dropped.model_fields)
    assert set(_Prompt.model_fields) == set(fields["prompt"].annotation.model_fields)  # type: ignore[union-attr]


def _section(markdown: str, heading: str) -> list[str]:
    lines = markdown.splitlines()
    start = lines.index(f"## {heading}") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith(("## ", "---"))), None)
    return [line for line in lines[start:end] if line.strip()]


def test_meeting_summary_header_and_summary() -> None:
    markdown = to_markdown(_summary())
    lines = markdown.splitlines()
    assert lines[0] == "# Riverside library board"
    assert "**Date:** 2023-03-14" in markdown
    assert "**Location:** Elm Street branch" in markdown
    assert _section(markdown, "Summary") == ["The board agreed a Sunday trial and a roof repair."]
    assert markdown.endswith("\n") and not markdown.endswith("\n\n")
    assert "---" not in markdown  # no run footer without a run


def test_missing_date_and_location_say_not_stated() -> None:
    markdown = to_markdown(_summary(date=None, location=None))
    assert "**Date:** not stated" in markdown
    assert "**Location:** not stated" in markdown


def test_participants_show_role_organisation_and_evidence_on_one_quote_line() -> None:
    section = _section(to_markdown(_summary()), "Participants")
    assert section == [
        "- **Margaret Hollis** — Chair, Riverside Community Library Board  ",
        "  > Margaret Hollis opened the meeting at 6:30 pm",
        "- **Leon Farrant**  ",
        "  > Leon Farrant reported that the roof is leaking again.",
    ]


def test_positions_decisions_and_topics() -> None:
    markdown = to_markdown(_summary())
    assert _section(markdown, "Topics") == ["- Weekend opening hours", "- Roof repairs"]
    assert _section(markdown, "Positions") == [
        "- **Priya Natarajan:** No budget for paid hours.  ",
        "  > Priya Natarajan warned that the current budget has no room",
    ]
    assert _section(markdown, "Decisions")[0] == "- Close the children's section for a week.  "


def test_action_items_show_owner_and_due_date_or_unassigned() -> None:
    section = _section(to_markdown(_summary()), "Action items")
    assert section == [
        "- [ ] Circulate the revised budget — Priya Natarajan (due 2023-03-31)  ",
        "  > Priya Natarajan will circulate the revised budget by 31 March 2023.",
        "- [ ] Find a roofer — unassigned  ",
        "  > The council would cover the cost of the repair",
    ]


def test_empty_lists_leave_out_their_sections() -> None:
    markdown = to_markdown(
        _summary(participants=[], topics=[], positions=[], decisions=[], action_items=[])
    )
    for heading in ("Participants", "Topics", "Positions", "Decisions", "Action items"):
        assert f"## {heading}" not in markdown
    assert "## Summary" in markdown


def test_run_footer_names_the_model_and_every_dropped_item() -> None:
    run = _Run(
        model="gpt-4o-mini",
        provider="openai",
        prompt=_Prompt(name="summarize", version="1"),
        usage={"prompt_tokens": 1000, "completion_tokens": 234, "total_tokens": 1234},
        duration_s=2.345,
        dropped=[
            _Dropped(
                key="decisions[1]",
                item="description=Build a pool",
                reason="not found in the document",
            ),
            _Dropped(key="location", item="Springfield", reason="not in the document"),
        ],
    )
    markdown = to_markdown(_summary(), run)
    footer = markdown.split("\n---\n", 1)[1].strip().splitlines()
    assert footer == [
        "*gpt-4o-mini via openai, prompt summarize v1, 1234 tokens, 2.3s.*",
        "*Dropped decisions[1] (not found in the document): description=Build a pool*",
        "*Dropped location (not in the document): Springfield*",
    ]


def test_run_footer_without_dropped_items() -> None:
    run = _Run(
        model="m",
        provider="embedded",
        prompt=_Prompt(name="brief", version="3"),
        usage={"total_tokens": 5},
        duration_s=0.04,
    )
    markdown = to_markdown(_summary(), run)
    assert markdown.rstrip().endswith("*m via embedded, prompt brief v3, 5 tokens, 0.0s.*")
    assert "Dropped" not in markdown


class _Step(BaseModel):
    what: str
    who: str | None


class _Plan(BaseModel):
    goal: str
    steps: list[_Step]
    tags: list[str]
    budget: float | None


def test_generic_model_renders_every_field_nested() -> None:
    plan = _Plan(
        goal="Reopen the Karsk crossing",
        steps=[_Step(what="Train inspectors", who="Ostrelia"), _Step(what="Report", who=None)],
        tags=[],
        budget=1.5,
    )
    assert to_markdown(plan).splitlines() == [
        "- **goal:** Reopen the Karsk crossing",
        "- **steps:**",
        "  - **what:** Train inspectors",
        "  - **who:** Ostrelia",
        "  - **what:** Report",
        "  - **who:** None",
        "- **tags:**",
        "  - (none)",
        "- **budget:** 1.5",
    ]


def test_generic_model_gets_the_run_footer_too() -> None:
    run = _Run(
        model="m",
        provider="compatible",
        prompt=_Prompt(name="plan", version="2"),
        usage={"total_tokens": 10},
        duration_s=1.0,
        dropped=[_Dropped(key="steps[2]", item="what=Fly", reason="not found in the document")],
    )
    markdown = to_markdown(_Plan(goal="g", steps=[], tags=["a"], budget=None), run)
    assert markdown.startswith("- **goal:** g\n")
    assert "*Dropped steps[2] (not found in the document): what=Fly*" in markdown

"""Readable Markdown minutes from a summary (any pydantic model, best for ``MeetingSummary``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from summarizer.schemas.meeting import MeetingSummary

__all__ = ["to_markdown"]


def _quote(evidence: str) -> str:
    return f"  \n  > {' '.join(evidence.split())}"


def _meeting(summary: MeetingSummary) -> list[str]:
    lines = [f"# {summary.title}", ""]
    facts = [
        f"**Date:** {summary.date or 'not stated'}",
        f"**Location:** {summary.location or 'not stated'}",
    ]
    lines += ["  \n".join(facts), "", "## Summary", "", summary.summary, ""]
    if summary.participants:
        lines += ["## Participants", ""]
        for p in summary.participants:
            detail = ", ".join(x for x in (p.role, p.organization) if x)
            lines.append(
                f"- **{p.name}**" + (f" — {detail}" if detail else "") + _quote(p.evidence)
            )
        lines.append("")
    if summary.topics:
        lines += ["## Topics", "", *[f"- {t}" for t in summary.topics], ""]
    if summary.positions:
        lines += ["## Positions", ""]
        lines += [f"- **{p.party}:** {p.stance}" + _quote(p.evidence) for p in summary.positions]
        lines.append("")
    if summary.decisions:
        lines += ["## Decisions", ""]
        lines += [f"- {d.description}" + _quote(d.evidence) for d in summary.decisions]
        lines.append("")
    if summary.action_items:
        lines += ["## Action items", ""]
        for a in summary.action_items:
            owner = a.owner or "unassigned"
            due = f" (due {a.due_date})" if a.due_date else ""
            lines.append(f"- [ ] {a.task} — {owner}{due}" + _quote(a.evidence))
        lines.append("")
    return lines


def _generic(value: Any, depth: int = 0) -> list[str]:
    pad = "  " * depth
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if isinstance(item, dict | list):
                lines += [f"{pad}- **{key}:**", *_generic(item, depth + 1)]
            else:
                lines.append(f"{pad}- **{key}:** {item}")
        return lines
    if isinstance(value, list):
        return [line for item in value for line in _generic(item, depth)] or [f"{pad}- (none)"]
    return [f"{pad}- {value}"]


def to_markdown(summary: BaseModel, run: BaseModel | None = None) -> str:
    """Render ``summary`` as Markdown; a footer names the model and any dropped items."""
    lines = _meeting(summary) if isinstance(summary, MeetingSummary) else _generic(summary)
    if run is not None:
        data = run.model_dump(mode="json")
        lines += [
            "---",
            "",
            f"*{data['model']} via {data['provider']}, prompt {data['prompt']['name']} "
            f"v{data['prompt']['version']}, {data['usage']['total_tokens']} tokens, "
            f"{data['duration_s']:.1f}s.*",
        ]
        chunking = data.get("chunking")
        if chunking:
            lines.append(f"*Summarized in {len(chunking['parts'])} parts.*")
            for label in chunking["missing"]:
                lines.append(f"*Missing: the part at {label} could not be summarized.*")
        for item in data.get("dropped", []):
            lines.append(f"*Dropped {item['key']} ({item['reason']}): {item['item']}*")
    return "\n".join(lines).rstrip() + "\n"

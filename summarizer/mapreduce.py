"""Typed map-reduce for documents longer than the model's context.

A document whose text exceeds the chunk budget (``summarizer.context``) is
summarized in parts and joined again:

1. **map**: ``summarizer.chunking`` cuts the text at speaker turns or paragraph
   ends; every chunk goes through the ordinary single-document pipeline (same
   prompt, same schema, same grounding) as a document of its own;
2. **merge**: ``summarizer.merge`` joins the part summaries without a model
   (participants, positions, decisions, action items, date and place);
3. **reduce**: one small model call writes the title, topic list and narrative
   of the whole meeting from the parts' narratives (``prompts/reduce.md``).

Like ``summarizer.api._pipeline`` this is a generator free of I/O: it yields
the model calls it needs and the driver sends back the answers, or *throws*
the ``RunError`` a call ended with, so that failure handling lives here:

* a part whose answer was invalid or truncated (``ValidationExhaustedError``,
  ``TruncatedOutputError``, ``ContextOverflowError``) is retried as two halves,
  which ask the model for less at once; a half that fails again is recorded
  as a missing part, and the others go on;
* a part that failed at the provider (``ProviderError``, ``EngineError``) is
  retried once; if it fails again the whole document fails with an error that
  names the part, since the next parts would meet the same provider;
* if no part succeeds, the document fails; if some part is missing, the result
  says which (``ChunkingInfo.missing``) and the caller decides
  (``Summarizer`` raises ``IncompleteSummaryError`` unless partial results
  were asked for). A partial result is never silent.

Parts are summarized without grounding re-asks: a re-ask resends the whole part
(doubling its prompt tokens), while anchoring (``summarizer.grounding``)
already gives an item with a missing quote the source sentence that supports it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Generator
from typing import Annotated, Any

from pydantic import BaseModel, Field, create_model

from summarizer.chunking import Chunk, chunk_text, span_label
from summarizer.config import Settings
from summarizer.context import estimate_text_tokens
from summarizer.errors import (
    ContextOverflowError,
    RunError,
    TruncatedOutputError,
    ValidationExhaustedError,
)
from summarizer.inputs import Document
from summarizer.llm import ModelCall
from summarizer.merge import ChunkSummary, merge_summaries
from summarizer.prompts import Prompt
from summarizer.quarantine import injected_terms, quarantine, strip_injected
from summarizer.refine import Refinement
from summarizer.repetition import cut_repeats
from summarizer.schemas.meeting import MeetingSummary

__all__ = ["ChunkingInfo", "PartInfo", "map_reduce"]

# Errors about the answer itself: a smaller part asks for less and may succeed.
_CONTENT_ERRORS = (ValidationExhaustedError, TruncatedOutputError, ContextOverflowError)
# Errors with the provider: one more try of the same part, then give up.
_PART_RETRIES = 1
# A part shorter than this is not split further when it fails.
_MIN_SPLIT_TOKENS = 400
_REDUCE_MAX_TOKENS = 700

SinglePipeline = Callable[
    [Document, Settings], Generator[ModelCall, BaseModel, tuple[MeetingSummary, dict[str, Any]]]
]
Progress = Callable[[str], None]

# The reduce step answers only the fields the merge cannot compute; their
# descriptions and limits are the summary schema's own.
_FIELDS = MeetingSummary.model_fields
Narrative = create_model(
    "Narrative",
    title=(str, _FIELDS["title"]),
    topics=(list[Annotated[str, Field(max_length=80)]], _FIELDS["topics"]),
    summary=(str, _FIELDS["summary"]),
)


class PartInfo(BaseModel):
    """One part of a chunked document, as the run record reports it."""

    label: str = Field(description="Where the part is: a time span or a line range.")
    start: int = Field(description="Offset of the part's first character in the document.")
    end: int = Field(description="Offset just past the part's last character.")
    ok: bool
    error: str | None = None


class ChunkingInfo(BaseModel):
    """How a long document was split and joined (``RunInfo.chunking``)."""

    context_tokens: int
    chunk_budget: int = Field(description="Estimated tokens of text per part, at most.")
    parts: list[PartInfo]
    missing: list[str] = Field(
        default_factory=list, description="Labels of the parts that could not be summarized."
    )
    duplicates: dict[str, int] = Field(
        default_factory=dict, description="Items folded into another, per list."
    )
    capped: dict[str, int] = Field(
        default_factory=dict, description="Distinct items left out by the schema's limits."
    )
    reduce: str = Field(description="'done', 'failed: <reason>' or 'skipped' (one part).")


def _part_document(document: Document, chunk: Chunk, total: int) -> Document:
    return dataclasses.replace(
        document,
        text=chunk.text,
        name=f"{document.name} part {chunk.index + 1} of {total} ({chunk.label})",
    )


def _halves(chunk: Chunk, document_text: str) -> list[Chunk]:
    """``chunk`` cut in two at unit boundaries, offsets in the original text."""
    # Whole units rarely split evenly: the smallest budget giving two pieces, not three.
    budget = math.ceil(estimate_text_tokens(chunk.text) / 2)
    pieces = chunk_text(chunk.text, budget)
    while len(pieces) > 2:
        budget = math.ceil(budget * 1.1)
        pieces = chunk_text(chunk.text, budget)
    if len(pieces) < 2:
        return []
    halves = []
    for piece in pieces:
        start, end = chunk.start + piece.start, chunk.start + piece.end
        halves.append(
            Chunk(
                index=chunk.index,
                start=start,
                new_start=chunk.start + piece.new_start,
                end=end,
                text=document_text[start:end],
                label=span_label(document_text, start, end),
            )
        )
    return halves


def _prefixed(exc: RunError, prefix: str) -> RunError:
    """The same error class, its message prefixed (with the part it happened in)."""
    try:
        wrapped = type(exc)(f"{prefix}: {exc}")
    except TypeError:  # a subclass with a different constructor
        wrapped = RunError(f"{prefix}: {exc}")
    wrapped.usage = exc.usage
    return wrapped


def map_reduce(
    document: Document,
    single: SinglePipeline,
    reduce_prompt: Prompt,
    settings: Settings,
    *,
    budget: int,
    context: int,
    progress: Progress | None = None,
) -> Generator[ModelCall, BaseModel, tuple[MeetingSummary, dict[str, Any]]]:
    """Summarize ``document`` in parts of at most ``budget`` tokens and join them.

    Args:
        document: the whole document.
        single: the single-document pipeline, called once per part.
        reduce_prompt: the template of the narrative reduce call.
        settings: the run's settings (parts run without grounding re-asks).
        budget: estimated tokens of text per part.
        context: the model's context window (for the run record).
        progress: called with one line per part.

    Returns:
        The merged summary and the run details ``summarizer.api`` records,
        including ``"chunking"`` (a :class:`ChunkingInfo`).

    Raises:
        RunError: no part could be summarized, or the provider failed on a part.
    """
    chunks = chunk_text(document.text, budget)
    total = len(chunks)
    part_settings = settings.with_overrides(grounding_reasks=0)
    parts: list[ChunkSummary] = []
    infos: list[PartInfo] = []
    extras: list[tuple[str, dict[str, Any]]] = []
    last_error: RunError | None = None

    def say(message: str) -> None:
        if progress is not None:
            progress(message)

    def attempt(
        chunk: Chunk, label: str
    ) -> Generator[ModelCall, BaseModel, tuple[MeetingSummary | None, RunError | None]]:
        part = _part_document(document, chunk, total)
        for retry in range(_PART_RETRIES + 1):
            try:
                summary, extra = yield from single(part, part_settings)
            except _CONTENT_ERRORS as exc:
                return None, exc
            except RunError as exc:
                if retry == _PART_RETRIES:
                    raise _prefixed(exc, f"part {label}") from exc
                say(f"part {label} failed ({exc}); retrying")
                continue
            extras.append((chunk.label, extra))
            return summary, None
        raise AssertionError("unreachable")  # pragma: no cover

    for chunk in chunks:
        label = f"{chunk.index + 1} of {total} ({chunk.label})"
        tokens = estimate_text_tokens(chunk.text)
        say(f"part {label}: about {tokens:,} tokens")
        summary, error = yield from attempt(chunk, label)
        if summary is not None:
            parts.append(ChunkSummary(chunk, summary))
            infos.append(PartInfo(label=chunk.label, start=chunk.start, end=chunk.end, ok=True))
            continue
        assert error is not None
        last_error = error
        halves = _halves(chunk, document.text) if tokens >= _MIN_SPLIT_TOKENS else []
        if halves:
            say(f"part {label} failed ({error}); retrying as {len(halves)} smaller parts")
        halves_failed = [] if halves else [(chunk, error)]
        for half in halves:
            half_label = f"{label}, {half.label}"
            summary, half_error = yield from attempt(half, half_label)
            if summary is not None:
                parts.append(ChunkSummary(half, summary))
                infos.append(PartInfo(label=half.label, start=half.start, end=half.end, ok=True))
            else:
                assert half_error is not None
                last_error = half_error
                halves_failed.append((half, half_error))
        for failed, failure in halves_failed:
            say(f"part {label}: could not be summarized ({failure})")
            infos.append(
                PartInfo(
                    label=failed.label,
                    start=failed.start,
                    end=failed.end,
                    ok=False,
                    error=str(failure),
                )
            )

    if not parts:
        assert last_error is not None
        raise _prefixed(last_error, f"every one of the {total} parts failed, the last with")

    # Parts (and halves of failed parts) in document order, numbered again so the
    # merge's provenance refers to positions in this order.
    ordered = sorted(parts, key=lambda p: p.chunk.start)
    numbered = [
        ChunkSummary(dataclasses.replace(p.chunk, index=i), p.summary)
        for i, p in enumerate(ordered)
    ]
    infos.sort(key=lambda info: info.start)
    merged = merge_summaries(numbered, document.text)
    summary = merged.summary

    reduce_state = "skipped"
    if len(numbered) > 1:
        say(f"joining {len(numbered)} parts")
        rendered = reduce_prompt.render(
            name=document.name,
            parts=[
                {"label": p.chunk.label, "summary": p.summary.summary, "title": p.summary.title}
                for p in numbered
            ],
            topics=merged.report.all_topics,
        )
        messages = (
            [{"role": "system", "content": rendered["system"]}] if "system" in rendered else []
        )
        messages.append({"role": "user", "content": rendered["user"]})
        try:
            narrative = yield ModelCall(messages, Narrative, max_tokens=_REDUCE_MAX_TOKENS)
        except RunError as exc:
            # The merged lists stand without it; the placeholder narrative (the
            # parts' narratives joined) stays, and the run record says so.
            reduce_state = f"failed: {exc}"
        else:
            summary = summary.model_copy(update=narrative.model_dump())
            reduce_state = "done"

    # The reduce call saw only model output, but that output may repeat a name
    # or code planted in an instruction-like passage: strip it as in one call.
    masked = quarantine(document.text)
    summary, stripped = strip_injected(summary, injected_terms(document.text, masked))
    summary, looped = cut_repeats(summary)
    stripped += looped

    missing = [info.label for info in infos if not info.ok]
    chunking = ChunkingInfo(
        context_tokens=context,
        chunk_budget=budget,
        parts=infos,
        missing=missing,
        duplicates={k: v for k, v in merged.report.duplicates.items() if v},
        capped={k: v for k, v in merged.report.capped.items() if v},
        reduce=reduce_state,
    )
    dropped: list[dict[str, str]] = []
    for part_label, part_extra in extras:
        dropped += [{**d, "key": f"({part_label}) {d['key']}"} for d in part_extra["dropped"]]
    dropped += stripped
    refined = Refinement()
    for _, part_extra in extras:
        refined.include(part_extra["refined"])
    extra = {
        "aligned": sum(e["aligned"] for _, e in extras),
        "anchored": sum(e["anchored"] for _, e in extras),
        "dropped": dropped,
        "reasks": sum(e["reasks"] for _, e in extras),
        "masked": len(masked.spans),
        "refined": refined,
        "chunking": chunking,
    }
    return summary, extra

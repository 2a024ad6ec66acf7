"""The public entry points: ``summarize``, ``asummarize`` and ``Summarizer``.

One pipeline serves the sync and the async API. It is written once, as a
generator that *yields* the model calls it needs and receives their results
(``_pipeline``); two small drivers run it, one with blocking calls and one
with ``await``. Prompt building, grounding, re-asking and merging exist once.

Per document:

1. render the prompt (system text + field guide, then the fenced document);
2. one structured completion (transport retries and validation re-asks
   happen inside ``ChatModel``);
3. ground every item (``summarizer.grounding``): exact quotes kept, near-
   verbatim quotes aligned to the source, the rest collected;
4. up to ``grounding_reasks`` follow-up calls asking for exact quotes of the
   failing items only (a bounded prompt: the same prefix plus a short list);
5. drop what is still ungrounded and report it in ``run.dropped``, as well as
   sentences a model repeated in free text (``summarizer.repetition``);
6. for the default schema, add what the text states in regular shapes
   (attendance lists, "A met with B", headings; ``summarizer.refine``), and
   record it in ``run.refined``.

Grounding checks against the document with instruction-like passages masked
(``summarizer.quarantine``), so injected text cannot serve as evidence.
"""

from __future__ import annotations

import hashlib
import os
import time
import urllib.parse
from collections.abc import Callable, Generator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, create_model

from summarizer.config import ProviderKind, Settings, resolve_settings
from summarizer.context import chunk_budget, context_tokens, estimate_text_tokens, part_budget
from summarizer.engine.server import EmbeddedEngine
from summarizer.errors import ContextOverflowError, IncompleteSummaryError, RunError
from summarizer.grounding import (
    Failure,
    SourceText,
    apply_quote_fixes,
    drop_failures,
    ground,
)
from summarizer.inputs import Document, document_from_text, load_document
from summarizer.llm import CallStats, ChatModel, Limiter, ModelCall
from summarizer.mapreduce import ChunkingInfo, map_reduce
from summarizer.prompts import Prompt, load_prompt
from summarizer.quarantine import injected_terms, quarantine, strip_injected
from summarizer.refine import Refinement, refine
from summarizer.repetition import cut_repeats
from summarizer.schemas.guide import field_guide
from summarizer.schemas.meeting import MeetingSummary

__all__ = [
    "Result",
    "RunInfo",
    "Summarizer",
    "as_document",
    "asummarize",
    "public_url",
    "summarize",
]

T = TypeVar("T", bound=BaseModel)
Source = Document | str | os.PathLike[str]
Progress = Callable[[str], None]

_REASK_PROMPT = "reask_quotes"
_REDUCE_PROMPT = "reduce"


class PromptInfo(BaseModel):
    """Which template produced the request."""

    name: str
    version: str


class DocumentInfo(BaseModel):
    """The input as the model saw it."""

    name: str
    format: str
    chars: int
    sha256: str


class Dropped(BaseModel):
    """An item removed because its evidence or mention was not in the source."""

    key: str
    item: str
    reason: str


class RunInfo(BaseModel):
    """How a summary was produced: provider, prompt, cost, attempts, what was dropped."""

    model_config = ConfigDict(extra="forbid")

    model: str
    provider: ProviderKind
    base_url: str | None
    mode: str
    prompt: PromptInfo
    document: DocumentInfo
    usage: dict[str, int]
    completions: int = Field(description="Model completions received, over every attempt.")
    http_calls: int = Field(description="HTTP requests sent, transport retries included.")
    reasks: int = Field(description="Follow-up calls made to fix ungrounded quotes.")
    aligned_quotes: int = Field(
        description="Near-verbatim quotes replaced by the exact source text they matched."
    )
    anchored_quotes: int = Field(
        description="Items whose quote was missing or unsupportive, given the source sentence "
        "that best supports them."
    )
    dropped: list[Dropped]
    masked_passages: int = Field(
        default=0,
        description="Passages of the document that address the model (prompt injection "
        "markers), which evidence was not allowed to cite.",
    )
    refined: Refinement = Field(
        default_factory=Refinement,
        description="What was corrected from the text after grounding (summarizer.refine).",
    )
    duration_s: float
    engine_seconds: float | None = Field(
        default=None, description="Compute time the llama.cpp engine reported, when it did."
    )
    engine_prompt_s: float | None = Field(
        default=None, description="Of which prompt evaluation (llama.cpp's own clock)."
    )
    engine_generation_s: float | None = Field(
        default=None, description="Of which token generation (llama.cpp's own clock)."
    )
    chunking: ChunkingInfo | None = Field(
        default=None,
        description="Set when the document was too long for one call and was summarized "
        "in parts (summarizer.mapreduce).",
    )


@dataclass(frozen=True)
class Result(Generic[T]):
    """A validated, grounded summary and the record of how it was made."""

    summary: T
    run: RunInfo

    def to_dict(self) -> dict[str, Any]:
        """``{"summary": ..., "run": ...}`` as plain JSON data."""
        return {
            "summary": self.summary.model_dump(mode="json"),
            "run": self.run.model_dump(mode="json"),
        }


def _fence(text: str) -> str:
    # Derived from the document itself, so a document cannot know its own fence
    # in advance (it would have to contain its own hash) and cannot close it early.
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _tag_name(name: str) -> str:
    # The name sits in an attribute of the fence's opening tag; a file name (or a
    # caller's name) with quotes, brackets or line breaks must not end that tag early.
    return " ".join(name.translate({ord(c): None for c in '"<>'}).split())


def as_document(source: Source) -> Document:
    """A source as a ``Document``: a path is loaded, a string is the text itself."""
    if isinstance(source, Document):
        return source
    if isinstance(source, os.PathLike):
        return load_document(source)
    return document_from_text(source)


def public_url(url: str | None) -> str | None:
    """The base URL without credentials or query (it goes into results and logs)."""
    if not url:
        return None
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _fixes_model(failures: list[Failure]) -> type[BaseModel]:
    """A response model with one nullable quote per failing item, keyed by its path."""
    fields: dict[str, Any] = {
        f"item_{i}": (str | None, Field(alias=failure.key)) for i, failure in enumerate(failures)
    }
    return create_model(
        "QuoteFixes", __config__=ConfigDict(extra="forbid", populate_by_name=True), **fields
    )


def _pipeline(
    document: Document,
    schema: type[T],
    prompt: Prompt,
    reask_prompt: Prompt,
    settings: Settings,
) -> Generator[ModelCall, BaseModel, tuple[T, dict[str, Any]]]:
    """The whole per-document procedure, free of I/O: yields calls, returns the summary."""
    rendered = prompt.render(
        document=document.text,
        name=_tag_name(document.name),
        fence=_fence(document.text),
        field_guide=field_guide(schema),
    )
    messages = [{"role": "system", "content": rendered["system"]}] if "system" in rendered else []
    user_text = rendered["user"]
    messages.append({"role": "user", "content": user_text})

    raw = yield ModelCall(messages, schema)
    # Evidence may not cite passages that address the model (summarizer.quarantine):
    # an item supported only by an injected instruction is not grounded.
    masked = quarantine(document.text)
    source = SourceText(masked.text)
    grounded, report = ground(raw, source)
    aligned, anchored = len(report.aligned), len(report.anchored)
    dropped = list(report.dropped)
    failures = report.failures
    reasks = 0
    while any(f.reask for f in failures) and reasks < settings.grounding_reasks:
        reasks += 1
        askable = [f for f in failures if f.reask]
        follow_up = reask_prompt.render(failures=askable)["user"]
        # Same prefix as the first call (system + document), so a local engine
        # reuses its KV cache; the failing items are appended, not the whole answer.
        reask_messages = [
            *messages[:-1],
            {"role": "user", "content": f"{user_text}\n\n{follow_up}"},
        ]
        fixes_model = _fixes_model(askable)
        fixes = yield ModelCall(reask_messages, fixes_model, max_tokens=200 + 150 * len(askable))
        by_key = fixes.model_dump(by_alias=True)
        grounded = apply_quote_fixes(grounded, askable, by_key)
        grounded, report = ground(grounded, source)
        aligned += len(report.aligned)
        anchored += len(report.anchored)
        dropped += report.dropped
        failures = report.failures
    final, removed = drop_failures(grounded, failures)
    dropped += removed
    # Free text has no quote to check: what repeats an injected name or code goes.
    final, removed = strip_injected(final, injected_terms(document.text, masked))
    dropped += removed
    # A small model's loops ("X. X. X. X") in the narrative or title: repeats go.
    final, removed = cut_repeats(final)
    dropped += removed
    refined = Refinement()
    if isinstance(final, MeetingSummary):
        # Attendance lists, "A met with B" sentences, headings: read from the text.
        final, refined = refine(final, masked.text)
    extra = {
        "aligned": aligned,
        "anchored": anchored,
        "dropped": dropped,
        "reasks": reasks,
        "masked": len(masked.spans),
        "refined": refined,
    }
    return final, extra  # type: ignore[return-value]


_Steps = Generator[ModelCall, BaseModel, tuple[Any, dict[str, Any]]]


def _advance(steps: _Steps, answer: BaseModel | RunError) -> ModelCall | tuple[Any, dict[str, Any]]:
    """Give the pipeline a call's answer, or the error it failed with.

    Returns the pipeline's next call, or its final value. An error is thrown into
    the pipeline, which re-raises it (one call) or recovers (map-reduce).
    """
    try:
        if isinstance(answer, RunError):
            return steps.throw(answer)
        return steps.send(answer)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


class Summarizer:
    """A reusable summarizer: resolves settings once and keeps the engine warm.

    Example::

        with Summarizer() as s:
            for path in paths:
                print(s.summarize(Path(path)).summary.title)
    """

    def __init__(
        self,
        *,
        model: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        mode: str | None = None,
        prompt: str | None = None,
        prompts_dir: str | os.PathLike[str] | None = None,
        settings: Settings | None = None,
        progress: Progress | None = None,
        limiter: Limiter | None = None,
        engine_slots: int = 1,
        **overrides: Any,
    ) -> None:
        """Resolve settings (unless given) and load the prompts.

        ``limiter`` paces every HTTP attempt (see :class:`summarizer.llm.Limiter`);
        ``engine_slots`` is how many requests the embedded engine serves at once
        (batch jobs set it to their concurrency). Other keywords are settings.
        """
        self.settings = settings or resolve_settings(
            model=model,
            base_url=base_url,
            api_key=api_key,
            mode=mode,
            prompt=prompt,
            prompts_dir=prompts_dir,
            **overrides,
        )
        self.progress = progress
        self.limiter = limiter
        self.engine_slots = engine_slots
        self.prompt = load_prompt(self.settings.prompt, folder=self.settings.prompts_dir)
        self.reask_prompt = load_prompt(_REASK_PROMPT, folder=self.settings.prompts_dir)
        self.reduce_prompt = load_prompt(_REDUCE_PROMPT, folder=self.settings.prompts_dir)
        self._engine: EmbeddedEngine | None = None
        self._chat: ChatModel | None = None

    # -- set-up shared by both drivers ---------------------------------------------

    @property
    def engine(self) -> EmbeddedEngine | None:
        """The embedded engine this summarizer started, if any (None before first use)."""
        return self._engine

    def ensure_chat(self) -> ChatModel:
        """The chat model, created on first use (starting the embedded engine if needed)."""
        if self._chat is not None:
            return self._chat
        base_url = self.settings.base_url
        if self.settings.provider == "embedded":
            self._engine = EmbeddedEngine(
                self.settings, progress=self.progress, parallel=self.engine_slots
            )
            base_url = self._engine.start()
        self._chat = ChatModel(
            self.settings, base_url=base_url, api_key=self.settings.api_key, limiter=self.limiter
        )
        if not self._chat.model:
            self._chat.model = self._chat.first_model_id()
        return self._chat

    def _steps(
        self, document: Document, schema: type[T]
    ) -> Generator[ModelCall, BaseModel, tuple[T, dict[str, Any]]]:
        """The pipeline for ``document``: one call, or map-reduce when it is too long."""
        budget = chunk_budget(self.settings)
        estimate = estimate_text_tokens(document.text)
        scale = 1.0
        if budget is not None and self._engine is not None and estimate > budget // 2:
            # The embedded engine counts exactly: transcripts full of short words and
            # markup run well over the chars/4 estimate, and a part that overflows the
            # context fails. Chunking still measures in estimated tokens, so the budget
            # is converted into that unit. Far below the budget no count is needed
            # (real counts stay well under twice the estimate), so short documents
            # cost no extra request.
            scale = estimate / max(self._engine.count_tokens(document.text), 1)
        if budget is None or estimate <= int(budget * scale):
            return _pipeline(document, schema, self.prompt, self.reask_prompt, self.settings)
        if not issubclass(MeetingSummary, schema):
            # The merge knows MeetingSummary's lists; another schema's it does not.
            raise ContextOverflowError(
                f"{document.name}: about {estimate_text_tokens(document.text)} tokens of text do "
                f"not fit the model's context ({budget} per call) and only the built-in "
                "MeetingSummary schema is summarized in parts; split the document or raise "
                "the context (SUMMARIZER_CONTEXT_TOKENS / SUMMARIZER_ENGINE_CTX)"
            )

        def single(
            part: Document, settings: Settings
        ) -> Generator[ModelCall, BaseModel, tuple[MeetingSummary, dict[str, Any]]]:
            return _pipeline(part, MeetingSummary, self.prompt, self.reask_prompt, settings)

        window = context_tokens(self.settings)
        assert window is not None  # a budget implies a known window
        return map_reduce(  # type: ignore[return-value]
            document,
            single,
            self.reduce_prompt,
            self.settings,
            budget=int(part_budget(self.settings, budget) * scale),
            context=window,
            progress=self.progress,
        )

    def _finish(self, result: Result[T]) -> Result[T]:
        """``result``, unless parts of a long document are missing from it."""
        chunking = result.run.chunking
        if chunking is None or not chunking.missing or self.settings.allow_partial:
            return result
        failed = [p for p in chunking.parts if not p.ok]
        reasons = "; ".join(f"{p.label}: {p.error}" for p in failed)
        raise IncompleteSummaryError(
            f"{result.run.document.name}: {len(failed)} of {len(chunking.parts)} parts of the "
            f"meeting could not be summarized ({reasons}); the summary would miss them "
            "(allow_partial / --allow-partial keeps it, listing them in run.chunking.missing)",
            result=result,
        )

    def _run_info(
        self,
        document: Document,
        chat: ChatModel,
        stats: CallStats,
        extra: dict[str, Any],
        started: float,
    ) -> RunInfo:
        engine_s = (stats.engine_prompt_ms + stats.engine_predicted_ms) / 1000
        return RunInfo(
            model=chat.model,
            provider=self.settings.provider,
            base_url=public_url(chat.base_url),
            mode=self.settings.mode,
            prompt=PromptInfo(name=self.prompt.name, version=self.prompt.version),
            document=DocumentInfo(
                name=document.name,
                format=document.format,
                chars=len(document.text),
                sha256=document.sha256,
            ),
            usage=stats.usage,
            completions=stats.completions,
            http_calls=stats.http_calls,
            reasks=extra["reasks"],
            aligned_quotes=extra["aligned"],
            anchored_quotes=extra["anchored"],
            dropped=[Dropped(**d) for d in extra["dropped"]],
            masked_passages=extra["masked"],
            refined=extra["refined"],
            duration_s=round(time.monotonic() - started, 3),
            engine_seconds=round(engine_s, 3) if engine_s else None,
            engine_prompt_s=round(stats.engine_prompt_ms / 1000, 3) if engine_s else None,
            engine_generation_s=round(stats.engine_predicted_ms / 1000, 3) if engine_s else None,
            chunking=extra.get("chunking"),
        )

    # -- drivers -------------------------------------------------------------------

    def summarize(self, source: Source, *, schema: type[T] = MeetingSummary) -> Result[T]:  # type: ignore[assignment]
        """Summarize one document (a ``Path``, a ``Document`` or the text itself).

        Raises:
            UserError: unreadable input, bad prompt or configuration.
            RunError: the provider failed, output was truncated or never valid.
        """
        document = as_document(source)
        return self.summarize_document(document, schema)

    def summarize_document(
        self,
        document: Document,
        schema: type[T],
        *,
        first_completion: dict[str, Any] | None = None,
        stats: CallStats | None = None,
    ) -> Result[T]:
        """Summarize a loaded document: in one call, or in parts when it is too long.

        ``first_completion`` is a chat-completion body that answers the first call
        instead of an HTTP request (a Batch API output line): it is validated,
        grounded and re-asked like any answer. ``stats`` (if given) collects the
        calls' counts and usage, also when the document fails.
        """
        chat = self.ensure_chat()
        stats = stats if stats is not None else CallStats()
        started = time.monotonic()
        steps = self._steps(document, schema)
        call = next(steps)
        prefetched = first_completion
        while True:
            try:
                answer: BaseModel | RunError = chat.extract(
                    call.messages,
                    call.response_model,
                    stats,
                    max_tokens=call.max_tokens,
                    prefetched=prefetched,
                )
            except RunError as exc:
                # The pipeline decides: map-reduce retries a part, one call re-raises.
                answer = exc
            prefetched = None  # only the first call was answered in advance
            outcome = _advance(steps, answer)
            if not isinstance(outcome, ModelCall):
                break
            call = outcome
        summary, extra = outcome
        return self._finish(Result(summary, self._run_info(document, chat, stats, extra, started)))

    def first_request_body(self, document: Document, schema: type[BaseModel]) -> dict[str, Any]:
        """The exact chat-completion body of the document's first call (for the Batch API)."""
        chat = self.ensure_chat()
        steps = _pipeline(document, schema, self.prompt, self.reask_prompt, self.settings)
        call = next(steps)
        steps.close()
        return chat.request_body(call.messages, call.response_model, max_tokens=call.max_tokens)

    async def asummarize(self, source: Source, *, schema: type[T] = MeetingSummary) -> Result[T]:  # type: ignore[assignment]
        """Async twin of :meth:`summarize`."""
        document = as_document(source)
        chat = self.ensure_chat()  # engine start-up is a one-off blocking step
        stats = CallStats()
        started = time.monotonic()
        steps = self._steps(document, schema)
        call = next(steps)
        while True:
            try:
                answer: BaseModel | RunError = await chat.aextract(
                    call.messages, call.response_model, stats, max_tokens=call.max_tokens
                )
            except RunError as exc:
                answer = exc
            outcome = _advance(steps, answer)
            if not isinstance(outcome, ModelCall):
                break
            call = outcome
        summary, extra = outcome
        return self._finish(Result(summary, self._run_info(document, chat, stats, extra, started)))

    def close(self) -> None:
        """Stop the embedded engine (if this object started one) and free connections."""
        if self._chat is not None:
            self._chat.close()
            self._chat = None
        if self._engine is not None:
            self._engine.stop()
            self._engine = None

    async def aclose(self) -> None:
        """Async twin of :meth:`close` (also closes the async connection pool)."""
        if self._chat is not None:
            await self._chat.aclose()
        self.close()

    def __enter__(self) -> Summarizer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def summarize(
    source: Source,
    *,
    schema: type[T] = MeetingSummary,  # type: ignore[assignment]
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    mode: str | None = None,
    prompt: str | None = None,
    prompts_dir: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    **overrides: Any,
) -> Result[T]:
    """Summarize one meeting document and return the grounded summary with run metadata.

    ``source`` is a ``pathlib.Path`` (or other path-like) to read, a
    ``Document``, or a ``str`` holding the document text itself. With nothing
    configured the embedded engine is started and stopped around the call;
    use :class:`Summarizer` to keep it running across documents.
    """
    with Summarizer(
        model=model,
        base_url=base_url,
        api_key=api_key,
        mode=mode,
        prompt=prompt,
        prompts_dir=prompts_dir,
        progress=progress,
        **overrides,
    ) as summarizer:
        return summarizer.summarize(source, schema=schema)


async def asummarize(
    source: Source,
    *,
    schema: type[T] = MeetingSummary,  # type: ignore[assignment]
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    mode: str | None = None,
    prompt: str | None = None,
    prompts_dir: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    **overrides: Any,
) -> Result[T]:
    """Async twin of :func:`summarize`."""
    summarizer = Summarizer(
        model=model,
        base_url=base_url,
        api_key=api_key,
        mode=mode,
        prompt=prompt,
        prompts_dir=prompts_dir,
        progress=progress,
        **overrides,
    )
    try:
        return await summarizer.asummarize(source, schema=schema)
    finally:
        await summarizer.aclose()

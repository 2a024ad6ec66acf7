"""Run many documents through one ``Summarizer``: bounded, rate-limited, resumable.

``concurrency`` workers share one :class:`~summarizer.api.Summarizer` (so the
embedded engine starts once, with one slot per worker) and one
:class:`~summarizer.batch.limiter.RateLimiter` that paces every HTTP attempt.
Per document a worker:

1. skips it if the results file already has its id (resume);
2. loads it (a bad document becomes an error record; the batch goes on);
3. looks it up in the cache (a hit is a result with ``via: "cache"`` and no
   HTTP call);
4. reserves its worst-case cost in the budget, or waits for in-flight
   documents to finish, or stops the batch when it cannot fit even alone;
5. summarises it with the same pipeline as ``Summarizer.asummarize``;
6. appends the result (or error) to the results file, fsync-ed, then
   reports it.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from summarizer.api import Result, RunInfo, Source, Summarizer, as_document
from summarizer.batch.cache import CACHE_FILE, ResultCache, cache_key
from summarizer.batch.cost import Budget, Price, Tally, price_for, usage_dict, worst_case_usage
from summarizer.batch.items import Item
from summarizer.batch.limiter import RateLimiter
from summarizer.batch.results import ResultsWriter, Via, errors_path
from summarizer.config import Settings, resolve_settings
from summarizer.errors import (
    BatchFailedError,
    BudgetExceededError,
    ConfigError,
    RunError,
    SummarizerError,
    UserError,
)
from summarizer.inputs import Document
from summarizer.schemas.meeting import MeetingSummary

__all__ = [
    "Batch",
    "BatchOptions",
    "BatchReport",
    "ItemResult",
    "asummarize_many",
    "summarize_many",
]

T = TypeVar("T", bound=BaseModel)
# Without a provider limit to respect, this many requests in flight keeps a hosted
# API busy without storming it; the embedded engine gets one slot per worker instead.
DEFAULT_REMOTE_CONCURRENCY = 8


@dataclass(frozen=True)
class BatchOptions:
    """How a batch runs (everything about the model itself lives in ``Settings``).

    Attributes:
        concurrency: Documents in flight at once. Default: 1 for the embedded
            engine (one slot: on a small CPU more slots only share the cores),
            8 for a server.
        rpm: Requests per minute allowed by the provider (None: no limit).
        tpm: Tokens per minute allowed by the provider (None: no limit).
        budget_tokens: Stop before the job could use more tokens than this.
        budget_usd: Stop before the job could cost more than this (needs a price).
        cache: Use the result cache (read and write).
        cache_path: The cache file; default ``<cache_dir>/batch-cache.sqlite3``.
        prices: Price overrides per model (USD per 1M tokens).
    """

    concurrency: int | None = None
    rpm: float | None = None
    tpm: float | None = None
    budget_tokens: int | None = None
    budget_usd: float | None = None
    cache: bool = True
    cache_path: Path | None = None
    prices: dict[str, Price] | None = None

    def workers(self, settings: Settings) -> int:
        """The concurrency to use."""
        if self.concurrency is not None:
            return self.concurrency
        return 1 if settings.provider == "embedded" else DEFAULT_REMOTE_CONCURRENCY

    def check(self) -> None:
        """Raise ConfigError on values out of range."""
        if self.concurrency is not None and self.concurrency < 1:
            raise ConfigError("--concurrency must be at least 1")
        for name in ("rpm", "tpm", "budget_tokens", "budget_usd"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be positive")


@dataclass(frozen=True)
class ItemResult(Generic[T]):
    """What happened to one document of a batch.

    Exactly one of ``result`` and ``error`` is set. ``usage`` is what this run
    spent on it (zero for a cache hit; for a failure, every attempt's usage).
    """

    id: str
    input_sha256: str | None
    result: Result[T] | None = None
    error: SummarizerError | None = None
    via: Via | None = None
    usage: dict[str, int] = field(default_factory=usage_dict)

    @property
    def ok(self) -> bool:
        """Whether the document was summarised."""
        return self.result is not None


@dataclass
class BatchReport:
    """Counts of a batch so far (updated as documents finish)."""

    total: int = 0
    skipped: int = 0
    done: int = 0
    cached: int = 0
    failed: int = 0
    not_started: int = 0
    completions: int = 0
    tally: Tally = field(default_factory=Tally)
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    budget_stopped: bool = False
    throttles: int = 0
    repaired_bytes: int = 0

    @property
    def elapsed_s(self) -> float:
        """Seconds since the batch started (until it finished)."""
        return (self.finished or time.monotonic()) - self.started

    @property
    def settled(self) -> int:
        """Documents finished in this run (done, cached or failed)."""
        return self.done + self.cached + self.failed

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data."""
        return {
            "total": self.total,
            "skipped": self.skipped,
            "done": self.done,
            "cached": self.cached,
            "failed": self.failed,
            "not_started": self.not_started,
            "completions": self.completions,
            "prompt_tokens": self.tally.prompt_tokens,
            "completion_tokens": self.tally.completion_tokens,
            "cost_usd": self.tally.cost_usd,
            "elapsed_s": round(self.elapsed_s, 3),
            "budget_stopped": self.budget_stopped,
            "throttles": self.throttles,
        }

    def raise_for_outcome(self, out: Path | None = None) -> None:
        """Raise the error that says how the batch ended badly, if it did.

        Raises:
            BudgetExceededError: the budget stopped the job.
            BatchFailedError: some documents failed.
        """
        where = f" (reasons in {errors_path(out)})" if out else ""
        if self.budget_stopped:
            raise BudgetExceededError(
                f"budget reached: {self.not_started} document(s) not started, "
                f"{self.failed} failed; rerun with a higher budget to continue"
            )
        if self.failed:
            raise BatchFailedError(f"{self.failed} of {self.total} document(s) failed{where}")


Progress = Callable[[ItemResult[Any], BatchReport], None]


class Batch(Generic[T]):
    """One batch job over a list of items.

    Args:
        items: The documents (see :mod:`summarizer.batch.items`).
        settings: Resolved settings (provider, model, sampling, cache folder).
        options: Concurrency, limits, budget, cache.
        out: The results file to append to and resume from (None: results are
            only yielded).
        schema: The output schema.
        on_result: Called after each document is finished and written.
    """

    def __init__(
        self,
        items: list[Item],
        *,
        settings: Settings,
        options: BatchOptions | None = None,
        out: Path | None = None,
        schema: type[T] = MeetingSummary,  # type: ignore[assignment]
        on_result: Progress | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.options = options or BatchOptions()
        self.options.check()
        self.items = items
        self.settings = settings
        self.schema = schema
        self.out = out
        self.on_result = on_result
        self.workers = self.options.workers(settings)
        # Always a limiter, even without limits: a 429 still pauses every worker at once.
        self.limiter = RateLimiter(rpm=self.options.rpm, tpm=self.options.tpm)
        self.summarizer = Summarizer(
            settings=settings, progress=progress, limiter=self.limiter, engine_slots=self.workers
        )
        self.report = BatchReport(total=len(items))
        self._writer: ResultsWriter | None = None
        self._cache: ResultCache | None = None
        self._budget: Budget | None = None
        self._budget_changed = asyncio.Event()
        self._in_flight = 0
        self._model: str | None = None
        self._price: Price | None = None
        self._prices_known = False

    # -- set-up ----------------------------------------------------------------------

    def _open(self) -> None:
        if self.out is not None:
            self._writer = ResultsWriter(self.out)
            self.report.repaired_bytes = self._writer.repaired_bytes
        if self.options.cache:
            path = self.options.cache_path or self.settings.cache_dir / CACHE_FILE
            self._cache = ResultCache(path)
        if self.options.budget_tokens is not None or self.options.budget_usd is not None:
            price = price_for(self._model_id(), self.settings, self.options.prices)
            self._budget = Budget(
                max_tokens=self.options.budget_tokens, max_usd=self.options.budget_usd, price=price
            )

    def _model_id(self) -> str:
        if self._model is None:
            # A server configured without a model: ask it (a GET, not a model call).
            self._model = self.settings.model or self.summarizer.ensure_chat().model
        return self._model

    def _price_of(self, model: str) -> Price | None:
        if not self._prices_known:
            self._price = price_for(model, self.settings, self.options.prices)
            self._prices_known = True
        return self._price

    def close(self) -> None:
        """Close files, the cache and the summarizer (stops an embedded engine)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._cache is not None:
            self._cache.close()
            self._cache = None
        self.summarizer.close()

    async def aclose(self) -> None:
        """Async twin of :meth:`close`."""
        await self.summarizer.aclose()
        self.close()

    # -- one document ----------------------------------------------------------------

    def _finish(self, outcome: ItemResult[T]) -> ItemResult[T]:
        report = self.report
        if outcome.error is not None:
            report.failed += 1
            if self._writer is not None:
                self._writer.write_error(outcome.id, outcome.input_sha256, outcome.error)
        else:
            assert outcome.result is not None and outcome.input_sha256 is not None
            if outcome.via == "cache":
                report.cached += 1
            else:
                report.done += 1
            if self._writer is not None:
                via: Via = outcome.via or "sync"
                self._writer.write_result(
                    outcome.id, outcome.input_sha256, outcome.result.to_dict(), via
                )
        if outcome.via != "cache":
            report.tally.add(outcome.usage, self._price_of(self._model_id()))
        report.throttles = self.limiter.stats.throttles
        if self.on_result is not None:
            self.on_result(outcome, report)
        return outcome

    def _cache_key(self, document: Document) -> str:
        prompts = {
            p.name: p.version
            for p in (
                self.summarizer.prompt,
                self.summarizer.reask_prompt,
                self.summarizer.reduce_prompt,
            )
        }
        return cache_key(
            model=self._model_id(),
            settings=self.settings,
            schema=self.schema,
            prompts=prompts,
            input_sha256=document.sha256,
        )

    async def _admit(self, document: Document) -> dict[str, int] | None:
        """Reserve the document's worst case; None when the budget stops the batch."""
        budget = self._budget
        if budget is None:
            return None
        worst = worst_case_usage(document, self.settings)
        while not budget.reserve(worst):
            if not budget.fits(worst, alone=True) or self._in_flight == 0:
                self.report.budget_stopped = True
                return None
            # It would fit once in-flight documents give back their worst case.
            self._budget_changed.clear()
            await self._budget_changed.wait()
            if self.report.budget_stopped:
                return None
        return worst

    async def _one(self, item: Item) -> ItemResult[T] | None:
        try:
            document = item.load()
        except UserError as error:
            return self._finish(ItemResult(item.id, None, error=error))
        sha = document.sha256
        key: str | None = None
        if self._cache is not None:
            key = self._cache_key(document)
            hit = self._cache.get(key)
            if hit is not None:
                cached = Result(
                    self.schema.model_validate(hit["summary"]), RunInfo.model_validate(hit["run"])
                )
                return self._finish(ItemResult(item.id, sha, result=cached, via="cache"))
        worst = await self._admit(document)
        if self.report.budget_stopped:
            self.report.not_started += 1
            return None
        self._in_flight += 1
        usage = usage_dict()
        try:
            result = await self.summarizer.asummarize(document, schema=self.schema)
            usage = dict(result.run.usage)
            self.report.completions += result.run.completions
        except SummarizerError as error:
            if isinstance(error, RunError):
                usage = {**usage_dict(), **error.usage}
                self.report.completions += error.attempts or 0
            return self._finish(ItemResult(item.id, sha, error=error, usage=usage))
        finally:
            self._in_flight -= 1
            if self._budget is not None:
                self._budget.release(worst, usage)
                self._budget_changed.set()
        if self._cache is not None and key is not None:
            self._cache.put(key, input_sha256=sha, model=self._model_id(), result=result.to_dict())
        return self._finish(ItemResult(item.id, sha, result=result, via="sync", usage=usage))

    # -- the job -----------------------------------------------------------------------

    async def results(self) -> AsyncIterator[ItemResult[T]]:
        """Run the batch, yielding each document's outcome as it finishes.

        Already-done ids (in the results file) are skipped silently; documents
        the budget did not let start are counted in ``report.not_started``.
        Closing the iterator early cancels the documents in flight.
        """
        self._open()
        done = self._writer.done if self._writer is not None else {}
        todo = [item for item in self.items if item.id not in done]
        self.report.skipped = len(self.items) - len(todo)
        queue = iter(todo)
        outcomes: asyncio.Queue[ItemResult[T] | None] = asyncio.Queue()

        async def worker() -> None:
            try:
                for item in queue:
                    if self.report.budget_stopped:
                        self.report.not_started += 1
                        continue
                    outcome = await self._one(item)
                    if outcome is not None:
                        await outcomes.put(outcome)
            finally:
                await outcomes.put(None)

        tasks = [asyncio.create_task(worker()) for _ in range(min(self.workers, len(todo)) or 1)]
        running = len(tasks)
        try:
            while running:
                outcome = await outcomes.get()
                if outcome is None:
                    running -= 1
                    continue
                yield outcome
            for task in tasks:
                task.result()  # a worker's unexpected exception surfaces here
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.report.finished = time.monotonic()

    async def run(self) -> BatchReport:
        """Run the whole batch and return its report (outcomes go to ``on_result``)."""
        async for _ in self.results():
            pass
        return self.report


# -- the Python API --------------------------------------------------------------------


def _items(sources: Iterable[Source | tuple[str, Source]]) -> list[Item]:
    items = []
    for index, source in enumerate(sources):
        if isinstance(source, tuple):
            item_id, target = source
        elif isinstance(source, Document):
            item_id, target = source.name, source
        elif isinstance(source, os.PathLike):
            item_id, target = os.fspath(source), source
        else:
            item_id, target = str(index), source
        items.append(Item(str(item_id), _loader(target)))
    return items


def _loader(source: Source) -> Callable[[], Document]:
    return lambda: as_document(source)


async def asummarize_many(
    sources: Iterable[Source | tuple[str, Source]],
    *,
    schema: type[T] = MeetingSummary,  # type: ignore[assignment]
    out: str | os.PathLike[str] | None = None,
    concurrency: int | None = None,
    rpm: float | None = None,
    tpm: float | None = None,
    budget_tokens: int | None = None,
    budget_usd: float | None = None,
    cache: bool = True,
    settings: Settings | None = None,
    **overrides: Any,
) -> AsyncGenerator[ItemResult[T], None]:
    """Summarize many documents concurrently, yielding each outcome as it finishes.

    ``sources`` are what :func:`summarizer.summarize` accepts (a ``Path``, a
    ``Document`` or text), or ``(id, source)`` pairs. Ids default to the path,
    the document's name, or the position. With ``out``, results and errors are
    appended to that JSON Lines file and ids already in it are skipped. Failures
    are yielded as outcomes with ``error`` set, never raised.

    Example::

        async for item in asummarize_many(Path("minutes").glob("*.txt"), rpm=500):
            print(item.id, item.result.summary.title if item.ok else item.error)
    """
    batch = Batch(
        _items(sources),
        settings=settings or resolve_settings(**overrides),
        options=BatchOptions(
            concurrency=concurrency,
            rpm=rpm,
            tpm=tpm,
            budget_tokens=budget_tokens,
            budget_usd=budget_usd,
            cache=cache,
        ),
        out=Path(out) if out is not None else None,
        schema=schema,
    )
    try:
        async for outcome in batch.results():
            yield outcome
    finally:
        await batch.aclose()


def summarize_many(
    sources: Iterable[Source | tuple[str, Source]],
    **options: Any,
) -> Iterator[ItemResult[Any]]:
    """Blocking twin of :func:`asummarize_many` (same arguments), yielding as documents finish.

    The work runs on a private event loop that advances while the caller waits
    for the next result.
    """
    agen = asummarize_many(sources, **options)

    async def step() -> ItemResult[Any]:
        return await agen.__anext__()

    with asyncio.Runner() as runner:
        try:
            while True:
                try:
                    yield runner.run(step())
                except StopAsyncIteration:
                    return
        finally:
            runner.run(agen.aclose())

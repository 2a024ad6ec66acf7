"""The provider's Batch API path (``--via batch-api``): submit, status, collect.

OpenAI's Batch API runs chat completions asynchronously, within 24 hours, at
half the price: upload a JSONL file of requests (``POST /v1/files``), start a
batch on it (``POST /v1/batches``), poll it (``GET /v1/batches/{id}``), then
download its output and error files (``GET /v1/files/{id}/content``).

* :func:`submit` builds, for each document, exactly the body the synchronous
  path sends for its first call (``Summarizer.first_request_body``: instructor
  itself builds it, so the prompt, the ``response_format`` and the sampling
  parameters are the same), uploads them with ``custom_id`` derived from the
  item id, starts the batch, and writes the manifest ``<out>.batch.json``
  (batch id, model, prompt, one entry per item) plus ``<out>.batch.docs.jsonl``
  (the documents themselves: collect may run in another process, days later).
* :func:`status` refreshes the batch state from the provider into the manifest.
* :func:`collect` runs the synchronous per-document pipeline with the batch
  output as the answer to its first call, so validation, grounding, quote
  alignment, grounding re-asks and dropped-item reporting are the synchronous
  path's own. **Re-asks are synchronous calls** (not a follow-up batch): an
  output that fails validation is re-asked by instructor with its validation
  errors (``validation_attempts`` completions in all, the batch output counting
  as the first), and an item the batch did not answer (a per-request error, an
  expired or cancelled batch) is summarised synchronously from scratch. Either
  way an item costs at most ``Settings.worst_case_calls`` HTTP requests, the
  synchronous bound. What still fails goes to the errors file.

Results and errors go through :class:`~summarizer.batch.results.ResultsWriter`,
the synchronous runner's writer: the same record format (``via`` is
``"batch-api"`` for a batch answer, ``"sync"`` for an item resent synchronously),
the same errors file, the same crash-safe appends and torn-tail repair.

Collect is idempotent: each item's outcome is recorded in the manifest right
after its line is appended (and fsynced), and an item whose document already
has a line in the results file is never written again.

Batch management calls (upload, create, retrieve, download) use the SDK's own
retries only for the reads; the two creating calls are sent once, because a
retried ``POST /v1/batches`` after a lost answer could start (and bill) a
second batch.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import openai
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from summarizer.api import PromptInfo, Summarizer, public_url
from summarizer.batch.cost import add_usage, usage_dict
from summarizer.batch.results import ResultsWriter
from summarizer.config import ProviderKind, Settings, StructuredMode
from summarizer.context import needs_chunking
from summarizer.errors import (
    BatchManifestError,
    BatchNotReadyError,
    ConfigError,
    InputError,
    ProviderError,
    RemoteBatchFailedError,
    RunError,
)
from summarizer.inputs import Document, InputFormat
from summarizer.llm import CallStats, redact, status_message
from summarizer.schemas.meeting import MeetingSummary

__all__ = [
    "BATCH_PRICE_FACTOR",
    "BatchItem",
    "BatchManifest",
    "CollectReport",
    "collect",
    "docs_path",
    "manifest_path",
    "status",
    "submit",
]

logger = logging.getLogger("summarizer")

BATCH_PRICE_FACTOR = 0.5
"""Batch API tokens are billed at this fraction of the synchronous price (OpenAI: half)."""

_MANIFEST_VERSION = 1
_ENDPOINT: Literal["/v1/chat/completions"] = "/v1/chat/completions"
_WINDOW: Literal["24h"] = "24h"
# Statuses in which the batch is still working: nothing to collect yet.
_PENDING = frozenset({"validating", "in_progress", "finalizing", "cancelling"})
_R = TypeVar("_R")


class BatchItem(BaseModel):
    """One document of a batch, as the manifest records it."""

    model_config = ConfigDict(extra="forbid")

    id: str
    custom_id: str
    input_sha256: str
    request_sha256: str = Field(
        description="SHA-256 of the request body sent; collect rebuilds it to prove "
        "the prompt and settings have not changed since submit."
    )
    outcome: Literal["result", "error"] | None = Field(
        default=None, description="What collect wrote for this item; None until then."
    )


class BatchManifest(BaseModel):
    """The state of one submitted batch, kept in ``<out>.batch.json``."""

    model_config = ConfigDict(extra="forbid")

    version: int = _MANIFEST_VERSION
    batch_id: str
    input_file_id: str
    endpoint: str = _ENDPOINT
    completion_window: str = _WINDOW
    status: str
    provider: ProviderKind
    base_url: str | None
    model: str
    mode: StructuredMode
    prompt: PromptInfo
    price_factor: float = Field(
        default=BATCH_PRICE_FACTOR,
        description="Tokens of batch completions are billed at this fraction of the "
        "synchronous price; synchronous re-asks at full price.",
    )
    submitted_at: str
    updated_at: str
    request_counts: dict[str, int] = Field(default_factory=dict)
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: list[str] = Field(default_factory=list)
    items: list[BatchItem]

    @property
    def uncollected(self) -> int:
        """Items collect has not written yet."""
        return sum(1 for item in self.items if item.outcome is None)

    def to_dict(self) -> dict[str, Any]:
        """The manifest as plain JSON data."""
        return self.model_dump(mode="json")


class CollectReport(BaseModel):
    """What one :func:`collect` run did."""

    model_config = ConfigDict(extra="forbid")

    batch_id: str
    status: str
    items: int
    results_written: int = 0
    errors_written: int = 0
    already_collected: int = 0
    from_batch: int = Field(default=0, description="Items whose batch output was used.")
    reasked: int = Field(
        default=0,
        description="Batch outputs that failed validation and were re-asked synchronously.",
    )
    resent: int = Field(
        default=0,
        description="Items the batch did not answer, summarised synchronously from scratch.",
    )
    sync_http_calls: int = 0
    batch_usage: dict[str, int] = Field(default_factory=usage_dict)
    sync_usage: dict[str, int] = Field(default_factory=usage_dict)
    price_factor: float = BATCH_PRICE_FACTOR

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON data."""
        return self.model_dump(mode="json")


# -- paths ------------------------------------------------------------------------------


def manifest_path(out: Path) -> Path:
    """``results.jsonl`` -> ``results.jsonl.batch.json``."""
    return out.with_name(out.name + ".batch.json")


def docs_path(out: Path) -> Path:
    """``results.jsonl`` -> ``results.jsonl.batch.docs.jsonl`` (the batch's documents)."""
    return out.with_name(out.name + ".batch.docs.jsonl")


# -- public functions -------------------------------------------------------------------


def submit(items: Sequence[tuple[str, Document]], settings: Settings, out: Path) -> BatchManifest:
    """Upload one request per document and start a batch; write the manifest.

    Raises:
        ConfigError: the provider has no Batch API (the embedded engine), or the
            results folder does not exist.
        InputError: no items, or two items with the same id.
        BatchManifestError: a batch for ``out`` is still waiting to be collected.
        ProviderError: the upload or the batch creation failed.
    """
    _check_provider(settings)
    if not items:
        raise InputError("nothing to submit: no documents")
    seen: set[str] = set()
    for item_id, _ in items:
        if item_id in seen:
            raise InputError(f"item id {item_id!r} occurs twice; ids must be unique")
        seen.add(item_id)
    if not out.parent.is_dir():
        raise ConfigError(f"folder {out.parent} for the results does not exist")
    mpath = manifest_path(out)
    if mpath.exists():
        previous = _read_manifest(out)
        # A failed batch has nothing to collect: submitting again is the way on.
        if previous.uncollected and previous.status != "failed":
            raise BatchManifestError(
                f"batch {previous.batch_id} for {out} still has {previous.uncollected} "
                "uncollected item(s): run `summarizer batch collect` first, or choose another --out"
            )

    entries: list[BatchItem] = []
    lines: list[str] = []
    with Summarizer(settings=settings) as summarizer:
        for item_id, document in items:
            body = summarizer.first_request_body(document, MeetingSummary)
            custom_id = _custom_id(item_id)
            if needs_chunking(document, settings):
                # A long document is summarized in parts plus a reduce call that
                # depends on them: collect runs it synchronously, as for a request
                # the batch did not answer.
                logger.info("%s: long document, summarized in parts at collect", item_id)
            else:
                request = {"custom_id": custom_id, "method": "POST", "url": _ENDPOINT, "body": body}
                lines.append(json.dumps(request, ensure_ascii=False, separators=(",", ":")))
            entries.append(
                BatchItem(
                    id=item_id,
                    custom_id=custom_id,
                    input_sha256=document.sha256,
                    request_sha256=_body_sha256(body),
                )
            )
        model = str(body["model"])
        prompt = PromptInfo(
            name=summarizer.prompt.name,
            version=summarizer.prompt.version,
        )

    if not lines:
        raise ConfigError(
            "every document is longer than the model's context and is summarized in parts, "
            "which the Batch API does not do; run the batch without --via batch-api"
        )
    # The documents go to disk before the batch exists: a batch whose documents were
    # lost could be downloaded but never grounded.
    _write_docs(
        docs_path(out), [(e.custom_id, d) for e, (_, d) in zip(entries, items, strict=True)]
    )
    client = _BatchClient(settings)
    try:
        payload = ("\n".join(lines) + "\n").encode("utf-8")
        uploaded = client.call(
            "uploading the batch input",
            lambda c: c.files.create(
                file=(f"{out.name}.batch-input.jsonl", payload), purpose="batch"
            ),
        )
        batch = client.call(
            "creating the batch",
            lambda c: c.batches.create(
                input_file_id=uploaded.id,
                endpoint=_ENDPOINT,
                completion_window=_WINDOW,
                metadata={"summarizer_out": out.name[:500]},
            ),
        )
    finally:
        client.close()
    now = _now()
    manifest = BatchManifest(
        batch_id=batch.id,
        input_file_id=uploaded.id,
        status=batch.status,
        provider=settings.provider,
        base_url=public_url(settings.base_url),
        model=model,
        mode=settings.mode,
        prompt=prompt,
        submitted_at=now,
        updated_at=now,
        items=entries,
    )
    manifest = _refreshed(manifest, batch)
    _write_manifest(out, manifest)
    logger.info("submitted batch %s with %d request(s)", batch.id, len(entries))
    return manifest


def status(out: Path, settings: Settings) -> BatchManifest:
    """Refresh the batch's state from the provider and rewrite the manifest.

    Raises:
        BatchManifestError: no manifest for ``out``, or it names another provider.
        ProviderError: the provider could not be asked.
    """
    manifest = _read_manifest(out)
    _check_same_provider(manifest, settings)
    client = _BatchClient(settings)
    try:
        batch = client.call(
            f"retrieving batch {manifest.batch_id}",
            lambda c: c.batches.retrieve(manifest.batch_id),
            retry=True,
        )
    finally:
        client.close()
    manifest = _refreshed(manifest, batch)
    _write_manifest(out, manifest)
    return manifest


def collect(out: Path, settings: Settings) -> CollectReport:
    """Download a finished batch, validate and ground it, and append results and errors.

    Raises:
        BatchManifestError: no manifest for ``out``, another provider, or the prompt or
            settings changed since submit.
        BatchNotReadyError: the batch is still validating or running.
        RemoteBatchFailedError: the batch failed (its input was rejected) or lost its output.
        ProviderError: the provider could not be asked or the output not downloaded.
    """
    manifest = status(out, settings)
    counts = manifest.request_counts
    if manifest.status in _PENDING:
        done = counts.get("completed", 0) + counts.get("failed", 0)
        raise BatchNotReadyError(
            f"batch {manifest.batch_id} is {manifest.status} ({done}/{counts.get('total', 0)} "
            "requests done); nothing collected — check `summarizer batch status` and "
            "collect once it has completed"
        )
    if manifest.status == "failed":
        reasons = "; ".join(manifest.errors) or "no reason given"
        raise RemoteBatchFailedError(
            f"batch {manifest.batch_id} failed: {reasons}; nothing to collect, submit again"
        )

    pending = [item for item in manifest.items if item.outcome is None]
    report = CollectReport(
        batch_id=manifest.batch_id,
        status=manifest.status,
        items=len(manifest.items),
        already_collected=len(manifest.items) - len(pending),
    )
    if not pending:
        return report
    answers, problems = _download_outcomes(manifest, settings)
    documents = _read_docs(docs_path(out))
    # The same model, mode and prompt as at submit, whatever the caller configured now:
    # re-asks continue the conversation the batch started.
    collect_settings = settings.with_overrides(
        model=manifest.model, mode=manifest.mode, prompt=manifest.prompt.name
    )
    with Summarizer(settings=collect_settings) as summarizer:
        if summarizer.prompt.version != manifest.prompt.version:
            raise BatchManifestError(
                f"prompt {manifest.prompt.name!r} is version {summarizer.prompt.version} now "
                f"but the batch was submitted with version {manifest.prompt.version}"
            )
        for item in pending:  # check every item before writing anything
            document = _document_for(item, documents)
            body = summarizer.first_request_body(document, MeetingSummary)
            if _body_sha256(body) != item.request_sha256:
                raise BatchManifestError(
                    f"item {item.id!r}: the request rebuilt now differs from the one submitted "
                    "(prompt, prompts folder or settings changed); collect with the settings "
                    "used for submit"
                )
        with ResultsWriter(out) as writer:
            for item in pending:
                if writer.has_result(item.id, item.input_sha256):
                    # Written by a collect interrupted before it updated the manifest.
                    item.outcome = "result"
                    report.already_collected += 1
                else:
                    _collect_item(summarizer, item, documents, answers, problems, writer, report)
                _write_manifest(out, manifest)
    return report


# -- collecting one item ----------------------------------------------------------------


def _collect_item(
    summarizer: Summarizer,
    item: BatchItem,
    documents: dict[str, Document],
    answers: dict[str, dict[str, Any]],
    problems: dict[str, str],
    writer: ResultsWriter,
    report: CollectReport,
) -> None:
    document = _document_for(item, documents)
    first = answers.get(item.custom_id)
    stats = CallStats()
    batch_prompt, batch_completion = 0, 0
    if first is not None:
        usage = first.get("usage") or {}
        batch_prompt = int(usage.get("prompt_tokens") or 0)
        batch_completion = int(usage.get("completion_tokens") or 0)
        report.from_batch += 1
    else:
        report.resent += 1
        logger.info(
            "%s: no usable batch answer (%s); summarising synchronously",
            item.id,
            problems.get(item.custom_id, "missing from the output"),
        )
    try:
        result = summarizer.summarize_document(
            document, MeetingSummary, first_completion=first, stats=stats
        )
    except RunError as exc:
        message = str(exc)
        if first is None:
            reason = problems.get(item.custom_id, "missing from the batch output")
            message = f"batch request failed ({reason}); synchronous retry failed: {message}"
        writer.write_error(
            item.id,
            item.input_sha256,
            exc,
            message=redact(message, summarizer.settings.api_key),
        )
        item.outcome = "error"
        report.errors_written += 1
    else:
        writer.write_result(
            item.id,
            item.input_sha256,
            result.to_dict(),
            "batch-api" if first is not None else "sync",
        )
        item.outcome = "result"
        report.results_written += 1
    report.reasked += 1 if stats.prefetched_rejected else 0
    report.sync_http_calls += stats.http_calls
    add_usage(report.batch_usage, usage_dict(batch_prompt, batch_completion))
    add_usage(
        report.sync_usage,
        usage_dict(stats.prompt_tokens - batch_prompt, stats.completion_tokens - batch_completion),
    )


def _download_outcomes(
    manifest: BatchManifest, settings: Settings
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Completion bodies by custom_id, and the reason for every request that failed."""
    client = _BatchClient(settings)
    texts: list[str] = []
    try:
        for file_id in (manifest.output_file_id, manifest.error_file_id):
            if file_id:
                texts.append(client.download(file_id))
    finally:
        client.close()
    answers: dict[str, dict[str, Any]] = {}
    problems: dict[str, str] = {}
    for text in texts:
        for custom_id, body, problem in _outcome_lines(text):
            if body is not None:
                answers[custom_id] = body
                problems.pop(custom_id, None)
            elif custom_id not in answers:
                problems[custom_id] = redact(problem, settings.api_key)
    return answers, problems


def _outcome_lines(text: str) -> Iterator[tuple[str, dict[str, Any] | None, str]]:
    """``(custom_id, completion body or None, problem)`` per line of an output/error file."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            custom_id = record["custom_id"]
        except (ValueError, KeyError, TypeError):
            logger.warning("batch output line %d is not a result record; ignored", number)
            continue
        response = record.get("response") or {}
        body = response.get("body")
        code = response.get("status_code")
        if code == 200 and isinstance(body, dict):
            try:
                ChatCompletion.model_validate(body)
            except ValidationError:
                yield custom_id, None, "the answer is not a chat completion"
                continue
            yield custom_id, body, ""
            continue
        error = record.get("error") or (body.get("error") if isinstance(body, dict) else None)
        if isinstance(error, dict):
            problem = f"{error.get('code') or 'error'}: {error.get('message') or 'no message'}"
        else:
            problem = "no answer"
        if code is not None:
            problem = f"HTTP {code}, {problem}"
        yield custom_id, None, " ".join(problem.split())[:300]


# -- the provider -----------------------------------------------------------------------


class _BatchClient:
    """The SDK calls of the Batch API, with errors translated and keys redacted."""

    def __init__(self, settings: Settings) -> None:
        self._secret = settings.api_key
        self._reads = max(0, settings.transport_attempts - 1)
        self._client = openai.OpenAI(
            base_url=settings.base_url,
            # Local servers need no key, but the SDK insists on one.
            api_key=settings.api_key or "not-needed",
            max_retries=0,
            timeout=settings.timeout_s,
        )

    def call(self, what: str, fn: Callable[[openai.OpenAI], _R], *, retry: bool = False) -> _R:
        client = self._client.with_options(max_retries=self._reads) if retry else self._client
        try:
            return fn(client)
        except openai.APIStatusError as exc:
            raise ProviderError(
                f"{what}: provider answered HTTP {exc.status_code}: "
                f"{redact(status_message(exc), self._secret)}",
                status_code=exc.status_code,
                request_id=exc.request_id,
            ) from exc
        except openai.OpenAIError as exc:
            raise ProviderError(f"{what}: {redact(str(exc), self._secret)}") from exc

    def download(self, file_id: str) -> str:
        return self.call(
            f"downloading batch file {file_id}",
            lambda c: c.files.content(file_id).text,
            retry=True,
        )

    def close(self) -> None:
        self._client.close()


def _check_provider(settings: Settings) -> None:
    if settings.provider == "embedded":
        raise ConfigError(
            "--via batch-api needs a provider with a Batch API: set OPENAI_API_KEY, or "
            "--base-url for a compatible server that serves /v1/files and /v1/batches"
        )


def _check_same_provider(manifest: BatchManifest, settings: Settings) -> None:
    _check_provider(settings)
    here = public_url(settings.base_url)
    if here != manifest.base_url:
        raise BatchManifestError(
            f"batch {manifest.batch_id} was submitted to {manifest.base_url or 'OpenAI'}, "
            f"but the provider configured now is {here or 'OpenAI'}"
        )


def _refreshed(manifest: BatchManifest, batch: Any) -> BatchManifest:
    counts = batch.request_counts
    errors = batch.errors.data if batch.errors is not None and batch.errors.data else []
    return manifest.model_copy(
        update={
            "status": batch.status,
            "updated_at": _now(),
            "request_counts": (
                {"total": counts.total, "completed": counts.completed, "failed": counts.failed}
                if counts is not None
                else {}
            ),
            "output_file_id": batch.output_file_id,
            "error_file_id": batch.error_file_id,
            "errors": [_batch_error(e) for e in errors],
        }
    )


def _batch_error(error: Any) -> str:
    where = f" (line {error.line})" if error.line is not None else ""
    return " ".join(f"{error.code or 'error'}{where}: {error.message or ''}".split())


# -- files ------------------------------------------------------------------------------


def _custom_id(item_id: str) -> str:
    # Stable across runs and safe whatever the id holds (paths, unicode, 1 kB ids).
    return "s-" + hashlib.sha256(item_id.encode("utf-8")).hexdigest()[:32]


def _body_sha256(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _write_manifest(out: Path, manifest: BatchManifest) -> None:
    _write_atomically(manifest_path(out), json.dumps(manifest.to_dict(), indent=2) + "\n")


def _read_manifest(out: Path) -> BatchManifest:
    path = manifest_path(out)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BatchManifestError(
            f"no batch manifest {path}: submit with `summarizer batch ... --via batch-api "
            f"--out {out}` first"
        ) from None
    except OSError as exc:
        raise BatchManifestError(f"cannot read batch manifest {path}: {exc.strerror}") from exc
    try:
        manifest = BatchManifest.model_validate_json(raw)
    except ValidationError as exc:
        raise BatchManifestError(
            f"batch manifest {path} is corrupt ({exc.error_count()} problem(s))"
        ) from exc
    if manifest.version != _MANIFEST_VERSION:
        raise BatchManifestError(f"batch manifest {path} has unknown version {manifest.version}")
    return manifest


def _write_docs(path: Path, documents: list[tuple[str, Document]]) -> None:
    lines = [
        json.dumps(
            {"custom_id": cid, "name": d.name, "format": d.format, "text": d.text},
            ensure_ascii=False,
        )
        for cid, d in documents
    ]
    _write_atomically(path, "\n".join(lines) + "\n")


def _read_docs(path: Path) -> dict[str, Document]:
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BatchManifestError(
            f"cannot read the batch's documents {path}: {exc.strerror}"
        ) from exc
    documents: dict[str, Document] = {}
    for number, line in enumerate(raw.splitlines(), start=1):
        try:
            record = json.loads(line)
            fmt: InputFormat = record["format"]
            documents[record["custom_id"]] = Document(
                text=record["text"], name=record["name"], format=fmt
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise BatchManifestError(f"{path} line {number} is corrupt") from exc
    return documents


def _document_for(item: BatchItem, documents: dict[str, Document]) -> Document:
    document = documents.get(item.custom_id)
    if document is None or document.sha256 != item.input_sha256:
        raise BatchManifestError(
            f"item {item.id!r}: its document is missing from {len(documents)} stored ones or "
            "was changed since submit"
        )
    return document

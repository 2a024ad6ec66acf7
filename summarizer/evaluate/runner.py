"""Run one ``Summarizer`` over labelled documents and build the report.

One instance serves the whole run, so the embedded engine starts once and
stays warm. A document that fails (the model never produced a valid summary,
the document does not fit the context, the provider gave up) is recorded in
the report with its error class and message; the run goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from summarizer.api import Result, Summarizer
from summarizer.errors import InputError, RunError
from summarizer.evaluate.datasets import EvalDocument
from summarizer.evaluate.metrics import score_document
from summarizer.evaluate.report import totals
from summarizer.inputs import document_from_text
from summarizer.schemas.meeting import MeetingSummary

__all__ = ["REPORT_VERSION", "rescore", "run_eval"]

REPORT_VERSION = 1


def run_eval(
    documents: list[EvalDocument],
    summarizer: Summarizer,
    *,
    progress: Callable[[str], None] | None = None,
    on_report: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Summarise and score every document; the report as JSON data.

    ``on_report`` receives the report so far after every document (the CLI
    saves it, so an interrupted run keeps what it measured).

    Raises:
        UserError: bad configuration (raised by the first call, before any score).
    """
    records: list[dict[str, Any]] = []
    model = None
    for n, doc in enumerate(documents, 1):
        if progress:
            progress(f"[{n}/{len(documents)}] {doc.id}")
        record: dict[str, Any] = {"id": doc.id, "source": doc.source, "kind": doc.kind}
        started = time.monotonic()
        try:
            document = document_from_text(doc.text, name=doc.id, format="text")
            result: Result[MeetingSummary] = summarizer.summarize(document)
        except (RunError, InputError) as error:
            # A per-document failure is a measurement (schema-valid rate), not a crash.
            record.update(
                ok=False,
                error={"type": type(error).__name__, "message": str(error)},
                seconds=round(time.monotonic() - started, 3),
            )
            records.append(record)
            if on_report is not None:
                on_report(_report(records, summarizer, model))
            continue
        summary = result.summary.model_dump(mode="json")
        run = result.run
        model = run.model
        record.update(
            ok=True,
            score=score_document(summary, document.text, doc.expected).to_dict(),
            cost={
                "completions": run.completions,
                "http_calls": run.http_calls,
                "total_tokens": run.usage.get("total_tokens", 0),
                "seconds": run.duration_s,
            },
            dropped=len(run.dropped),
            summary=summary,
        )
        records.append(record)
        if on_report is not None:
            on_report(_report(records, summarizer, model))
    return _report(records, summarizer, model)


def _report(
    records: list[dict[str, Any]], summarizer: Summarizer, model: str | None
) -> dict[str, Any]:
    settings = summarizer.settings
    return {
        "version": REPORT_VERSION,
        "run": {
            "model": model or settings.model,
            "provider": settings.provider,
            "prompt": f"{summarizer.prompt.name}@{summarizer.prompt.version}",
        },
        "totals": totals(records),
        "documents": list(records),
    }


def rescore(documents: list[EvalDocument], report: dict[str, Any]) -> dict[str, Any]:
    """Score a report's stored summaries again with the current labels and metrics.

    No model call: after a label or metric change, an old run gets new numbers.

    Raises:
        InputError: a document of the dataset is not in the report.
    """
    stored = {d.get("id"): d for d in report.get("documents", []) if isinstance(d, dict)}
    records = []
    for doc in documents:
        old = stored.get(doc.id)
        if old is None:
            raise InputError(f"{doc.id}: not in the report being rescored")
        record = dict(old)
        if record.get("ok") and isinstance(record.get("summary"), dict):
            text = document_from_text(doc.text, name=doc.id, format="text").text
            record["score"] = score_document(record["summary"], text, doc.expected).to_dict()
        records.append(record)
    return {**report, "totals": totals(records), "documents": records}

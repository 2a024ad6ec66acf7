"""Batch jobs through the Python API against the fake server: the real pipeline, many documents.

The provider is ``tests.fakeserver.FakeOpenAI`` answering with grounded summaries built
from each request's own document (``tests.fakeprovider``), so every result went through
prompt rendering, structured extraction, validation and grounding for real.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from summarizer.batch import Batch, BatchOptions, asummarize_many, summarize_many
from summarizer.batch.items import Item, collect_items
from summarizer.batch.results import errors_path, read_records
from summarizer.config import Settings
from summarizer.errors import BatchFailedError, BudgetExceededError, ProviderError
from tests.fakeprovider import document_of, summary_reply
from tests.fakeserver import FakeOpenAI, Reply, error

KEY = "sk-test-PLANTED-KEY-1234567890"


def doc(i: int) -> str:
    return (
        f"Meeting {i} of the harbour works committee.\n"
        f"Dana Novak: We agreed to repaint berth {i} before the winter.\n"
        f"Ivo Silva: I will ask for three quotes on berth {i}.\n"
    )


def settings(base_url: str, tmp_path: Path, **changes: Any) -> Settings:
    return Settings(
        provider="compatible",
        model="fake-model",
        base_url=base_url,
        api_key=KEY,
        cache_dir=tmp_path / "cache",
        **changes,
    )


def sources(n: int) -> list[tuple[str, str]]:
    return [(f"doc-{i}", doc(i)) for i in range(n)]


def grounded(index: int, body: dict[str, Any]) -> Reply:
    return summary_reply(body)


def test_summarize_many_summarises_everything_once_and_writes_each_line(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    with FakeOpenAI(grounded) as srv:
        outcomes = list(
            summarize_many(
                sources(12), out=out, concurrency=4, settings=settings(srv.base_url, tmp_path)
            )
        )
        assert srv.calls == 12
    assert sorted(o.id for o in outcomes) == sorted(f"doc-{i}" for i in range(12))
    assert all(o.ok and o.via == "sync" for o in outcomes)
    records = list(read_records(out))
    assert sorted(r["id"] for r in records) == sorted(o.id for o in outcomes)
    first = next(r for r in records if r["id"] == "doc-3")
    assert (
        first["summary"]["decisions"][0]["evidence"]
        == "Dana Novak: We agreed to repaint berth 3 before the winter."
    )
    assert first["run"]["usage"]["total_tokens"] > 0
    assert set(first) == {"id", "input_sha256", "summary", "run", "via"}
    assert KEY not in out.read_text()


def test_a_rerun_with_the_same_output_makes_no_calls(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    with FakeOpenAI(grounded) as srv:
        list(
            summarize_many(
                sources(6), out=out, settings=settings(srv.base_url, tmp_path), cache=False
            )
        )
        again = list(
            summarize_many(
                sources(8), out=out, settings=settings(srv.base_url, tmp_path), cache=False
            )
        )
        assert srv.calls == 8  # only the two new documents
    assert sorted(o.id for o in again) == ["doc-6", "doc-7"]
    ids = [r["id"] for r in read_records(out)]
    assert sorted(ids) == sorted(f"doc-{i}" for i in range(8))


def test_the_cache_answers_an_unchanged_job_without_any_call(tmp_path: Path) -> None:
    with FakeOpenAI(grounded) as srv:
        first = list(
            summarize_many(
                sources(5), out=tmp_path / "a.jsonl", settings=settings(srv.base_url, tmp_path)
            )
        )
        second = list(
            summarize_many(
                sources(5), out=tmp_path / "b.jsonl", settings=settings(srv.base_url, tmp_path)
            )
        )
        assert srv.calls == 5
        # A different sampling parameter is a different answer: it is not served from cache.
        third = list(
            summarize_many(sources(1), settings=settings(srv.base_url, tmp_path, temperature=0.7))
        )
        assert srv.calls == 6
    assert {o.via for o in first} == {"sync"} and {o.via for o in second} == {"cache"}
    assert third[0].via == "sync"
    by_id = {o.id: o for o in first}
    for o in second:
        assert o.result is not None and by_id[o.id].result is not None
        assert o.result.summary.model_dump() == by_id[o.id].result.summary.model_dump()
        assert o.usage["total_tokens"] == 0  # nothing paid this time
    assert {r["via"] for r in read_records(tmp_path / "b.jsonl")} == {"cache"}


def test_bad_documents_go_to_the_errors_file_and_the_rest_finishes(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text(doc(1))
    (tmp_path / "empty.txt").write_text("  \n")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02\x03" * 100)
    (tmp_path / "batch.jsonl").write_text(
        json.dumps({"id": "j1", "text": doc(2)}) + "\n" + json.dumps({"id": "j2"}) + "\n"
    )
    rejected = "REJECT-ME"
    (tmp_path / "rejected.txt").write_text(doc(3) + f"{rejected}\n")

    def script(index: int, body: dict[str, Any]) -> Reply:
        if rejected in document_of(body):
            return error(400, f"policy violation for key {KEY}")
        return summary_reply(body)

    names = ["good.txt", "empty.txt", "binary.txt", "batch.jsonl", "rejected.txt", "missing.txt"]
    items = collect_items([str(tmp_path / n) for n in names], max_bytes=100_000)
    out = tmp_path / "results.jsonl"
    with FakeOpenAI(script) as srv:
        batch: Batch[Any] = Batch(items, settings=settings(srv.base_url, tmp_path), out=out)
        report = asyncio.run(_run(batch))
    assert (report.done, report.failed) == (2, 5)
    assert sorted(r["id"] for r in read_records(out)) == sorted([str(tmp_path / "good.txt"), "j1"])
    errors = {r["id"].rsplit("/", 1)[-1]: r for r in read_records(errors_path(out))}
    assert {k: v["error"]["type"] for k, v in errors.items()} == {
        "empty.txt": "EmptyInputError",
        "binary.txt": "UnsupportedInputError",
        "j2": "MalformedInputError",
        "rejected.txt": "ProviderError",
        "missing.txt": "InputError",
    }
    assert errors["rejected.txt"]["error"]["exit_code"] == 1
    assert errors["empty.txt"]["error"]["exit_code"] == 2
    assert errors["rejected.txt"]["input_sha256"] is not None
    assert KEY not in errors_path(out).read_text()
    with pytest.raises(BatchFailedError, match="5 of 7"):
        report.raise_for_outcome(out)


# Every kind of bad input from the single-document matrix, each next to good documents:
# each becomes one error line with its own type, and the good ones still finish.
BAD_INPUTS: dict[str, tuple[bytes, str]] = {
    "notes.docx": (b"PK\x03\x04 a word file", "UnsupportedInputError"),
    "latin1.txt": ("Réunion du comité, procès-verbal.\n".encode("latin-1"), "DecodeError"),
    "huge.txt": (b"word " * 30_000, "InputTooLargeError"),
    "broken.vtt": (b"WEBVTT\n\n00:00:01.000 --> nonsense\nDana: hello\n", "MalformedInputError"),
    "broken.srt": (b"1\n00:00:01,000 -> 00:00:02,000\nhello\n", "MalformedInputError"),
    "broken.json": (b'{"segments": [{"speaker": "Dana", ', "MalformedInputError"),
}


def test_every_bad_input_kind_fails_alone_in_a_batch(tmp_path: Path) -> None:
    for name, (data, _) in BAD_INPUTS.items():
        (tmp_path / name).write_bytes(data)
    # UTF-16 with a byte-order mark is a good document, not a bad one.
    (tmp_path / "utf16.txt").write_bytes(doc(7).encode("utf-16"))
    (tmp_path / "good.txt").write_text(doc(8))
    names = [*BAD_INPUTS, "utf16.txt", "good.txt"]
    items = collect_items([str(tmp_path / n) for n in names], max_bytes=100_000)
    out = tmp_path / "results.jsonl"
    with FakeOpenAI(grounded) as srv:
        batch: Batch[Any] = Batch(items, settings=settings(srv.base_url, tmp_path), out=out)
        report = asyncio.run(_run(batch))
        assert srv.calls == 2  # only the two good documents reached the model
    assert (report.done, report.failed) == (2, len(BAD_INPUTS))
    done = sorted(r["id"].rsplit("/", 1)[-1] for r in read_records(out))
    assert done == ["good.txt", "utf16.txt"]
    errors = {r["id"].rsplit("/", 1)[-1]: r["error"] for r in read_records(errors_path(out))}
    assert {k: e["type"] for k, e in errors.items()} == {k: t for k, (_, t) in BAD_INPUTS.items()}
    for e in errors.values():
        assert e["exit_code"] == 2 and "\n" not in e["message"] and e["message"]


async def _run(batch: Batch[Any]) -> Any:
    try:
        return await batch.run()
    finally:
        await batch.aclose()


def test_results_are_yielded_as_they_finish_not_in_input_order(tmp_path: Path) -> None:
    import threading

    # The server holds the first document's answer until the consumer has received the
    # other three: events, not delays, so a loaded machine cannot reorder anything.
    released = threading.Event()

    def script(index: int, body: dict[str, Any]) -> Reply:
        if "Meeting 0 " in document_of(body):
            released.wait(30)  # an in-order runner never releases it: the test fails
        return summary_reply(body)

    async def collect(base_url: str) -> list[str]:
        order = []
        async for o in asummarize_many(
            sources(4), concurrency=4, cache=False, settings=settings(base_url, tmp_path)
        ):
            order.append(o.id)
            if len(order) == 3:
                released.set()
        return order

    with FakeOpenAI(script) as srv:
        try:
            order = asyncio.run(collect(srv.base_url))
        finally:
            released.set()
    assert sorted(order) == [f"doc-{i}" for i in range(4)]
    assert order[-1] == "doc-0"


def test_concurrency_bounds_the_requests_in_flight(tmp_path: Path) -> None:
    import threading

    lock = threading.Lock()
    state = {"now": 0, "peak": 0}
    release = threading.Event()

    def script(index: int, body: dict[str, Any]) -> Reply:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
            if state["now"] >= 3:
                release.set()
        release.wait(2)  # hold each request until 3 are in flight at once (or give up)
        with lock:
            state["now"] -= 1
        return summary_reply(body)

    with FakeOpenAI(script) as srv:
        done = list(
            summarize_many(
                sources(9), concurrency=3, cache=False, settings=settings(srv.base_url, tmp_path)
            )
        )
    assert len(done) == 9 and all(o.ok for o in done)
    assert state["peak"] == 3


def test_rate_limited_server_all_documents_succeed_and_every_429_pauses_the_limiter(
    tmp_path: Path,
) -> None:
    # The server throttles chosen requests (by arrival order, not by clock, so the test
    # means the same on a loaded machine): each 429 + Retry-After pauses the shared
    # limiter, the request is retried, and every document still succeeds.
    throttled = {2, 5, 6, 11}

    def script(index: int, body: dict[str, Any]) -> Reply:
        if index in throttled:
            return error(429, retry_after=0.2)
        return summary_reply(body)

    with FakeOpenAI(script) as srv:
        batch: Batch[Any] = Batch(
            [Item(i, _text(t)) for i, t in sources(30)],
            settings=settings(srv.base_url, tmp_path, transport_attempts=10),
            options=BatchOptions(concurrency=8, rpm=6000, cache=False),
        )
        report = asyncio.run(_run(batch))
    assert (report.done, report.failed) == (30, 0)
    assert srv.calls == 30 + len(throttled)
    assert report.throttles == batch.limiter.stats.throttles == len(throttled)
    assert batch.limiter.stats.acquired == srv.calls  # every HTTP attempt went through it


def _text(text: str) -> Any:
    from summarizer.inputs import document_from_text

    return lambda: document_from_text(text)


def test_budget_stops_before_exceeding_and_a_rerun_continues(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    small = settings("", tmp_path, max_output_tokens=500)
    # Worst case per document: 4 completions x (prompt estimate ~1,040 + 500) ~ 6,200 tokens;
    # the fake bills ~1,200 per document, so a 10,000-token budget admits a few, not all.
    with FakeOpenAI(grounded) as srv:
        run = Settings(**{**small.__dict__, "base_url": srv.base_url})
        batch: Batch[Any] = Batch(
            [Item(i, _text(t)) for i, t in sources(12)],
            settings=run,
            options=BatchOptions(concurrency=2, budget_tokens=10_000, cache=False),
            out=out,
        )
        report = asyncio.run(_run(batch))
        assert report.budget_stopped
        assert report.done > 0 and report.not_started == 12 - report.done
        assert report.tally.total_tokens <= 10_000
        with pytest.raises(BudgetExceededError, match="not started"):
            report.raise_for_outcome(out)
        # A rerun with a bigger budget picks up exactly what was not done.
        rest = list(
            summarize_many(
                sources(12), out=out, budget_tokens=10_000_000, cache=False, settings=run
            )
        )
    assert len(rest) == 12 - report.done
    ids = [r["id"] for r in read_records(out)]
    assert sorted(ids) == sorted(f"doc-{i}" for i in range(12))


def test_provider_failures_count_their_usage(tmp_path: Path) -> None:
    def script(index: int, body: dict[str, Any]) -> Reply:
        return Reply(
            status=200,
            json_body={
                **summary_reply(body).json_body,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "not json"},
                        "finish_reason": "stop",
                    }
                ],
            },
        )  # type: ignore[dict-item]

    with FakeOpenAI(script) as srv:
        [outcome] = list(
            summarize_many(sources(1), cache=False, settings=settings(srv.base_url, tmp_path))
        )
        assert srv.calls == 2  # validation re-ask
    assert outcome.error is not None and not outcome.ok
    assert outcome.usage["total_tokens"] > 0
    assert not isinstance(outcome.error, ProviderError)


def test_stopping_early_cancels_the_rest_and_keeps_what_finished(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    with FakeOpenAI(grounded) as srv:
        for outcome in summarize_many(
            sources(20),
            out=out,
            concurrency=2,
            cache=False,
            settings=settings(srv.base_url, tmp_path),
        ):
            assert outcome.ok
            break
        calls = srv.calls
    written = [r["id"] for r in read_records(out)]
    assert 1 <= len(written) <= calls < 20
    assert len(set(written)) == len(written)


def test_the_embedded_engine_gets_one_slot_per_worker(tmp_path: Path) -> None:
    embedded = Settings(provider="embedded", model="qwen", cache_dir=tmp_path)
    default: Batch[Any] = Batch([], settings=embedded)
    wide: Batch[Any] = Batch([], settings=embedded, options=BatchOptions(concurrency=3))
    remote: Batch[Any] = Batch([], settings=settings("http://127.0.0.1:9/v1", tmp_path))
    assert (default.workers, default.summarizer.engine_slots) == (1, 1)
    assert (wide.workers, wide.summarizer.engine_slots) == (3, 3)
    assert remote.workers == 8
    for batch in (default, wide, remote):
        batch.close()  # nothing was started

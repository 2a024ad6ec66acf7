"""The Batch API path (submit, status, collect) against a fake Batch API over real HTTP.

The fake provider (``tests/fake_batch_api.py``) really parses the uploaded JSONL and
answers each request line with :func:`answer`, which builds a grounded summary from
the document it finds in the request, or a broken one for the documents a test picks.
Everything on our side runs for real: prompt rendering, instructor's request building
and parsing, grounding, synchronous re-asks, the results/errors files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from summarizer import Summarizer, resolve_settings
from summarizer.batch import batch_api
from summarizer.batch.batch_api import collect, manifest_path, status, submit
from summarizer.batch.results import errors_path
from summarizer.config import Settings
from summarizer.errors import (
    BatchManifestError,
    BatchNotReadyError,
    ConfigError,
    InputError,
    ProviderError,
    RemoteBatchFailedError,
)
from summarizer.inputs import Document, document_from_text
from summarizer.schemas.meeting import MeetingSummary
from tests.fake_batch_api import FakeBatchAPI, RequestFailure
from tests.fakeserver import RecordedRequest, Reply, completion, error

KEY = "sk-test-PLANTED-BATCH-KEY-0987654321"
ROOT = Path(__file__).resolve().parents[1]

LAMPS = """Harbour lighting working group, met in Tromso on 4 February 2026.
Ingrid Solberg chaired the session and Tomas Berg reported on the lamp survey.
The group agreed to replace the pier lamps with LED units.
Tomas Berg will order the new lamps by 20 February 2026.
"""

BIKES = """Cycle parking committee, held at the town hall on 11 March 2026.
Maria Okafor opened the meeting and Pieter de Wit presented the rack count.
The committee decided to add forty racks next to the station.
Pieter de Wit will draft the tender by 1 April 2026.
"""

BOOKS = """Library opening hours review, held online on 2 May 2026.
Chen Wei led the review and Amal Haddad summarised the visitor figures.
The board agreed to open on Sunday afternoons from June.
Amal Haddad will update the website by 15 May 2026.
"""

# What each document is about -> (title, date, location, [(name, role, quote)], decision,
# action). Every quote is a verbatim slice of its document.
FACTS: dict[str, dict[str, Any]] = {
    "lamp survey": {
        "text": LAMPS,
        "title": "Harbour lighting",
        "date": "2026-02-04",
        "location": "Tromso",
        "people": [
            ("Ingrid Solberg", "chair", "Ingrid Solberg chaired the session"),
            ("Tomas Berg", None, "Tomas Berg reported on the lamp survey."),
        ],
        "decision": (
            "Replace the pier lamps with LED units.",
            "The group agreed to replace the pier lamps with LED units.",
        ),
        "action": (
            "Order the new lamps",
            "Tomas Berg",
            "2026-02-20",
            "Tomas Berg will order the new lamps by 20 February 2026.",
        ),
    },
    "rack count": {
        "text": BIKES,
        "title": "Cycle parking",
        "date": "2026-03-11",
        "location": None,
        "people": [
            ("Maria Okafor", None, "Maria Okafor opened the meeting"),
            ("Pieter de Wit", None, "Pieter de Wit presented the rack count."),
        ],
        "decision": (
            "Add forty racks next to the station.",
            "The committee decided to add forty racks next to the station.",
        ),
        "action": (
            "Draft the tender",
            "Pieter de Wit",
            "2026-04-01",
            "Pieter de Wit will draft the tender by 1 April 2026.",
        ),
    },
    "visitor figures": {
        "text": BOOKS,
        "title": "Library opening hours",
        "date": "2026-05-02",
        "location": None,
        "people": [
            ("Chen Wei", "lead", "Chen Wei led the review"),
            ("Amal Haddad", None, "Amal Haddad summarised the visitor figures."),
        ],
        "decision": (
            "Open on Sunday afternoons from June.",
            "The board agreed to open on Sunday afternoons from June.",
        ),
        "action": (
            "Update the website",
            "Amal Haddad",
            "2026-05-15",
            "Amal Haddad will update the website by 15 May 2026.",
        ),
    },
}
ITEMS = {"minutes/lamps.txt": LAMPS, "minutes/bikes.txt": BIKES, "minutes/books.txt": BOOKS}
ITEM_OF = {
    "lamp survey": "minutes/lamps.txt",
    "rack count": "minutes/bikes.txt",
    "visitor figures": "minutes/books.txt",
}


def grounded_answer(facts: dict[str, Any]) -> dict[str, Any]:
    task, owner, due, quote = facts["action"]
    return {
        "title": facts["title"],
        "date": facts["date"],
        "location": facts["location"],
        "participants": [
            {"name": name, "role": role, "organization": None, "evidence": evidence}
            for name, role, evidence in facts["people"]
        ],
        "topics": [facts["title"].lower()],
        "positions": [],
        "decisions": [{"description": facts["decision"][0], "evidence": facts["decision"][1]}],
        "action_items": [{"task": task, "owner": owner, "due_date": due, "evidence": quote}],
        "summary": f"The {facts['title'].lower()} meeting took a decision and assigned a task.",
    }


def topic_of(body: dict[str, Any]) -> str:
    """Which document a request is about (its marker phrase occurs in the prompt)."""
    user = body["messages"][1]["content"]
    for marker in FACTS:
        if marker in user:
            return marker
    raise AssertionError("request names none of the test documents")


def is_reask(body: dict[str, Any]) -> bool:
    """A validation re-ask carries the previous answer as an assistant turn."""
    return any(m["role"] == "assistant" for m in body["messages"])


def ok(facts: dict[str, Any]) -> Reply:
    return completion(json.dumps(grounded_answer(facts)), prompt_tokens=400, completion_tokens=150)


BAD_OUTPUT = completion(json.dumps({"title": "only a title"}), completion_tokens=9)


def make_answer(
    *,
    batch: dict[str, Reply | RequestFailure] | None = None,
    sync: dict[str, Reply] | None = None,
) -> Callable[[str | None, dict[str, Any]], Reply | RequestFailure]:
    """Grounded answers everywhere except the overrides, keyed by marker phrase.

    ``batch`` overrides answers inside the batch; ``sync`` overrides direct chat calls.
    """

    def answer(custom_id: str | None, body: dict[str, Any]) -> Reply | RequestFailure:
        topic = topic_of(body)
        overrides = (batch if custom_id is not None else sync) or {}
        return overrides.get(topic) or ok(FACTS[topic])

    return answer


def items() -> list[tuple[str, Document]]:
    return [(item_id, document_from_text(text, name=item_id)) for item_id, text in ITEMS.items()]


def settings_for(srv: FakeBatchAPI, **overrides: Any) -> Settings:
    return resolve_settings(
        base_url=srv.base_url, model="fake-model", api_key=KEY, env={}, **overrides
    )


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def uploaded_requests(srv: FakeBatchAPI) -> list[dict[str, Any]]:
    inputs = [content for _, purpose, content in srv.files.values() if purpose == "batch"]
    assert len(inputs) == 1
    return [json.loads(line) for line in inputs[0].decode().splitlines()]


def submit_and_finish(srv: FakeBatchAPI, out: Path, **overrides: Any) -> Settings:
    """Submit the three documents and poll until the fake batch has finished."""
    settings = settings_for(srv, **overrides)
    submit(items(), settings, out)
    for _ in srv.steps:
        status(out, settings)
    return settings


def assert_grounded(record: dict[str, Any], text: str) -> None:
    summary = MeetingSummary.model_validate(record["summary"])
    quotes = [p.evidence for p in summary.participants]
    quotes += [d.evidence for d in summary.decisions]
    quotes += [a.evidence for a in summary.action_items]
    assert quotes, "a grounded summary keeps its evidenced items"
    for quote in quotes:
        assert quote in text
    assert record["run"]["document"]["sha256"] == record["input_sha256"]


# -- submit and status ------------------------------------------------------------------


def test_submit_uploads_the_synchronous_request_bodies_and_writes_a_manifest(
    tmp_path: Path,
) -> None:
    out = tmp_path / "results.jsonl"
    with FakeBatchAPI(make_answer()) as srv:
        settings = settings_for(srv)
        manifest = submit(items(), settings, out)
        assert srv.calls == 0  # submitting sends no chat completion
        lines = uploaded_requests(srv)
        # The synchronous path, for comparison: its first request body per document.
        with Summarizer(settings=settings) as summarizer:
            for _, document in items():
                summarizer.summarize(document)
        sync_bodies = [r.json for r in srv.chat_requests]

    on_disk = json.loads(manifest_path(out).read_text())
    assert on_disk["batch_id"] == manifest.batch_id and manifest.batch_id.startswith("batch_fake")
    assert on_disk["status"] == "validating"
    assert on_disk["price_factor"] == 0.5
    assert on_disk["model"] == "fake-model"
    assert on_disk["prompt"]["name"] == "summarize"
    assert [item["id"] for item in on_disk["items"]] == list(ITEMS)
    assert [item["outcome"] for item in on_disk["items"]] == [None, None, None]

    assert [line["custom_id"] for line in lines] == [i.custom_id for i in manifest.items]
    assert len({line["custom_id"] for line in lines}) == 3
    assert {(line["method"], line["url"]) for line in lines} == {("POST", "/v1/chat/completions")}
    # Byte-for-byte the same JSON the synchronous path sends for the first call.
    assert [line["body"] for line in lines] == sync_bodies
    assert lines[0]["body"]["response_format"]["json_schema"]["name"] == "MeetingSummary"


def test_custom_ids_are_a_stable_function_of_the_item_id(tmp_path: Path) -> None:
    with FakeBatchAPI(make_answer()) as srv:
        first = submit(items(), settings_for(srv), tmp_path / "a.jsonl")
        second = submit(items()[::-1], settings_for(srv), tmp_path / "b.jsonl")
    by_id = {i.id: i.custom_id for i in first.items}
    assert {i.id: i.custom_id for i in second.items} == by_id
    assert by_id["minutes/lamps.txt"] == batch_api._custom_id("minutes/lamps.txt")


def test_status_follows_the_batch_through_its_states(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    with FakeBatchAPI(make_answer()) as srv:
        settings = settings_for(srv)
        submit(items(), settings, out)
        running = status(out, settings)
        assert running.status == "in_progress"
        assert json.loads(manifest_path(out).read_text())["status"] == "in_progress"
        done = status(out, settings)
        assert srv.calls == 0
    assert done.status == "completed"
    assert done.request_counts == {"total": 3, "completed": 3, "failed": 0}
    assert done.output_file_id is not None and done.error_file_id is None
    assert json.loads(manifest_path(out).read_text())["output_file_id"] == done.output_file_id


# -- collect ----------------------------------------------------------------------------


def test_collect_writes_one_validated_grounded_line_per_item(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    with FakeBatchAPI(make_answer()) as srv:
        settings = submit_and_finish(srv, out)
        report = collect(out, settings)
        assert srv.calls == 0  # every batch answer was valid and grounded
        assert srv.batch_answers == 3
    records = read_jsonl(out)
    assert [r["id"] for r in records] == list(ITEMS)
    for record in records:
        assert record["via"] == "batch-api"
        assert_grounded(record, ITEMS[record["id"]])
        assert record["run"]["http_calls"] == 0
        assert record["run"]["completions"] == 1
        assert record["run"]["usage"]["prompt_tokens"] == 400
    assert not errors_path(out).exists()
    assert (report.results_written, report.errors_written, report.from_batch) == (3, 0, 3)
    assert (report.reasked, report.resent, report.sync_http_calls) == (0, 0, 0)
    assert report.batch_usage == {
        "prompt_tokens": 1200,
        "completion_tokens": 450,
        "total_tokens": 1650,
    }
    assert report.sync_usage["total_tokens"] == 0
    assert report.price_factor == 0.5
    outcomes = [i["outcome"] for i in json.loads(manifest_path(out).read_text())["items"]]
    assert outcomes == ["result"] * 3


def test_collect_grounds_batch_output_exactly_like_the_synchronous_path(tmp_path: Path) -> None:
    """A loose quote is repaired, an invented item re-asked (synchronously) and dropped."""
    loose = grounded_answer(FACTS["lamp survey"])
    loose["decisions"][0]["evidence"] = "the group agreed to replace the pier lamps with LED lamps"
    loose["decisions"].append(
        {"description": "Buy a harbour ferry.", "evidence": "We will buy a ferry soon."}
    )

    def answer(custom_id: str | None, body: dict[str, Any]) -> Reply:
        topic = topic_of(body)
        if body["response_format"]["json_schema"]["name"] == "QuoteFixes":
            return completion(json.dumps({"decisions[1]": None}), completion_tokens=5)
        if topic == "lamp survey":  # the same answer in the batch and synchronously
            return completion(json.dumps(loose), prompt_tokens=400, completion_tokens=150)
        return ok(FACTS[topic])

    out = tmp_path / "results.jsonl"
    with FakeBatchAPI(answer) as srv:
        settings = submit_and_finish(srv, out)
        collect(out, settings)
        reasks = srv.chat_requests
        with Summarizer(settings=settings) as summarizer:
            expected = summarizer.summarize(document_from_text(LAMPS, name="minutes/lamps.txt"))
        sync_reask = srv.chat_requests[-1]
    assert len(reasks) == 1  # the one grounding re-ask, for the invented decision only
    assert reasks[0].json is not None
    assert "decisions[1]" in reasks[0].json["messages"][-1]["content"]
    assert reasks[0].json == sync_reask.json  # the same follow-up the synchronous path sends
    record = next(r for r in read_jsonl(out) if r["id"] == "minutes/lamps.txt")
    assert record["via"] == "batch-api"
    assert_grounded(record, LAMPS)
    assert record["summary"] == expected.summary.model_dump(mode="json")
    assert record["summary"]["decisions"][0]["evidence"] in LAMPS  # repaired from the loose quote
    run, sync_run = record["run"], expected.run.model_dump(mode="json")
    for key in ("aligned_quotes", "anchored_quotes", "dropped", "reasks", "completions", "usage"):
        assert run[key] == sync_run[key], key
    assert run["aligned_quotes"] + run["anchored_quotes"] == 1
    assert [d["key"] for d in run["dropped"]] == ["decisions[1]"]
    assert (run["http_calls"], sync_run["http_calls"]) == (1, 2)  # the batch saved one


def test_invalid_outputs_and_failed_requests_are_reasked_synchronously(tmp_path: Path) -> None:
    answer = make_answer(
        batch={
            "lamp survey": BAD_OUTPUT,  # fails schema validation
            "rack count": RequestFailure("server_error", "internal fault"),
            "visitor figures": error(500, "upstream overloaded"),
        }
    )
    out = tmp_path / "results.jsonl"
    with FakeBatchAPI(answer) as srv:
        settings = submit_and_finish(srv, out)
        batch = status(out, settings)
        assert batch.request_counts == {"total": 3, "completed": 1, "failed": 2}
        report = collect(out, settings)
        sync = srv.chat_requests
        submitted = {line["custom_id"]: line["body"] for line in uploaded_requests(srv)}

    assert srv.calls == 3  # one synchronous call per item, no more
    records = {r["id"]: r for r in read_jsonl(out)}
    assert list(records) == list(ITEMS)
    for item_id, record in records.items():
        assert_grounded(record, ITEMS[item_id])
    assert records["minutes/lamps.txt"]["via"] == "batch-api"
    assert records["minutes/bikes.txt"]["via"] == "sync"
    assert records["minutes/books.txt"]["via"] == "sync"
    assert not errors_path(out).exists()

    # The invalid output is re-asked with instructor's validation feedback ...
    lamps = next(r for r in sync if r.json is not None and topic_of(r.json) == "lamp survey")
    assert lamps.json is not None and is_reask(lamps.json)
    assert "only a title" in json.dumps(lamps.json["messages"])
    assert records["minutes/lamps.txt"]["run"]["completions"] == 2
    # ... the unanswered requests are sent again exactly as submitted.
    ids = {i.id: i.custom_id for i in batch.items}
    resent = [r.json for r in sync if r.json is not None and not is_reask(r.json)]
    assert sorted(map(topic_of, resent)) == ["rack count", "visitor figures"]
    for body in resent:
        assert body == submitted[ids[ITEM_OF[topic_of(body)]]]
    assert (report.from_batch, report.reasked, report.resent) == (1, 1, 2)
    assert report.sync_http_calls == 3
    assert report.results_written == 3


def test_items_that_keep_failing_land_in_the_errors_file(tmp_path: Path) -> None:
    answer = make_answer(
        batch={"lamp survey": BAD_OUTPUT, "rack count": RequestFailure()},
        sync={"lamp survey": BAD_OUTPUT, "rack count": error(400, "model not available")},
    )
    out = tmp_path / "results.jsonl"
    with FakeBatchAPI(answer) as srv:
        settings = submit_and_finish(srv, out)
        report = collect(out, settings)
    # lamps: validation_attempts=2, the batch output was the first -> 1 re-ask;
    # bikes: one synchronous attempt, a 400 is not retried.
    assert srv.calls == 2
    assert [r["id"] for r in read_jsonl(out)] == ["minutes/books.txt"]
    errors = {e["id"]: e for e in read_jsonl(errors_path(out))}
    assert list(errors) == ["minutes/lamps.txt", "minutes/bikes.txt"]
    lamps, bikes = errors["minutes/lamps.txt"], errors["minutes/bikes.txt"]
    assert lamps["input_sha256"] == document_from_text(LAMPS).sha256
    assert lamps["error"]["type"] == "ValidationExhaustedError"
    assert lamps["error"]["exit_code"] == 1
    assert "did not fit the schema" in lamps["error"]["message"]
    assert bikes["error"]["type"] == "ProviderError"
    assert "server_error" in bikes["error"]["message"]  # why the batch did not answer
    assert "model not available" in bikes["error"]["message"]  # why the retry failed
    for record in errors.values():
        assert "\n" not in record["error"]["message"]
    assert (report.results_written, report.errors_written) == (1, 2)
    outcomes = [i["outcome"] for i in json.loads(manifest_path(out).read_text())["items"]]
    assert outcomes == ["error", "error", "result"]


def test_collect_twice_never_duplicates_a_line(tmp_path: Path) -> None:
    answer = make_answer(
        batch={"rack count": RequestFailure()}, sync={"rack count": error(400, "no")}
    )
    out = tmp_path / "results.jsonl"
    with FakeBatchAPI(answer) as srv:
        settings = submit_and_finish(srv, out)
        collect(out, settings)
        results, errors = out.read_text(), errors_path(out).read_text()
        calls = srv.calls
        again = collect(out, settings)
        assert srv.calls == calls  # nothing is re-asked either
        assert (out.read_text(), errors_path(out).read_text()) == (results, errors)
        assert (again.already_collected, again.results_written, again.errors_written) == (3, 0, 0)

        # A collect interrupted after appending a line but before recording it in the
        # manifest: the results file itself prevents the duplicate.
        manifest = json.loads(manifest_path(out).read_text())
        manifest["items"][0]["outcome"] = None
        manifest_path(out).write_text(json.dumps(manifest))
        third = collect(out, settings)
        assert srv.calls == calls
    assert out.read_text() == results
    assert third.already_collected == 3
    assert len(read_jsonl(out)) == 2 and len(read_jsonl(errors_path(out))) == 1


def test_collect_before_the_batch_finished_says_so(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    with FakeBatchAPI(make_answer(), steps=("in_progress", "in_progress", "completed")) as srv:
        settings = settings_for(srv)
        submit(items(), settings, out)
        with pytest.raises(BatchNotReadyError, match=r"is in_progress \(0/3 requests done\)"):
            collect(out, settings)
        assert not out.exists() and not errors_path(out).exists()
        with pytest.raises(BatchNotReadyError, match="collect once it has completed"):
            collect(out, settings)
        report = collect(out, settings)  # the third poll finds it completed
        assert srv.calls == 0
    assert report.results_written == 3


def test_a_failed_batch_is_a_clear_error(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    with FakeBatchAPI(make_answer(), max_requests=2) as srv:
        settings = settings_for(srv)
        submit(items(), settings, out)
        with pytest.raises(RemoteBatchFailedError, match="too_many_requests.*at most 2") as info:
            collect(out, settings)
        assert srv.calls == 0 and srv.batch_answers == 0
        assert info.value.exit_code == 1
        assert not out.exists()
        assert json.loads(manifest_path(out).read_text())["status"] == "failed"
        # Nothing to collect from a failed batch, so a new one may take its place.
        again = submit(items()[:2], settings, out)
        status(out, settings)
        status(out, settings)
        assert collect(out, settings).results_written == 2
    assert json.loads(manifest_path(out).read_text())["batch_id"] == again.batch_id
    assert len(read_jsonl(out)) == 2


def test_an_answer_that_is_not_a_chat_completion_is_resent(tmp_path: Path) -> None:
    answer = make_answer(batch={"visitor figures": Reply(json_body={"unexpected": "shape"})})
    out = tmp_path / "results.jsonl"
    with FakeBatchAPI(answer) as srv:
        settings = submit_and_finish(srv, out)
        report = collect(out, settings)
        assert srv.calls == 1
    assert [r["via"] for r in read_jsonl(out)] == ["batch-api", "batch-api", "sync"]
    assert (report.from_batch, report.resent) == (2, 1)


def test_an_expired_batch_keeps_its_answers_and_resends_the_rest(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    with FakeBatchAPI(
        make_answer(), steps=("in_progress", "expired"), finished_before_end=1
    ) as srv:
        settings = submit_and_finish(srv, out)
        report = collect(out, settings)
        assert (srv.batch_answers, srv.calls) == (1, 2)
    records = read_jsonl(out)
    assert [r["via"] for r in records] == ["batch-api", "sync", "sync"]
    assert (report.status, report.from_batch, report.resent) == ("expired", 1, 2)


def test_no_api_key_in_manifest_documents_results_or_errors(tmp_path: Path) -> None:
    leaky = f"invalid key {KEY} rejected"  # a provider error body echoing the key
    answer = make_answer(
        batch={"rack count": RequestFailure("auth", leaky)},
        sync={"rack count": error(400, leaky)},
    )
    out = tmp_path / "results.jsonl"
    with FakeBatchAPI(answer) as srv:
        settings = submit_and_finish(srv, out)
        collect(out, settings)
        sent: list[RecordedRequest] = list(srv.requests)
    assert all(r.headers.get("authorization") == f"Bearer {KEY}" for r in sent)  # it was used
    written = sorted(tmp_path.iterdir())
    assert {p.name for p in written} == {
        "results.jsonl",
        "results.errors.jsonl",
        "results.jsonl.batch.json",
        "results.jsonl.batch.docs.jsonl",
    }
    for path in written:
        assert KEY not in path.read_text(), path.name
    assert "[redacted]" in errors_path(out).read_text()


# -- misuse -----------------------------------------------------------------------------


def test_the_embedded_engine_has_no_batch_api(tmp_path: Path) -> None:
    settings = resolve_settings(env={})
    assert settings.provider == "embedded"
    with pytest.raises(ConfigError, match="needs a provider with a Batch API"):
        submit(items(), settings, tmp_path / "results.jsonl")
    assert list(tmp_path.iterdir()) == []


def test_missing_manifest_and_pending_batch_are_user_errors(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    with FakeBatchAPI(make_answer()) as srv:
        settings = settings_for(srv)
        with pytest.raises(BatchManifestError, match="no batch manifest") as info:
            status(out, settings)
        assert info.value.exit_code == 2
        first = submit(items(), settings, out)
        with pytest.raises(BatchManifestError, match="3 uncollected item"):
            submit(items(), settings, out)
        assert len(srv.batches) == 1
        with pytest.raises(BatchManifestError, match="submitted to"):
            status(out, resolve_settings(base_url="http://127.0.0.1:9/v1", api_key=KEY, env={}))
    assert json.loads(manifest_path(out).read_text())["batch_id"] == first.batch_id


def test_collect_refuses_changed_settings(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    with FakeBatchAPI(make_answer()) as srv:
        submit_and_finish(srv, out)
        with pytest.raises(BatchManifestError, match="differs from the one submitted"):
            collect(out, settings_for(srv, max_output_tokens=1000))
        assert srv.calls == 0
    assert not out.exists()


def test_duplicate_ids_are_rejected_before_anything_is_sent(tmp_path: Path) -> None:
    with FakeBatchAPI(make_answer()) as srv:
        doc = document_from_text(LAMPS)
        with pytest.raises(InputError, match="occurs twice") as info:
            submit([("a", doc), ("a", doc)], settings_for(srv), tmp_path / "r.jsonl")
        assert srv.requests == []
    assert info.value.exit_code == 2


# -- faults of the Batch API endpoints --------------------------------------------------


def test_reads_are_retried_but_a_failed_create_is_not(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    with FakeBatchAPI(make_answer()) as srv:
        settings = settings_for(srv)
        # Creating a batch is sent once: a retry after a lost answer could bill twice.
        srv.inject("POST", "/v1/batches", error(503, f"overloaded for {KEY}", retry_after=0.01))
        with pytest.raises(ProviderError, match="creating the batch: provider answered HTTP 503"):
            submit(items(), settings, out)
        assert [r.method for r in srv.requests if r.path == "/v1/batches"] == ["POST"]
        assert srv.batches == {} and not manifest_path(out).exists()

        # Reads are retried (the SDK's retries, Retry-After honoured).
        manifest = submit(items(), settings, out)
        srv.inject("GET", "/v1/batches/", error(503, retry_after=0.01))
        srv.inject("GET", "/v1/files/", error(502, retry_after=0.01))
        assert status(out, settings).status == "in_progress"
        report = collect(out, settings)
        batch_reads = [r for r in srv.requests if r.path == f"/v1/batches/{manifest.batch_id}"]
        downloads = [r for r in srv.requests if r.path.startswith("/v1/files/file")]
    assert (len(batch_reads), len(downloads)) == (3, 2)  # one retry each
    assert report.results_written == 3


def test_provider_errors_never_carry_the_key(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    with FakeBatchAPI(make_answer()) as srv:
        srv.inject("POST", "/v1/files", error(401, f"Incorrect API key provided: {KEY}"))
        with pytest.raises(ProviderError) as info:
            submit(items(), settings_for(srv), out)
    assert info.value.status_code == 401
    assert KEY not in str(info.value) and "[redacted]" in str(info.value)


# -- the command line -------------------------------------------------------------------


def run_cli(args: list[str], srv: FakeBatchAPI, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``summarizer batch ARGS`` in a subprocess, configured only by flags and env vars."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SUMMARIZER_"))}
    env |= {
        "OPENAI_API_KEY": KEY,
        "SUMMARIZER_BASE_URL": srv.base_url,
        "SUMMARIZER_MODEL": "fake-model",
        "SUMMARIZER_CACHE_DIR": str(tmp_path / "cache"),
    }
    return subprocess.run(
        [sys.executable, "-m", "summarizer", "batch", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_submit_status_collect_end_to_end(tmp_path: Path) -> None:
    folder = tmp_path / "minutes"
    folder.mkdir()
    for item_id, text in ITEMS.items():
        (folder / Path(item_id).name).write_text(text, encoding="utf-8")
    (folder / "blank.txt").write_text("\n\n", encoding="utf-8")  # fails to load at submit
    leaky = f"invalid key {KEY} rejected"  # a provider error body echoing the key
    answer = make_answer(
        batch={"visitor figures": BAD_OUTPUT, "rack count": RequestFailure("auth", leaky)},
        sync={"rack count": error(400, leaky)},
    )
    out = tmp_path / "out" / "results.jsonl"
    out.parent.mkdir()
    outputs: list[str] = []
    with FakeBatchAPI(answer) as srv:
        submitted = run_cli([str(folder), "--via", "batch-api", "--out", str(out)], srv, tmp_path)
        outputs += [submitted.stdout, submitted.stderr]
        assert submitted.returncode == 0, submitted.stderr
        manifest = json.loads(submitted.stdout)
        assert manifest["status"] == "validating"
        assert sorted(i["id"] for i in manifest["items"]) == ["bikes.txt", "books.txt", "lamps.txt"]
        assert srv.chat_requests == []  # nothing summarised synchronously at submit

        polled = run_cli(["status", "--out", str(out)], srv, tmp_path)
        outputs += [polled.stdout, polled.stderr]
        assert polled.returncode == 0, polled.stderr
        assert json.loads(polled.stdout)["status"] == "in_progress"

        collected = run_cli(["collect", "--out", str(out)], srv, tmp_path)
        outputs += [collected.stdout, collected.stderr]
        report = json.loads(collected.stdout)
        # One item failed in the batch and again synchronously: exit 1, one line why.
        assert collected.returncode == 1
        assert collected.stderr.strip().count("\n") == 0
        assert "1 of 3 document(s) failed" in collected.stderr
        assert (report["status"], report["results_written"], report["errors_written"]) == (
            "completed",
            2,
            1,
        )
        assert (report["from_batch"], report["reasked"], report["resent"]) == (2, 1, 1)
        results, errors = out.read_text(), errors_path(out).read_text()
        calls = len(srv.requests)

        again = run_cli(["collect", "--out", str(out)], srv, tmp_path)
        outputs += [again.stdout, again.stderr]
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["already_collected"] == 3
        # The second collect only polled the batch: no download, no model call.
        assert [(r.method, r.path) for r in srv.requests[calls:]] == [
            ("GET", f"/v1/batches/{manifest['batch_id']}")
        ]
        sent = list(srv.requests)
    assert (out.read_text(), errors_path(out).read_text()) == (results, errors)
    records = {r["id"]: r for r in read_jsonl(out)}
    assert sorted(records) == ["books.txt", "lamps.txt"]
    assert {r["via"] for r in records.values()} == {"batch-api"}
    assert_grounded(records["lamps.txt"], LAMPS)
    assert_grounded(records["books.txt"], BOOKS)
    failures = {e["id"]: e for e in read_jsonl(errors_path(out))}
    assert sorted(failures) == ["bikes.txt", "blank.txt"]
    assert failures["blank.txt"]["error"]["type"] == "EmptyInputError"
    assert failures["blank.txt"]["input_sha256"] is None
    assert failures["bikes.txt"]["error"]["exit_code"] == 1
    assert "[redacted]" in failures["bikes.txt"]["error"]["message"]

    # The key was really sent, and is in no file written and no output printed.
    assert all(r.headers.get("authorization") == f"Bearer {KEY}" for r in sent)
    written = sorted(path for path in (tmp_path / "out").iterdir())
    assert {path.name for path in written} == {
        "results.jsonl",
        "results.errors.jsonl",
        "results.jsonl.batch.json",
        "results.jsonl.batch.docs.jsonl",
    }
    for path in written:
        assert KEY not in path.read_text(encoding="utf-8"), path.name
    for text in outputs:
        assert KEY not in text

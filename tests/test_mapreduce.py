"""Long documents end to end: chunked map, merge, reduce, and what happens when a part fails.

Every test runs the real pipeline against a real local HTTP server
(``tests.fakeserver``) whose model (``tests.fakeprovider.summary_reply``)
answers each request from the document fenced in that request, so the calls
seen at the server show exactly which part of the meeting was sent.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from summarizer import Summarizer, asummarize, summarize
from summarizer.batch import summarize_many
from summarizer.chunking import Chunk, chunk_text
from summarizer.cli import app
from summarizer.errors import (
    ContextOverflowError,
    IncompleteSummaryError,
    ProviderError,
)
from summarizer.inputs import load_document
from summarizer.schemas.meeting import MeetingSummary
from tests.fakeprovider import document_of, summary_reply
from tests.fakeserver import FakeOpenAI, Reply, completion, error

FIXTURE = Path(__file__).parent / "fixtures" / "long_meeting.txt"
KEY = "sk-test-PLANTED-MAPREDUCE-5551234"
# budget = context - 900 (fixed prompt) - max output = 3,000 tokens of text per part
CONTEXT, MAX_OUT, BUDGET = 4900, 1000, 3000


def _kwargs(srv: FakeOpenAI, **more: Any) -> dict[str, Any]:
    return {
        "base_url": srv.base_url,
        "model": "fake-model",
        "api_key": KEY,
        "timeout_s": 5.0,
        "env": {},
        "context_tokens": CONTEXT,
        "max_output_tokens": MAX_OUT,
        **more,
    }


def _parts() -> list[Chunk]:
    return chunk_text(load_document(FIXTURE).text, BUDGET)


def _schema(body: dict[str, Any]) -> str:
    return str(body.get("response_format", {}).get("json_schema", {}).get("name", ""))


def _sent_documents(srv: FakeOpenAI) -> list[str]:
    return [document_of(r.json) for r in srv.chat_requests if _schema(r.json) == "MeetingSummary"]


def test_fixture_is_cut_into_several_parts_at_this_budget() -> None:
    parts = _parts()
    assert len(parts) == 3
    # the parts tile the document: nothing is left out
    text = load_document(FIXTURE).text
    assert "".join(p.text for p in parts) == text


def test_long_document_is_summarized_part_by_part_then_joined() -> None:
    messages: list[str] = []
    with FakeOpenAI(lambda i, body: summary_reply(body)) as srv:
        result = summarize(FIXTURE, progress=messages.append, **_kwargs(srv))
    parts = _parts()
    text = load_document(FIXTURE).text
    # one map call per part, each with exactly that part's text, then one reduce call
    assert _sent_documents(srv) == [p.text for p in parts]
    assert [_schema(r.json) for r in srv.chat_requests][-1] == "Narrative"
    assert srv.calls == len(parts) + 1
    chunking = result.run.chunking
    assert chunking is not None
    assert (chunking.context_tokens, chunking.chunk_budget) == (CONTEXT, BUDGET)
    assert [(p.start, p.end, p.ok) for p in chunking.parts] == [
        (p.start, p.end, True) for p in parts
    ]
    assert chunking.missing == [] and chunking.reduce == "done"
    # the narrative fields come from the reduce call
    assert result.summary.title == f"Meeting in {len(parts)} parts"
    # the fake lists each part's speakers: the merge keeps each person once
    names = [p.name for p in result.summary.participants]
    assert len(names) == len(set(names)) and "Ingrid Solberg" in names
    assert chunking.duplicates.get("participants", 0) >= 1
    # every evidence quote is verbatim in the original document
    for item in [*result.summary.participants, *result.summary.decisions]:
        assert item.evidence in text
    # progress: one line per part, naming where it is, and the join
    part_lines = [m for m in messages if m.startswith("part ")]
    assert [m.split(":")[0].split(" (")[0] for m in part_lines] == [
        f"part {i} of {len(parts)}" for i in range(1, len(parts) + 1)
    ]
    assert "00:00:05" in part_lines[0]
    assert any(m.startswith("joining 3 parts") for m in messages)
    assert result.run.completions == len(parts) + 1


def test_async_api_takes_the_same_route() -> None:
    with FakeOpenAI(lambda i, body: summary_reply(body)) as srv:
        result = asyncio.run(asummarize(FIXTURE, **_kwargs(srv)))
    assert result.run.chunking is not None
    assert _sent_documents(srv) == [p.text for p in _parts()]


def test_short_document_is_one_call_without_chunking_record() -> None:
    short = "Ana Ruiz: We agreed to paint the shed.\nBo Lind: Fine by me.\n"
    with FakeOpenAI(lambda i, body: summary_reply(body)) as srv:
        result = summarize(short, **_kwargs(srv))
    assert srv.calls == 1 and result.run.chunking is None


def _failing(target: str, reply: Reply) -> Any:
    """Answer normally, except ``reply`` for every map request holding ``target``."""

    def script(index: int, body: dict[str, Any]) -> Reply:
        if _schema(body) == "MeetingSummary" and target in document_of(body):
            return reply
        return summary_reply(body)

    return script


SCHEMA_VIOLATION = completion(json.dumps({"title": 7}))


def test_an_invalid_part_is_retried_as_two_halves() -> None:
    parts = _parts()
    whole = parts[1].text
    # only the whole second part fails: its halves are each shorter than it
    with FakeOpenAI(
        lambda i, body: (
            SCHEMA_VIOLATION
            if _schema(body) == "MeetingSummary" and document_of(body) == whole
            else summary_reply(body)
        )
    ) as srv:
        result = summarize(FIXTURE, **_kwargs(srv))
    chunking = result.run.chunking
    assert chunking is not None and chunking.missing == []
    sent = _sent_documents(srv)
    halves = [d for d in sent if d != whole and d in whole]
    assert len(halves) == 2 and "".join(halves) == whole
    assert len(chunking.parts) == 4  # the second part now reported as its two halves
    assert [p.start for p in chunking.parts] == sorted(p.start for p in chunking.parts)
    # each half is labelled by its own time span in the original transcript
    text = load_document(FIXTURE).text
    for part in chunking.parts:
        stamps = re.findall(r"^\[([0-9:]+)\]", text[part.start : part.end], re.MULTILINE)
        assert part.label == f"{stamps[0]}–{stamps[-1]}"
    assert len({p.label for p in chunking.parts}) == 4


def test_a_part_that_keeps_failing_is_named_never_silently_dropped() -> None:
    parts = _parts()
    # a line inside the second part: the part fails, then only the half holding it
    target = parts[1].text.splitlines()[3]
    with FakeOpenAI(_failing(target, SCHEMA_VIOLATION)) as srv:
        with pytest.raises(IncompleteSummaryError) as err:
            summarize(FIXTURE, **_kwargs(srv))
    message = str(err.value)
    assert "\n" not in message
    assert "1 of 4 parts of the meeting could not be summarized" in message
    assert err.value.exit_code == 1
    # what the other parts gave is kept on the error, with the gap listed
    partial = err.value.result
    assert partial.run.chunking.missing and partial.summary.participants
    failed = [p for p in partial.run.chunking.parts if not p.ok]
    assert len(failed) == 1 and failed[0].error
    assert f"{failed[0].label}: " in message  # where the gap is, and why
    assert target in load_document(FIXTURE).text[failed[0].start : failed[0].end]


def test_allow_partial_returns_the_rest_and_lists_the_gap() -> None:
    target = _parts()[2].text.splitlines()[2]
    with FakeOpenAI(_failing(target, SCHEMA_VIOLATION)) as srv:
        result = summarize(FIXTURE, allow_partial=True, **_kwargs(srv))
    chunking = result.run.chunking
    assert chunking is not None and len(chunking.missing) == 1


def test_every_part_failing_is_an_error_not_an_empty_summary() -> None:
    with FakeOpenAI(_failing("", SCHEMA_VIOLATION)) as srv:
        with pytest.raises(Exception) as err:
            summarize(FIXTURE, **_kwargs(srv))
    assert "every one of the 3 parts failed" in str(err.value)
    assert not isinstance(err.value, IncompleteSummaryError)


def test_provider_failure_on_a_part_is_retried_once_then_fails_naming_the_part() -> None:
    parts = _parts()
    target = parts[1].text.splitlines()[1]
    with FakeOpenAI(_failing(target, error(500, retry_after=0.01))) as srv:
        with pytest.raises(ProviderError) as err:
            summarize(FIXTURE, transport_attempts=2, **_kwargs(srv))
    assert str(err.value).startswith(f"part 2 of 3 ({parts[1].label}):")
    assert KEY not in str(err.value)
    second = [r for r in srv.chat_requests if target in document_of(r.json)]
    assert len(second) == 2 * 2  # two tries of the part, two transport attempts each
    assert not any(parts[2].text == document_of(r.json) for r in srv.chat_requests)


def test_reduce_failure_keeps_the_merged_lists_and_says_so() -> None:
    def script(index: int, body: dict[str, Any]) -> Reply:
        if _schema(body) == "Narrative":
            return error(500, retry_after=0.01)
        return summary_reply(body)

    with FakeOpenAI(script) as srv:
        result = summarize(FIXTURE, transport_attempts=1, **_kwargs(srv))
    chunking = result.run.chunking
    assert chunking is not None and chunking.reduce.startswith("failed:")
    assert result.summary.participants and result.summary.summary


def test_other_schemas_are_not_chunked_and_say_why() -> None:
    from pydantic import BaseModel

    class Headline(BaseModel):
        title: str

    with FakeOpenAI(lambda i, body: summary_reply(body)) as srv:
        with Summarizer(**_kwargs(srv)) as s:
            with pytest.raises(ContextOverflowError, match="only the built-in MeetingSummary"):
                s.summarize(FIXTURE, schema=Headline)
    assert srv.calls == 0


def test_cli_reports_parts_on_stderr_and_fails_on_a_gap(tmp_path: Path) -> None:
    target = _parts()[0].text.splitlines()[5]
    out = tmp_path / "summary.json"
    args = [
        "summarize",
        str(FIXTURE),
        "--context-tokens",
        str(CONTEXT),
        "--max-output-tokens",
        str(MAX_OUT),
        "--out",
        str(out),
    ]
    env = {"OPENAI_API_KEY": KEY}
    with FakeOpenAI(_failing(target, SCHEMA_VIOLATION)) as srv:
        failed = CliRunner().invoke(app, [*args, "--base-url", srv.base_url], env=env)
        assert not out.exists()  # nothing written for an incomplete summary
        kept = CliRunner().invoke(
            app, [*args, "--base-url", srv.base_url, "--allow-partial"], env=env
        )
    assert failed.exit_code == 1
    assert "part 1 of 3" in failed.stderr
    assert "could not be summarized" in " ".join(failed.stderr.split())
    assert kept.exit_code == 0, kept.stderr
    assert "warning: 1 part(s) missing" in " ".join(kept.stderr.split())
    data = json.loads(out.read_text())
    assert len(data["run"]["chunking"]["missing"]) == 1
    assert KEY not in failed.stderr + kept.stderr + out.read_text()


def test_batch_job_chunks_long_documents_next_to_short_ones(tmp_path: Path) -> None:
    short = tmp_path / "short.txt"
    short.write_text("Ana Ruiz: We agreed to paint the shed.\nBo Lind: Fine by me.\n")
    with FakeOpenAI(lambda i, body: summary_reply(body)) as srv:
        outcomes = list(summarize_many([FIXTURE, short], cache=False, **_kwargs(srv)))
    by_name = {Path(o.id).name: o.result for o in outcomes}
    assert by_name["long_meeting.txt"] is not None and by_name["short.txt"] is not None
    assert by_name["long_meeting.txt"].run.chunking is not None
    assert by_name["short.txt"].run.chunking is None
    assert srv.calls == len(_parts()) + 1 + 1


def test_batch_job_records_a_gap_as_that_documents_error(tmp_path: Path) -> None:
    short = tmp_path / "short.txt"
    short.write_text("Ana Ruiz: We agreed to paint the shed.\nBo Lind: Fine by me.\n")
    target = _parts()[1].text.splitlines()[3]
    out = tmp_path / "results.jsonl"
    with FakeOpenAI(_failing(target, SCHEMA_VIOLATION)) as srv:
        outcomes = list(summarize_many([FIXTURE, short], cache=False, out=out, **_kwargs(srv)))
    by_name = {Path(o.id).name: o for o in outcomes}
    assert by_name["short.txt"].ok
    assert not by_name["long_meeting.txt"].ok
    assert "could not be summarized" in str(by_name["long_meeting.txt"].error)
    errors = out.with_name(out.name.replace(".jsonl", ".errors.jsonl"))
    assert "could not be summarized" in (errors.read_text() if errors.exists() else out.read_text())


def test_summary_of_parts_matches_meeting_summary_schema() -> None:
    with FakeOpenAI(lambda i, body: summary_reply(body)) as srv:
        result = summarize(FIXTURE, **_kwargs(srv))
    # the merged summary is a valid MeetingSummary again (limits included)
    MeetingSummary.model_validate(result.summary.model_dump())


def test_batch_api_leaves_long_documents_to_collect(tmp_path: Path) -> None:
    from summarizer.batch.batch_api import collect, status, submit
    from summarizer.config import resolve_settings
    from summarizer.inputs import document_from_text
    from tests.fake_batch_api import FakeBatchAPI

    long_doc = load_document(FIXTURE)
    short = document_from_text("Ana Ruiz: We agreed to paint the shed.\nBo Lind: Fine.\n")
    out = tmp_path / "results.jsonl"
    with FakeBatchAPI(lambda custom_id, body: summary_reply(body)) as srv:
        settings = resolve_settings(
            base_url=srv.base_url,
            model="fake-model",
            api_key=KEY,
            env={},
            context_tokens=CONTEXT,
            max_output_tokens=MAX_OUT,
        )
        submit([("long", long_doc), ("short", short)], settings, out)
        for _ in srv.steps:
            status(out, settings)
        collect(out, settings)
        uploaded = [c for _, purpose, c in srv.files.values() if purpose == "batch"]
        sync_documents = _sent_documents(srv)
    lines = [json.loads(line) for line in uploaded[0].decode().splitlines()]
    # only the short document went into the batch file ...
    assert [document_of(line["body"]) for line in lines] == [short.text]
    # ... the long one was summarized in parts, synchronously, at collect
    assert sync_documents == [p.text for p in _parts()]
    records = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert records["short"]["via"] == "batch-api" and records["short"]["run"]["chunking"] is None
    assert records["long"]["via"] == "sync"
    assert len(records["long"]["run"]["chunking"]["parts"]) == len(_parts())


def test_markdown_names_the_parts_and_any_gap() -> None:
    from summarizer.render import to_markdown

    target = _parts()[2].text.splitlines()[2]
    with FakeOpenAI(_failing(target, SCHEMA_VIOLATION)) as srv:
        result = summarize(FIXTURE, allow_partial=True, **_kwargs(srv))
    text = to_markdown(result.summary, result.run)
    assert result.run.chunking is not None
    assert f"*Summarized in {len(result.run.chunking.parts)} parts.*" in text
    missing = result.run.chunking.missing[0]
    assert f"*Missing: the part at {missing} could not be summarized.*" in text

"""A long transcript summarized in parts, replayed from a cassette of the embedded engine.

``tests/fixtures/long_meeting.txt`` is our own 5,700-word transcript of a ferry
cooperative's meeting. With an 8,192-token context it does not fit one call,
so the recording holds one request per part and the reduce call.
Re-record with ``pytest --record-mode=rewrite tests/test_long_meeting.py``.
"""

from __future__ import annotations

import json

import jsonschema
import pytest

from summarizer import load_document, summarize
from summarizer.chunking import chunk_text
from summarizer.config import resolve_settings
from summarizer.context import chunk_budget
from summarizer.evaluate.metrics import evidence_quotes
from summarizer.merge import name_key
from tests.conftest import FIXTURES, ROOT, Endpoint

SCHEMA = json.loads((ROOT / "schemas" / "meeting_summary.schema.json").read_text())
SOURCE = FIXTURES / "long_meeting.txt"
CONTEXT = 8192


@pytest.mark.vcr
def test_long_transcript_is_summarized_in_parts_and_merged(llm_endpoint: Endpoint) -> None:
    messages: list[str] = []
    result = summarize(
        SOURCE,
        base_url=llm_endpoint.base_url,
        model=llm_endpoint.model,
        api_key=llm_endpoint.api_key,
        context_tokens=CONTEXT,
        progress=messages.append,
    )
    text = load_document(SOURCE).text
    budget = chunk_budget(resolve_settings(context_tokens=CONTEXT, model="m", env={}))
    assert budget is not None
    expected_parts = chunk_text(text, budget)
    assert len(expected_parts) >= 2

    chunking = result.run.chunking
    assert chunking is not None
    assert chunking.missing == [] and chunking.reduce == "done"
    assert [(p.start, p.end) for p in chunking.parts] == [(p.start, p.end) for p in expected_parts]
    # one completion per part plus the reduce call (no part re-asks)
    assert result.run.completions == len(expected_parts) + 1
    assert result.run.reasks == 0

    data = result.to_dict()
    jsonschema.validate(data["summary"], SCHEMA)
    for quote in evidence_quotes(data["summary"]):
        assert quote in text, f"evidence not verbatim in the transcript: {quote!r}"
    keys = [tuple(name_key(p.name)) for p in result.summary.participants]
    assert len(keys) == len(set(keys)), "a person is listed twice"
    assert result.summary.summary and result.summary.title
    assert sum(m.startswith("part ") for m in messages) == len(expected_parts)

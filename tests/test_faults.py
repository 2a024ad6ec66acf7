"""The fault matrix: every provider fault, through the whole stack, with its HTTP call count.

Each fault is scripted on the real fake OpenAI server (``tests/fakeserver.py``) and
driven three ways: the sync Python API, the async Python API, and the CLI command
``summarizer summarize`` (in-process, through typer's runner, with the provider
configured by options and ``SUMMARIZER_*`` variables as a user would). For every
fault the test asserts the documented outcome (retried and succeeded, or the error
class, exit code and a one-line message), the exact number of HTTP requests, and
that this number never exceeds ``Settings.worst_case_calls``.

The "hang" faults use a 1 s client timeout (``SUMMARIZER_TIMEOUT`` / ``timeout_s``);
nothing here measures wall-clock time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from summarizer import asummarize, resolve_settings, summarize
from summarizer.api import Result
from summarizer.cli import app
from summarizer.errors import (
    ProviderError,
    RunError,
    TruncatedOutputError,
    ValidationExhaustedError,
)
from summarizer.schemas.meeting import MeetingSummary
from tests.fakeserver import (
    FakeOpenAI,
    Reply,
    completion,
    error,
    hang,
    malformed_body,
    no_choices,
    reset,
    truncated,
)

KEY = "sk-test-PLANTED-FAULTS-0987654321"
TIMEOUT_S = 1.0
DOC = """Budget review of the Lakeside allotment society, held in Hexham on 4 June 2025.
Marta Kowalczyk chaired the review and Tomasz Ek read the treasurer's report.
The committee agreed to raise the plot fee to twelve pounds.
Tomasz Ek will send the new fee schedule to members by 20 June 2025.
"""
ANSWER = {
    "title": "Lakeside allotment society budget review",
    "date": "2025-06-04",
    "location": "Hexham",
    "participants": [
        {
            "name": "Marta Kowalczyk",
            "role": "chair",
            "organization": None,
            "evidence": "Marta Kowalczyk chaired the review",
        }
    ],
    "topics": ["plot fee"],
    "positions": [],
    "decisions": [
        {
            "description": "Raise the plot fee to twelve pounds.",
            "evidence": "The committee agreed to raise the plot fee to twelve pounds.",
        }
    ],
    "action_items": [
        {
            "task": "Send the new fee schedule to members",
            "owner": "Tomasz Ek",
            "due_date": "2025-06-20",
            "evidence": "Tomasz Ek will send the new fee schedule to members by 20 June 2025.",
        }
    ],
    "summary": "The society agreed to raise the plot fee to twelve pounds.",
}
OK = completion(json.dumps(ANSWER))
# Valid JSON, wrong shape: a list where an object is expected, a number for a string.
OFF_SCHEMA = completion(json.dumps({"title": 7, "participants": "everyone"}))


@dataclass(frozen=True)
class Fault:
    """One row of the matrix: the script, and what must come of it."""

    script: list[Reply]
    default: Reply | None
    calls: int
    error: type[RunError] | None = None
    words: tuple[str, ...] = ()
    overrides: dict[str, Any] = field(default_factory=dict)


def transient(reply: Reply) -> Fault:
    """The fault once, then a good answer: one transport retry, then success."""
    return Fault([reply, OK], None, calls=2)


def persistent(reply: Reply, exc: type[RunError], *words: str, calls: int = 3) -> Fault:
    """The fault on every request: the run fails with ``exc`` after ``calls`` requests."""
    return Fault([], reply, calls=calls, error=exc, words=words)


# The default bound: 3 transport attempts x 2 validation attempts x (1 + 1 grounding re-ask).
FAULTS: dict[str, Fault] = {
    "429_retry_after": transient(error(429, "slow down", retry_after=0.01)),
    "500": transient(error(500)),
    "502": transient(error(502)),
    "503": transient(error(503)),
    "hang": transient(hang()),
    "reset": transient(reset()),
    "malformed_json": transient(malformed_body()),
    # Output that does not fit the schema is re-asked by validation, not retried by transport.
    "schema_violation": transient(OFF_SCHEMA),
    "429_always": persistent(error(429, "slow down", retry_after=0.01), ProviderError, "HTTP 429"),
    "500_always": persistent(error(500, "upstream exploded"), ProviderError, "HTTP 500"),
    "502_always": persistent(error(502), ProviderError, "HTTP 502"),
    "503_always": persistent(error(503), ProviderError, "HTTP 503"),
    "hang_always": persistent(hang(), ProviderError, "timed out"),
    "reset_always": persistent(reset(), ProviderError, "cannot reach"),
    "malformed_json_always": persistent(malformed_body(), ProviderError, "not json"),
    "schema_violation_always": persistent(
        OFF_SCHEMA, ValidationExhaustedError, "did not fit the schema", calls=2
    ),
    # Truncation is final at once: a re-ask would be cut at the same limit.
    "truncated": persistent(truncated(), TruncatedOutputError, "token output limit", calls=1),
    "no_choices": persistent(no_choices(), ProviderError, "no choices", calls=1),
    # Not transient: one request, no retry.
    "401": persistent(error(401, "bad key"), ProviderError, "HTTP 401", calls=1),
    "400": persistent(error(400, "bad request"), ProviderError, "HTTP 400", calls=1),
}
WORST_CASE = resolve_settings(base_url="http://127.0.0.1:9/v1", env={}).worst_case_calls


def test_the_matrix_stays_within_the_stated_bound() -> None:
    assert WORST_CASE == 12
    assert all(fault.calls <= WORST_CASE for fault in FAULTS.values())


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[tuple[FakeOpenAI, Fault]]:
    fault = FAULTS[request.param]
    with FakeOpenAI(list(fault.script), default=fault.default) as srv:
        yield srv, fault


MATRIX = pytest.mark.parametrize("server", list(FAULTS), indirect=True)


def _check_result(result: Result[MeetingSummary], srv: FakeOpenAI, fault: Fault) -> None:
    assert fault.error is None
    assert srv.calls == fault.calls <= WORST_CASE
    assert result.run.http_calls == srv.calls
    assert result.summary.title == ANSWER["title"]
    assert result.run.dropped == []


def _check_error(err: RunError, srv: FakeOpenAI, fault: Fault) -> None:
    assert fault.error is not None, f"unexpected failure: {err}"
    assert type(err) is fault.error or isinstance(err, fault.error), repr(err)
    assert err.exit_code == 1
    message = str(err)
    assert "\n" not in message
    for word in fault.words:
        assert word.lower() in message.lower(), message
    assert KEY not in message
    assert srv.calls == fault.calls <= WORST_CASE


def _api_kwargs(srv: FakeOpenAI) -> dict[str, Any]:
    return {
        "base_url": srv.base_url,
        "model": "fake-model",
        "api_key": KEY,
        "timeout_s": TIMEOUT_S,
        "env": {},
    }


@MATRIX
def test_python_api(server: tuple[FakeOpenAI, Fault]) -> None:
    srv, fault = server
    try:
        result = summarize(DOC, **_api_kwargs(srv))
    except RunError as err:
        _check_error(err, srv, fault)
    else:
        _check_result(result, srv, fault)


@MATRIX
def test_async_python_api(server: tuple[FakeOpenAI, Fault]) -> None:
    srv, fault = server
    try:
        result = asyncio.run(asummarize(DOC, **_api_kwargs(srv)))
    except RunError as err:
        _check_error(err, srv, fault)
    else:
        _check_result(result, srv, fault)


@MATRIX
def test_cli(server: tuple[FakeOpenAI, Fault], tmp_path: Path) -> None:
    srv, fault = server
    doc = tmp_path / "allotment.txt"
    doc.write_text(DOC, encoding="utf-8")
    out = tmp_path / "summary.json"
    out.write_text("previous result\n", encoding="utf-8")
    env = {
        "OPENAI_API_KEY": KEY,
        "OPENAI_BASE_URL": None,
        "SUMMARIZER_BASE_URL": None,
        "SUMMARIZER_MODEL": None,
        "SUMMARIZER_MODE": None,
        "SUMMARIZER_TIMEOUT": f"{TIMEOUT_S:g}",
        "NO_COLOR": "1",
    }
    argv = ["summarize", str(doc), "--base-url", srv.base_url, "--model", "fake-model"]
    result = CliRunner().invoke(app, [*argv, "--quiet", "--out", str(out)], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.stdout == ""
    assert KEY not in result.stderr
    assert srv.calls == fault.calls <= WORST_CASE
    assert not list(tmp_path.glob(".*.tmp"))  # no half-written output left behind
    if fault.error is None:
        assert result.exit_code == 0, result.stderr
        assert result.stderr == ""
        data = json.loads(out.read_text(encoding="utf-8"))
        assert data["summary"]["title"] == ANSWER["title"]
        assert data["run"]["http_calls"] == fault.calls
        return
    assert result.exit_code == 1, result.stderr
    (line,) = result.stderr.splitlines()  # --quiet: the error is the one line
    assert line.startswith("error: ")
    for word in fault.words:
        assert word.lower() in line.lower(), line
    # A failed run loses nothing: the previous output file is untouched.
    assert out.read_text(encoding="utf-8") == "previous result\n"

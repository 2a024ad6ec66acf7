"""A planted API key never reaches logs, errors, results, written files or cassettes.

The fake OpenAI server here is hostile on purpose: it echoes the ``Authorization``
header it received back in its error messages and in the model's output, so the key
really is in the bytes the SDK hands us. Everything the package produces is then
searched for it. (``tests/test_llm.py`` checks the same at the ``ChatModel`` level.)
"""

from __future__ import annotations

import json
import logging
import re
import traceback
from pathlib import Path
from typing import Any

import openai
import pytest
import vcr
import yaml
from typer.testing import CliRunner

from summarizer import summarize
from summarizer.cli import app
from summarizer.errors import RunError
from tests.conftest import CASSETTES, json_body_matcher
from tests.fakeserver import FakeOpenAI, Reply, completion, error

KEY = "sk-test-PLANTED-SECRET-a1b2c3d4e5f6"
DOC = """Quarterly meeting of the Fenwick cycling club, 2 April 2025, in Alnwick.
Ivo Petrov chaired and Sara Lind presented the route calendar.
The club agreed to add a gravel ride in June.
"""
ANSWER = {
    "title": "Fenwick cycling club quarterly meeting",
    "date": "2025-04-02",
    "location": "Alnwick",
    "participants": [
        {
            "name": "Ivo Petrov",
            "role": "chair",
            "organization": None,
            "evidence": "Ivo Petrov chaired",
        }
    ],
    "topics": ["route calendar"],
    "positions": [],
    "decisions": [
        {
            "description": "Add a gravel ride in June.",
            "evidence": "The club agreed to add a gravel ride in June.",
        },
        # Invented: triggers a grounding re-ask, which the server answers with the key.
        {"description": "Buy matching jerseys.", "evidence": "Jerseys were bought for all."},
    ],
    "action_items": [],
    "summary": "The club planned its season.",
}
# openai 3.x speaks through httpx2/httpcore2; older stacks through httpx/httpcore.
LOGGERS = ("summarizer", "openai", "instructor", "httpx", "httpcore", "httpx2", "httpcore2")


def _auth(srv: FakeOpenAI, index: int) -> str:
    return srv.chat_requests[index].headers.get("authorization", "")


def echo_then_answer(srv: FakeOpenAI) -> Any:
    """503 echoing the key, then an answer, then a re-ask answered with the key as 'quote'."""

    def script(index: int, body: dict[str, Any]) -> Reply:
        auth = _auth(srv, index)
        if index == 0:
            return error(503, f"overloaded; your key is {auth}", retry_after=0.01)
        schema = body["response_format"]["json_schema"]
        if schema["name"] == "MeetingSummary":
            return completion(json.dumps(ANSWER))
        return completion(json.dumps({k: f"quote {auth}" for k in schema["schema"]["properties"]}))

    return script


def echo_failure(srv: FakeOpenAI) -> Any:
    def script(index: int, body: dict[str, Any]) -> Reply:
        return error(401, f"Incorrect API key provided: {_auth(srv, index)}")

    return script


def _debug_everywhere(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)


def _assert_clean(text: str, where: str) -> None:
    assert KEY not in text, where
    assert "PLANTED" not in text, where


def test_successful_run_leaks_nothing(caplog: pytest.LogCaptureFixture) -> None:
    _debug_everywhere(caplog)
    srv = FakeOpenAI()
    srv._script = echo_then_answer(srv)
    with srv:
        result = summarize(DOC, base_url=srv.base_url, model="fake-model", api_key=KEY, env={})
    # The key really went out, and really came back in the server's answers ...
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in srv.chat_requests)
    assert srv.calls == 3
    assert result.run.reasks == 1
    # ... yet it is in no result and no log record.
    _assert_clean(json.dumps(result.to_dict()), "result")
    _assert_clean(repr(result), "repr(result)")
    sources = {r.name.split(".")[0] for r in caplog.records}
    assert sources >= {"summarizer", "openai"}, sources  # the SDK's DEBUG records were seen
    assert sources & {"httpx", "httpx2"}, sources
    _assert_clean(caplog.text, "log records")


def test_failed_run_leaks_nothing_in_the_error_or_its_chain(
    caplog: pytest.LogCaptureFixture,
) -> None:
    _debug_everywhere(caplog)
    srv = FakeOpenAI()
    srv._script = echo_failure(srv)
    with srv, pytest.raises(RunError) as info:
        summarize(DOC, base_url=srv.base_url, model="fake-model", api_key=KEY, env={})
    err = info.value
    assert "HTTP 401" in str(err)
    _assert_clean(str(err), "str(error)")
    _assert_clean(repr(err), "repr(error)")
    _assert_clean(caplog.text, "log records")
    # The SDK error behind it is kept as the cause (for debugging), and it carries the
    # server's message verbatim: a full traceback would show what the *server* echoed.
    # That is the provider's text, not ours; what we print and log stays clean.
    chain = traceback.format_exception(err)
    assert isinstance(err.__cause__, openai.APIStatusError)
    assert any("Incorrect API key" in line for line in chain)


def _cli_env() -> dict[str, str | None]:
    return {
        "OPENAI_API_KEY": KEY,
        "OPENAI_BASE_URL": None,
        "SUMMARIZER_BASE_URL": None,
        "SUMMARIZER_MODEL": None,
        "NO_COLOR": "1",
    }


@pytest.mark.parametrize("outcome", ["success", "failure"])
def test_cli_output_and_written_results_hold_no_key(
    tmp_path: Path, outcome: str, caplog: pytest.LogCaptureFixture
) -> None:
    _debug_everywhere(caplog)
    doc = tmp_path / "club.txt"
    doc.write_text(DOC, encoding="utf-8")
    out = tmp_path / "summary.json"
    srv = FakeOpenAI()
    srv._script = echo_then_answer(srv) if outcome == "success" else echo_failure(srv)
    with srv:
        argv = ["summarize", str(doc), "--base-url", srv.base_url, "--model", "fake-model"]
        run = CliRunner().invoke(app, [*argv, "--out", str(out)], env=_cli_env())
    assert srv.chat_requests[0].headers["authorization"] == f"Bearer {KEY}"
    _assert_clean(run.stdout, "stdout")
    _assert_clean(run.stderr, "stderr")
    _assert_clean(caplog.text, "log records")
    if outcome == "success":
        assert run.exit_code == 0, run.stderr
        _assert_clean(out.read_text(encoding="utf-8"), "written result")
    else:
        assert run.exit_code == 1
        assert "HTTP 401" in run.stderr
        assert not out.exists()


# -- cassettes ----------------------------------------------------------------------------

_KEY_SHAPES = re.compile(r"\bsk-[A-Za-z0-9_-]{6,}|\bBearer\s+(?!REDACTED\b)\S+", re.IGNORECASE)
_SECRET_HEADERS = {"authorization", "api-key", "x-api-key", "openai-organization", "cookie"}


def _leaks(cassette: Path) -> list[str]:
    text = cassette.read_text(encoding="utf-8")
    found = [m.group() for m in _KEY_SHAPES.finditer(text)]
    data = yaml.safe_load(text) or {}
    for interaction in data.get("interactions", []):
        for part in ("request", "response"):
            headers = interaction.get(part, {}).get("headers", {}) or {}
            for name, values in headers.items():
                if name.lower() in _SECRET_HEADERS and values != ["REDACTED"]:
                    found.append(f"{part} header {name}: {values}")
    return found


def test_committed_cassettes_hold_no_keys() -> None:
    cassettes = sorted(CASSETTES.rglob("*.yaml"))
    assert cassettes, "no cassettes found"
    for cassette in cassettes:
        assert _leaks(cassette) == [], cassette


def test_recording_scrubs_a_planted_key(tmp_path: Path, vcr_config: dict[str, Any]) -> None:
    # Record with the suite's own vcr settings against a server that echoes the key.
    recorder = vcr.VCR(**vcr_config, cassette_library_dir=str(tmp_path), record_mode="all")
    recorder.register_matcher("json_body", json_body_matcher)
    srv = FakeOpenAI()
    srv._script = echo_then_answer(srv)
    with srv, recorder.use_cassette("planted.yaml"):
        summarize(DOC, base_url=srv.base_url, model="fake-model", api_key=KEY, env={})
    cassette = tmp_path / "planted.yaml"
    text = cassette.read_text(encoding="utf-8")
    assert "REDACTED" in text  # the Authorization header was there, and was replaced
    # The server echoed the key in its bodies: the recording must not keep it either.
    assert _leaks(cassette) == []

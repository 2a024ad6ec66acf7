"""Shared test set-up: cassette policy and the LLM endpoint used by cassette tests.

Cassettes (``cassettes/<test module>/<test>.yaml``) are real recordings of real
HTTP exchanges with an OpenAI-compatible server. By default they replay only
(``--record-mode=none`` in pyproject): a missing cassette, or a request whose
body differs from the recorded one (a prompt or schema edit), fails the test,
and a cassette with interactions left unplayed fails it too.

Re-record with one flag::

    pytest --record-mode=rewrite tests/test_api.py

which starts the embedded engine for the session, or records against any
endpoint given by ``SUMMARIZER_RECORD_BASE_URL`` (and ``SUMMARIZER_RECORD_MODEL``,
``OPENAI_API_KEY``). Keys, cookies and organisation headers are scrubbed.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CASSETTES = ROOT / "cassettes"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED = ROOT.parent / "shared"
EMBEDDED_MODEL = "qwen2.5-coder-0.5b-instruct"
# Replay never opens a socket (vcrpy answers), so this address is never contacted.
REPLAY_BASE_URL = "http://127.0.0.1:9/v1"

_SCRUBBED_REQUEST_HEADERS = [
    ("authorization", "REDACTED"),
    ("api-key", "REDACTED"),
    ("cookie", None),
    ("openai-organization", None),
    ("openai-project", None),
]
_SCRUBBED_RESPONSE_HEADERS = {"set-cookie", "openai-organization", "openai-project"}


# Key-shaped text in a response body (a provider echoing the key in an error message).
_KEY_IN_BODY = re.compile(rb"sk-[A-Za-z0-9_-]{6,}|(?<=Bearer )[^\s\"',]+")


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in _SCRUBBED_RESPONSE_HEADERS:
            del headers[name]
    body = response.get("body", {})
    if isinstance(body.get("string"), bytes):
        body["string"] = _KEY_IN_BODY.sub(b"REDACTED", body["string"])
    elif isinstance(body.get("string"), str):
        scrubbed = _KEY_IN_BODY.sub(b"REDACTED", body["string"].encode("utf-8"))
        body["string"] = scrubbed.decode("utf-8")
    return response


def json_body_matcher(r1: Any, r2: Any) -> None:
    """Match requests on their JSON body, ignoring key order and the model name.

    The model name is left out so cassettes recorded against one endpoint
    replay under any configured name; everything the product decides (prompt
    text, schema, sampling parameters, token limits) must match exactly.
    """

    def load(request: Any) -> Any:
        body = request.body
        if isinstance(body, bytes):
            body = body.decode("utf-8")
        if not body:
            return None
        data = json.loads(body)
        if isinstance(data, dict):
            data.pop("model", None)
        return data

    a, b = load(r1), load(r2)
    if a != b:
        raise AssertionError("request bodies differ (prompt, schema or parameters changed)")


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    vcr.register_matcher("json_body", json_body_matcher)


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    return {
        "filter_headers": _SCRUBBED_REQUEST_HEADERS,
        "filter_query_parameters": ["api_key", "key"],
        "before_record_response": _scrub_response,
        "decode_compressed_response": True,
        "match_on": ["method", "path", "json_body"],
    }


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    return str(CASSETTES / request.module.__name__.rsplit(".", 1)[-1])


@pytest.fixture(autouse=True)
def _cassette_fully_played(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a replayed test that left recorded interactions unused."""
    if request.node.get_closest_marker("vcr") is None:
        yield
        return
    cassette = request.getfixturevalue("vcr")
    yield
    if request.config.getoption("--record-mode") == "none" and cassette is not None:
        assert cassette.all_played, f"cassette {cassette._path} has unplayed interactions"


@dataclass(frozen=True)
class Endpoint:
    """Where cassette tests send requests (and which key and model they use)."""

    base_url: str
    model: str
    api_key: str | None = None


@pytest.fixture(scope="session")
def llm_endpoint(request: pytest.FixtureRequest) -> Iterator[Endpoint]:
    """Replay: a placeholder address. Recording: a real endpoint (default: embedded engine)."""
    if request.config.getoption("--record-mode") == "none":
        yield Endpoint(REPLAY_BASE_URL, EMBEDDED_MODEL, api_key="sk-replay-placeholder")
        return
    base_url = os.environ.get("SUMMARIZER_RECORD_BASE_URL")
    if base_url:
        yield Endpoint(
            base_url,
            os.environ.get("SUMMARIZER_RECORD_MODEL", EMBEDDED_MODEL),
            os.environ.get("OPENAI_API_KEY"),
        )
        return
    from summarizer.config import resolve_settings
    from summarizer.engine import EmbeddedEngine

    settings = resolve_settings(env={k: v for k, v in os.environ.items() if "OPENAI" not in k})
    with EmbeddedEngine(settings) as engine:
        yield Endpoint(engine.base_url, EMBEDDED_MODEL)

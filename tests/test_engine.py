"""The real embedded engine, end to end (runs in CI; skipped locally until installed)."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import jsonschema
import pytest

from summarizer import Summarizer, load_document
from summarizer.config import Settings, resolve_settings
from summarizer.engine import EmbeddedEngine, installed_server
from tests.conftest import FIXTURES, ROOT

pytestmark = pytest.mark.engine


def _settings() -> Settings:
    # Only the embedded engine: ignore whatever provider the developer configured.
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.pop("SUMMARIZER_BASE_URL", None)
    return resolve_settings(env=env)


@pytest.fixture(scope="module")
def engine_ready() -> None:
    settings = _settings()
    if settings.engine_bin is None and not installed_server(settings.cache_dir).is_file():
        if os.environ.get("CI"):
            pytest.fail("the embedded engine is not installed: scripts/bootstrap must run first")
        pytest.skip("embedded engine not installed (run `summarizer engine install`)")


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_embedded_engine_summarizes_a_fixture(engine_ready: None) -> None:
    source = FIXTURES / "standup.srt"
    schema = json.loads((ROOT / "schemas" / "meeting_summary.schema.json").read_text())
    with Summarizer(settings=_settings()) as summarizer:
        result = summarizer.summarize(source)
        engine = summarizer.engine
        assert engine is not None and engine.running
        assert engine.host == "127.0.0.1"
        port = engine.port
        assert port is not None and _port_open(port)
    # Stopped on exit: the port is free again.
    assert not engine.running
    assert not _port_open(port)
    data = result.to_dict()
    jsonschema.validate(data["summary"], schema)
    text = load_document(source).text
    quotes = [p["evidence"] for p in data["summary"]["participants"]]
    for key in ("positions", "decisions", "action_items"):
        quotes += [item["evidence"] for item in data["summary"][key]]
    for quote in quotes:
        assert quote in text
    assert data["run"]["provider"] == "embedded"
    assert data["run"]["engine_seconds"] > 0
    assert data["run"]["usage"]["completion_tokens"] > 0


def test_engine_start_stop_binds_loopback_only(engine_ready: None, tmp_path: Path) -> None:
    engine = EmbeddedEngine(_settings())
    engine.start()
    try:
        assert engine.base_url.startswith("http://127.0.0.1:")
        assert "--host" in engine.command(Path("x"), Path("y"))
        host_arg = engine.command(Path("x"), Path("y"))
        assert host_arg[host_arg.index("--host") + 1] == "127.0.0.1"
    finally:
        engine.stop()
    engine.stop()  # twice is harmless
    assert not engine.running

"""The real embedded engine, end to end (runs in CI; skipped locally until installed)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
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


# -- the engine's process and socket, seen from outside ------------------------------------


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SUMMARIZER_"))}
    for name in ("SUMMARIZER_CACHE_DIR", "SUMMARIZER_ENGINE_BIN", "SUMMARIZER_ENGINE_MODEL"):
        if name in os.environ:
            env[name] = os.environ[name]
    env.update(NO_COLOR="1", TERM="dumb", PYTHONUTF8="1")
    return env


def _start(argv: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "summarizer", *argv],
        cwd=ROOT,
        env=_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _reap(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


def _wait_for_line(proc: subprocess.Popen[str], pattern: str, lines: list[str]) -> re.Match[str]:
    """Read stderr until a line matches (the process is killed if it never comes)."""
    assert proc.stderr is not None
    timer = threading.Timer(180, proc.kill)  # a hung start-up fails the test, not the suite
    timer.start()
    try:
        for line in proc.stderr:
            lines.append(line)
            found = re.search(pattern, line)
            if found:
                return found
    finally:
        timer.cancel()
    raise AssertionError(f"no line matching {pattern!r}: {''.join(lines)}")


def _listeners(port: int) -> list[str]:
    """Local addresses listening on ``port`` (IPv4 and IPv6), from /proc/net."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for row in f:
                fields = row.split()
                address, port_hex = fields[1].rsplit(":", 1)
                if int(port_hex, 16) == port and fields[3] == "0A":  # 0A = LISTEN
                    found.append(address)
    return found


def _engine_pids(port: int) -> list[int]:
    """Live llama-server processes started for ``port``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().split(") ", 1)[1][0]
        except OSError:
            continue
        if b"--port" in argv and argv[argv.index(b"--port") + 1] == str(port).encode():
            if state != "Z" and any(b"llama-server" in a for a in argv[:1]):
                pids.append(int(entry.name))
    return pids


def _gone(port: int) -> bool:
    """Wait (bounded) until no engine process holds ``port``; True when none does."""
    for _ in range(150):
        if not _engine_pids(port) and not _port_open(port):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_served_engines_bind_loopback_on_free_ports_and_die_with_us(engine_ready: None) -> None:
    first, second = _start(["serve"]), _start(["serve"])
    logs: list[list[str]] = [[], []]
    try:
        ports = [
            int(_wait_for_line(p, r"engine ready: http://127\.0\.0\.1:(\d+)/v1", log)[1])
            for p, log in zip((first, second), logs, strict=True)
        ]
        # Two engines at once: each found a port of its own.
        assert ports[0] != ports[1]
        for port in ports:
            assert _listeners(port) == ["0100007F"]  # 127.0.0.1 only: no 0.0.0.0, no ::
            assert len(_engine_pids(port)) == 1
        # Ctrl-C: the command stops its engine and exits cleanly.
        first.send_signal(signal.SIGINT)
        assert first.wait(timeout=60) == 0
        assert first.stderr is not None
        assert "stopping the engine" in first.stderr.read()
        assert _gone(ports[0])
        # Killed outright (no chance to clean up): the kernel stops the engine anyway.
        second.kill()
        second.wait(timeout=60)
        assert _gone(ports[1])
    finally:
        for proc in (first, second):
            _reap(proc)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_during_a_summary_stops_the_engine(engine_ready: None, tmp_path: Path) -> None:
    proc = _start(["summarize", str(FIXTURES / "standup.srt")])
    log: list[str] = []
    try:
        port = int(_wait_for_line(proc, r"embedded engine on 127\.0\.0\.1:(\d+)", log)[1])
        for _ in range(600):  # until the engine answers: the run is then mid-request
            if _port_open(port):
                break
            time.sleep(0.1)
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130
        assert proc.stdout is not None and proc.stderr is not None
        stdout, stderr = proc.stdout.read(), "".join(log) + proc.stderr.read()
        assert stdout == ""
        assert "Traceback" not in stderr
        assert stderr.strip().splitlines()[-1] == "interrupted"
        assert _gone(port)
    finally:
        _reap(proc)


def test_engine_counts_tokens_with_the_models_tokenizer(engine_ready: None) -> None:
    from summarizer.errors import EngineError

    sentence = "The committee agreed to repaint the boat shed before the spring fair. "
    with EmbeddedEngine(_settings()) as engine:
        one = engine.count_tokens(sentence)
        three = engine.count_tokens(sentence * 3)
        marked = engine.count_tokens("So , I mean {disfmarker} I do n't know . " * 3)
    assert 10 <= one <= 20
    assert abs(three - 3 * one) <= 2
    # transcripts with markup run well over the chars/4 estimate chunking starts from
    assert marked > len("So , I mean {disfmarker} I do n't know . " * 3) / 4
    with pytest.raises(EngineError, match="not running|did not count tokens"):
        engine.count_tokens(sentence)


def test_embedded_engine_decides_chunking_by_its_own_token_count(engine_ready: None) -> None:
    from summarizer.context import estimate_text_tokens
    from summarizer.inputs import document_from_text
    from summarizer.schemas.meeting import MeetingSummary

    line = "PhD A: So , I mean {disfmarker} I do n't know . Uh , yeah .\n"
    document = document_from_text(line * 25, name="disfluent.txt")
    # 400 tokens of text per call: the chars/4 estimate says the text fits ...
    settings = _settings().with_overrides(context_tokens=900 + 3072 + 400)
    assert estimate_text_tokens(document.text) < 400
    with Summarizer(settings=settings) as summarizer:
        summarizer.ensure_chat()
        assert summarizer.engine is not None
        assert summarizer.engine.count_tokens(document.text) > 400
        # ... the tokenizer says it does not, so it is summarized in parts
        steps = summarizer._steps(document, MeetingSummary)
        assert steps.gi_code.co_name == "map_reduce"  # type: ignore[attr-defined]
        steps.close()

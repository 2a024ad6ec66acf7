"""Start and stop the embedded ``llama-server`` on a free 127.0.0.1 port.

The engine is only one more OpenAI-compatible endpoint: the rest of the
program receives its base URL and never knows it is local. It binds the
loopback address only, and dies with us: stopped on exit or Ctrl-C, and
(on Linux) sent SIGTERM by the kernel if our process is killed outright.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import logging
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from summarizer.config import Settings
from summarizer.engine.build import build_server
from summarizer.engine.model import DEFAULT_MODEL, ensure_model
from summarizer.errors import EngineError, EngineSetupError

__all__ = ["EmbeddedEngine", "free_port", "prepare_engine"]

logger = logging.getLogger("summarizer")
Progress = Callable[[str], None]
_START_TIMEOUT_S = 120.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def prepare_engine(settings: Settings, progress: Progress | None = None) -> tuple[Path, Path]:
    """Make sure a server binary and a model file exist; return both paths.

    Raises:
        EngineSetupError: the model or binary is missing and cannot be made.
    """
    if settings.engine_model_path is not None:
        model = settings.engine_model_path
        if not model.is_file():
            raise EngineSetupError(f"model file {model} does not exist")
    else:
        model = ensure_model(DEFAULT_MODEL, settings.cache_dir, progress)
    if settings.engine_bin is not None:
        binary = settings.engine_bin
        if not binary.is_file():
            raise EngineSetupError(f"SUMMARIZER_ENGINE_BIN {binary} does not exist")
    else:
        binary = build_server(settings.cache_dir, progress)
    return binary, model


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    # PR_SET_PDEATHSIG: the kernel signals the server when its parent dies, so a
    # SIGKILLed summarizer never leaves an orphaned engine holding memory.
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


class EmbeddedEngine:
    """A llama.cpp server process that this program owns.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        progress: Progress | None = None,
        port: int | None = None,
        parallel: int = 1,
    ) -> None:
        self.settings = settings
        self.progress = progress
        self.host = "127.0.0.1"  # never another interface: the engine has no auth
        self.port = port
        self.parallel = parallel
        # A model name configured for another provider (OPENAI_API_KEY's default,
        # say) is not a name for this engine.
        embedded_name = settings.model if settings.provider == "embedded" else None
        self.alias = embedded_name or DEFAULT_MODEL.alias
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None
        self.startup_s: float | None = None

    @property
    def base_url(self) -> str:
        """OpenAI-compatible base URL (``http://127.0.0.1:PORT/v1``)."""
        if self.port is None:
            raise EngineError("the engine is not running")
        return f"http://{self.host}:{self.port}/v1"

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def command(self, binary: Path, model: Path) -> list[str]:
        """The server's command line."""
        assert self.port is not None
        return [
            str(binary),
            "--model", str(model),
            "--alias", self.alias,
            "--host", self.host,
            "--port", str(self.port),
            "--ctx-size", str(self.settings.engine_ctx * self.parallel),
            "--parallel", str(self.parallel),
            "--threads", str(self.settings.engine_threads),
            "--jinja",  # the model's own chat template, needed for tool calls
            "--no-webui",
        ]  # fmt: skip

    def start(self) -> str:
        """Start the server and wait until it answers; return its base URL.

        Raises:
            EngineSetupError: model or binary missing.
            EngineError: the process exits or does not become healthy in time.
        """
        if self.running:
            return self.base_url
        binary, model = prepare_engine(self.settings, self.progress)
        self.port = self.port or free_port(self.host)
        logs = self.settings.cache_dir / "engine" / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self._log_path = logs / f"llama-server-{self.port}.log"
        started = time.monotonic()
        if self.progress:
            self.progress(f"starting the embedded engine on {self.host}:{self.port}")
        with self._log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                self.command(binary, model),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        atexit.register(self.stop)
        try:
            self._wait_healthy(started)
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.monotonic() - started
        logger.debug("engine ready in %.2fs at %s", self.startup_s, self.base_url)
        return self.base_url

    def _wait_healthy(self, started: float) -> None:
        url = f"http://{self.host}:{self.port}/health"
        while time.monotonic() - started < _START_TIMEOUT_S:
            if self._proc is not None and self._proc.poll() is not None:
                raise EngineError(
                    f"the engine exited with code {self._proc.returncode} while starting: "
                    f"{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise EngineError(f"the engine did not become ready in {_START_TIMEOUT_S:.0f}s")

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` by the model's own tokenizer (llama-server ``/tokenize``).

        Raises:
            EngineError: the engine is not running or did not answer.
        """
        root = self.base_url.removesuffix("/v1")
        request = urllib.request.Request(
            f"{root}/tokenize",
            data=json.dumps({"content": text}).encode("utf-8"),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return len(json.load(response)["tokens"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise EngineError(f"the engine did not count tokens: {exc}") from exc

    def log_tail(self, lines: int = 3) -> str:
        """Last lines of the server's log, joined on one line."""
        if self._log_path is None or not self._log_path.is_file():
            return "(no log)"
        text = self._log_path.read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:]) or "(empty log)"

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s). Safe to call twice."""
        proc, self._proc = self._proc, None
        atexit.unregister(self.stop)
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def __enter__(self) -> EmbeddedEngine:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

"""A scriptable fake OpenAI-compatible HTTP server for tests (stdlib only).

It is a real HTTP/1.1 server on 127.0.0.1 (free port) running in a background daemon
thread, so the real ``openai`` SDK (and its httpx connection pool) talks to it exactly
as it would to a provider. Each ``POST /v1/chat/completions`` is answered by the next
scripted :class:`Reply`; faults (HTTP errors, ``Retry-After``, slow answers, malformed
bodies, dropped connections) are all expressible as replies.

Example::

    with FakeOpenAI([error(429, retry_after=0), completion("hi")]) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="sk-test", max_retries=0)
        ...
        assert srv.calls == 1
"""

from __future__ import annotations

import itertools
import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "CHAT_PATH",
    "FakeOpenAI",
    "RecordedRequest",
    "Reply",
    "completion",
    "error",
    "hang",
    "malformed_body",
    "no_choices",
    "reset",
    "truncated",
]

CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"

_ids = itertools.count(1)


@dataclass
class Reply:
    """One scripted answer of the fake server."""

    status: int = 200
    json_body: dict[str, Any] | None = None
    """Serialised as the response body (``{}`` when both bodies are None)."""
    raw_body: bytes | None = None
    """Sent as-is (e.g. malformed JSON) instead of ``json_body``."""
    headers: dict[str, str] = field(default_factory=dict)
    """Extra response headers, e.g. ``{"Retry-After": "1"}``."""
    delay_s: float = 0.0
    """Sleep this long before answering (to trigger client timeouts)."""
    drop_connection: bool = False
    """Close the socket without sending any response."""
    reset_connection: bool = False
    """Abort the connection with a TCP RST (SO_LINGER 0) instead of answering."""


@dataclass
class RecordedRequest:
    """One request received by the fake server."""

    method: str
    path: str
    """The path without the query string."""
    headers: dict[str, str]
    """Header names are lower-case."""
    json: Any | None
    """The parsed JSON body, or None (no body / not JSON)."""
    body: bytes
    time: float
    """``time.monotonic()`` when the request line and body had been read."""
    client_address: tuple[str, int] = ("", 0)
    """The peer (host, port): equal ports mean a reused keep-alive connection."""


def completion(
    content: str | None = None,
    *,
    finish_reason: str = "stop",
    prompt_tokens: int = 10,
    completion_tokens: int = 20,
    model: str = "fake-model",
    tool_arguments: str | None = None,
) -> Reply:
    """A 200 ``chat.completion`` reply.

    With ``tool_arguments`` the message carries one tool call (function
    ``MeetingSummary`` with those arguments) instead of ``content`` (content is then
    None unless given). ``finish_reason`` is used as passed in both cases.
    """
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_arguments is not None:
        message["tool_calls"] = [
            {
                "id": f"call_fake_{next(_ids)}",
                "type": "function",
                "function": {"name": "MeetingSummary", "arguments": tool_arguments},
            }
        ]
    body = _completion_envelope(model, prompt_tokens, completion_tokens)
    body["choices"] = [
        {"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}
    ]
    return Reply(json_body=body)


def no_choices() -> Reply:
    """A 200 ``chat.completion`` reply whose ``choices`` list is empty."""
    body = _completion_envelope("fake-model", 10, 0)
    body["choices"] = []
    return Reply(json_body=body)


_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("not_found_error", None),
    408: ("timeout_error", None),
    409: ("conflict_error", None),
    413: ("invalid_request_error", "request_too_large"),
    422: ("invalid_request_error", None),
    429: ("rate_limit_error", "rate_limit_exceeded"),
}


def error(
    status: int,
    message: str = "fake server error",
    *,
    retry_after: float | None = None,
) -> Reply:
    """An OpenAI-style error reply: ``{"error": {"message", "type", "code"}}``.

    ``retry_after`` (seconds) adds a ``Retry-After`` header. Note that the openai SDK
    only honours values in (0, 120]; ``0`` makes it fall back to its own backoff.
    """
    err_type, code = _ERROR_TYPES.get(
        status, ("server_error" if status >= 500 else "api_error", None)
    )
    headers = {}
    if retry_after is not None:
        headers["Retry-After"] = f"{retry_after:g}"
    return Reply(
        status=status,
        json_body={"error": {"message": message, "type": err_type, "param": None, "code": code}},
        headers=headers,
    )


def hang(delay_s: float = 30.0) -> Reply:
    """A reply that only comes after ``delay_s``: set a shorter client timeout to see it hang.

    The server never makes a test wait for it: ``stop()`` wakes and drops sleeping handlers.
    """
    return Reply(delay_s=delay_s, json_body={"error": {"message": "too late"}}, status=500)


def reset() -> Reply:
    """The connection is reset (TCP RST) after the request is read, with no response."""
    return Reply(reset_connection=True)


def malformed_body(body: bytes = b'{"id": "chatcmpl-broken", "choices": [') -> Reply:
    """A 200 whose body is not JSON (a proxy page, a cut-off body)."""
    return Reply(raw_body=body)


def truncated(content: str = '{"title": "Cut off mid', **kwargs: Any) -> Reply:
    """A completion the server stopped at the token limit (``finish_reason: "length"``)."""
    return completion(content, finish_reason="length", **kwargs)


def _completion_envelope(model: str, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-fake-{next(_ids)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": None,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


Script = list[Reply] | Callable[[int, dict[str, Any]], Reply]


class FakeOpenAI:
    """A scripted OpenAI-compatible server; use as a context manager.

    Args:
        script: Replies served in order to ``POST /v1/chat/completions``, or a callable
            ``(request_index, parsed_json_body) -> Reply`` (index counts chat requests
            from 0; the body is ``{}`` when it was not a JSON object).
        default: Served once a list script is used up. When None, an HTTP 500 error
            saying the script ran out is served.
    """

    def __init__(self, script: Script | None = None, *, default: Reply | None = None) -> None:
        self._script: Script = script if script is not None else []
        self._default = default
        self._lock = threading.Lock()
        self._calls = 0
        self.requests: list[RecordedRequest] = []
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> FakeOpenAI:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("FakeOpenAI already started")
        self._stopping.clear()
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        port = server.server_port
        self.base_url = f"http://127.0.0.1:{port}/v1"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeOpenAI:{port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; never waits for sleeping handlers (they are woken and dropped)."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # wakes handlers sleeping on delay_s
        server.shutdown()
        server.server_close()
        # Unblock handler threads waiting on idle keep-alive connections.
        with self._lock:
            conns = list(self._connections)
        for conn in conns:
            _hard_close(conn)
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- inspection --------------------------------------------------------------------

    @property
    def calls(self) -> int:
        """Number of ``POST /v1/chat/completions`` requests received."""
        with self._lock:
            return self._calls

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """The recorded ``POST /v1/chat/completions`` requests, in arrival order."""
        with self._lock:
            return [r for r in self.requests if r.method == "POST" and r.path == CHAT_PATH]

    # -- extension -------------------------------------------------------------------

    def route(self, request: RecordedRequest) -> Reply | None:
        """Answer a request other than chat completions; None falls through (to 404).

        Subclasses serve more endpoints by overriding this (see ``fake_batch_api``).
        """
        return None

    # -- internals ---------------------------------------------------------------------

    def _record(self, req: RecordedRequest) -> int | None:
        """Record a request; for chat requests return its 0-based chat index."""
        with self._lock:
            self.requests.append(req)
            if req.method == "POST" and req.path == CHAT_PATH:
                index = self._calls
                self._calls += 1
                return index
        return None

    def _reply_for(self, index: int, body: dict[str, Any]) -> Reply:
        script = self._script
        if callable(script):
            try:
                return script(index, body)
            except Exception as exc:  # a broken script must surface, not hang the client
                return error(500, f"fake server script raised {type(exc).__name__}: {exc}")
        if index < len(script):
            return script[index]
        if self._default is not None:
            return self._default
        return error(
            500,
            f"fake server script ran out: request #{index + 1} but only {len(script)} "
            "replies were scripted",
        )


def _hard_close(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    fake: FakeOpenAI

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: client disconnects during faults are expected."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's httpx pool expects
    # Headers and body go out in separate writes; without this, Nagle + delayed ACK
    # add ~40 ms to every request.
    disable_nagle_algorithm = True
    server_version = "FakeOpenAI/1.0"
    timeout = 30  # idle keep-alive connections are closed eventually
    server: _Server

    def setup(self) -> None:
        super().setup()
        fake = self.server.fake
        with fake._lock:
            fake._connections.add(self.connection)

    def finish(self) -> None:
        fake = self.server.fake
        with fake._lock:
            fake._connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    # -- dispatch ----------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        fake = self.server.fake
        path = urlsplit(self.path).path
        raw = self._read_body()
        try:
            parsed: Any = json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError):
            parsed = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        peer = (str(self.client_address[0]), int(self.client_address[1]))
        recorded = RecordedRequest(
            self.command,
            path,
            headers,
            parsed,
            raw,
            time.monotonic(),
            peer,
        )
        index = fake._record(recorded)

        if index is not None:
            reply = fake._reply_for(index, parsed if isinstance(parsed, dict) else {})
        elif (routed := fake.route(recorded)) is not None:
            reply = routed
        elif self.command == "GET" and path == MODELS_PATH:
            reply = Reply(
                json_body={
                    "object": "list",
                    "data": [{"id": "fake-model", "object": "model", "owned_by": "fake"}],
                }
            )
        else:
            reply = error(404, f"fake server: no route for {self.command} {path}")
        self._send(reply)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, reply: Reply) -> None:
        fake = self.server.fake
        if reply.delay_s > 0 and fake._stopping.wait(reply.delay_s):
            self._drop()  # server is stopping: don't answer a sleeping request
            return
        if reply.drop_connection:
            self._drop()
            return
        if reply.reset_connection:
            self._reset()
            return
        if reply.raw_body is not None:
            body = reply.raw_body
        else:
            body = json.dumps(reply.json_body if reply.json_body is not None else {}).encode()
        try:
            self.send_response(reply.status)
            names = {k.lower() for k in reply.headers}
            if "content-type" not in names:
                self.send_header("Content-Type", "application/json")
            for name, value in reply.headers.items():
                if name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except OSError:  # the client gave up (e.g. its timeout fired during delay_s)
            self.close_connection = True

    def _reset(self) -> None:
        """Abort the connection: linger 0 makes close() send RST, not FIN."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def _drop(self) -> None:
        """Close the socket abruptly, without any response."""
        self.close_connection = True
        _hard_close(self.connection)

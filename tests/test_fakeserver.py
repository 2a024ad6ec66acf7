"""The fake OpenAI server (tests/fakeserver.py) against the real ``openai`` SDK."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import openai
import pytest

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

MESSAGES: list[Any] = [{"role": "user", "content": "Summarise the meeting."}]


@contextmanager
def sdk(srv: FakeOpenAI, **kwargs: Any) -> Iterator[openai.OpenAI]:
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("timeout", 5.0)
    client = openai.OpenAI(base_url=srv.base_url, api_key="sk-test", **kwargs)
    try:
        yield client
    finally:
        client.close()


def chat(client: openai.OpenAI, **kwargs: Any) -> Any:
    return client.chat.completions.create(model="fake-model", messages=MESSAGES, **kwargs)


def test_scripted_completion_is_returned_and_parsed() -> None:
    script = [completion("first", prompt_tokens=7, completion_tokens=3), completion("second")]
    with FakeOpenAI(script) as srv, sdk(srv) as client:
        first = chat(client)
        second = chat(client)
    assert first.object == "chat.completion"
    assert first.model == "fake-model"
    assert first.choices[0].message.content == "first"
    assert first.choices[0].finish_reason == "stop"
    assert first.usage is not None
    assert (first.usage.prompt_tokens, first.usage.completion_tokens) == (7, 3)
    assert first.usage.total_tokens == 10
    assert second.choices[0].message.content == "second"
    assert first.id != second.id
    assert srv.calls == 2


def test_tool_call_completion() -> None:
    args = json.dumps({"title": "Weekly sync"})
    with FakeOpenAI([completion(tool_arguments=args, finish_reason="tool_calls")]) as srv:
        with sdk(srv) as client:
            resp = chat(client)
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.function.name == "MeetingSummary"
    assert call.function.arguments == args


def test_no_choices() -> None:
    with FakeOpenAI([no_choices()]) as srv, sdk(srv) as client:
        resp = chat(client)
    assert resp.choices == []


def test_rate_limit_error_exposes_retry_after() -> None:
    with FakeOpenAI([error(429, "slow down", retry_after=0)]) as srv, sdk(srv) as client:
        with pytest.raises(openai.RateLimitError) as info:
            chat(client)
    exc = info.value
    assert exc.status_code == 429
    assert exc.response.headers["retry-after"] == "0"
    assert exc.code == "rate_limit_exceeded"
    assert "slow down" in exc.message
    assert srv.calls == 1


def test_500_is_internal_server_error() -> None:
    with FakeOpenAI([error(500, "boom")]) as srv, sdk(srv) as client:
        with pytest.raises(openai.InternalServerError) as info:
            chat(client)
    assert info.value.status_code == 500
    assert srv.calls == 1


def test_drop_connection_is_connection_error() -> None:
    with FakeOpenAI([Reply(drop_connection=True)]) as srv, sdk(srv) as client:
        with pytest.raises(openai.APIConnectionError) as info:
            chat(client)
    # APITimeoutError subclasses APIConnectionError: make sure it is the plain one.
    assert not isinstance(info.value, openai.APITimeoutError)
    assert srv.calls == 1


def test_reset_sends_a_tcp_reset() -> None:
    with FakeOpenAI([reset()]) as srv:
        port = int(srv.base_url.split(":")[2].split("/")[0])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            body = b"{}"
            sock.sendall(
                b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n" + body
            )
            # A reset, not an orderly close (which would read as b"").
            with pytest.raises(ConnectionResetError):
                sock.recv(1024)
        assert srv.calls == 1
    with FakeOpenAI([reset()]) as srv, sdk(srv) as client:
        with pytest.raises(openai.APIConnectionError):
            chat(client)


def test_fault_helpers_through_the_sdk() -> None:
    script = [hang(5.0), malformed_body(), truncated()]
    with FakeOpenAI(script) as srv, sdk(srv, timeout=0.3) as client:
        with pytest.raises(openai.APITimeoutError):
            chat(client)
        with pytest.raises(json.JSONDecodeError):
            chat(client)
        response = chat(client)
    assert response.choices[0].finish_reason == "length"
    assert srv.calls == 3


def test_delay_beyond_client_timeout_is_timeout_error() -> None:
    reply = completion("too late")
    reply.delay_s = 1.0
    with FakeOpenAI([reply]) as srv, sdk(srv, timeout=0.3) as client:
        started = time.monotonic()
        with pytest.raises(openai.APITimeoutError):
            chat(client)
        elapsed = time.monotonic() - started
    assert elapsed >= 0.25  # the client timeout fired, not the 1 s server delay
    assert srv.calls == 1


def test_stop_does_not_wait_for_sleeping_handler() -> None:
    reply = completion("never")
    reply.delay_s = 30.0
    srv = FakeOpenAI([reply]).start()
    try:
        with sdk(srv, timeout=0.2) as client, pytest.raises(openai.APITimeoutError):
            chat(client)
    finally:
        started = time.monotonic()
        srv.stop()
    assert time.monotonic() - started < 1.0


def test_malformed_json_body_does_not_hang() -> None:
    with FakeOpenAI([Reply(status=200, raw_body=b"{not json")]) as srv, sdk(srv) as client:
        with pytest.raises(Exception) as info:
            chat(client)
    # Observed with openai 3.x: the SDK does not wrap the decode failure, the
    # stdlib json.JSONDecodeError escapes as-is.
    assert isinstance(info.value, json.JSONDecodeError)
    assert srv.calls == 1


def test_requests_are_recorded_with_body_and_headers() -> None:
    with FakeOpenAI([completion("ok")]) as srv, sdk(srv) as client:
        chat(client, temperature=0.0)
    (req,) = srv.requests
    assert req.method == "POST"
    assert req.path == "/v1/chat/completions"
    assert req.headers["authorization"] == "Bearer sk-test"
    assert req.headers["content-type"] == "application/json"
    assert req.json == {"model": "fake-model", "messages": MESSAGES, "temperature": 0.0}
    assert json.loads(req.body) == req.json
    assert req.time <= time.monotonic()
    assert srv.chat_requests == [req]


def test_sdk_retries_make_exactly_three_calls() -> None:
    # A tiny Retry-After keeps the SDK from its 0.5 s+ exponential backoff
    # (it ignores Retry-After: 0 and only honours 0 < value <= 120).
    script = [error(500, retry_after=0.01), error(500, retry_after=0.01), completion("ok")]
    with FakeOpenAI(script) as srv, sdk(srv, max_retries=2) as client:
        resp = chat(client)
    assert resp.choices[0].message.content == "ok"
    assert srv.calls == 3
    retries = [r.headers.get("x-stainless-retry-count") for r in srv.requests]
    assert retries == ["0", "1", "2"]


def test_script_exhausted_and_default() -> None:
    with FakeOpenAI([completion("only")]) as srv, sdk(srv) as client:
        chat(client)
        with pytest.raises(openai.InternalServerError, match="script ran out"):
            chat(client)
    with FakeOpenAI([], default=completion("again")) as srv, sdk(srv) as client:
        assert chat(client).choices[0].message.content == "again"
        assert chat(client).choices[0].message.content == "again"
    assert srv.calls == 2


def test_callable_script_gets_index_and_body() -> None:
    seen: list[tuple[int, Any]] = []

    def script(index: int, body: dict[str, Any]) -> Reply:
        seen.append((index, body["messages"][0]["content"]))
        return completion(f"reply {index}")

    with FakeOpenAI(script) as srv, sdk(srv) as client:
        assert chat(client).choices[0].message.content == "reply 0"
        assert chat(client).choices[0].message.content == "reply 1"
    assert seen == [(0, "Summarise the meeting."), (1, "Summarise the meeting.")]


def test_models_and_unknown_paths() -> None:
    with FakeOpenAI() as srv, sdk(srv) as client:
        models = client.models.list()
        assert [m.id for m in models.data] == ["fake-model"]
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(srv.base_url + "/nope", timeout=2)
        with info.value as resp:
            assert resp.code == 404
            assert "error" in json.loads(resp.read())
    assert srv.calls == 0
    assert [(r.method, r.path) for r in srv.requests] == [
        ("GET", "/v1/models"),
        ("GET", "/v1/nope"),
    ]


def test_keep_alive_connection_is_reused() -> None:
    with FakeOpenAI([completion("a"), completion("b"), completion("c")]) as srv, sdk(srv) as client:
        for _ in range(3):
            chat(client)
    assert srv.calls == 3
    # All three went over one pooled keep-alive connection.
    assert len({r.client_address for r in srv.requests}) == 1

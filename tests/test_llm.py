"""ChatModel (summarizer/llm.py) against the real fake OpenAI server, over real HTTP.

Nothing in the SDK is mocked: every fault is a scripted reply of tests/fakeserver.py,
so the SDK's own parsing, error classes and connection handling are exercised.

For speed, one fake server serves the whole module and each test installs its own
script (``fake.serve``); request indexes, ``fake.calls`` and ``fake.chat_requests``
are relative to that test. Sync ``ChatModel`` objects are cached per ``Settings``
(building the SDK clients costs ~0.1 s); async runs get a fresh one per event loop.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from summarizer.config import Settings, resolve_settings
from summarizer.errors import (
    ContextOverflowError,
    ProviderError,
    RunError,
    TruncatedOutputError,
    ValidationExhaustedError,
)
from summarizer.llm import CallStats, ChatModel
from tests.fakeserver import FakeOpenAI, RecordedRequest, Reply, completion, error, no_choices

KEY = "sk-test-PLANTED-KEY-1234567890"
MESSAGES = [{"role": "user", "content": "Extract the item."}]


class Item(BaseModel):
    name: str
    count: int


GOOD = json.dumps({"name": "widget", "count": 3})
# Valid JSON that breaks the schema: the re-ask must carry the validation error.
WRONG_TYPE = json.dumps({"name": "widget", "count": "many"})

BOTH = pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])

ScriptFn = Callable[[int, dict[str, Any]], Reply]


class Fake:
    """The module's fake server, re-scripted by each test."""

    def __init__(self) -> None:
        self.server = FakeOpenAI(self._dispatch)
        self._lock = threading.Lock()
        self._start = 0
        self._script: list[Reply] | ScriptFn = []
        self._default: Reply | None = None
        self._models: dict[Settings, ChatModel] = {}

    def serve(self, script: list[Reply] | ScriptFn, *, default: Reply | None = None) -> None:
        """Install this test's script; counting starts again from here."""
        with self._lock:
            self._start = self.server.calls
            self._script = script
            self._default = default

    def _dispatch(self, index: int, body: dict[str, Any]) -> Reply:
        with self._lock:
            script, default, i = self._script, self._default, index - self._start
        if callable(script):
            return script(i, body)
        if i < len(script):
            return script[i]
        return default if default is not None else error(500, "test script ran out")

    @property
    def calls(self) -> int:
        return self.server.calls - self._start

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return self.server.chat_requests[self._start :]

    def last_contents(self) -> list[str]:
        """The text of every message of the last chat request."""
        body = self.chat_requests[-1].json
        assert isinstance(body, dict)
        return [str(m.get("content")) for m in body["messages"]]

    def _model(self, settings: Settings) -> ChatModel:
        return ChatModel(
            settings, base_url=settings.base_url, api_key=KEY, retry_base_s=0.01, retry_cap_s=0.05
        )

    def extract(
        self,
        stats: CallStats | None = None,
        *,
        use_async: bool = False,
        max_tokens: int | None = None,
        **overrides: Any,
    ) -> Item:
        """One ``extract`` (or ``aextract``) call with fast retry waits."""
        settings = resolve_settings(
            base_url=self.server.base_url, model="fake-model", api_key=KEY, env={}, **overrides
        )
        stats = stats if stats is not None else CallStats()
        if not use_async:
            if settings not in self._models:
                self._models[settings] = self._model(settings)
            return self._models[settings].extract(MESSAGES, Item, stats, max_tokens=max_tokens)

        model = self._model(settings)

        async def run() -> Item:
            try:
                return await model.aextract(MESSAGES, Item, stats, max_tokens=max_tokens)
            finally:
                await model.aclose()

        try:
            return asyncio.run(run())
        finally:
            model.close()

    def close(self) -> None:
        for model in self._models.values():
            model.close()
        self.server.stop()


@pytest.fixture(scope="module")
def _module_fake() -> Iterator[Fake]:
    fake = Fake()
    fake.server.start()
    try:
        yield fake
    finally:
        fake.close()


@pytest.fixture
def fake(_module_fake: Fake) -> Fake:
    _module_fake.serve([])
    return _module_fake


# -- transport retries --------------------------------------------------------------------


@BOTH
def test_429_retry_after_is_honoured(fake: Fake, use_async: bool) -> None:
    fake.serve([error(429, retry_after=0.05), completion(GOOD)])
    stats = CallStats()
    item = fake.extract(stats, use_async=use_async)
    assert item.model_dump() == {"name": "widget", "count": 3}
    assert fake.calls == 2
    assert (stats.http_calls, stats.completions) == (2, 1)
    assert stats.retry_waits_s == [0.05]
    first, second = fake.chat_requests
    assert second.time - first.time >= 0.045  # the wait really happened


@pytest.mark.parametrize("status", [500, 502, 503, 408, 409])
def test_transient_status_then_success(fake: Fake, status: int) -> None:
    fake.serve([error(status), completion(GOOD)])
    stats = CallStats()
    assert fake.extract(stats).count == 3
    assert fake.calls == 2
    assert (stats.http_calls, stats.completions) == (2, 1)
    assert len(stats.retry_waits_s) == 1
    assert 0 <= stats.retry_waits_s[0] <= 0.05  # backoff capped at retry_cap_s


def test_retry_after_zero_is_read_by_us_not_ignored(fake: Fake) -> None:
    # The SDK ignores "Retry-After: 0"; our own reading of the header waits 0 s.
    fake.serve([error(503, retry_after=0), completion(GOOD)])
    stats = CallStats()
    fake.extract(stats)
    assert fake.calls == 2
    assert stats.retry_waits_s == [0.0]


def test_retry_after_http_date_in_the_past_waits_nothing(fake: Fake) -> None:
    stale = email.utils.formatdate(time.time() - 60, usegmt=True)
    busy = Reply(
        status=503, json_body={"error": {"message": "busy"}}, headers={"Retry-After": stale}
    )
    fake.serve([busy, completion(GOOD)])
    stats = CallStats()
    fake.extract(stats)
    assert fake.calls == 2
    assert stats.retry_waits_s == [0.0]


@pytest.mark.parametrize("value", ["soon", "Mon, 99 Foo 2025 xx:yy:zz GMT", "nan"])
def test_unparseable_retry_after_falls_back_to_backoff(fake: Fake, value: str) -> None:
    # Regression: a garbage header used to raise ValueError inside the wait function,
    # which ended the run after one request, reported as a ValidationExhaustedError.
    busy = Reply(
        status=503, json_body={"error": {"message": "busy"}}, headers={"Retry-After": value}
    )
    fake.serve([busy, completion(GOOD)])
    stats = CallStats()
    assert fake.extract(stats).count == 3
    assert fake.calls == 2
    assert len(stats.retry_waits_s) == 1
    assert 0 <= stats.retry_waits_s[0] <= 0.05


@BOTH
def test_dropped_connection_then_success(fake: Fake, use_async: bool) -> None:
    fake.serve([Reply(drop_connection=True), completion(GOOD)])
    stats = CallStats()
    assert fake.extract(stats, use_async=use_async).count == 3
    assert fake.calls == 2
    assert (stats.http_calls, stats.completions) == (2, 1)


def test_timeout_then_success(fake: Fake) -> None:
    fake.serve([Reply(delay_s=1.0), completion(GOOD)])
    stats = CallStats()
    assert fake.extract(stats, timeout_s=0.3).count == 3
    assert fake.calls == 2
    assert (stats.http_calls, stats.completions) == (2, 1)
    first, second = fake.chat_requests
    # The client gave up at its timeout and retried before the slow reply was due.
    assert 0.3 <= second.time - first.time < 1.0


def test_persistent_timeout_is_a_provider_error(fake: Fake) -> None:
    fake.serve([], default=Reply(delay_s=1.0))
    with pytest.raises(ProviderError, match="timed out after 2 request"):
        fake.extract(timeout_s=0.2, transport_attempts=2)
    assert fake.calls == 2


@pytest.mark.parametrize("attempts", [1, 4])
def test_persistent_503_stops_after_transport_attempts(fake: Fake, attempts: int) -> None:
    fake.serve([], default=error(503, "overloaded"))
    stats = CallStats()
    with pytest.raises(ProviderError) as info:
        fake.extract(stats, transport_attempts=attempts, validation_attempts=3)
    err = info.value
    assert type(err) is ProviderError
    assert err.status_code == 503
    assert "overloaded" in str(err)
    assert fake.calls == attempts  # validation re-asks are not spent on transport failures
    assert stats.http_calls == attempts
    assert stats.completions == 0
    # Regression: a wait used to be recorded (and logged) after the last attempt too.
    assert len(stats.retry_waits_s) == attempts - 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_non_transient_status_fails_after_one_call(fake: Fake, status: int) -> None:
    fake.serve([], default=error(status, "you did something wrong"))
    with pytest.raises(ProviderError) as info:
        fake.extract()
    assert type(info.value) is ProviderError
    assert info.value.status_code == status
    assert f"HTTP {status}" in str(info.value)
    assert fake.calls == 1


def test_context_length_400_is_context_overflow(fake: Fake) -> None:
    message = "This model's maximum context length is 8192 tokens, you requested 9000 tokens"
    fake.serve([], default=error(400, message))
    with pytest.raises(ContextOverflowError, match="maximum context length"):
        fake.extract()
    assert fake.calls == 1


def test_malformed_json_body_is_retried_as_transient(fake: Fake) -> None:
    fake.serve([Reply(raw_body=b"{not json"), completion(GOOD)])
    stats = CallStats()
    assert fake.extract(stats).count == 3
    assert fake.calls == 2
    assert (stats.http_calls, stats.completions) == (2, 1)


def test_persistent_malformed_body_is_a_provider_error(fake: Fake) -> None:
    fake.serve([], default=Reply(raw_body=b"<html>bad gateway</html>"))
    with pytest.raises(ProviderError, match="not JSON"):
        fake.extract()
    assert fake.calls == 3


# -- validation re-asks -------------------------------------------------------------------


def test_invalid_then_valid_output_succeeds(fake: Fake) -> None:
    fake.serve([completion("this is not JSON"), completion(GOOD)])
    stats = CallStats()
    assert fake.extract(stats).name == "widget"
    assert fake.calls == 2
    assert (stats.http_calls, stats.completions) == (2, 2)
    assert stats.usage == {"prompt_tokens": 20, "completion_tokens": 40, "total_tokens": 60}


@BOTH
def test_always_invalid_exhausts_validation_attempts(fake: Fake, use_async: bool) -> None:
    fake.serve([], default=completion(WRONG_TYPE))
    stats = CallStats()
    with pytest.raises(ValidationExhaustedError) as info:
        fake.extract(stats, use_async=use_async, validation_attempts=3)
    err = info.value
    assert fake.calls == 3
    assert stats.completions == 3
    assert err.attempts == 3
    assert err.last_completion == WRONG_TYPE
    assert err.usage["completion_tokens"] == 60
    assert "after 3 attempt" in str(err)
    # The re-ask carries the validation error for the offending field.
    reask = fake.last_contents()[-1]
    assert "count" in reask
    assert "valid integer" in reask


# -- truncation -----------------------------------------------------------------------


@BOTH
def test_finish_reason_length_is_truncation_without_reask(fake: Fake, use_async: bool) -> None:
    fake.serve([], default=completion('{"name": "wid', finish_reason="length"))
    with pytest.raises(TruncatedOutputError) as info:
        fake.extract(use_async=use_async, validation_attempts=3)
    assert fake.calls == 1  # no validation re-ask spent on a cut answer
    assert info.value.attempts == 1
    assert "--max-output-tokens" in str(info.value)


@pytest.mark.parametrize("finish_reason", ["tool_calls", "stop"])
def test_token_count_at_limit_is_truncation(fake: Fake, finish_reason: str) -> None:
    fake.serve([], default=completion(GOOD, finish_reason=finish_reason, completion_tokens=50))
    with pytest.raises(TruncatedOutputError):
        fake.extract(max_output_tokens=50, validation_attempts=3)
    assert fake.calls == 1


def test_token_count_below_limit_is_not_truncation(fake: Fake) -> None:
    fake.serve([completion(GOOD, completion_tokens=49)])
    assert fake.extract(max_output_tokens=50).count == 3


def test_explicit_max_tokens_is_sent_and_enforced(fake: Fake) -> None:
    fake.serve([], default=completion(GOOD, completion_tokens=30))
    with pytest.raises(TruncatedOutputError):
        fake.extract(max_tokens=30)
    body = fake.chat_requests[0].json
    assert isinstance(body, dict)
    assert body["max_tokens"] == 30


def test_no_choices_is_a_provider_error(fake: Fake) -> None:
    fake.serve([], default=no_choices())
    with pytest.raises(ProviderError, match="no choices"):
        fake.extract()
    assert fake.calls == 1


# -- the bound on HTTP calls ------------------------------------------------------------


@BOTH
@pytest.mark.parametrize(("transport", "validation"), [(3, 2), (2, 3)])
def test_worst_case_makes_exactly_transport_times_validation_calls(
    fake: Fake, use_async: bool, transport: int, validation: int
) -> None:
    # Every completion fails transiently on all but its last transport attempt, and
    # the answer it finally gets is invalid: the most calls extract() can ever make.
    def script(index: int, body: dict[str, Any]) -> Reply:
        if index % transport < transport - 1:
            return error(503)
        return completion("still not JSON")

    fake.serve(script)
    stats = CallStats()
    with pytest.raises(ValidationExhaustedError):
        fake.extract(
            stats, use_async=use_async, transport_attempts=transport, validation_attempts=validation
        )
    assert fake.calls == transport * validation
    assert stats.http_calls == transport * validation
    assert stats.completions == validation
    assert len(stats.retry_waits_s) == (transport - 1) * validation


# -- the API key never leaks ---------------------------------------------------------


def _echo(kind: str, index: int, auth: str) -> Reply:
    """Replies from a server that echoes the Authorization header back in what it says."""
    if kind == "transient":
        return error(503, f"overloaded, key {auth}")
    if kind == "auth":
        return error(401, f"Incorrect API key provided: {auth}")
    if kind == "context":
        return error(400, f"maximum context length exceeded for key {auth}")
    if kind == "invalid":
        return error(503, f"busy {auth}") if index == 0 else completion(f"nope {auth}")
    raise AssertionError(kind)


@BOTH
@pytest.mark.parametrize("kind", ["transient", "auth", "context", "invalid"])
def test_api_key_never_leaks(
    fake: Fake, kind: str, use_async: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: ours, instructor's, the SDK's

    def script(index: int, body: dict[str, Any]) -> Reply:
        auth = fake.chat_requests[index].headers.get("authorization", "")
        return _echo(kind, index, auth)

    fake.serve(script)
    with pytest.raises(RunError) as info:
        fake.extract(use_async=use_async)
    # The key was really sent (and echoed back by the server) ...
    assert fake.chat_requests[0].headers["authorization"] == f"Bearer {KEY}"
    # ... yet it appears nowhere we produce.
    err = info.value
    assert KEY not in str(err)
    assert KEY not in repr(err)
    assert KEY not in (err.last_completion or "")
    if kind == "invalid":
        assert err.last_completion is not None and "[redacted]" in err.last_completion
    ours = [r for r in caplog.records if r.name.split(".")[0] == "summarizer"]
    if kind in ("transient", "invalid"):  # retries are logged, with the server's message
        assert any("transport retry" in r.getMessage() for r in ours)
    for record in ours:
        assert KEY not in record.getMessage()
        assert "PLANTED" not in record.getMessage()
    if kind != "invalid":
        # Provider errors are redacted before instructor logs them. (For "invalid" the
        # *model output* echoes the key, and instructor's DEBUG record of the
        # validation error quotes that output: not ours to redact.)
        for record in caplog.records:
            assert "PLANTED" not in record.getMessage(), record.name

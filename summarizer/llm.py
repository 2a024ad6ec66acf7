"""The one seam to the model: ``openai`` + ``instructor``, nothing else imports them.

Retries come in two layers that never multiply beyond a stated bound:

* **Transport** (this module, with tenacity): connection errors, timeouts,
  408/409/429 and 5xx are retried up to ``transport_attempts`` times per
  completion, with exponential backoff and full jitter, or exactly the
  server's ``Retry-After`` when it gives one. The SDK's own retries are
  switched off (``max_retries=0``) so that only one layer owns them.
* **Validation** (instructor): output that does not parse or fit the schema
  is re-asked up to ``validation_attempts`` completions in all.

A completion cut at the token limit is neither: it raises
``TruncatedOutputError`` at once (spending re-asks on it would only cut again).

An optional :class:`Limiter` (batch jobs pass one) is asked before every HTTP
attempt and told the real usage, or the 429, after it; without one nothing changes.
"""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import json
import logging
import math
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import instructor
import openai
from instructor.core import InstructorRetryException
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ValidationError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
)

from summarizer.config import Settings, StructuredMode
from summarizer.errors import (
    ContextOverflowError,
    ProviderError,
    RunError,
    SummarizerError,
    TruncatedOutputError,
    ValidationExhaustedError,
)

__all__ = [
    "CallStats",
    "ChatModel",
    "Limiter",
    "MalformedResponseError",
    "ModelCall",
    "estimate_tokens",
    "redact",
    "status_message",
]

logger = logging.getLogger("summarizer")
# instructor logs every failed attempt at ERROR, and installs no handler: in a program
# that has not configured logging, Python's last-resort handler would print those
# records (raw provider bodies) on stderr next to our own one-line errors. The errors
# reach the caller as exceptions; an application that configures logging still gets
# the records through its own handlers.
logging.getLogger("instructor").addHandler(logging.NullHandler())
# request_body() stops instructor with an exception on purpose; instructor logs every
# failed attempt at ERROR, which here would report two failures that never happened.
_CAPTURED = "summarizer: request captured, not sent"
logging.getLogger("instructor.v2.retry").addFilter(
    lambda record: _CAPTURED not in record.getMessage()
)

T = TypeVar("T", bound=BaseModel)

_MODES: dict[StructuredMode, instructor.Mode] = {
    "json_schema": instructor.Mode.JSON_SCHEMA,
    "tools": instructor.Mode.TOOLS,
    "json": instructor.Mode.JSON,
}
_RETRY_STATUS = {408, 409, 429}
_MAX_RETRY_AFTER_S = 120.0
_KEY_PATTERN = re.compile(r"(sk-[A-Za-z0-9_*-]{6,}|Bearer\s+\S+)")


@dataclass(frozen=True)
class ModelCall:
    """One structured completion a sans-IO pipeline needs.

    The pipelines (``summarizer.api``, ``summarizer.mapreduce``) yield it; the
    driver sends it with :meth:`ChatModel.extract` and returns the answer.
    """

    messages: list[dict[str, str]]
    response_model: type[BaseModel]
    max_tokens: int | None = None


@dataclass
class CallStats:
    """Counters summed over every HTTP request made for one document."""

    http_calls: int = 0
    completions: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    engine_prompt_ms: float = 0.0
    engine_predicted_ms: float = 0.0
    retry_waits_s: list[float] = field(default_factory=list)
    prefetched_rejected: int = 0
    """Validation re-asks sent over HTTP because a prefetched completion (a Batch API
    answer) did not fit the schema."""

    @property
    def usage(self) -> dict[str, int]:
        """Token usage in the OpenAI shape."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }


class Limiter(Protocol):
    """A client-side rate limiter consulted around every HTTP attempt.

    ``ChatModel`` calls it per *attempt* (transport retries and validation
    re-asks included), because that is what a provider's RPM/TPM limits count.
    Without one, requests go out as soon as they are made.
    """

    def try_acquire(self, tokens: int) -> float:
        """Take one request and ``tokens`` tokens: ``0.0`` if taken, else seconds to wait."""
        ...

    def settle(self, reserved: int, used: int | None) -> None:
        """Correct a reservation with the tokens the provider reported (None: unknown)."""
        ...

    def throttled(self, retry_after: float | None) -> None:
        """The provider answered 429: pause every caller (``Retry-After`` when given)."""
        ...


def estimate_tokens(request: dict[str, Any]) -> int:
    """A cheap upper-leaning estimate of the tokens a request will be billed for.

    Characters / 4 of everything the model reads (messages, plus the schema that
    instructor puts in ``response_format`` or ``tools``), plus ``max_tokens`` for the
    answer, as OpenAI's own rate limiter counts it. No tokenizer: the limiter
    corrects the estimate with the reported ``usage`` once the answer arrives.
    """
    read = [request.get(k) for k in ("messages", "response_format", "tools") if request.get(k)]
    chars = len(json.dumps(read, ensure_ascii=False, default=str))
    return chars // 4 + int(request.get("max_tokens") or 0)


class MalformedResponseError(ProviderError):
    """The server answered 200 with a body that is not JSON (a proxy or server fault)."""


class _Captured(Exception):
    """Raised by a capturing ``create`` to stop instructor before any HTTP request."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        super().__init__(_CAPTURED)


def _is_transient(exc: BaseException) -> bool:
    # APIConnectionError includes APITimeoutError.
    if isinstance(exc, MalformedResponseError | openai.APIConnectionError):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in _RETRY_STATUS or exc.status_code >= 500
    return False


def _retry_after(exc: BaseException | None) -> float | None:
    """Seconds the server asked us to wait, from ``Retry-After`` (seconds or HTTP date)."""
    if not isinstance(exc, openai.APIStatusError):
        return None
    raw = exc.response.headers.get("retry-after")
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None  # neither seconds nor an HTTP date: use our own backoff
        if parsed.tzinfo is None:  # "-0000" means UTC with no zone information
            parsed = parsed.replace(tzinfo=datetime.UTC)
        seconds = parsed.timestamp() - time.time()
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER_S)


def _make_wait(base_s: float, cap_s: float) -> Callable[[RetryCallState], float]:
    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        told = _retry_after(exc)
        if told is not None:
            return told
        # exponential backoff with full jitter
        return random.uniform(0, min(cap_s, base_s * 2 ** (state.attempt_number - 1)))

    return wait


def _make_before_sleep(stats: CallStats, secret: str | None) -> Callable[[RetryCallState], None]:
    # tenacity computes the wait before it checks the stop condition, so the wait
    # function also runs after the last attempt; only a retry that really happens
    # is recorded here (tenacity calls this just before sleeping).
    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        delay = state.upcoming_sleep
        stats.retry_waits_s.append(delay)
        logger.debug(
            "transport retry %d after %.2fs: %s",
            state.attempt_number,
            delay,
            redact(str(exc), secret),  # error bodies may echo the key
        )

    return before_sleep


def redact(text: str, secret: str | None) -> str:
    """Remove an API key (and anything shaped like one) from ``text``."""
    if secret:
        text = text.replace(secret, "[redacted]")
    return _KEY_PATTERN.sub("[redacted]", text)


class ChatModel:
    """Structured extraction over the OpenAI chat-completions protocol."""

    def __init__(
        self,
        settings: Settings,
        *,
        base_url: str | None,
        api_key: str | None,
        retry_base_s: float = 0.5,
        retry_cap_s: float = 30.0,
        limiter: Limiter | None = None,
    ) -> None:
        self.settings = settings
        self.limiter = limiter
        # Empty for a compatible server configured without a model: see first_model_id().
        self.model = settings.model or ""
        self.base_url = base_url
        self.mode = _MODES[settings.mode]
        self._secret = api_key
        self._retry_base_s = retry_base_s
        self._retry_cap_s = retry_cap_s
        client_args: dict[str, Any] = {
            "base_url": base_url,
            # Local servers need no key, but the SDK insists on one.
            "api_key": api_key or "not-needed",
            "max_retries": 0,  # tenacity owns transport retries
            "timeout": settings.timeout_s,
        }
        self._client = openai.OpenAI(**client_args)
        self._aclient = openai.AsyncOpenAI(**client_args)

    # -- pure parts shared by the sync and async paths ---------------------------

    def _request(self, messages: list[dict[str, str]], max_tokens: int) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": self.settings.temperature,
            "max_tokens": max_tokens,
        }
        if self.settings.seed is not None:
            request["seed"] = self.settings.seed
        return request

    def _retry_args(self, stats: CallStats) -> dict[str, Any]:
        return {
            "stop": stop_after_attempt(self.settings.transport_attempts),
            "retry": retry_if_exception(_is_transient),
            "wait": _make_wait(self._retry_base_s, self._retry_cap_s),
            "before_sleep": _make_before_sleep(stats, self._secret),
            "reraise": True,
        }

    def _release(self, reserved: int | None, outcome: Any) -> None:
        """Tell the limiter how an attempt went: actual usage, or a 429 to back off on."""
        if self.limiter is None or reserved is None:
            return
        if isinstance(outcome, BaseException):
            if isinstance(outcome, openai.APIStatusError) and outcome.status_code == 429:
                self.limiter.throttled(_retry_after(outcome))
            # A failed attempt generated nothing: its tokens are given back.
            self.limiter.settle(reserved, 0)
            return
        usage = getattr(outcome, "usage", None)
        total = getattr(usage, "total_tokens", None) if usage is not None else None
        self.limiter.settle(reserved, total if isinstance(total, int) else None)

    def _acquire(self, request: dict[str, Any]) -> int | None:
        if self.limiter is None:
            return None
        tokens = estimate_tokens(request)
        while (delay := self.limiter.try_acquire(tokens)) > 0:
            time.sleep(delay)
        return tokens

    async def _aacquire(self, request: dict[str, Any]) -> int | None:
        if self.limiter is None:
            return None
        tokens = estimate_tokens(request)
        while (delay := self.limiter.try_acquire(tokens)) > 0:
            await asyncio.sleep(delay)
        return tokens

    def _record(self, response: Any, stats: CallStats, max_tokens: int) -> Any:
        """Count usage; raise on truncation or an empty answer."""
        stats.completions += 1
        usage = getattr(response, "usage", None)
        completion_tokens = 0
        if usage is not None:
            stats.prompt_tokens += usage.prompt_tokens or 0
            completion_tokens = usage.completion_tokens or 0
            stats.completion_tokens += completion_tokens
        timings = getattr(response, "timings", None)  # llama.cpp's own clock
        if isinstance(timings, dict):
            stats.engine_prompt_ms += float(timings.get("prompt_ms", 0.0))
            stats.engine_predicted_ms += float(timings.get("predicted_ms", 0.0))
        logger.debug(
            "completion %d: prompt_tokens=%s completion_tokens=%s",
            stats.completions,
            getattr(usage, "prompt_tokens", None),
            completion_tokens,
        )
        choices = getattr(response, "choices", None)
        if not choices:
            raise ProviderError("provider returned a completion with no choices")
        # Some servers report "tool_calls" or "stop" even when generation hit the
        # limit, so the token count is checked as well as finish_reason.
        if choices[0].finish_reason == "length" or completion_tokens >= max_tokens:
            raise TruncatedOutputError(
                f"the completion was cut at the {max_tokens}-token output limit before the "
                "JSON ended; raise --max-output-tokens or use a smaller schema",
                attempts=stats.completions,
                usage=stats.usage,
            )
        return response

    def _translate(self, exc: BaseException, stats: CallStats) -> SummarizerError:
        """Turn SDK and instructor exceptions into the project's errors."""
        cause: BaseException = exc
        if isinstance(exc, InstructorRetryException) and exc.__cause__ is not None:
            cause = exc.__cause__
        common: dict[str, Any] = {"attempts": stats.completions, "usage": stats.usage}
        if isinstance(cause, SummarizerError):
            return cause
        if isinstance(cause, openai.APIStatusError):
            message = redact(status_message(cause), self._secret)
            if "context" in message.lower() and cause.status_code == 400:
                return ContextOverflowError(
                    f"the document does not fit the model's context: {message}", **common
                )
            return ProviderError(
                f"provider answered HTTP {cause.status_code} after {stats.http_calls} "
                f"request(s): {message}",
                status_code=cause.status_code,
                request_id=cause.request_id,
                **common,
            )
        if isinstance(cause, openai.APITimeoutError):
            return ProviderError(
                f"provider timed out after {stats.http_calls} request(s) "
                f"({self.settings.timeout_s:g}s each)",
                **common,
            )
        if isinstance(cause, openai.APIConnectionError):
            return ProviderError(
                f"cannot reach the provider after {stats.http_calls} request(s): "
                f"{redact(str(cause.__cause__ or cause), self._secret)}",
                **common,
            )
        if isinstance(exc, InstructorRetryException):
            last = exc.last_completion
            raw = None
            if last is not None and getattr(last, "choices", None):
                content = last.choices[0].message.content
                raw = redact(content, self._secret) if content is not None else None
            return ValidationExhaustedError(
                f"the model's output did not fit the schema after {stats.completions} "
                f"attempt(s): {redact(str(cause), self._secret)[:300]}",
                last_completion=raw,
                **common,
            )
        if isinstance(cause, openai.OpenAIError):
            return ProviderError(redact(str(cause), self._secret), **common)
        return RunError(f"{type(cause).__name__}: {redact(str(cause), self._secret)}", **common)

    # -- I/O -------------------------------------------------------------------

    def extract(
        self,
        messages: list[dict[str, str]],
        response_model: type[T],
        stats: CallStats,
        *,
        max_tokens: int | None = None,
        prefetched: dict[str, Any] | None = None,
    ) -> T:
        """One structured completion, with transport retries and validation re-asks.

        ``prefetched`` is a chat-completion body already obtained for exactly this
        request (a Batch API output line): it answers the first attempt instead of an
        HTTP request, and is validated, counted and re-asked like any other answer.
        """
        limit = max_tokens or self.settings.max_output_tokens
        pending = [_completion(prefetched)] if prefetched is not None else []

        def create(**kwargs: Any) -> Any:
            if pending:
                return self._record(pending.pop(), stats, limit)
            if prefetched is not None:
                stats.prefetched_rejected += 1
            try:
                for attempt in Retrying(**self._retry_args(stats)):
                    with attempt:
                        stats.http_calls += 1
                        reserved = self._acquire(kwargs)
                        try:
                            response = self._client.chat.completions.create(**kwargs)
                        except json.JSONDecodeError as exc:
                            self._release(reserved, exc)
                            raise _malformed(exc) from exc
                        except BaseException as exc:
                            self._release(reserved, exc)
                            raise
                        self._release(reserved, response)
            except openai.OpenAIError as exc:
                # Translated (and redacted) before instructor sees it: instructor logs
                # str(exc), and a provider's error body may echo the API key.
                raise self._translate(exc, stats) from exc
            return self._record(response, stats, limit)

        patched = instructor.patch(create=create, mode=self.mode)
        try:
            result: T = patched(
                response_model=response_model,
                max_retries=self.settings.validation_attempts - 1,
                **self._request(messages, limit),
            )
        except Exception as exc:  # the edge: every SDK/instructor error is translated
            error = self._translate(exc, stats)
            # An error translated inside create() keeps its own cause (the SDK error):
            # chaining it to instructor's wrapper would lose that and loop the chain.
            raise error from error.__cause__ or exc
        return result

    async def aextract(
        self,
        messages: list[dict[str, str]],
        response_model: type[T],
        stats: CallStats,
        *,
        max_tokens: int | None = None,
    ) -> T:
        """Async twin of :meth:`extract`."""
        limit = max_tokens or self.settings.max_output_tokens

        async def create(**kwargs: Any) -> Any:
            try:
                async for attempt in AsyncRetrying(**self._retry_args(stats)):
                    with attempt:
                        stats.http_calls += 1
                        reserved = await self._aacquire(kwargs)
                        try:
                            response = await self._aclient.chat.completions.create(**kwargs)
                        except json.JSONDecodeError as exc:
                            self._release(reserved, exc)
                            raise _malformed(exc) from exc
                        except BaseException as exc:
                            self._release(reserved, exc)
                            raise
                        self._release(reserved, response)
            except openai.OpenAIError as exc:
                raise self._translate(exc, stats) from exc  # see extract()
            return self._record(response, stats, limit)

        patched: Any = instructor.patch(create=create, mode=self.mode)
        try:
            result: T = await patched(
                response_model=response_model,
                max_retries=self.settings.validation_attempts - 1,
                **self._request(messages, limit),
            )
        except Exception as exc:
            error = self._translate(exc, stats)
            raise error from error.__cause__ or exc  # see extract()
        return result

    def request_body(
        self,
        messages: list[dict[str, str]],
        response_model: type[BaseModel],
        *,
        max_tokens: int | None = None,
    ) -> dict[str, Any]:
        """The JSON body :meth:`extract` sends for its first request, without sending it.

        instructor itself builds it (the capturing ``create`` stops it before any I/O),
        so a Batch API request line is exactly what the synchronous path sends.
        """
        limit = max_tokens or self.settings.max_output_tokens

        def capture(**kwargs: Any) -> Any:
            raise _Captured(json.loads(json.dumps(kwargs)))

        patched = instructor.patch(create=capture, mode=self.mode)
        try:
            patched(
                response_model=response_model,
                max_retries=0,
                **self._request(messages, limit),
            )
        except Exception as exc:  # instructor may wrap our sentinel; find it in the chain
            cause: BaseException | None = exc
            while cause is not None and not isinstance(cause, _Captured):
                cause = cause.__cause__ or cause.__context__
            if cause is None:
                raise
            return cause.body
        raise RunError("instructor returned without calling the model")  # pragma: no cover

    def first_model_id(self) -> str:
        """The first model the server lists (for servers configured without a model)."""
        try:
            page = self._client.models.list()
        except openai.OpenAIError as exc:
            raise ProviderError(
                f"no model given and the server's model list is unavailable: "
                f"{redact(str(exc), self._secret)}"
            ) from exc
        for item in page.data:
            return item.id
        raise ProviderError("no model given and the server lists none")

    def close(self) -> None:
        """Release the sync HTTP connection pool."""
        self._client.close()

    async def aclose(self) -> None:
        """Release the async HTTP connection pool."""
        await self._aclient.close()


def _completion(body: dict[str, Any]) -> ChatCompletion:
    """A prefetched chat-completion body as the SDK object instructor parses."""
    try:
        return ChatCompletion.model_validate(body)
    except ValidationError as exc:
        raise MalformedResponseError(
            f"the provider's completion does not have the chat-completion shape "
            f"({exc.error_count()} problem(s))"
        ) from exc


def _malformed(exc: json.JSONDecodeError) -> MalformedResponseError:
    return MalformedResponseError(f"provider sent a response body that is not JSON ({exc.msg})")


def status_message(exc: openai.APIStatusError) -> str:
    """The provider's own error message from an HTTP error (not yet redacted)."""
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return exc.message

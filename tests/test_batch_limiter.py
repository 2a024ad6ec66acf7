"""The client-side rate limiter: bucket arithmetic on a fake clock, and its hook in ChatModel."""

from __future__ import annotations

import asyncio

import pytest

from summarizer.batch.limiter import RateLimiter
from summarizer.config import Settings
from summarizer.llm import CallStats, ChatModel, estimate_tokens
from summarizer.schemas.meeting import MeetingSummary
from tests.fakeprovider import summary_reply
from tests.fakeserver import FakeOpenAI, Reply, error


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def drive(limiter: RateLimiter, clock: Clock, seconds: float, tokens: int = 1) -> int:
    """Acquire greedily for ``seconds`` of fake time, sleeping as told; count acquisitions."""
    end = clock.now + seconds
    acquired = 0
    while clock.now < end:
        wait = limiter.try_acquire(tokens)
        if wait == 0:
            acquired += 1
        else:
            clock.now += wait
    return acquired


def test_requests_per_minute_is_never_exceeded_over_a_minute() -> None:
    clock = Clock()
    limiter = RateLimiter(rpm=600, clock=clock)
    acquired = drive(limiter, clock, 60.0)
    # 600 per minute, plus at most the initial burst (half a second's worth).
    assert 595 <= acquired <= 600 + 5


def test_a_second_request_waits_one_interval() -> None:
    clock = Clock()
    limiter = RateLimiter(rpm=60, clock=clock)
    assert limiter.try_acquire(1) == 0
    assert limiter.try_acquire(1) == pytest.approx(1.0)
    clock.now += 1.0
    assert limiter.try_acquire(1) == 0


def test_tokens_are_reserved_then_corrected_with_actual_usage() -> None:
    clock = Clock()
    limiter = RateLimiter(tpm=6000, clock=clock)  # 100 tokens/s, capacity 50
    # Larger than the capacity: allowed once the bucket is full, leaving a debt.
    assert limiter.try_acquire(500) == 0
    assert limiter.try_acquire(10) == pytest.approx((10 + 450) / 100)
    # The answer used far fewer tokens than estimated: the difference comes back.
    limiter.settle(500, 100)
    assert limiter.try_acquire(10) == pytest.approx((10 + 50) / 100)
    assert limiter.stats.used_tokens == 100


def test_usage_above_the_estimate_is_charged() -> None:
    clock = Clock()
    limiter = RateLimiter(tpm=6000, clock=clock)
    assert limiter.try_acquire(50) == 0
    limiter.settle(50, 150)
    assert limiter.try_acquire(1) == pytest.approx((1 + 100) / 100)


def test_a_429_pauses_every_caller_for_retry_after() -> None:
    clock = Clock()
    limiter = RateLimiter(rpm=6000, clock=clock)
    limiter.throttled(2.5)
    assert limiter.try_acquire(1) == pytest.approx(2.5)
    clock.now += 1.0
    assert limiter.try_acquire(1) == pytest.approx(1.5)
    clock.now += 1.5
    # The bucket restarts empty when the pause ends, at half the rate (100/s -> 50/s).
    assert limiter.try_acquire(1) == pytest.approx(1 / 50)
    clock.now += 1 / 50 + 1e-9
    assert limiter.try_acquire(1) == 0
    assert limiter.stats.throttles == 1


def test_after_a_429_the_rate_halves_once_per_episode_then_recovers() -> None:
    clock = Clock()
    limiter = RateLimiter(rpm=600, clock=clock)  # 10/s
    for _ in range(5):  # five workers hit the same wall: one episode
        limiter.throttled(1.0)
    clock.now += 1.0
    assert drive(limiter, clock, 10.0) == pytest.approx(50, abs=2)  # 5/s
    for _ in range(50):  # answered requests give the rate back, 2 % of the limit each
        limiter.settle(10, 10)
    assert drive(limiter, clock, 10.0) == pytest.approx(100, abs=6)


def test_a_429_without_retry_after_uses_the_default_pause() -> None:
    clock = Clock()
    limiter = RateLimiter(rpm=6000, default_pause_s=0.75, clock=clock)
    limiter.throttled(None)
    assert limiter.try_acquire(1) == pytest.approx(0.75)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        RateLimiter(rpm=0)


def test_estimate_counts_messages_schema_and_answer_budget() -> None:
    small = {"messages": [{"role": "user", "content": "x" * 400}], "max_tokens": 100}
    with_schema = {**small, "response_format": {"schema": "y" * 4000}}
    assert 200 <= estimate_tokens(small) <= 230
    assert estimate_tokens(with_schema) >= estimate_tokens(small) + 1000


DOC = "Weekly sync of the platform team.\nAlice Schmidt: we agreed to ship on Friday.\n"


def _messages() -> list[dict[str, str]]:
    return [
        {
            "role": "user",
            "content": f'<document-0123456789ab name="d">\n{DOC}\n</document-0123456789ab>',
        }
    ]


def test_chat_model_consults_the_limiter_on_every_attempt_and_reports_429() -> None:
    def script(index: int, body: dict[str, object]) -> Reply:
        return error(429, "slow down", retry_after=0.01) if index == 0 else summary_reply(body)

    limiter = RateLimiter(rpm=60_000, tpm=10_000_000)
    settings = Settings(provider="compatible", model="fake-model")
    with FakeOpenAI(script) as srv:
        chat = ChatModel(settings, base_url=srv.base_url, api_key=None, limiter=limiter)
        stats = CallStats()
        chat.extract(_messages(), MeetingSummary, stats)
        chat.close()
        assert srv.calls == 2
    assert limiter.stats.acquired == 2  # the retry went through the limiter too
    assert limiter.stats.throttles == 1
    assert limiter.stats.used_tokens == stats.usage["total_tokens"] > 0


def test_async_chat_model_uses_the_limiter() -> None:
    limiter = RateLimiter(rpm=60_000)
    settings = Settings(provider="compatible", model="fake-model")

    async def run(base_url: str) -> None:
        chat = ChatModel(settings, base_url=base_url, api_key=None, limiter=limiter)
        await chat.aextract(_messages(), MeetingSummary, CallStats())
        await chat.aclose()
        chat.close()

    with FakeOpenAI(lambda i, body: summary_reply(body)) as srv:
        asyncio.run(run(srv.base_url))
        assert srv.calls == 1
    assert limiter.stats.acquired == 1

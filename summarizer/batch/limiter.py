"""A client-side rate limiter shared by every worker of a batch.

Two token buckets — one counting requests (``rpm``), one counting tokens
(``tpm``) — refill continuously at ``limit / 60`` per second. A request takes
one request and its *estimated* tokens (see :func:`summarizer.llm.estimate_tokens`)
before it is sent; when the answer arrives the reservation is corrected to the
``usage`` the provider reported, so an over-estimate is given back at once.

A bucket may go into debt: a request larger than the bucket's capacity is let
through once the bucket is full, and later requests wait until the debt is
repaid. So a single large document never blocks forever, and the average rate
never exceeds the limit.

On HTTP 429 every worker pauses together — for ``Retry-After`` when the server
gave one, else for ``default_pause_s`` — the buckets are emptied, and the rate
is halved, then recovers as answers arrive (additive increase, multiplicative
decrease), so the workers do not all retry into the same wall.

The limiter is plain computation under a ``threading.Lock``: ``try_acquire``
never sleeps, it says how long to wait. ``ChatModel`` does the sleeping, with
``time.sleep`` or ``asyncio.sleep``, so one limiter serves sync and async code.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["LimiterStats", "RateLimiter"]

# Capacity of each bucket, in seconds of refill. Half a second keeps our bursts
# well inside a provider that enforces its per-minute limit over short windows.
_BURST_S = 0.5
_MIN_WAIT_S = 0.001


class _Bucket:
    """A continuously refilling bucket that may go into debt."""

    def __init__(self, per_minute: float, now: float) -> None:
        self.full_rate = self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate * _BURST_S)
        self.level = self.capacity
        self._stamp = now

    def refill(self, now: float) -> None:
        if now <= self._stamp:
            return  # paused: refilling starts when the pause ends
        self.level = min(self.capacity, self.level + (now - self._stamp) * self.rate)
        self._stamp = now

    def wait_for(self, amount: float) -> float:
        """Seconds until ``amount`` may be taken (a request above capacity needs a full bucket)."""
        need = min(amount, self.capacity)
        return 0.0 if self.level >= need else (need - self.level) / self.rate

    def take(self, amount: float) -> None:
        self.level -= amount

    def give(self, amount: float) -> None:
        self.level = min(self.capacity, self.level + amount)

    def drain(self, until: float) -> None:
        """Empty the bucket and refill nothing before ``until``."""
        self.level = min(self.level, 0.0)
        self._stamp = max(self._stamp, until)


@dataclass
class LimiterStats:
    """What the limiter did, for reports and tests."""

    acquired: int = 0
    waits: int = 0
    throttles: int = 0
    reserved_tokens: int = 0
    used_tokens: int = 0


class RateLimiter:
    """Requests-per-minute and tokens-per-minute limits shared by all workers.

    Implements :class:`summarizer.llm.Limiter`.

    Args:
        rpm: Requests per minute, or None for no request limit.
        tpm: Tokens per minute, or None for no token limit.
        default_pause_s: How long everyone pauses after a 429 without ``Retry-After``.
        clock: Monotonic clock in seconds (tests pass a fake one).
    """

    def __init__(
        self,
        *,
        rpm: float | None = None,
        tpm: float | None = None,
        default_pause_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for name, value in (("rpm", rpm), ("tpm", tpm)):
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive")
        self._clock = clock
        now = clock()
        self._requests = _Bucket(rpm, now) if rpm else None
        self._tokens = _Bucket(tpm, now) if tpm else None
        self._default_pause_s = default_pause_s
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self.stats = LimiterStats()

    def try_acquire(self, tokens: int) -> float:
        """Take one request and ``tokens`` tokens: ``0.0`` if taken, else seconds to wait."""
        with self._lock:
            now = self._clock()
            if now < self._paused_until:
                self.stats.waits += 1
                return self._paused_until - now
            wait = 0.0
            if self._requests is not None:
                self._requests.refill(now)
                wait = max(wait, self._requests.wait_for(1))
            if self._tokens is not None:
                self._tokens.refill(now)
                wait = max(wait, self._tokens.wait_for(tokens))
            if wait > 0:
                self.stats.waits += 1
                # Never a vanishing wait: a clock step too small to refill anything
                # would spin the caller.
                return max(wait, _MIN_WAIT_S)
            if self._requests is not None:
                self._requests.take(1)
            if self._tokens is not None:
                self._tokens.take(tokens)
            self.stats.acquired += 1
            self.stats.reserved_tokens += tokens
            return 0.0

    def settle(self, reserved: int, used: int | None) -> None:
        """Replace a reservation by the tokens really used (None: keep the estimate)."""
        if used is None:
            return
        with self._lock:
            self.stats.used_tokens += used
            if used > 0:  # an answered request: recover from an earlier 429 slowdown
                for bucket in (self._requests, self._tokens):
                    if bucket is not None:
                        bucket.rate = min(bucket.full_rate, bucket.rate + bucket.full_rate / 50)
            if self._tokens is None:
                return
            self._tokens.refill(self._clock())
            if used < reserved:
                self._tokens.give(reserved - used)
            else:
                self._tokens.take(used - reserved)

    def throttled(self, retry_after: float | None) -> None:
        """The provider said 429: everyone pauses, and the buckets start again from empty.

        The first 429 of an episode also halves the request rate (it creeps back
        by 2 % of the limit per answered request): the configured limit was too
        high for this provider, and resuming at full speed would only meet the
        same wall with every worker at once.
        """
        with self._lock:
            now = self._clock()
            pause = retry_after if retry_after is not None and retry_after > 0 else None
            until = now + (pause if pause is not None else self._default_pause_s)
            new_episode = now >= self._paused_until
            self._paused_until = max(self._paused_until, until)
            for bucket in (self._requests, self._tokens):
                if bucket is not None:
                    bucket.refill(now)
                    bucket.drain(self._paused_until)
                    if new_episode:
                        bucket.rate = max(bucket.rate / 2, bucket.full_rate / 64)
            self.stats.throttles += 1

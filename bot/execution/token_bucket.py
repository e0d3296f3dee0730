"""A token bucket that schedules requests instead of rejecting them.

`reserve()` always takes a token, letting the level go negative, and returns how long the caller must wait
before sending. Because every reservation is placed at the first instant the bucket could pay for it, no
window of length t ever contains more than `burst + rate * t` sends, and waiting callers are served in
arrival order. The bucket does no I/O and reads time from an injected clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

Clock = Callable[[], float]


class TokenBucket:
    def __init__(self, rate: float, burst: int, clock: Clock) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs rate > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._updated = clock()

    def _refill(self, now: float) -> None:
        if now > self._updated:
            self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.rate)
            self._updated = now

    def reserve(self) -> float:
        """Take one token; returns the seconds to wait before using it (0 when one was available)."""
        now = self._clock()
        self._refill(now)
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def tokens(self) -> float:
        """Tokens available now (negative when callers are queued)."""
        self._refill(self._clock())
        return self._tokens

    def drain(self, retry_after: float) -> None:
        """The venue said 429: send nothing for `retry_after` seconds, then resume at the steady rate.

        Expressed as a debt of `retry_after * rate` tokens, so callers already queued keep their spacing
        instead of all firing when the pause ends.
        """
        self._refill(self._clock())
        self._tokens = min(self._tokens, -retry_after * self.rate)


@dataclass(slots=True)
class LimiterStats:
    acquired: int = 0
    throttled: int = 0
    waited_seconds: float = 0.0


Sleep = Callable[[float], Awaitable[None]]
WaitObserver = Callable[[float], None]


class RateLimiter:
    """The async face of a TokenBucket: every broker request awaits `acquire()` first."""

    def __init__(
        self,
        name: str,
        bucket: TokenBucket,
        *,
        sleep: Sleep = asyncio.sleep,
        on_wait: WaitObserver | None = None,
    ) -> None:
        self.name = name
        self.bucket = bucket
        self.stats = LimiterStats()
        self._sleep = sleep
        self._on_wait = on_wait

    async def acquire(self) -> None:
        wait = self.bucket.reserve()
        self.stats.acquired += 1
        if wait > 0:
            self.stats.throttled += 1
            self.stats.waited_seconds += wait
            await self._sleep(wait)
        if self._on_wait is not None:
            self._on_wait(wait)

    def penalize(self, retry_after: float) -> None:
        self.bucket.drain(retry_after)

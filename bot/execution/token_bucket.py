"""A token bucket that schedules requests instead of rejecting them.

`reserve()` always takes a token, letting the level go negative, and returns how long the caller must wait
before sending. Because every reservation is placed at the first instant the bucket could pay for it, no
window of length t ever contains more than `burst + rate * t` sends, and waiting callers are served in
arrival order. The bucket does no I/O and reads time from an injected clock. `RateLimiter` queues its
callers so that the bound also holds for the moments requests actually leave (see its docstring).
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

    def take(self) -> bool:
        """Take one token if one is there now (True); otherwise take nothing (False)."""
        self._refill(self._clock())
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def now(self) -> float:
        """The bucket's clock, so callers can measure waits on the same time base."""
        return self._clock()

    def tokens(self) -> float:
        """Tokens available now (negative while a caller waits for its token, or after a drain)."""
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
    """The async face of a TokenBucket: every broker request awaits `acquire()` first.

    Callers queue first come, first served, and each takes its token when it reaches the head of the queue,
    at that moment. Reserving every queued caller's slot up front is exact on paper, but after any pause of
    the process (a GC pass, CPU contention, a long callback) every caller whose slot passed during the pause
    would leave together, as many as `rate * pause`. Taken at the head, at most `burst` tokens are there
    after a pause, so callers leave the limiter within `burst + 1 + rate * t` by the wall clock too (the 1 is the
    caller that was already waiting), which is what the venue measures.
    """

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
        self._turn = asyncio.Lock()  # fair: waiters are woken in arrival order
        self._queued = 0  # callers on the slow path (waiting for their turn or their token)

    async def acquire(self) -> None:
        self.stats.acquired += 1
        # Nobody queued and a token there: take it and go, without the lock (most calls, most of the time).
        if not self._queued and self.bucket.take():
            if self._on_wait is not None:
                self._on_wait(0.0)
            return
        self._queued += 1
        try:
            await self._wait_turn()
        finally:
            self._queued -= 1

    async def _wait_turn(self) -> None:
        behind_others = self._turn.locked()
        queued_at = self.bucket.now()
        async with self._turn:
            queued = self.bucket.now() - queued_at if behind_others else 0.0
            wait = self.bucket.reserve()
            if wait > 0:
                await self._sleep(wait)
        waited = queued + wait
        if waited > 0:
            self.stats.throttled += 1
            self.stats.waited_seconds += waited
        if self._on_wait is not None:
            self._on_wait(waited)

    def penalize(self, retry_after: float) -> None:
        self.bucket.drain(retry_after)

"""`/ratelimits`: each token bucket's shape, level and how often callers had to wait (this process)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bot.execution.token_bucket import RateLimiter


@dataclass(frozen=True, slots=True)
class LimiterState:
    name: str
    rate_per_second: float
    burst: int
    tokens: float  # negative while callers are queued
    acquired: int
    throttled: int
    waited_seconds: float

    @property
    def queued(self) -> int:
        """Callers holding a reservation they are still waiting to use."""
        return max(0, math.ceil(-self.tokens))


class RateLimitService:
    def __init__(self, limiters: Sequence[RateLimiter]) -> None:
        self._limiters = tuple(limiters)

    def report(self) -> tuple[LimiterState, ...]:
        """A snapshot of every limiter; reading it takes no token and does no I/O."""
        return tuple(
            LimiterState(
                name=limiter.name,
                rate_per_second=limiter.bucket.rate,
                burst=limiter.bucket.burst,
                tokens=limiter.bucket.tokens(),
                acquired=limiter.stats.acquired,
                throttled=limiter.stats.throttled,
                waited_seconds=limiter.stats.waited_seconds,
            )
            for limiter in self._limiters
        )

"""Health probes over recent activity: signal-to-order latency, order success and rate-limit block rates.

Each compares a value over a recent window with the `[alerts]` thresholds; a window with nothing in it
is `ok` with "no data", since an idle bot is not an unhealthy one.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.domain import OrderStatus
from bot.execution.token_bucket import LimiterStats
from bot.services.health import ComponentHealth, Probe, Status, above, below, threshold_text
from bot.services.probes import milliseconds
from storage.histogram import percentile_ms
from storage.stats import StatsQueries

Clock = Callable[[], datetime]
Monotonic = Callable[[], float]
Flush = Callable[[], Awaitable[object]]

LATENCY_WINDOW = timedelta(minutes=5)
ORDER_WINDOW = timedelta(minutes=15)
BLOCK_RATE_WINDOW_SECONDS = 300.0
# Orders whose outcome is not known yet count neither as a success nor as a failure.
_UNSETTLED = (OrderStatus.PENDING_SUBMIT.value, OrderStatus.UNKNOWN.value)
_FAILED = (OrderStatus.REJECTED.value, OrderStatus.FAILED.value)


def percent(fraction: float) -> str:
    return f"{fraction * 100:g} %"


def _idle(detail: str, warning: float, critical: float, text: str, *, lower_is_worse: bool = False) -> ComponentHealth:
    return ComponentHealth(Status.OK, detail, None, warning, critical, text, lower_is_worse=lower_is_worse)


def signal_latency_probe(
    queries: StatsQueries, clock: Clock, warning: float, critical: float, *, flush: Flush | None = None
) -> Probe:
    """p99 signal-to-order latency (seconds) of the signals executed in the last 5 minutes; `flush` first
    writes the latencies the batched writer still holds."""

    async def probe() -> ComponentHealth:
        if flush is not None:
            await flush()
        now = clock()
        p99 = percentile_ms(await queries.latency_buckets(now - LATENCY_WINDOW, now), 0.99)
        if p99 is None:
            text = threshold_text(warning, critical, fmt=milliseconds)
            return _idle("no data: no signal executed in the last 5 min", warning, critical, text)
        seconds = p99 / 1000
        return above(seconds, warning, critical, f"p99 {p99:.1f} ms over the last 5 min", fmt=milliseconds)

    return probe


def order_success_probe(queries: StatsQueries, clock: Clock, warning: float, critical: float) -> Probe:
    """Share of the last 15 minutes' settled orders the venue did not refuse (rejected) or fail."""

    async def probe() -> ComponentHealth:
        now = clock()
        statuses = await queries.orders_by_status(now - ORDER_WINDOW, now)
        settled = sum(n for status, n in statuses.items() if status not in _UNSETTLED)
        if settled <= 0:
            text = threshold_text(warning, critical, fmt=percent, lower_is_worse=True)
            return _idle("no data: no order settled in the last 15 min", warning, critical, text, lower_is_worse=True)
        failed = sum(statuses.get(status, 0) for status in _FAILED)
        rate = (settled - failed) / settled
        detail = f"{settled - failed} of {settled} orders accepted over the last 15 min"
        return below(rate, warning, critical, detail, fmt=percent)

    return probe


class BlockRateWindow:
    """Requests and throttled requests of a rate limiter over (about) the last 5 minutes.

    The limiter only keeps running totals; this keeps a snapshot per probe and differences the newest with
    the newest one at least a window old, so the window is accurate to one evaluation interval.
    """

    def __init__(
        self, stats: LimiterStats, window_seconds: float = BLOCK_RATE_WINDOW_SECONDS, clock: Monotonic = time.monotonic
    ) -> None:
        self._stats = stats
        self._window = window_seconds
        self._clock = clock
        self._snapshots: deque[tuple[float, int, int]] = deque([(clock(), stats.acquired, stats.throttled)])

    def sample(self) -> tuple[int, int]:
        """(requests, throttled requests) in the window ending now."""
        now = self._clock()
        self._snapshots.append((now, self._stats.acquired, self._stats.throttled))
        while len(self._snapshots) > 1 and self._snapshots[1][0] <= now - self._window:
            self._snapshots.popleft()
        _, acquired, throttled = self._snapshots[0]
        return self._stats.acquired - acquired, self._stats.throttled - throttled


def ratelimit_block_probe(window: BlockRateWindow, warning: float, critical: float) -> Probe:
    """Share of broker requests that had to wait for a token."""

    async def probe() -> ComponentHealth:
        requests, throttled = window.sample()
        if requests <= 0:
            text = threshold_text(warning, critical, fmt=percent)
            return _idle("no data: no broker request in the last 5 min", warning, critical, text)
        detail = f"{throttled} of {requests} broker requests waited for a token over the last 5 min"
        return above(throttled / requests, warning, critical, detail, fmt=percent)

    return probe

"""`/api/series`: the stored history as a time series for the dashboard, one point per step, oldest first.

A point's counters cover [t, t + step): `signals` are messages that looked like a signal (every outcome but
`not_a_signal`), `rejected` those refused (risk_rejected, invalid, failed, unauthorized), `orders` the
orders created, `orders_failed` those now `rejected` or `failed`. System values are averages of the samples
taken in the step. A step with nothing recorded has zero counts and null values.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.domain import OrderStatus, Outcome
from bot.services.stats import MESSAGES_SEEN, OUTCOME_PREFIX, THROTTLED, LatencySummary, Window
from storage.histogram import percentiles_ms
from storage.series import SeriesQueries, SystemAverages
from storage.stats import REJECTED_OUTCOMES

Clock = Callable[[], datetime]
Flush = Callable[[], Awaitable[object]]

STEP_SECONDS = {Window.HOUR: 60, Window.DAY: 900, Window.WEEK: 3600, Window.MONTH: 14400}
FAILED_ORDER_STATUSES = (OrderStatus.REJECTED.value, OrderStatus.FAILED.value)
_NO_SAMPLES = SystemAverages(None, None, None)


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    at: datetime
    messages: int
    signals: int
    executed: int
    rejected: int
    orders: int
    orders_failed: int
    latency_ms: LatencySummary
    memory_mb: float | None
    cpu_percent: float | None
    loop_lag_ms: float | None
    throttled: int


@dataclass(frozen=True, slots=True)
class Series:
    window: Window
    step_seconds: int
    points: list[SeriesPoint]


class SeriesService:
    def __init__(self, queries: SeriesQueries, clock: Clock, *, flush: Flush | None = None) -> None:
        self._queries = queries
        self._clock = clock
        self._flush = flush

    async def series(self, window: Window) -> Series:
        if self._flush is not None:
            await self._flush()
        step = STEP_SECONDS[window]
        count = int(window.duration.total_seconds()) // step
        last = int(self._clock().timestamp()) // step  # the step in progress is the newest point
        first = last - count + 1
        start, end = first * step, (last + 1) * step
        activity = await self._queries.activity(start, end - 1, step)
        orders = await self._queries.order_statuses(start, end - 1, step)
        latency = await self._queries.latency_buckets(start, end - 1, step)
        system = await self._queries.system(start, end, step)
        points = [
            _point(
                index * step,
                activity.get(index, {}),
                orders.get(index, {}),
                latency.get(index, {}),
                system.get(index, _NO_SAMPLES),
            )
            for index in range(first, last + 1)
        ]
        return Series(window, step, points)


def _point(
    start: int, counters: dict[str, int], statuses: dict[str, int], buckets: dict[int, int], samples: SystemAverages
) -> SeriesPoint:
    outcomes = {k.removeprefix(OUTCOME_PREFIX): n for k, n in counters.items() if k.startswith(OUTCOME_PREFIX)}
    p50, p95, p99 = percentiles_ms(buckets)
    return SeriesPoint(
        at=datetime.fromtimestamp(start, tz=UTC),
        messages=counters.get(MESSAGES_SEEN, 0),
        signals=sum(n for outcome, n in outcomes.items() if outcome != Outcome.NOT_A_SIGNAL.value),
        executed=outcomes.get(Outcome.EXECUTED.value, 0),
        rejected=sum(outcomes.get(outcome.value, 0) for outcome in REJECTED_OUTCOMES),
        orders=sum(statuses.values()),
        orders_failed=sum(statuses.get(status, 0) for status in FAILED_ORDER_STATUSES),
        latency_ms=LatencySummary(p50, p95, p99, sum(buckets.values())),
        memory_mb=samples.memory_mb,
        cpu_percent=samples.cpu_percent,
        loop_lag_ms=samples.loop_lag_ms,
        throttled=counters.get(THROTTLED, 0),
    )

"""`/stats` and `/api/stats`: what happened in a window, read from storage so it survives restarts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from storage.stats import StatsQueries

Clock = Callable[[], datetime]
PnlSince = Callable[[datetime], Awaitable[Decimal | None]]
Flush = Callable[[], Awaitable[object]]


class Window(StrEnum):
    HOUR = "1h"
    DAY = "24h"
    WEEK = "7d"
    MONTH = "30d"

    @property
    def duration(self) -> timedelta:
        return {
            "1h": timedelta(hours=1),
            "24h": timedelta(days=1),
            "7d": timedelta(days=7),
            "30d": timedelta(days=30),
        }[self.value]


@dataclass(frozen=True, slots=True)
class LatencySummary:
    p50: float | None
    p95: float | None
    p99: float | None


@dataclass(frozen=True, slots=True)
class StatsReport:
    window: Window
    since: datetime
    messages_seen: int
    signals_by_outcome: dict[str, int]
    orders_by_status: dict[str, int]
    latency_ms: LatencySummary
    pnl: Decimal | None
    rate_limit_throttled: int
    top_rejections: list[tuple[str, int]] = field(default_factory=list)

    @property
    def signals_total(self) -> int:
        return sum(self.signals_by_outcome.values())

    @property
    def orders_total(self) -> int:
        return sum(self.orders_by_status.values())


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return None
    rank = max(1, -(-int(fraction * 1000) * len(sorted_values) // 1000))
    return sorted_values[min(rank, len(sorted_values)) - 1]


class StatsService:
    def __init__(
        self, queries: StatsQueries, clock: Clock, *, pnl_since: PnlSince | None = None, flush: Flush | None = None
    ) -> None:
        self._queries = queries
        self._clock = clock
        self._pnl_since = pnl_since
        self._flush = flush

    async def report(self, window: Window = Window.DAY) -> StatsReport:
        if self._flush is not None:
            await self._flush()  # counters batched in the last second belong in the answer
        since = self._clock() - window.duration
        activity = await self._queries.activity_since(since)
        latencies = await self._queries.latencies_since(since)
        return StatsReport(
            window=window,
            since=since,
            messages_seen=activity.get("messages_seen", 0),
            signals_by_outcome={
                name.removeprefix("outcome."): count for name, count in activity.items() if name.startswith("outcome.")
            },
            orders_by_status=await self._queries.orders_by_status_since(since),
            latency_ms=LatencySummary(
                *(None if (v := percentile(latencies, q)) is None else v * 1000 for q in (0.5, 0.95, 0.99))
            ),
            pnl=None if self._pnl_since is None else await self._pnl_since(since),
            rate_limit_throttled=activity.get("ratelimit.throttled", 0),
            top_rejections=await self._queries.top_rejections_since(since),
        )

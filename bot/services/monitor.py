"""Samples the process itself: how late the event loop runs timers."""

from __future__ import annotations

import time

from bot.metrics import Metrics
from bot.periodic import Periodic


class LoopLagMonitor:
    def __init__(self, metrics: Metrics, interval: float = 0.5) -> None:
        self._metrics = metrics
        self._periodic = Periodic("loop-lag-monitor", interval, self._sample)
        self._expected = 0.0
        self.lag_seconds = 0.0

    async def start(self) -> None:
        self._expected = time.perf_counter() + self._periodic.interval
        await self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()

    async def _sample(self) -> None:
        now = time.perf_counter()
        self.lag_seconds = max(0.0, now - self._expected)
        self._expected = now + self._periodic.interval
        self._metrics.event_loop_lag_seconds.set(self.lag_seconds)

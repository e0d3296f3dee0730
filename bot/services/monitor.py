"""Samples the process itself: how late the event loop runs timers."""

from __future__ import annotations

import asyncio
import contextlib
import time

from bot.metrics import Metrics


class LoopLagMonitor:
    def __init__(self, metrics: Metrics, interval: float = 0.5) -> None:
        self._metrics = metrics
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self.lag_seconds = 0.0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="loop-lag-monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            expected = time.perf_counter() + self._interval
            await asyncio.sleep(self._interval)
            self.lag_seconds = max(0.0, time.perf_counter() - expected)
            self._metrics.event_loop_lag_seconds.set(self.lag_seconds)

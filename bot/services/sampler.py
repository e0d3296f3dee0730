"""Samples the process every `storage.system_sample_seconds` into `system_samples` (through the writer):
resident memory, CPU use since the previous sample, event-loop lag and Discord's heartbeat latency."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from bot.periodic import Periodic
from bot.services.monitor import LoopLagMonitor
from bot.services.probes import resident_memory_bytes
from storage.samples import SystemSample, queue_sample
from storage.writer import BatchWriter

Latency = Callable[[], float]


class SystemSampler:
    def __init__(
        self,
        writer: BatchWriter,
        monitor: LoopLagMonitor,
        discord_latency: Latency,
        *,
        interval: float,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._writer = writer
        self._monitor = monitor
        self._discord_latency = discord_latency
        self._interval = interval
        self._wall_clock = wall_clock
        self._last_cpu: tuple[float, float] | None = None  # (process CPU seconds, perf_counter) at last sample
        self._periodic = Periodic("system-sampler", interval, self.sample)

    async def start(self) -> None:
        self._last_cpu = (time.process_time(), time.perf_counter())
        await self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()

    def _cpu_percent(self) -> float | None:
        """Process CPU time over wall time since the previous sample (100 = one core busy)."""
        now = (time.process_time(), time.perf_counter())
        last, self._last_cpu = self._last_cpu, now
        if last is None or now[1] <= last[1]:
            return None
        return (now[0] - last[0]) / (now[1] - last[1]) * 100

    async def sample(self) -> None:
        latency = self._discord_latency()
        queue_sample(
            self._writer,
            SystemSample(
                at=self._wall_clock(),
                period=self._interval,
                memory_mb=resident_memory_bytes() / 1024 / 1024,
                cpu_percent=self._cpu_percent(),
                loop_lag_ms=self._monitor.lag_seconds * 1000,
                discord_latency_ms=latency * 1000 if math.isfinite(latency) else None,
            ),
        )

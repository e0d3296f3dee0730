"""System samples (memory, CPU, event-loop lag, Discord latency) queued on the batched writer.

A row stands for `period` seconds: the sampling interval for a fresh sample, 3600 once retention has
rolled old samples into hourly averages (`storage.retention`).
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.writer import BatchWriter


@dataclass(frozen=True, slots=True)
class SystemSample:
    at: float  # epoch seconds, UTC
    period: float
    memory_mb: float | None
    cpu_percent: float | None
    loop_lag_ms: float | None
    discord_latency_ms: float | None


def queue_sample(writer: BatchWriter, sample: SystemSample) -> None:
    writer.add(
        "INSERT INTO system_samples (at, period, memory_mb, cpu_percent, loop_lag_ms, discord_latency_ms)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            sample.at,
            sample.period,
            sample.memory_mb,
            sample.cpu_percent,
            sample.loop_lag_ms,
            sample.discord_latency_ms,
        ),
    )

"""Health probes for the components the skeleton has: database, Discord, broker, event loop, memory."""

from __future__ import annotations

import resource
import sys
from collections.abc import Callable
from pathlib import Path

from bot.services.health import ComponentHealth, Probe, Status, above
from bot.services.monitor import LoopLagMonitor
from storage.database import Database

_PAGE_SIZE = resource.getpagesize()
_STATM = Path("/proc/self/statm")


def resident_memory_bytes() -> int:
    """Current RSS; falls back to the peak RSS where /proc is not available."""
    try:
        return int(_STATM.read_text().split()[1]) * _PAGE_SIZE
    except (OSError, IndexError, ValueError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


def milliseconds(seconds: float) -> str:
    return f"{seconds * 1000:g} ms"


def megabytes_text(megabytes: float) -> str:
    return f"{megabytes:g} MB"


def database_probe(db: Database) -> Probe:
    async def probe() -> ComponentHealth:
        seconds = await db.ping()
        return ComponentHealth(Status.OK, f"writable ({seconds * 1000:.1f} ms)", seconds)

    return probe


def discord_probe(is_connected: Callable[[], bool], latency: Callable[[], float]) -> Probe:
    """Callables rather than the bot itself: the bot is built after the services it is given."""

    async def probe() -> ComponentHealth:
        if not is_connected():
            return ComponentHealth(Status.CRITICAL, "gateway not connected")
        seconds = float(latency())
        return ComponentHealth(Status.OK, f"connected, heartbeat {seconds * 1000:.0f} ms", seconds)

    return probe


def loop_lag_probe(monitor: LoopLagMonitor, warning: float, critical: float) -> Probe:
    async def probe() -> ComponentHealth:
        lag = monitor.lag_seconds
        return above(lag, warning, critical, f"timers run {lag * 1000:.1f} ms late", fmt=milliseconds)

    return probe


def memory_probe(warning_mb: int, critical_mb: int) -> Probe:
    async def probe() -> ComponentHealth:
        megabytes = resident_memory_bytes() / 1024 / 1024
        return above(megabytes, warning_mb, critical_mb, f"{megabytes:.0f} MB resident", fmt=megabytes_text)

    return probe


def static_probe(detail: str) -> Probe:
    """For a component that is up whenever the process is (the paper broker lives in our database)."""

    async def probe() -> ComponentHealth:
        return ComponentHealth(Status.OK, detail)

    return probe

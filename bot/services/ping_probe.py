"""`/health` for a venue reached through a ping: at most one request per `fresh_seconds`, however often
/health is asked, so the probe never competes with orders for the rate limit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from bot.errors import BrokerError
from bot.services.health import ComponentHealth, Probe, Status


def ping_probe(
    name: str,
    ping: Callable[[], Awaitable[None]],
    *,
    fresh_seconds: float = 30.0,
    clock: Callable[[], float] = time.monotonic,
) -> Probe:
    lock = asyncio.Lock()
    last: tuple[float, ComponentHealth] | None = None

    async def probe() -> ComponentHealth:
        nonlocal last
        async with lock:
            if last is not None and clock() - last[0] < fresh_seconds:
                return last[1]
            started = clock()
            try:
                await ping()
            except BrokerError as exc:
                health = ComponentHealth(Status.CRITICAL, f"{name} unreachable: {exc}")
            else:
                seconds = clock() - started
                health = ComponentHealth(Status.OK, f"{name} reachable ({seconds * 1000:.0f} ms)", seconds)
            last = (clock(), health)
            return health

    return probe

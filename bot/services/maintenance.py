"""Runs history retention (`storage.retention`) shortly after start-up and then every hour."""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog

from bot.periodic import Periodic
from storage.retention import HistoryRetention

log = structlog.get_logger(__name__)

RETENTION_INTERVAL_SECONDS = 3600.0
# Not at once: start-up (recovery, catch-up) should not queue behind a large first clean-up.
FIRST_RUN_AFTER_SECONDS = 60.0


class HistoryMaintenance:
    def __init__(
        self,
        retention: HistoryRetention,
        *,
        interval: float = RETENTION_INTERVAL_SECONDS,
        first_delay: float = FIRST_RUN_AFTER_SECONDS,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._retention = retention
        self._wall_clock = wall_clock
        self._periodic = Periodic("history-retention", interval, self.run_once, first_delay=first_delay)

    async def start(self) -> None:
        await self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()

    async def run_once(self) -> None:
        started = time.perf_counter()
        result = await self._retention.run(self._wall_clock())
        log.info(
            "history.retention",
            orders_deleted=result.orders_deleted,
            signals_deleted=result.signals_deleted,
            seconds=round(time.perf_counter() - started, 3),
        )

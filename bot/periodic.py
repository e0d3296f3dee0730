"""An owned background task that runs a job on a fixed interval until stopped."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)


class Periodic:
    """Runs `job` every `interval` seconds; a failing run is logged and the next one runs as usual."""

    def __init__(
        self, name: str, interval: float, job: Callable[[], Awaitable[object]], *, first_delay: float | None = None
    ) -> None:
        """`first_delay` (default: `interval`) is the wait before the first run."""
        self.name = name
        self.interval = interval
        self._job = job
        self._first_delay = interval if first_delay is None else first_delay
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        delay = self._first_delay
        while True:
            await asyncio.sleep(delay)
            delay = self.interval
            try:
                await self._job()
            except Exception:
                log.exception("periodic.failed", task=self.name)

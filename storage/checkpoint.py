"""WAL checkpoints on a connection of their own, so a commit never waits for one.

SQLite's default has the connection that commits copy the WAL back into the database file once the WAL
passes 1,000 pages. At 500 signals/s that was every ~75 ms, and each checkpoint held the writer 6-8 ms:
the signals behind it were the slowest 3 % (p99 5.8 ms; 2.8 ms with this checkpointer, and 1.2 ms with no
checkpoint at all, docs/benchmarks.md). A PASSIVE checkpoint here, on its own connection and thread, copies
while the writer goes on appending; the writer's own auto-checkpoint stays only as a bound on the WAL should
this one stop.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite
import structlog

from bot.periodic import Periodic

log = structlog.get_logger(__name__)

CHECKPOINT_INTERVAL_SECONDS = 0.1
# The writer checkpoints by itself past this many WAL pages (~40 MB): never while the checkpointer keeps up.
WRITER_AUTOCHECKPOINT_PAGES = 10_000


class WalCheckpointer:
    """Copies committed WAL frames into the database file every `interval` seconds.

    Short, frequent checkpoints: each copies what ~0.1 s of commits wrote, and once one has copied
    everything the writer starts the WAL over, so the file stays a few MB.
    """

    def __init__(self, path: Path, *, interval: float = CHECKPOINT_INTERVAL_SECONDS) -> None:
        self._path = path
        self._conn: aiosqlite.Connection | None = None
        self._failing: str | None = None  # the error of the failures in a row, said once
        self._periodic = Periodic("wal-checkpoint", interval, self._checkpoint_reporting_changes)

    async def start(self) -> None:
        self._conn = await aiosqlite.connect(self._path, isolation_level=None)
        await self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _checkpoint_reporting_changes(self) -> None:
        """A failing checkpoint is logged when it starts failing and when it works again, not ten times a
        second: the writes fail too then, and their errors are the ones to read."""
        try:
            await self.checkpoint()
        except sqlite3.Error as exc:
            if str(exc) != self._failing:
                log.warning("db.checkpoint_failed", error=str(exc))
                self._failing = str(exc)
            return
        if self._failing is not None:
            log.info("db.checkpoint_recovered", error=self._failing)
            self._failing = None

    async def checkpoint(self) -> tuple[int, int]:
        """One PASSIVE checkpoint: it never waits for the writer or a reader, and copies what it can.

        Returns (frames in the WAL, frames copied to the database file).
        """
        if self._conn is None:
            raise RuntimeError("checkpointer is not started")
        async with self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)") as cursor:
            row = await cursor.fetchone()
        assert row is not None  # the pragma always answers one row
        _busy, in_wal, copied = (int(value) for value in row)
        return in_wal, copied

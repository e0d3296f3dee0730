"""Batches frequent small writes (activity counters, catch-up marks) into one transaction per flush.

Counting every chatter message with its own commit would cost more than handling the message; here a
message costs a dict update and the database sees one upsert per (minute, source, name) per flush.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable

from bot.periodic import Periodic
from storage.database import Database, Params
from storage.state import last_message_key

FlushObserver = Callable[[float, int], None]


class BatchWriter:
    def __init__(self, db: Database, *, flush_interval: float = 1.0, on_flush: FlushObserver | None = None) -> None:
        self._db = db
        self._on_flush = on_flush
        self._counts: defaultdict[tuple[int, str, str], int] = defaultdict(int)
        self._last_messages: dict[str, int] = {}
        self._statements: list[tuple[str, Params]] = []
        # A failed flush is logged by Periodic; its batch stays queued and is retried on the next tick.
        self._periodic = Periodic("batch-writer", flush_interval, self.flush)
        self._flush_lock = asyncio.Lock()

    @property
    def depth(self) -> int:
        """Pending rows not yet committed (the `tradecord_db_queue_depth` gauge)."""
        return len(self._counts) + len(self._last_messages) + len(self._statements)

    def count(self, source: str, name: str, at: float | None = None, n: int = 1) -> None:
        minute = int((time.time() if at is None else at) // 60)
        self._counts[(minute, source, name)] += n

    def note_message(self, channel_id: str, message_id: int) -> None:
        """Remember the newest message seen in a channel, so a restart reads history from there."""
        if message_id > self._last_messages.get(channel_id, 0):
            self._last_messages[channel_id] = message_id

    def add(self, sql: str, params: Params = ()) -> None:
        self._statements.append((sql, params))

    async def flush(self) -> int:
        async with self._flush_lock:
            counts, self._counts = self._counts, defaultdict(int)
            marks, self._last_messages = self._last_messages, {}
            statements, self._statements = self._statements, []
            batch: list[tuple[str, Params]] = [
                (
                    "INSERT INTO activity (minute, source, name, count) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (minute, source, name) DO UPDATE SET count = count + excluded.count",
                    (minute, source, name, n),
                )
                for (minute, source, name), n in counts.items()
            ]
            batch += [
                (
                    "INSERT INTO bot_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value ="
                    " CASE WHEN CAST(excluded.value AS INTEGER) > CAST(value AS INTEGER) THEN excluded.value"
                    " ELSE value END",
                    (last_message_key(channel), str(message_id)),
                )
                for channel, message_id in marks.items()
            ]
            batch += statements
            if not batch:
                return 0
            started = time.perf_counter()
            try:
                await self._db.executemany(batch)
            except Exception:
                self._restore(counts, marks, statements)
                raise
            if self._on_flush is not None:
                self._on_flush(time.perf_counter() - started, len(batch))
            return len(batch)

    def _restore(
        self,
        counts: defaultdict[tuple[int, str, str], int],
        marks: dict[str, int],
        statements: list[tuple[str, Params]],
    ) -> None:
        """Put a failed batch back in front of what arrived meanwhile, so the next flush retries it."""
        for key, n in counts.items():
            self._counts[key] += n
        for channel, message_id in marks.items():
            self.note_message(channel, message_id)
        self._statements[:0] = statements

    async def start(self) -> None:
        await self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()
        await self.flush()

"""Batches frequent small writes (activity counters, latency histogram, rejection reasons, catch-up marks,
system samples) into one transaction per flush.

Counting every chatter message with its own commit would cost more than handling the message; here a
message costs a dict update and the database sees one upsert per (minute, source, name) per flush. Counters
are written at two resolutions, per minute and per hour, so long windows read hourly rows (`storage.slots`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import defaultdict
from collections.abc import Callable

from bot.periodic import Periodic
from storage.database import Database, Params
from storage.histogram import bucket_of
from storage.state import last_message_key

FlushObserver = Callable[[float, int], None]
Statement = tuple[str, Params]
# Rejection reasons are free text; a bound keeps one odd message from bloating the aggregate rows.
MAX_REASON_CHARS = 200
# Numbers in a reason (prices, sizes, ages) are masked, so one cause is one row however its values vary.
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?")
PERIODS = (60, 3600)

_UPSERT_ACTIVITY = (
    "INSERT INTO activity (minute, source, name, count) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (minute, source, name) DO UPDATE SET count = count + excluded.count"
)
_UPSERT_ACTIVITY_HOURLY = (
    "INSERT INTO activity_hourly (hour, source, name, count) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (hour, source, name) DO UPDATE SET count = count + excluded.count"
)
_UPSERT_LATENCY = (
    "INSERT INTO latency_histogram (period, slot, bucket, count) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (period, slot, bucket) DO UPDATE SET count = count + excluded.count"
)
_UPSERT_REJECTION = (
    "INSERT INTO rejections (period, slot, reason, count) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (period, slot, reason) DO UPDATE SET count = count + excluded.count"
)


def rejection_key(reason: str) -> str:
    """'order notional 1500.00 exceeds risk.max_order_notional (1000)' -> 'order notional # exceeds ... (#)'."""
    return _NUMBER.sub("#", reason)[:MAX_REASON_CHARS]


def _minute(at: float | None) -> int:
    return int((time.time() if at is None else at) // 60)


def _per_period(counts: dict[tuple[int, int | str], int], sql: str) -> list[Statement]:
    """Upserts of {(minute, key): n} as per-minute and per-hour rows."""
    rows: defaultdict[tuple[int, int, int | str], int] = defaultdict(int)
    for (minute, key), n in counts.items():
        for period in PERIODS:
            rows[(period, minute * 60 // period, key)] += n
    return [(sql, (period, slot, key, n)) for (period, slot, key), n in rows.items()]


class BatchWriter:
    def __init__(self, db: Database, *, flush_interval: float = 1.0, on_flush: FlushObserver | None = None) -> None:
        self._db = db
        self._on_flush = on_flush
        self._counts: defaultdict[tuple[int, str, str], int] = defaultdict(int)
        self._latency: defaultdict[tuple[int, int | str], int] = defaultdict(int)
        self._rejections: defaultdict[tuple[int, int | str], int] = defaultdict(int)
        self._last_messages: dict[str, int] = {}
        self._statements: list[tuple[str, Params]] = []
        # A failed flush is logged by Periodic; its batch stays queued and is retried on the next tick.
        self._periodic = Periodic("batch-writer", flush_interval, self.flush)
        self._flush_lock = asyncio.Lock()
        self._in_flight: asyncio.Future[None] | None = None

    @property
    def depth(self) -> int:
        """Pending rows not yet committed (the `tradecord_db_queue_depth` gauge)."""
        return (
            len(self._counts)
            + len(self._latency)
            + len(self._rejections)
            + len(self._last_messages)
            + len(self._statements)
        )

    def count(self, source: str, name: str, at: float | None = None, n: int = 1) -> None:
        self._counts[(_minute(at), source, name)] += n

    def observe_latency(self, seconds: float, at: float | None = None) -> None:
        """Count one signal-to-order latency in the stored histogram (`storage.histogram`)."""
        self._latency[(_minute(at), bucket_of(seconds))] += 1

    def count_rejection(self, reason: str, at: float | None = None) -> None:
        """Count one refused signal under its reason (numbers shown as #), for `/stats` top rejections."""
        self._rejections[(_minute(at), rejection_key(reason))] += 1

    def note_message(self, channel_id: str, message_id: int) -> None:
        """Remember the newest message seen in a channel, so a restart reads history from there."""
        if message_id > self._last_messages.get(channel_id, 0):
            self._last_messages[channel_id] = message_id

    def add(self, sql: str, params: Params = ()) -> None:
        self._statements.append((sql, params))

    async def flush(self) -> int:
        async with self._flush_lock:
            counts, self._counts = self._counts, defaultdict(int)
            latency, self._latency = self._latency, defaultdict(int)
            rejections, self._rejections = self._rejections, defaultdict(int)
            marks, self._last_messages = self._last_messages, {}
            statements, self._statements = self._statements, []
            batch = _activity_rows(counts)
            batch += _per_period(latency, _UPSERT_LATENCY)
            batch += _per_period(rejections, _UPSERT_REJECTION)
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

            async def commit() -> None:
                started = time.perf_counter()
                try:
                    await self._db.executemany(batch)
                except Exception:
                    self._restore(counts, marks, statements)
                    _merge(self._latency, latency)  # the two histogram-like batches go back the same way
                    _merge(self._rejections, rejections)
                    raise
                if self._on_flush is not None:
                    self._on_flush(time.perf_counter() - started, len(batch))

            # Shielded: stopping the timer mid-flush (at shutdown) must neither lose this batch nor leave it
            # half-known; the write finishes and the final flush in `stop` writes whatever came after it.
            self._in_flight = asyncio.ensure_future(commit())
            await asyncio.shield(self._in_flight)
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
        if self._in_flight is not None:
            # A failed write has put its batch back already; the flush below retries it.
            with contextlib.suppress(Exception):
                await self._in_flight
        await self.flush()


def _activity_rows(counts: dict[tuple[int, str, str], int]) -> list[Statement]:
    hourly: defaultdict[tuple[int, str, str], int] = defaultdict(int)
    for (minute, source, name), n in counts.items():
        hourly[(minute // 60, source, name)] += n
    rows: list[Statement] = [(_UPSERT_ACTIVITY, (*key, n)) for key, n in counts.items()]
    return rows + [(_UPSERT_ACTIVITY_HOURLY, (*key, n)) for key, n in hourly.items()]


def _merge(into: defaultdict[tuple[int, int | str], int], counts: dict[tuple[int, int | str], int]) -> None:
    for key, n in counts.items():
        into[key] += n

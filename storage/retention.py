"""Keeps the database bounded: prunes history past its resolution's horizon, rolls system samples older than
two days into hourly averages, and deletes settled signal and order rows older than `storage.retention_days`.

Counters are already written per hour as well as per minute (`storage.writer`), so dropping old minute rows
loses resolution, never counts. Raw rows go in small transactions so live writes interleave with a large
clean-up instead of waiting behind it.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from bot.domain import OrderStatus
from storage.database import Database
from storage.signals import PENDING
from storage.slots import HOUR, MINUTE

DAY = 86400
# Raw system samples serve the 24 h series (15-minute steps); beyond two days hourly averages are enough.
RAW_SAMPLE_DAYS = 2.0
_PERIOD_TABLES = ("latency_histogram", "rejections", "order_statuses")
# Tables whose rows point at a signal (foreign keys): emptied for a signal before it is deleted.
_SIGNAL_CHILDREN = ("signal_events",)
_TERMINAL = tuple(status.value for status in OrderStatus if status.is_terminal)


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    raw_days: float  # settled signals and orders
    minute_days: float  # per-minute history; hourly beyond
    hourly_days: float  # per-hour history


@dataclass(frozen=True, slots=True)
class RetentionResult:
    orders_deleted: int
    signals_deleted: int


class HistoryRetention:
    def __init__(self, db: Database, policy: RetentionPolicy, *, batch_rows: int = 2000) -> None:
        self._db = db
        self._policy = policy
        self._batch_rows = batch_rows

    async def run(self, now: float) -> RetentionResult:
        await self.prune_history(now)
        await self.roll_up_system_samples(now)
        return await self.delete_raw_rows(now)

    async def prune_history(self, now: float) -> None:
        """Drop minute rows past `minute_days` and hour rows past `hourly_days`."""
        minute_cutoff = _hour_start(now - self._policy.minute_days * DAY)
        hour_cutoff = _hour_start(now - self._policy.hourly_days * DAY)
        statements: list[tuple[str, tuple[float | int, ...]]] = [
            ("DELETE FROM activity WHERE minute < ?", (minute_cutoff // MINUTE,)),
            ("DELETE FROM activity_hourly WHERE hour < ?", (hour_cutoff // HOUR,)),
            ("DELETE FROM system_samples WHERE at < ?", (hour_cutoff,)),
        ]
        for table in _PERIOD_TABLES:
            statements.append((f"DELETE FROM {table} WHERE period = ? AND slot < ?", (MINUTE, minute_cutoff // MINUTE)))
            statements.append((f"DELETE FROM {table} WHERE period = ? AND slot < ?", (HOUR, hour_cutoff // HOUR)))
        await self._db.executemany(statements)

    async def roll_up_system_samples(self, now: float) -> None:
        """Samples older than two days become one row per hour holding their averages."""
        cutoff = _hour_start(now - min(RAW_SAMPLE_DAYS, self._policy.minute_days) * DAY)
        await self._db.executemany(
            [
                (
                    "INSERT INTO system_samples (at, period, memory_mb, cpu_percent, loop_lag_ms, discord_latency_ms)"
                    " SELECT CAST(at / 3600 AS INTEGER) * 3600, 3600, AVG(memory_mb), AVG(cpu_percent),"
                    " AVG(loop_lag_ms), AVG(discord_latency_ms) FROM system_samples"
                    " WHERE period < 3600 AND at < ? GROUP BY CAST(at / 3600 AS INTEGER)",
                    (cutoff,),
                ),
                ("DELETE FROM system_samples WHERE period < 3600 AND at < ?", (cutoff,)),
            ]
        )

    async def delete_raw_rows(self, now: float) -> RetentionResult:
        """Delete settled orders, then signals left with no order, older than `raw_days`.

        Open orders and pending signals are kept whatever their age: they are still being worked on.
        """
        cutoff = now - self._policy.raw_days * DAY
        orders = signals = 0
        while (deleted := await self._delete_orders(cutoff)) > 0:
            orders += deleted
            await asyncio.sleep(0)
        while (deleted := await self._delete_signals(cutoff)) > 0:
            signals += deleted
            await asyncio.sleep(0)
        return RetentionResult(orders, signals)

    async def _delete_orders(self, cutoff: float) -> int:
        marks = ", ".join("?" for _ in _TERMINAL)
        return await self._db.execute(
            "DELETE FROM orders WHERE rowid IN (SELECT rowid FROM orders WHERE created_at < ?"
            f" AND status IN ({marks}) LIMIT ?)",
            (cutoff, *_TERMINAL, self._batch_rows),
        )

    async def _delete_signals(self, cutoff: float) -> int:
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "SELECT id FROM signals WHERE received_at < ? AND outcome != ?"
                " AND NOT EXISTS (SELECT 1 FROM orders WHERE orders.signal_id = signals.id) LIMIT ?",
                (cutoff, PENDING, self._batch_rows),
            )
            ids = json.dumps([row[0] for row in await cursor.fetchall()])
            for table in _SIGNAL_CHILDREN:
                await conn.execute(f"DELETE FROM {table} WHERE signal_id IN (SELECT value FROM json_each(?))", (ids,))
            cursor = await conn.execute("DELETE FROM signals WHERE id IN (SELECT value FROM json_each(?))", (ids,))
            return cursor.rowcount


def _hour_start(at: float) -> int:
    return int(at // HOUR) * HOUR

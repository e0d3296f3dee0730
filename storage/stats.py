"""Read-only queries behind `/stats`; they run on the reader connection and never block writers."""

from __future__ import annotations

from datetime import datetime

from bot.domain import Outcome
from storage.codec import time_to_db
from storage.database import Database

REJECTED_OUTCOMES = (Outcome.RISK_REJECTED, Outcome.INVALID, Outcome.FAILED, Outcome.UNAUTHORIZED)


class StatsQueries:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def activity_since(self, since: datetime) -> dict[str, int]:
        """Counter totals since `since` (minute resolution), summed over sources."""
        rows = await self._db.fetchall(
            "SELECT name, SUM(count) FROM activity WHERE minute >= ? GROUP BY name",
            (int(time_to_db(since) // 60),),
        )
        return {row[0]: int(row[1]) for row in rows}

    async def orders_by_status_since(self, since: datetime) -> dict[str, int]:
        rows = await self._db.fetchall(
            "SELECT status, COUNT(*) FROM orders WHERE created_at >= ? GROUP BY status", (time_to_db(since),)
        )
        return {row[0]: int(row[1]) for row in rows}

    async def latencies_since(self, since: datetime) -> list[float]:
        """Signal-to-order latencies of executed signals, ascending."""
        rows = await self._db.fetchall(
            "SELECT latency_seconds FROM signals WHERE received_at >= ? AND outcome = ?"
            " AND latency_seconds IS NOT NULL ORDER BY latency_seconds",
            (time_to_db(since), Outcome.EXECUTED.value),
        )
        return [float(row[0]) for row in rows]

    async def top_rejections_since(self, since: datetime, limit: int = 5) -> list[tuple[str, int]]:
        placeholders = ", ".join("?" for _ in REJECTED_OUTCOMES)
        rows = await self._db.fetchall(
            f"SELECT reason, COUNT(*) AS n FROM signals WHERE received_at >= ? AND outcome IN ({placeholders})"
            " AND reason IS NOT NULL GROUP BY reason ORDER BY n DESC, reason LIMIT ?",
            (time_to_db(since), *(o.value for o in REJECTED_OUTCOMES), limit),
        )
        return [(str(row[0]), int(row[1])) for row in rows]

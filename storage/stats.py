"""Read-only queries behind `/stats` and the health thresholds; they run on the reader connection.

Every query sums pre-aggregated per-minute/per-hour rows (`storage.slots`), never the raw signal or order
rows, so its cost depends on the window's length, not on how many signals it holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bot.domain import Outcome
from storage.codec import time_to_db
from storage.database import Database
from storage.slots import HOUR, MINUTE, SlotSpan, window_spans

REJECTED_OUTCOMES = (Outcome.RISK_REJECTED, Outcome.INVALID, Outcome.FAILED, Outcome.UNAUTHORIZED)


def union_sql(spans: Sequence[SlotSpan], minute_sql: str, hour_sql: str) -> tuple[str, list[int]]:
    """One `UNION ALL` of `minute_sql`/`hour_sql` (each ending in `BETWEEN ? AND ?`) over the spans."""
    parts, params = [], []
    for span in spans:
        parts.append(minute_sql if span.period == MINUTE else hour_sql)
        params += [span.first, span.last]
    return " UNION ALL ".join(parts), params


def _period_sql(table: str, columns: str, period: int) -> str:
    return f"SELECT {columns} FROM {table} WHERE period = {period} AND slot BETWEEN ? AND ?"


class StatsQueries:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def _sum_by(self, table: str, key: str, spans: Sequence[SlotSpan]) -> dict[str | int, int]:
        """{key: SUM(count)} over a period-keyed aggregate table."""
        if not spans:
            return {}
        columns = f"{key} AS k, count"
        inner, params = union_sql(spans, _period_sql(table, columns, MINUTE), _period_sql(table, columns, HOUR))
        rows = await self._db.fetchall(f"SELECT k, SUM(count) FROM ({inner}) GROUP BY k", params)
        return {row[0]: int(row[1]) for row in rows}

    async def activity(self, since: datetime, until: datetime) -> dict[str, int]:
        """Counter totals (messages, outcomes, parse results, throttled) summed over sources."""
        spans = window_spans(time_to_db(since), time_to_db(until))
        if not spans:
            return {}
        inner, params = union_sql(
            spans,
            "SELECT name, count FROM activity WHERE minute BETWEEN ? AND ?",
            "SELECT name, count FROM activity_hourly WHERE hour BETWEEN ? AND ?",
        )
        rows = await self._db.fetchall(f"SELECT name, SUM(count) FROM ({inner}) GROUP BY name", params)
        return {str(row[0]): int(row[1]) for row in rows}

    async def activity_since(self, since: datetime) -> dict[str, int]:
        """Counter totals from `since` to now."""
        return await self.activity(since, datetime.now(UTC))

    async def orders_by_status(self, since: datetime, until: datetime) -> dict[str, int]:
        """Orders created in the window by their current status (kept by triggers on `orders`)."""
        totals = await self._sum_by("order_statuses", "status", window_spans(time_to_db(since), time_to_db(until)))
        return {str(status): n for status, n in totals.items() if n}

    async def latency_buckets(self, since: datetime, until: datetime) -> dict[int, int]:
        """{histogram bucket: executed signals} in the window (`storage.histogram`)."""
        totals = await self._sum_by("latency_histogram", "bucket", window_spans(time_to_db(since), time_to_db(until)))
        return {int(bucket): n for bucket, n in totals.items()}

    async def top_rejections(self, since: datetime, until: datetime, limit: int = 5) -> list[tuple[str, int]]:
        """The most frequent reasons signals were refused (risk, invalid, failed, unauthorized)."""
        spans = window_spans(time_to_db(since), time_to_db(until))
        if not spans:
            return []
        columns = "reason, count"
        inner, params = union_sql(
            spans, _period_sql("rejections", columns, MINUTE), _period_sql("rejections", columns, HOUR)
        )
        rows = await self._db.fetchall(
            f"SELECT reason, SUM(count) AS n FROM ({inner}) GROUP BY reason ORDER BY n DESC, reason LIMIT ?",
            [*params, limit],
        )
        return [(str(row[0]), int(row[1])) for row in rows]

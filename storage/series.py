"""Read-only queries behind `/api/series`: the history tables summed per step (e.g. per 15 minutes).

Steps shorter than an hour read per-minute rows; hour-multiples read per-hour rows. A point is keyed by
its step index, `epoch seconds // step`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from storage.database import Database
from storage.slots import HOUR, MINUTE

Counts = dict[int, dict[str, int]]


@dataclass(frozen=True, slots=True)
class SystemAverages:
    memory_mb: float | None
    cpu_percent: float | None
    loop_lag_ms: float | None


def _period(step: int) -> int:
    return HOUR if step % HOUR == 0 else MINUTE


def _slots(start: float, end: float, period: int) -> tuple[int, int]:
    return int(start // period), int(end // period)


class SeriesQueries:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def _grouped(self, sql: str, params: list[float | int]) -> Counts:
        out: defaultdict[int, dict[str, int]] = defaultdict(dict)
        for row in await self._db.fetchall(sql, params):
            out[int(row[0])][str(row[1])] = int(row[2])
        return dict(out)

    async def activity(self, start: float, end: float, step: int) -> Counts:
        """{step index: {counter name: total}} over sources."""
        period = _period(step)
        table, column = ("activity", "minute") if period == MINUTE else ("activity_hourly", "hour")
        first, last = _slots(start, end, period)
        return await self._grouped(
            f"SELECT {column} * {period} / ? AS s, name, SUM(count) FROM {table}"
            f" WHERE {column} BETWEEN ? AND ? GROUP BY s, name",
            [step, first, last],
        )

    async def _period_table(self, table: str, key: str, start: float, end: float, step: int) -> Counts:
        period = _period(step)
        first, last = _slots(start, end, period)
        return await self._grouped(
            f"SELECT slot * {period} / ? AS s, {key}, SUM(count) FROM {table}"
            f" WHERE period = {period} AND slot BETWEEN ? AND ? GROUP BY s, {key}",
            [step, first, last],
        )

    async def order_statuses(self, start: float, end: float, step: int) -> Counts:
        """{step index: {order status: orders created in the step}}."""
        return await self._period_table("order_statuses", "status", start, end, step)

    async def latency_buckets(self, start: float, end: float, step: int) -> dict[int, dict[int, int]]:
        """{step index: {histogram bucket: count}}."""
        counts = await self._period_table("latency_histogram", "bucket", start, end, step)
        return {s: {int(bucket): n for bucket, n in buckets.items()} for s, buckets in counts.items()}

    async def system(self, start: float, end: float, step: int) -> dict[int, SystemAverages]:
        """{step index: averages of the system samples taken in the step}."""
        rows = await self._db.fetchall(
            "SELECT CAST(at / ? AS INTEGER) AS s, AVG(memory_mb), AVG(cpu_percent), AVG(loop_lag_ms)"
            " FROM system_samples WHERE at >= ? AND at < ? GROUP BY s",
            [step, start, end],
        )
        return {int(row[0]): SystemAverages(row[1], row[2], row[3]) for row in rows}

"""Retention and downsampling keep the database bounded without changing what long windows report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.services.stats import StatsService, Window
from storage.database import Database
from storage.retention import HistoryRetention, RetentionPolicy
from storage.samples import SystemSample, queue_sample
from storage.stats import StatsQueries
from storage.writer import BatchWriter

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
POLICY = RetentionPolicy(raw_days=30, minute_days=7, hourly_days=60)
DAY = 86400


def ago(days: float) -> float:
    return (NOW - timedelta(days=days)).timestamp()


async def scalar(db: Database, sql: str) -> int:
    row = await db.fetchone(sql)
    assert row is not None
    return int(row[0])


async def test_minute_rows_go_after_the_minute_horizon_and_hour_rows_after_theirs(db: Database) -> None:
    """Minute rows older than 7 days and hour rows older than 60 days are deleted; the rest stay."""
    writer = BatchWriter(db)
    for days in (1, 10, 90):
        writer.count("discord", "messages_seen", at=ago(days))
        writer.observe_latency(0.01, at=ago(days))
        writer.count_rejection("no price", at=ago(days))
    await writer.flush()
    await HistoryRetention(db, POLICY).run(NOW.timestamp())
    assert await scalar(db, "SELECT COUNT(*) FROM activity") == 1
    assert await scalar(db, "SELECT COUNT(*) FROM activity_hourly") == 2
    for table in ("latency_histogram", "rejections"):
        assert await scalar(db, f"SELECT COUNT(*) FROM {table} WHERE period = 60") == 1
        assert await scalar(db, f"SELECT COUNT(*) FROM {table} WHERE period = 3600") == 2
    report = await StatsService(StatsQueries(db), lambda: NOW).report(Window.MONTH)
    assert report.messages_seen == 2 and report.latency_ms.samples == 2


async def test_old_system_samples_become_hourly_averages(db: Database) -> None:
    """Samples older than two days are replaced by one averaged row per hour; recent ones stay."""
    writer = BatchWriter(db)
    hour_start = (int(ago(3)) // 3600) * 3600
    for offset, memory in ((10, 100.0), (900, 200.0), (2000, 300.0)):
        queue_sample(writer, SystemSample(hour_start + offset, 15, memory, 10.0, 2.0, None))
    queue_sample(writer, SystemSample(ago(1), 15, 50.0, 1.0, 1.0, 30.0))
    await writer.flush()
    retention = HistoryRetention(db, POLICY)
    await retention.run(NOW.timestamp())
    await retention.run(NOW.timestamp())  # idempotent: rolled rows are not rolled again
    rows = await db.fetchall(
        "SELECT at, period, memory_mb, cpu_percent, discord_latency_ms FROM system_samples ORDER BY at"
    )
    assert [tuple(r) for r in rows] == [(hour_start, 3600, 200.0, 10.0, None), (ago(1), 15, 50.0, 1.0, 30.0)]


async def insert_signal(db: Database, signal_id: str, received: float, outcome: str) -> None:
    await db.execute(
        "INSERT INTO signals (id, source, channel_id, message_id, author_id, received_at, text, outcome, updated_at)"
        " VALUES (?, 'discord', '1', ?, '7', ?, 'BUY AAPL', ?, ?)",
        (signal_id, signal_id, received, outcome, received),
    )


async def insert_order(db: Database, signal_id: str, created: float, status: str) -> None:
    await db.execute(
        "INSERT INTO orders (client_order_id, signal_id, leg, broker, symbol, asset_class, side, type, quantity,"
        " time_in_force, status, created_at, updated_at) VALUES (?, ?, 1, 'paper', 'AAPL', 'equity', 'buy',"
        " 'market', '1', 'gtc', ?, ?, ?)",
        ("tc-" + signal_id, signal_id, status, created, created),
    )


async def test_settled_raw_rows_past_retention_are_deleted_and_working_ones_kept(db: Database) -> None:
    """Old settled signals (with their orders and trace events) go; open orders, pending and recent signals stay."""
    await insert_signal(db, "old-filled", ago(40), "executed")
    await insert_order(db, "old-filled", ago(40), "filled")
    await db.execute(
        "INSERT INTO signal_events (signal_id, step, at, detail) VALUES ('old-filled', 'received', ?, '{}')",
        (ago(40),),
    )
    await insert_signal(db, "old-chatter", ago(40), "invalid")
    await insert_signal(db, "old-resting", ago(40), "executed")
    await insert_order(db, "old-resting", ago(40), "accepted")
    await insert_signal(db, "old-pending", ago(40), "pending")
    await insert_signal(db, "recent", ago(2), "executed")
    await insert_order(db, "recent", ago(2), "filled")
    statuses_before = await StatsQueries(db).orders_by_status(NOW - timedelta(days=60), NOW)
    result = await HistoryRetention(db, POLICY, batch_rows=1).run(NOW.timestamp())
    assert (result.orders_deleted, result.signals_deleted) == (1, 2)
    kept = await db.fetchall("SELECT id FROM signals ORDER BY id")
    assert [r[0] for r in kept] == ["old-pending", "old-resting", "recent"]
    assert await scalar(db, "SELECT COUNT(*) FROM signal_events") == 0
    assert await StatsQueries(db).orders_by_status(NOW - timedelta(days=60), NOW) == statuses_before

"""History that survives restarts: what the intake and the orders leave in the aggregate tables, and the
/stats and /api/series figures computed from them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bot.domain import AssetClass, CloseSignal, OpenSignal, Outcome, Side
from bot.services.intake import SignalIntake
from bot.services.series import SeriesService
from bot.services.stats import StatsService, Window
from storage.database import Database
from storage.histogram import bucket_of
from storage.paper import PaperBooks
from storage.samples import SystemSample, queue_sample
from storage.series import SeriesQueries
from storage.slots import HOUR, MINUTE, SlotSpan, window_spans
from storage.stats import StatsQueries
from storage.writer import BatchWriter
from tests.support import EnvelopeFactory, Pipeline

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def at(moment: datetime) -> float:
    return moment.timestamp()


def test_short_windows_read_minutes_at_the_edges_and_hours_in_between() -> None:
    """A 24 h window from 10:30 reads 10:30-10:59 by minute, whole hours, then the current hour by minute."""
    start, end = at(NOON.replace(hour=10, minute=30)), at(NOON.replace(hour=10, minute=30) + timedelta(days=1))
    spans = window_spans(start, end)
    first_minute = int(start // 60)
    assert spans[0] == SlotSpan(MINUTE, first_minute, first_minute + 29)
    assert spans[1] == SlotSpan(HOUR, (first_minute + 30) // 60, int(end // HOUR) - 1)
    assert spans[2] == SlotSpan(MINUTE, int(end // HOUR) * 60, int(end // 60))
    minutes = sum(s.last - s.first + 1 for s in spans if s.period == MINUTE) + 60 * (spans[1].last - spans[1].first + 1)
    assert minutes == 24 * 60 + 1  # the window's minutes, the current one included


def test_an_hour_window_inside_one_hour_is_read_by_minute_and_long_windows_by_hour() -> None:
    """Windows under an hour need no hourly rows; 7 d and 30 d windows start at the top of their first hour."""
    assert window_spans(at(NOON) + 60, at(NOON) + 600) == [
        SlotSpan(MINUTE, int(at(NOON) // 60) + 1, int(at(NOON) // 60) + 10)
    ]
    week = window_spans(at(NOON) - 7 * 86400 + 1800, at(NOON) + 1800)
    assert week == [SlotSpan(HOUR, int(at(NOON) // HOUR) - 7 * 24, int(at(NOON) // HOUR))]


async def test_writer_stores_latency_rejections_and_counters_per_minute_and_per_hour(db: Database) -> None:
    """One flush writes each batched fact as a per-minute row and a per-hour row, summed on repeat."""
    writer = BatchWriter(db)
    for seconds in (0.002, 0.002, 1.5):
        writer.observe_latency(seconds, at=at(NOON) + 5)
    writer.count_rejection("no price for NVDA", at=at(NOON) + 5)
    writer.count_rejection("no price for NVDA", at=at(NOON) + 65)
    writer.count("discord", "messages_seen", at=at(NOON) + 65)
    await writer.flush()
    minute, hour = int(at(NOON) // 60), int(at(NOON) // 3600)
    latency = await db.fetchall("SELECT period, slot, bucket, count FROM latency_histogram ORDER BY 1, 2, 3")
    assert [tuple(r) for r in latency] == [
        (60, minute, bucket_of(0.002), 2),
        (60, minute, bucket_of(1.5), 1),
        (3600, hour, bucket_of(0.002), 2),
        (3600, hour, bucket_of(1.5), 1),
    ]
    rejections = await db.fetchall("SELECT period, slot, count FROM rejections ORDER BY 1, 2")
    assert [tuple(r) for r in rejections] == [(60, minute, 1), (60, minute + 1, 1), (3600, hour, 2)]
    hourly = await db.fetchall("SELECT hour, name, count FROM activity_hourly")
    assert [tuple(r) for r in hourly] == [(hour, "messages_seen", 1)]


async def test_order_status_counts_follow_each_order_through_its_updates(db: Database) -> None:
    """Triggers keep orders-by-status equal to the orders table, even when a status changes later."""
    created = at(NOON)
    await db.execute(
        "INSERT INTO signals (id, source, channel_id, message_id, author_id, received_at, text, outcome, updated_at)"
        " VALUES ('s-1', 'discord', '1', '1', '7', ?, 'BUY', 'executed', ?)",
        (created, created),
    )
    for leg, status in ((1, "accepted"), (2, "pending_submit")):
        await db.execute(
            "INSERT INTO orders (client_order_id, signal_id, leg, broker, symbol, asset_class, side, type, quantity,"
            " time_in_force, status, created_at, updated_at) VALUES (?, 's-1', ?, 'paper', 'AAPL', 'equity', 'buy',"
            " 'limit', '1', 'gtc', ?, ?, ?)",
            (f"tc-{leg}", leg, status, created, created),
        )
    await db.execute("UPDATE orders SET status = 'filled' WHERE client_order_id = 'tc-1'")
    await db.execute("UPDATE orders SET status = 'rejected' WHERE client_order_id = 'tc-2'")
    queries = StatsQueries(db)
    assert await queries.orders_by_status(NOON - timedelta(minutes=1), NOON + timedelta(minutes=1)) == {
        "filled": 1,
        "rejected": 1,
    }
    assert await queries.orders_by_status(NOON - timedelta(days=30), NOON + timedelta(hours=1)) == {
        "filled": 1,
        "rejected": 1,
    }


def intake_for(pipeline: Pipeline, writer: BatchWriter) -> SignalIntake:
    return SignalIntake(
        executor=pipeline.executor,
        signals=pipeline.signals,
        metrics=pipeline.metrics,
        writer=writer,
        clock=lambda: datetime.now(UTC),
    )


async def test_stats_report_counts_what_the_intake_handled(pipeline: Pipeline, make_envelope: EnvelopeFactory) -> None:
    """Messages, parse success, outcomes, orders, fill rate, latency and top rejections from one session."""
    writer = BatchWriter(pipeline.db)
    intake = intake_for(pipeline, writer)
    await intake.handle(make_envelope("good morning everyone"))
    await intake.handle(make_envelope("BUY AAPL 10 @ MKT"))
    await intake.handle(make_envelope("BUY TSLA 2 @ MKT", author_id="8"))
    await intake.handle(make_envelope("BUY AAPL 100 @ 150 SL 155 TP 160"))
    await intake.handle(make_envelope("BUY NVDA 5 @ MKT"))
    await intake.handle(make_envelope("BUY NVDA 6 @ MKT"))
    await intake.handle(make_envelope("SELL AAPL 1 @ MKT", authorized=False))
    stats = StatsService(StatsQueries(pipeline.db), lambda: datetime.now(UTC), flush=writer.flush)
    report = await stats.report(Window.HOUR)
    assert report.messages_seen == 7
    assert report.signals_by_outcome == {
        "not_a_signal": 1,
        "executed": 2,
        "invalid": 1,
        "failed": 2,
        "unauthorized": 1,
    }
    assert (report.parsed_valid, report.parsed_invalid) == (5, 1)
    assert report.parse_success_rate == 5 / 6
    assert report.orders_by_status == {"filled": 2, "rejected": 2}
    assert report.orders_sent == 4 and report.fill_rate == 0.5
    assert report.latency_ms.samples == 2
    assert report.latency_ms.p50 is not None and report.latency_ms.p99 is not None
    (top_reason, top_count), *_ = report.top_rejections
    assert top_count == 2 and "NVDA" in top_reason
    assert sum(count for _, count in report.top_rejections) == 4


async def test_counts_older_than_the_minute_history_still_count_in_long_windows(db: Database) -> None:
    """A week-old hour has no minute rows left, but its hourly rows keep it in /stats 30d."""
    now = NOON
    writer = BatchWriter(db)
    writer.count("discord", "messages_seen", at=at(now - timedelta(days=10)), n=5)
    writer.count("discord", "outcome.executed", at=at(now - timedelta(days=10)), n=2)
    writer.observe_latency(0.25, at=at(now - timedelta(days=10)))
    writer.count("discord", "messages_seen", at=at(now - timedelta(minutes=5)), n=1)
    await writer.flush()
    await db.execute("DELETE FROM activity WHERE minute < ?", (int(at(now - timedelta(days=7)) // 60),))
    await db.execute("DELETE FROM latency_histogram WHERE period = 60")
    stats = StatsService(StatsQueries(db), lambda: now)
    month, hour = await stats.report(Window.MONTH), await stats.report(Window.HOUR)
    assert month.messages_seen == 6 and month.signals_by_outcome == {"executed": 2}
    assert month.latency_ms.samples == 1
    assert month.latency_ms.p50 is not None and 230 < month.latency_ms.p50 < 260
    assert hour.messages_seen == 1 and hour.latency_ms.samples == 0 and hour.latency_ms.p99 is None


async def test_series_has_one_point_per_step_oldest_first_with_gaps_zeroed(db: Database) -> None:
    """1h is 60 one-minute points ending with the current minute; counts and samples land in their minute."""
    now = NOON + timedelta(seconds=30)
    writer = BatchWriter(db)
    ten_ago = at(NOON - timedelta(minutes=10)) + 1
    writer.count("discord", "messages_seen", at=ten_ago, n=3)
    writer.count("discord", "outcome.executed", at=ten_ago)
    writer.count("discord", "outcome.not_a_signal", at=ten_ago, n=2)
    writer.count("discord", "outcome.risk_rejected", at=ten_ago)
    writer.count("broker", "ratelimit.throttled", at=ten_ago, n=4)
    writer.observe_latency(0.004, at=ten_ago)
    for memory in (100.0, 200.0):
        queue_sample(writer, SystemSample(ten_ago, 15, memory, 12.5, 3.0, 40.0))
    await writer.flush()
    series = await SeriesService(SeriesQueries(db), lambda: now).series(Window.HOUR)
    assert series.step_seconds == 60 and len(series.points) == 60
    assert series.points[-1].at == NOON and series.points[0].at == NOON - timedelta(minutes=59)
    busy = series.points[-11]
    assert busy.at == NOON - timedelta(minutes=10)
    assert (busy.messages, busy.signals, busy.executed, busy.rejected, busy.throttled) == (3, 2, 1, 1, 4)
    assert busy.memory_mb == 150.0 and busy.cpu_percent == 12.5 and busy.loop_lag_ms == 3.0
    assert busy.latency_ms.p50 is not None and 3.5 < busy.latency_ms.p50 < 4.5
    quiet = series.points[-12]
    assert (quiet.messages, quiet.orders, quiet.memory_mb, quiet.latency_ms.p99) == (0, 0, None, None)


async def test_series_steps_per_window(db: Database) -> None:
    """24h has 96 quarter-hour points, 7d 168 hourly ones, 30d 180 four-hour ones, aligned to their step."""
    service = SeriesService(SeriesQueries(db), lambda: NOON + timedelta(minutes=7))
    for window, step, count in ((Window.DAY, 900, 96), (Window.WEEK, 3600, 168), (Window.MONTH, 14400, 180)):
        series = await service.series(window)
        assert series.step_seconds == step and len(series.points) == count
        assert all(int(p.at.timestamp()) % step == 0 for p in series.points)
        assert series.points[-1].at <= NOON + timedelta(minutes=7) < series.points[-1].at + timedelta(seconds=step)


async def test_pnl_since_uses_the_running_total_and_matches_the_sum_of_fills(
    pipeline: Pipeline, make_envelope: EnvelopeFactory
) -> None:
    """Realized PnL over a window equals the sum of the window's fills, read with two indexed look-ups."""
    started = datetime.now(UTC) - timedelta(seconds=1)
    await pipeline.executor.execute(
        make_envelope(), OpenSignal(Side.BUY, "AAPL", AssetClass.EQUITY, quantity=Decimal(10))
    )
    pipeline.quotes.set("AAPL", Decimal("155.5"))
    result = await pipeline.executor.execute(make_envelope(), CloseSignal("AAPL"))
    assert result.outcome is Outcome.EXECUTED
    books = PaperBooks(pipeline.db)
    rows = await pipeline.db.fetchall("SELECT realized_pnl FROM paper_fills WHERE filled_at >= ?", (at(started),))
    assert await books.realized_pnl_since(started) == sum((Decimal(r[0]) for r in rows), Decimal(0)) == Decimal(55)
    assert await books.realized_pnl_since(datetime.now(UTC) + timedelta(seconds=5)) == 0


async def test_rejection_reasons_differing_only_in_numbers_count_as_one(db: Database) -> None:
    """Prices and sizes vary per signal; the top rejections group the cause, with numbers shown as #."""
    writer = BatchWriter(db)
    for reason in (
        "order notional 1500.00 exceeds risk.max_order_notional (1000)",
        "order notional 2210.50 exceeds risk.max_order_notional (1000)",
        "no price for NVDA",
    ):
        writer.count_rejection(reason, at=at(NOON))
    await writer.flush()
    top = await StatsQueries(db).top_rejections(NOON - timedelta(hours=1), NOON + timedelta(minutes=1))
    assert top == [("order notional # exceeds risk.max_order_notional (#)", 2), ("no price for NVDA", 1)]

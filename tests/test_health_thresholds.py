"""Health thresholds: each component's status, value and threshold text from `[alerts]`-style limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.execution.token_bucket import LimiterStats
from bot.services.activity_probes import (
    BlockRateWindow,
    order_success_probe,
    ratelimit_block_probe,
    signal_latency_probe,
)
from bot.services.health import HealthReport, Status, above, below
from bot.services.probes import memory_probe
from storage.database import Database
from storage.stats import StatsQueries
from storage.writer import BatchWriter

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_higher_is_worse_thresholds_are_inclusive() -> None:
    """At the warning value it is a warning, at the critical value critical, below both ok."""
    assert above(0.99, 1.0, 5.0, "").status is Status.OK
    assert above(1.0, 1.0, 5.0, "").status is Status.WARNING
    assert above(5.0, 1.0, 5.0, "").status is Status.CRITICAL
    assert (
        above(2.0, 1.0, 5.0, "", fmt=lambda s: f"{s * 1000:g} ms").threshold == "warning ≥ 1000 ms · critical ≥ 5000 ms"
    )


def test_lower_is_worse_thresholds_are_strict() -> None:
    """95 % with a 95 % warning is ok; 94.9 % a warning; under 90 % critical."""
    assert below(0.95, 0.95, 0.90, "").status is Status.OK
    assert below(0.949, 0.95, 0.90, "").status is Status.WARNING
    health = below(0.85, 0.95, 0.90, "")
    assert (
        health.status is Status.CRITICAL
        and health.lower_is_worse
        and health.threshold == "warning < 0.95 · critical < 0.9"
    )


async def test_memory_probe_reports_resident_megabytes_against_its_thresholds() -> None:
    """A 1 MB warning threshold is always crossed by a running Python process; the text names both limits."""
    health = await memory_probe(1, 100_000)()
    assert health.status is Status.WARNING and health.value is not None and health.value > 1
    assert health.threshold == "warning ≥ 1 MB · critical ≥ 100000 MB"


async def test_signal_latency_is_ok_without_data_and_follows_the_recent_p99(db: Database) -> None:
    """No executed signal: ok with 'no data'; p99 of the last 5 minutes above 1 s: warning; above 5 s: critical."""
    writer = BatchWriter(db)
    probe = signal_latency_probe(StatsQueries(db), lambda: NOW, 1.0, 5.0, flush=writer.flush)
    idle = await probe()
    assert idle.status is Status.OK and idle.detail.startswith("no data") and idle.value is None
    assert idle.threshold == "warning ≥ 1000 ms · critical ≥ 5000 ms"
    writer.observe_latency(30.0, at=(NOW - timedelta(minutes=20)).timestamp())  # outside the 5 minutes
    for _ in range(98):
        writer.observe_latency(0.01, at=(NOW - timedelta(minutes=2)).timestamp())
    for _ in range(2):  # 2 % of the signals are slow, so the p99 is among them
        writer.observe_latency(2.0, at=(NOW - timedelta(minutes=1)).timestamp())
    slow = await probe()
    assert slow.status is Status.WARNING and slow.value is not None and 1.9 < slow.value < 2.3  # one bucket
    for _ in range(2):
        writer.observe_latency(8.0, at=(NOW - timedelta(minutes=1)).timestamp())
    assert (await probe()).status is Status.CRITICAL


async def add_order(db: Database, number: int, status: str, created: datetime) -> None:
    if number == 0:
        await db.execute(
            "INSERT INTO signals (id, source, channel_id, message_id, author_id, received_at, text, outcome,"
            " updated_at) VALUES ('s', 'discord', '1', '1', '7', 0, 'x', 'executed', 0)"
        )
    await db.execute(
        "INSERT INTO orders (client_order_id, signal_id, leg, broker, symbol, asset_class, side, type, quantity,"
        " time_in_force, status, created_at, updated_at) VALUES (?, 's', ?, 'paper', 'AAPL', 'equity', 'buy',"
        " 'market', '1', 'gtc', ?, ?, ?)",
        (f"tc-{number}", number, status, created.timestamp(), created.timestamp()),
    )


async def test_order_success_rate_counts_settled_orders_of_the_last_15_minutes(db: Database) -> None:
    """Rejected and failed orders are failures; unknown ones do not count yet; older ones are outside."""
    probe = order_success_probe(StatsQueries(db), lambda: NOW, 0.95, 0.90)
    assert (await probe()).detail.startswith("no data")
    recent = NOW - timedelta(minutes=3)
    statuses = ["filled"] * 17 + ["accepted", "rejected", "unknown"]
    for number, status in enumerate(statuses):
        await add_order(db, number, status, recent)
    await add_order(db, 99, "failed", NOW - timedelta(hours=2))
    health = await probe()
    assert health.value == 18 / 19 and health.status is Status.WARNING
    assert health.detail == "18 of 19 orders accepted over the last 15 min"
    await add_order(db, 100, "failed", recent)
    await add_order(db, 101, "failed", recent)
    assert (await probe()).status is Status.CRITICAL  # 18 of 21


async def test_block_rate_is_measured_over_the_last_five_minutes() -> None:
    """Throttled requests over all requests in the window; requests older than 5 minutes drop out."""
    clock = [0.0]
    stats = LimiterStats()
    window = BlockRateWindow(stats, 300.0, clock=lambda: clock[0])
    probe = ratelimit_block_probe(window, 0.10, 0.50)
    assert (await probe()).detail.startswith("no data")
    stats.acquired, stats.throttled = 10, 6
    clock[0] = 60.0
    busy = await probe()
    assert busy.status is Status.CRITICAL and busy.value == 0.6 and "6 of 10" in busy.detail
    clock[0] = 400.0
    stats.acquired, stats.throttled = 30, 7
    calmer = await probe()
    assert calmer.value == 1 / 20 and calmer.status is Status.OK


def test_overall_status_is_the_worst_component() -> None:
    """One warning makes the report degraded; a critical one makes it critical (HTTP 503)."""
    report = HealthReport({"a": above(1, 2, 3, ""), "b": above(2, 2, 3, "")})
    assert report.overall == "degraded"
    assert HealthReport({"a": above(3, 2, 3, "")}).overall == "critical"

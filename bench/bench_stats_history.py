"""History benchmark: `/stats` and `/api/series` over a database holding 1,000,000 recorded signals.

Run from the repository root:

    python bench/bench_stats_history.py                     # build /tmp/tradecord-bench.db (about 2 minutes), time
    python bench/bench_stats_history.py --reuse             # time again on the database already built
    python bench/bench_stats_history.py --signals 200000    # a smaller database
    python bench/bench_stats_history.py --update-docs       # also rewrite its section of docs/benchmarks.md

The database holds what 30 days of a busy bot leave: N signal rows (60 % executed, the rest refused,
invalid, failed, duplicate or unauthorized) with their orders and paper fills, twice as many chatter
messages, the aggregates the batched writer keeps (written through `BatchWriter`), a system sample every
15 s, and retention run once (minute rows past 7 days pruned, old samples rolled up). Each query is timed
`--rounds` times in the bot's own code path (`StatsService.report`, `SeriesService.series`), and
`GET /api/stats?window=30d` through the side server's app on a loopback port (the service plus routing, JSON
and the HTTP round trip); the figures are the median, p95 and max in milliseconds. The timing pass is
repeated `--runs` times and each figure is the median over the runs.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.metrics import Metrics  # noqa: E402
from bot.services.health import HealthService, Readiness  # noqa: E402
from bot.services.series import SeriesService  # noqa: E402
from bot.services.stats import StatsService, Window  # noqa: E402
from bot.web.app import SideServer, WebServices, make_app  # noqa: E402
from storage.database import Database  # noqa: E402
from storage.paper import PaperBooks  # noqa: E402
from storage.retention import HistoryRetention, RetentionPolicy  # noqa: E402
from storage.samples import SystemSample, queue_sample  # noqa: E402
from storage.series import SeriesQueries  # noqa: E402
from storage.stats import StatsQueries  # noqa: E402
from storage.writer import BatchWriter  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from common import BEFORE_NOTE, add_report_options, load, machine, median_of, publish  # noqa: E402
from common import command as command_line  # noqa: E402

from bot import event_loop  # noqa: E402

DAYS = 30
HEADING = "## History: /stats and /api/series"
OUTCOMES = (
    ("executed", 0.60, None),
    ("risk_rejected", 0.12, "order value {n} exceeds risk.max_order_notional 1000"),
    ("invalid", 0.10, "stop loss {n} is above the entry for a buy"),
    ("failed", 0.05, "no price for SYM{n}"),
    ("duplicate", 0.05, None),
    ("unauthorized", 0.08, "author has no trusted role"),
)
REASON_VARIANTS = 40  # distinct reasons per outcome, as symbols and sizes vary


def pick_outcome(rng: random.Random) -> tuple[str, str | None]:
    roll, total = rng.random(), 0.0
    for outcome, share, reason in OUTCOMES:
        total += share
        if roll < total:
            return outcome, None if reason is None else reason.format(n=rng.randrange(REASON_VARIANTS))
    return "executed", None


def build_raw_rows(
    path: Path, signals: int, now: float, rng: random.Random
) -> list[tuple[float, str, str | None, float]]:
    """Signals, orders (the order triggers fill `order_statuses`) and paper fills, in bulk."""
    start = now - DAYS * 86400
    events = []
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    realized = Decimal(0)
    with conn:
        for n in range(signals):
            at = start + (n + rng.random()) * (DAYS * 86400 / signals)
            outcome, reason = pick_outcome(rng)
            latency = rng.lognormvariate(-5.5, 1.0) if outcome == "executed" else 0.0
            events.append((at, outcome, reason, latency))
            conn.execute(
                "INSERT INTO signals (id, source, channel_id, message_id, author_id, received_at, text, kind,"
                " symbol, outcome, reason, latency_seconds, updated_at) VALUES (?, 'discord', '1', ?, '7', ?,"
                " 'BUY AAPL 1 @ MKT', 'open', 'AAPL', ?, ?, ?, ?)",
                (f"s-{n}", str(n), at, outcome, reason, latency or None, at),
            )
            if outcome != "executed":
                continue
            status = "filled" if rng.random() < 0.9 else rng.choice(("rejected", "accepted"))
            conn.execute(
                "INSERT INTO orders (client_order_id, signal_id, leg, broker, symbol, asset_class, side, type,"
                " quantity, time_in_force, status, created_at, updated_at) VALUES (?, ?, 1, 'paper', 'AAPL',"
                " 'equity', 'buy', 'market', '1', 'gtc', ?, ?, ?)",
                (f"tc-{n}", f"s-{n}", status, at, at),
            )
            if status == "filled":
                pnl = Decimal(rng.randrange(-500, 600)) / 100 if n % 2 else Decimal(0)
                realized += pnl
                conn.execute(
                    "INSERT INTO paper_fills (client_order_id, symbol, side, quantity, price, realized_pnl,"
                    " filled_at, kind, realized_pnl_total) VALUES (?, 'AAPL', 'buy', '1', '150', ?, ?, 'entry', ?)",
                    (f"tc-{n}", format(pnl, "f"), at, format(realized, "f")),
                )
        conn.execute(
            "INSERT INTO paper_account (id, cash, realized_pnl) VALUES (1, '100000', ?)"
            " ON CONFLICT (id) DO UPDATE SET realized_pnl = excluded.realized_pnl",
            (format(realized, "f"),),
        )
    conn.close()
    return events


async def build_aggregates(
    db: Database, events: list[tuple[float, str, str | None, float]], now: float, rng: random.Random
) -> None:
    """What the intake would have batched for those signals, through the real writer."""
    writer = BatchWriter(db)
    for index, (at, outcome, reason, latency) in enumerate(events, start=1):
        for _ in range(2):  # chatter between signals
            writer.count("discord", "messages_seen", at=at)
            writer.count("discord", "outcome.not_a_signal", at=at)
        writer.count("discord", "messages_seen", at=at)
        writer.count("discord", "outcome." + outcome, at=at)
        writer.count("discord", "parse.invalid" if outcome == "invalid" else "parse.valid", at=at)
        if outcome == "executed":
            writer.observe_latency(latency, at=at)
            if rng.random() < 0.02:
                writer.count("broker", "ratelimit.throttled", at=at)
        elif reason is not None and outcome != "duplicate":
            writer.count_rejection(reason, at=at)
        if index % 100_000 == 0:
            await writer.flush()
    sample_at = now - DAYS * 86400
    while sample_at < now:
        queue_sample(writer, SystemSample(sample_at, 15, 180 + rng.random() * 20, rng.random() * 30, 1.0, 40.0))
        sample_at += 15
    await writer.flush()


async def timed(rounds: int, call: Callable[[], Awaitable[object]]) -> list[float]:
    await call()  # warm the page cache once
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def migrate(path: Path) -> None:
    async with Database(path):
        pass


async def aggregate(
    path: Path, events: list[tuple[float, str, str | None, float]], now: float, rng: random.Random
) -> None:
    async with Database(path) as db:
        await build_aggregates(db, events, now, rng)
        await HistoryRetention(db, RetentionPolicy(90, 7, 400)).run(now)


def build(path: Path, signals: int, now: float) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    asyncio.run(migrate(path))
    rng = random.Random(20260301)
    events = build_raw_rows(path, signals, now, rng)
    asyncio.run(aggregate(path, events, now, rng))
    print(f"built {path} with {signals:,} signals in {time.perf_counter() - started:.0f} s")


async def measure(path: Path, rounds: int, *, show: bool) -> dict[str, dict[str, float]]:
    """One timing pass: {query: {median, p95, max}} in milliseconds."""
    async with Database(path) as db:
        if show:
            counts = {
                table: (await db.fetchone(f"SELECT COUNT(*) FROM {table}") or (0,))[0]
                for table in ("signals", "orders", "paper_fills", "activity", "activity_hourly", "latency_histogram",
                              "rejections", "order_statuses", "system_samples")
            }  # fmt: skip
            print("rows:", ", ".join(f"{table} {n:,}" for table, n in counts.items()))
        clock = lambda: datetime.now(UTC)  # noqa: E731
        stats = StatsService(StatsQueries(db), clock, pnl_since=PaperBooks(db).realized_pnl_since)
        series = SeriesService(SeriesQueries(db), clock)
        if show:
            report = await stats.report(Window.MONTH)
            latency = report.latency_ms
            print(
                f"/stats 30d: {report.signals_total:,} outcomes, {report.orders_total:,} orders, "
                f"p50/p95/p99 {latency.p50:.2f}/{latency.p95:.2f}/{latency.p99:.2f} ms, "
                f"pnl {report.pnl}, top rejection {report.top_rejections[0]}"
            )
        figures: dict[str, dict[str, float]] = {}
        for window in Window:
            figures[f"/stats {window.value}"] = figures_of(await timed(rounds, lambda w=window: stats.report(w)))
        for window in Window:
            figures[f"/api/series {window.value}"] = figures_of(await timed(rounds, lambda w=window: series.series(w)))
        services = WebServices(stats=stats, health=HealthService(), readiness=Readiness(), metrics=Metrics())
        async with SideServer(make_app(services), "127.0.0.1", 0) as server, aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{server.port}/api/stats?window=30d"

            async def get() -> None:
                async with http.get(url) as response:
                    assert response.status == 200, response.status
                    await response.read()

            figures["GET /api/stats?window=30d"] = figures_of(await timed(rounds, get))
        if show:
            for query, row in figures.items():
                print(
                    f"{query:>28}: median {row['median']:6.2f} ms · p95 {row['p95']:6.2f} ms · max {row['max']:6.2f} ms"
                )
        return figures


def figures_of(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "max": ordered[-1],
    }


def markdown(results: dict[str, Any], before: dict[str, Any] | None, command: str) -> str:
    old = (before or {}).get("queries", {})
    lines = [
        HEADING,
        "",
        f"Command: `{command}` (machine: {machine()}; {results['rounds']} rounds after one warm-up, medians of"
        f" {results['runs']} runs, through `StatsService.report` / `SeriesService.series` on the reader connection,"
        " and `/api/stats` over HTTP).",
        "",
        f"Database: {results['signals']:,} signal rows over 30 days (60 % executed with their orders and 90 % of those"
        " filled on paper), twice as many chatter messages, the aggregates the batched writer keeps, a system sample"
        " every 15 s, retention run once.",
        "",
        "| query | median | p95 | max |" + (" before: median |" if old else ""),
        "|---|---:|---:|---:|" + ("---:|" if old else ""),
    ]
    for query, row in results["queries"].items():
        previous = old.get(query)
        lines.append(
            f"| `{query}` | {row['median']:.1f} ms | {row['p95']:.1f} ms | {row['max']:.1f} ms |"
            + ((f" {previous['median']:.1f} ms |" if previous else " |") if old else "")
        )
    lines += [
        "",
        "No query reads the signal or order rows: each sums per-minute or per-hour aggregates, and PnL is two",
        "indexed look-ups (the running realized total).",
    ]
    if before:
        lines += ["", BEFORE_NOTE]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, default=Path("/tmp/tradecord-bench.db"))
    parser.add_argument("--signals", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3, help="timing passes; each figure is their median")
    parser.add_argument("--reuse", action="store_true", help="time the existing database, do not rebuild it")
    add_report_options(parser, HEADING)
    args = parser.parse_args()
    if not args.reuse:
        build(args.db, args.signals, time.time())
    runs = [event_loop.run(measure(args.db, args.rounds, show=n == 0)) for n in range(args.runs)]
    results = {
        "signals": args.signals,
        "rounds": args.rounds,
        "runs": args.runs,
        "queries": {query: median_of([run[query] for run in runs]) for query in runs[0]},
    }
    reuse = [f"--db {args.db} --reuse"] if args.reuse else []  # the database an earlier run of it built
    command = command_line("bench_stats_history.py", args, *reuse)
    publish(args, "stats", HEADING, results, markdown(results, load(args.baseline), command))


if __name__ == "__main__":
    main()

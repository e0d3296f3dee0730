"""Signal throughput and latency: trusted signals through the whole bot to the paper broker.

Run from the repository root:

    python bench/bench_signals.py                    # every scenario, 3 runs each, print the figures
    python bench/bench_signals.py --update-docs      # also rewrite the "## Signal throughput and latency" section

The Discord emulator (its own process, `discord_feeder.py`) posts market signals from a trusted provider
into four signal channels at a steady rate (100, 500, 1,000 and 2,000 a second, for 10 s; 3,000 a second,
more than the bot takes, so that its signals/s is what it sustains when saturated) or all at once (a burst
of 5,000). A steady run cannot show more than its offered rate (the last signals settle after the last is
posted), so the 2,000/s run says whether the bot keeps up and the 3,000/s run how far beyond it could go.
Each scenario starts a fresh Tradecord (open_runtime + bot.start as `bot.runner` does, an empty database,
the paper broker, logging JSON lines to a file) and waits until every signal is settled.
The bot replies and reacts to each signal as in production.

Latency is the contract's: from the moment the listener gets the message to the venue's answer to its
order (`signals.latency_seconds`, what `tradecord_signal_to_order_seconds` observes). "Post to ack" adds the
gateway and discord.py: from the emulator writing the frame to the signal being settled. Signals/s is
signals settled per second, from the first message received to the last settled; answered/s is the same
up to the last reaction on Discord (up to 500/s; above that the run does not wait for the answers). The
emulator's rate-limit headers never run out, so the bot sends its reactions as fast as its event loop lets
it (over 1,000 a second while taking 2,000 signals a second), where Discord would let a few a second per
channel through and the rest would wait in the bot's queue: with answers on, this benchmark has the bot do
more answering than Discord would. `--discord-reaction-limit` gives the bot's reactions Discord's bucket
instead (one every 0.25 s per channel): they wait in the bot's queue as in production, and the run does not
wait for them. Every figure is the median over `--runs` runs.

Each signal is one order (`BUY AAPL <n> @ MKT`, alternating with SELL, every size distinct so none is a
duplicate). The paper broker's token bucket is raised to 1,000,000/s: its default (1,000/s) is a stand-in
for a venue's limit and would otherwise be what is measured. `--writer-cpu any` runs the bot with
`storage.writer_cpu = "any"` instead of its default, "loop" (its figures go to a section of their own).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import discord

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from clients import bench_settings, log_to, tradecord
from common import LOOPS, add_report_options, load, machine, median_of, percentile, publish, run_on
from common import command as command_line
from discord_feeder import Feeder

from bot.metrics import Metrics
from bot.settings import StorageSettings

HEADING = "## Signal throughput and latency"
HEADING_SILENT = "## Signal throughput and latency, without answering on Discord"
BROKER = {"rate_per_second": 1_000_000, "burst": 1_000_000}
WRITER_CPU_FIELD = StorageSettings.model_fields["writer_cpu"]
WRITER_CPUS, DEFAULT_WRITER_CPU = get_args(WRITER_CPU_FIELD.annotation), WRITER_CPU_FIELD.default


@dataclass(frozen=True)
class Scenario:
    name: str
    signals: int
    rate: float | None  # None: a burst, every message queued at once


SCENARIOS = (
    Scenario("100/s", 1_000, 100.0),
    Scenario("500/s", 5_000, 500.0),
    Scenario("1,000/s", 10_000, 1_000.0),
    Scenario("2,000/s", 20_000, 2_000.0),
    Scenario("3,000/s", 30_000, 3_000.0),
    Scenario("burst", 5_000, None),
)
# Up to this rate the run also waits until every signal is answered on Discord (reply and reaction). Above
# it the answers fall behind the signals (each reaction is a REST request on the loop that takes them) and
# the bot is stopped with some still queued.
ANSWERED_UP_TO = 500.0
# `--discord-reaction-limit`: the emulator gives the bot's reactions Discord's bucket, one every 0.25 s per
# channel, so they wait in the bot's queue as they would in production (and the run never waits for them).
DISCORD_REACTION_INTERVAL = 0.25


def silence_answers() -> None:
    """`--answers off`: replies and reactions end before discord.py sends them, so the figures show the signal
    pipeline without the cost of answering on Discord (two REST requests a signal)."""

    async def dropped(*_args: object, **_kwargs: object) -> None:
        return None

    discord.PartialMessage.reply = dropped  # type: ignore[method-assign]
    discord.PartialMessage.add_reaction = dropped  # type: ignore[method-assign]


def texts(count: int, offset: int = 0) -> list[str]:
    return [f"{'BUY' if n % 2 else 'SELL'} AAPL {n} @ MKT" for n in range(offset + 1, offset + count + 1)]


def executed(metrics: Metrics) -> float:
    """The bot's own counter, read from its child (a registry collect per poll would cost the bot a scrape)."""
    return float(metrics.signals.labels("discord", "executed")._value.get())


async def settle(metrics: Metrics, target: int, timeout: float = 300) -> None:  # noqa: ASYNC109
    async with asyncio.timeout(timeout):
        while executed(metrics) < target:  # noqa: ASYNC110 - the bot's own counter, read in-process
            await asyncio.sleep(0.05)


async def run_scenario(
    feeder: Feeder, scenario: Scenario, workdir: Path, answers: bool, writer_cpu: str, wait_answered: bool
) -> dict[str, float]:
    world = feeder.world
    assert world is not None
    settings = bench_settings(world, workdir, broker=BROKER, storage={"writer_cpu": writer_cpu})
    async with tradecord(settings) as runtime:
        await feeder.wait_connected()
        metrics = runtime.services.metrics
        await feeder.ask({"do": "signals", "texts": texts(20, 1_000_000), "rate": 200})  # warm-up
        await settle(metrics, 20)
        cpu_started = time.process_time()
        sent = await feeder.ask({"do": "signals", "texts": texts(scenario.signals), "rate": scenario.rate})
        await settle(metrics, 20 + scenario.signals)
        cpu_seconds = time.process_time() - cpu_started
        answered_at = None
        if answers and wait_answered and scenario.rate is not None and scenario.rate <= ANSWERED_UP_TO:
            answered = await feeder.ask({"do": "wait_answered", "ids": [mid for mid, _ in sent["sent"]]})
            answered_at = answered["answered_at"]
    await feeder.wait_disconnected()
    summary = summarize(workdir / "tradecord.db", {str(mid): at for mid, at in sent["sent"]}, answered_at)
    summary["offered"] = sent["offered_per_second"]  # what the emulator managed to post (a burst: all at once)
    # The bot's CPU (every thread of this process; the emulator is another) per signal, posted to settled: steadier
    # than a rate between runs, so a step's saving shows even when the machine's noise hides it in signals/s.
    summary["cpu_us"] = cpu_seconds / scenario.signals * 1e6
    return summary


def summarize(db: Path, sent_at: dict[str, float], answered_at: float | None = None) -> dict[str, float]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT message_id, received_at, updated_at, latency_seconds, outcome FROM signals"
        ).fetchall()
    measured = [row for row in rows if row[0] in sent_at]
    failed = [row for row in measured if row[4] != "executed"]
    if failed or len(measured) != len(sent_at):
        raise RuntimeError(f"{len(failed)} signals not executed, {len(sent_at) - len(measured)} missing: {failed[:3]}")
    latency_ms = [row[3] * 1000 for row in measured]
    post_ms = [(row[2] - sent_at[row[0]]) * 1000 for row in measured]
    first_received = min(row[1] for row in measured)
    last_settled = max(row[2] for row in measured)
    summary = {
        "signals": len(measured),
        "throughput": len(measured) / (last_settled - first_received),
        "p50": percentile(latency_ms, 0.5),
        "p99": percentile(latency_ms, 0.99),
        "max": max(latency_ms),
        "post_p50": percentile(post_ms, 0.5),
        "post_p99": percentile(post_ms, 0.99),
    }
    if answered_at is not None:  # every signal's reply and reaction delivered to Discord
        summary["answered"] = len(measured) / (answered_at - first_received)
    return summary


async def run(
    runs: int, only: list[str] | None, answers: bool, writer_cpu: str, reaction_interval: float | None
) -> dict[str, Any]:
    scenarios = [s for s in SCENARIOS if only is None or s.name in only]
    results: dict[str, list[dict[str, float]]] = {s.name: [] for s in scenarios}
    with tempfile.TemporaryDirectory(prefix="tradecord-bench-") as tmp:
        log_to(Path(tmp) / "bot.log")
        for index in range(runs):
            for scenario in scenarios:
                workdir = Path(tmp) / f"{index}-{scenario.signals}-{scenario.rate}"
                workdir.mkdir()
                started = time.perf_counter()
                # A fresh emulator too: one that has served a big run keeps its messages and is slower after.
                async with Feeder(reaction_interval=reaction_interval) as feeder:
                    row = await run_scenario(
                        feeder, scenario, workdir, answers, writer_cpu, wait_answered=reaction_interval is None
                    )
                results[scenario.name].append(row)
                print(
                    f"run {index + 1} {scenario.name:>8}: offered {row['offered']:7,.0f}/s, {row['throughput']:7,.0f}"
                    " signals/s, latency p50"
                    f" {row['p50']:6.2f} ms p99 {row['p99']:7.2f} ms max {row['max']:7.2f} ms;"
                    f" answered {row.get('answered', 0):7,.0f}/s; post to ack p50"
                    f" {row['post_p50']:6.2f} ms p99 {row['post_p99']:7.2f} ms; CPU {row['cpu_us']:3.0f} µs/signal"
                    f" ({time.perf_counter() - started:.0f} s)",
                    flush=True,
                )
    return {"runs": runs, "scenarios": {name: median_of(rows) for name, rows in results.items()}}


def markdown(results: dict[str, Any], before: dict[str, Any] | None, command: str, heading: str = HEADING) -> str:
    lines = [
        heading,
        "",
        f"Command: `{command}` (machine: {machine(results['loop'])}; medians of {results['runs']} runs, a fresh"
        " emulator, bot and database each).",
        "",
        "| load | signals/s | latency p50 ms | p99 ms | max ms | post to ack p50 ms | p99 ms | answered/s |"
        + (" before: signals/s | p50 ms | p99 ms | max ms |" if before else ""),
        "|---|---:|---:|---:|---:|---:|---:|---:|" + ("---:|---:|---:|---:|" if before else ""),
    ]
    for scenario in SCENARIOS:
        row = results["scenarios"].get(scenario.name)
        if row is None:
            continue
        old = (before or {}).get("scenarios", {}).get(scenario.name)
        load_text = f"{scenario.signals:,} at {scenario.name}" if scenario.rate else f"burst of {scenario.signals:,}"
        answered = f"{row['answered']:,.0f}" if "answered" in row else "queued"
        line = (
            f"| {load_text} | {row['throughput']:,.0f} | {row['p50']:.2f} | {row['p99']:.2f} | {row['max']:.2f}"
            f" | {row['post_p50']:.2f} | {row['post_p99']:.2f} | {answered} |"
        )
        if before:
            line += (
                f" {old['throughput']:,.0f} | {old['p50']:.2f} | {old['p99']:.2f} | {old['max']:.2f} |"
                if old
                else " | | | |"
            )
        lines.append(line)
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="scenario names to run (100/s 500/s 1,000/s 2,000/s burst)")
    parser.add_argument("--loop", choices=LOOPS, default="auto", help="auto: the bot's own (uvloop when installed)")
    parser.add_argument("--answers", choices=("on", "off"), default="on", help="off: see silence_answers()")
    parser.add_argument(
        "--writer-cpu", choices=WRITER_CPUS, default=DEFAULT_WRITER_CPU, help="the bot's storage.writer_cpu"
    )
    parser.add_argument(
        "--discord-reaction-limit",
        action="store_true",
        help=f"the emulator limits the bot's reactions as Discord does (one every {DISCORD_REACTION_INTERVAL} s"
        " per channel); the run does not wait for answers",
    )
    add_report_options(parser, HEADING)
    args = parser.parse_args()
    if args.answers == "off":
        silence_answers()
    reaction_interval = DISCORD_REACTION_INTERVAL if args.discord_reaction_limit else None
    results = run_on(args.loop, run(args.runs, args.only, args.answers == "on", args.writer_cpu, reaction_interval))
    results["loop"] = args.loop
    heading = HEADING if args.answers == "on" else HEADING_SILENT
    options = ["--answers off"] if args.answers == "off" else []
    if args.writer_cpu != DEFAULT_WRITER_CPU:
        heading += f', storage.writer_cpu = "{args.writer_cpu}"'
        options.append(f"--writer-cpu {args.writer_cpu}")
    if args.discord_reaction_limit:
        heading += ", reactions at Discord's limit"
        options.append("--discord-reaction-limit")
    command = command_line("bench_signals.py", args, *options)
    publish(args, "signals", heading, results, markdown(results, load(args.baseline), command, heading))


if __name__ == "__main__":
    main()

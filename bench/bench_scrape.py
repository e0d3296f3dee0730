"""Scrape cost: `/metrics` latency and requests/s while signals flow, and what scraping costs the signals.

Run from the repository root:

    python bench/bench_scrape.py                     # 3 runs at 500 signals/s, print the figures
    python bench/bench_scrape.py --update-docs       # also rewrite the "## Scrape cost" section

Each run starts a fresh Tradecord three times and sends 10 s of trusted market signals (`--rate` a second)
through the Discord emulator (its own process): once unscraped, once while a scraper in a third process
GETs `/metrics` ten times a second (ten times Prometheus' usual rate), and once while it GETs it in a
closed loop (the next request as soon as the last is answered: the most the side server can serve).
Every series is populated (the zero series of every outcome, status and error kind, plus the histograms
the signals fill). Figures: `/metrics` p50/p99 and requests/s, and the signals' latency (listener to
broker ack, `signals.latency_seconds`) in each mode; medians over the runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from bench_signals import BROKER, settle, summarize, texts
from clients import bench_settings, log_to, tradecord
from common import BEFORE_NOTE, LOOPS, add_report_options, load, machine, median_of, publish, run_on
from common import command as command_line
from discord_feeder import Feeder

HEADING = "## Scrape cost"
LOAD_GENERATOR = str(Path(__file__).resolve().parent / "http_load.py")
SECONDS = 10.0
MODES = {"unscraped": None, "10 scrapes/s": 0.1, "closed loop": 0.0}


async def scraper(url: str, seconds: float, interval: float) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        LOAD_GENERATOR,
        url,
        "--seconds",
        str(seconds),
        "--interval",
        str(interval),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    answer: dict[str, Any] = json.loads(out)
    return answer


async def run_mode(feeder: Feeder, rate: float, interval: float | None, workdir: Path) -> dict[str, Any]:
    world = feeder.world
    assert world is not None
    count = int(rate * SECONDS)
    settings = bench_settings(world, workdir, broker=BROKER)
    async with tradecord(settings) as runtime:
        await feeder.wait_connected()
        assert runtime.server is not None
        url = f"http://127.0.0.1:{runtime.server.port}/metrics"
        await feeder.ask({"do": "signals", "texts": texts(20, 1_000_000), "rate": 200})  # warm-up, fills histograms
        await settle(runtime.services.metrics, 20)
        load_task = None if interval is None else asyncio.create_task(scraper(url, SECONDS, interval))
        sent = await feeder.ask({"do": "signals", "texts": texts(count), "rate": rate})
        await settle(runtime.services.metrics, 20 + count)
        scrape = None if load_task is None else await load_task
        await asyncio.sleep(0.5)
    await feeder.wait_disconnected()
    signals = summarize(workdir / "tradecord.db", {str(mid): at for mid, at in sent["sent"]})
    row: dict[str, Any] = {"signal_p50": signals["p50"], "signal_p99": signals["p99"]}
    if scrape is not None:
        if set(scrape["statuses"]) != {"200"}:
            raise RuntimeError(f"/metrics answered {scrape['statuses']}")
        row.update(scrape_p50=scrape["p50"], scrape_p99=scrape["p99"], scrapes=scrape["per_second"])
    return row


async def run(runs: int, rate: float) -> dict[str, Any]:
    results: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory(prefix="tradecord-bench-") as tmp:
        log_to(Path(tmp) / "bot.log")
        for index in range(runs):
            for mode, interval in MODES.items():
                workdir = Path(tmp) / f"{index}-{mode.replace(' ', '-').replace('/', '-')}"
                workdir.mkdir()
                async with Feeder() as feeder:  # fresh each time, as in bench_signals.py
                    row = await run_mode(feeder, rate, interval, workdir)
                results[mode].append(row)
                print(f"run {index + 1} {mode:>13}: " + ", ".join(f"{k} {v:,.2f}" for k, v in row.items()), flush=True)
    return {"runs": runs, "rate": rate, "modes": {mode: median_of(rows) for mode, rows in results.items()}}


def markdown(results: dict[str, Any], before: dict[str, Any] | None, command: str) -> str:
    lines = [
        HEADING,
        "",
        f"Command: `{command}` (machine: {machine(results['loop'])}; {results['rate']:,.0f} signals/s for"
        f" {SECONDS:.0f} s in each mode, a fresh emulator and bot each time; medians of {results['runs']} runs).",
        "",
        "| `/metrics` load | scrapes/s | scrape p50 ms | p99 ms | signal latency p50 ms | p99 ms |"
        + (" before: scrape p99 ms | signal p50 ms | p99 ms |" if before else ""),
        "|---|---:|---:|---:|---:|---:|" + ("---:|---:|---:|" if before else ""),
    ]
    for mode in MODES:
        row = results["modes"][mode]
        old = (before or {}).get("modes", {}).get(mode)
        scraped = "scrapes" in row
        line = (
            f"| {mode} | {row['scrapes']:,.0f} | {row['scrape_p50']:.2f} | {row['scrape_p99']:.2f} |"
            if scraped
            else f"| {mode} | | | |"
        ) + f" {row['signal_p50']:.2f} | {row['signal_p99']:.2f} |"
        if before:
            old_scrape = f"{old['scrape_p99']:.2f}" if old and "scrape_p99" in old else ""
            line += f" {old_scrape} | {old['signal_p50']:.2f} | {old['signal_p99']:.2f} |" if old else " | | |"
        lines.append(line)
    if before:
        lines += ["", BEFORE_NOTE]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=float, default=500.0, help="signals per second while scraping")
    parser.add_argument("--loop", choices=LOOPS, default="auto", help="auto: the bot's own (uvloop when installed)")
    add_report_options(parser, HEADING)
    args = parser.parse_args()
    results = run_on(args.loop, run(args.runs, args.rate))
    results["loop"] = args.loop
    rate = "" if args.rate == 500 else f" --rate {args.rate:g}"
    command = command_line("bench_scrape.py", args, *([rate.strip()] if rate else []))
    publish(args, "scrape", HEADING, results, markdown(results, load(args.baseline), command))


if __name__ == "__main__":
    main()

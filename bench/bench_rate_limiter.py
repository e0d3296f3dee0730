"""Rate limiter: the cost of an acquire when a token is there, and the bound under 2x oversubscription.

Run from the repository root:

    python bench/bench_rate_limiter.py                  # 5 runs, print the figures
    python bench/bench_rate_limiter.py --update-docs    # also rewrite the "## Rate limiter" section

Overhead: 1,000,000 `await limiter.acquire()` in a loop on a bucket that never runs dry, as the bot builds
it (`RateLimiter` over a `TokenBucket` on `time.monotonic`, with the wait observer that feeds
`tradecord_ratelimit_wait_seconds`), next to `TokenBucket.reserve()` alone and to awaiting an empty
coroutine (the floor of any `await`). Net = acquire minus the empty await.

Bound: a limiter of 200 requests/s with a burst of 20 on the real clock and the real event loop, offered
400 requests/s (one task per request, evenly spaced) for 10 s. Every moment a caller leaves `acquire()` is
recorded; for each window length t the figure is the most departures in any window of that length, against
`burst + rate * t`. Medians over the runs (the bound column is the worst run).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import gc
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from common import BEFORE_NOTE, LOOPS, add_report_options, load, machine, median, publish, run_on
from common import command as command_line

from bot.app import wait_observer
from bot.execution.token_bucket import RateLimiter, TokenBucket
from bot.metrics import Metrics
from storage.database import Database
from storage.writer import BatchWriter

HEADING = "## Rate limiter"
CALLS = 1_000_000
RATE, BURST, SECONDS = 200.0, 20, 10.0
WINDOWS = (0.001, 0.01, 0.1, 0.5, 1.0, 5.0)


def production_observer() -> Any:
    """The wait observer `bot.app.open_runtime` gives the broker's limiter (its writer is never flushed here)."""
    return wait_observer(Metrics(), BatchWriter(Database(Path("/nonexistent/bench.db"))), "broker")


async def per_call_ns(call: Any, n: int) -> float:
    gc.disable()
    try:
        started = time.perf_counter_ns()
        for _ in range(n):
            await call()
        return (time.perf_counter_ns() - started) / n
    finally:
        gc.enable()


async def overhead() -> dict[str, float]:
    async def empty() -> None:
        return None

    plain = RateLimiter("broker", TokenBucket(1e12, 10**12, time.monotonic))
    observed = RateLimiter("broker", TokenBucket(1e12, 10**12, time.monotonic), on_wait=production_observer())
    bucket = TokenBucket(1e12, 10**12, time.monotonic)
    started = time.perf_counter_ns()
    for _ in range(CALLS):
        bucket.reserve()
    reserve_ns = (time.perf_counter_ns() - started) / CALLS
    empty_ns = await per_call_ns(empty, CALLS)
    plain_ns = await per_call_ns(plain.acquire, CALLS)
    observed_ns = await per_call_ns(observed.acquire, CALLS)
    return {
        "reserve": reserve_ns / 1000,
        "empty_await": empty_ns / 1000,
        "acquire": plain_ns / 1000,
        "acquire_observed": observed_ns / 1000,
        "net": (observed_ns - empty_ns) / 1000,
    }


def max_in_window(times: list[float], window: float) -> int:
    return max(bisect.bisect_right(times, t + window + 1e-9) - i for i, t in enumerate(times))


async def oversubscribed() -> dict[str, Any]:
    limiter = RateLimiter("broker", TokenBucket(RATE, BURST, time.monotonic))
    departures: list[float] = []

    async def request() -> None:
        await limiter.acquire()
        departures.append(time.monotonic())

    tasks: set[asyncio.Task[None]] = set()
    offered = int(2 * RATE * SECONDS)
    started = time.monotonic()
    for n in range(offered):
        delay = started + n / (2 * RATE) - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(request())
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    departures.sort()
    windows = {str(w): max_in_window(departures, w) for w in WINDOWS}
    return {
        "offered": offered,
        "sent_in_offer_time": sum(1 for t in departures if t <= started + SECONDS),
        "windows": windows,
        "excess": max(windows[str(w)] - (BURST + RATE * w) for w in WINDOWS),
    }


async def run(runs: int) -> dict[str, Any]:
    overheads, bounds = [], []
    for index in range(runs):
        overheads.append(await overhead())
        bounds.append(await oversubscribed())
        print(
            f"run {index + 1}: acquire {overheads[-1]['acquire_observed']:.3f} µs (net {overheads[-1]['net']:.3f} µs),"
            f" reserve {overheads[-1]['reserve']:.3f} µs; worst excess over burst + rate*t {bounds[-1]['excess']:+.1f}",
            flush=True,
        )
    return {
        "runs": runs,
        "overhead": {key: median(o[key] for o in overheads) for key in overheads[0]},
        "windows": {w: max(b["windows"][w] for b in bounds) for w in bounds[0]["windows"]},
        "excess": max(b["excess"] for b in bounds),
        "sent_in_offer_time": median(b["sent_in_offer_time"] for b in bounds),
        "offered": bounds[0]["offered"],
    }


def markdown(results: dict[str, Any], before: dict[str, Any] | None, command: str) -> str:
    o = results["overhead"]
    old = (before or {}).get("overhead")
    col = (lambda key: f" {old[key]:.3f} |") if old else (lambda key: "")
    lines = [
        HEADING,
        "",
        f"Command: `{command}` (machine: {machine(results['loop'])}; medians of {results['runs']} runs).",
        "",
        "| per call, token available | µs |" + (" before |" if old else ""),
        "|---|---:|" + ("---:|" if old else ""),
        f"| `TokenBucket.reserve()` | {o['reserve']:.3f} |" + col("reserve"),
        f"| `await` of an empty coroutine (the floor) | {o['empty_await']:.3f} |" + col("empty_await"),
        f"| `await RateLimiter.acquire()`, no observer | {o['acquire']:.3f} |" + col("acquire"),
        f"| `await RateLimiter.acquire()` as the bot builds it (wait histogram) | {o['acquire_observed']:.3f} |"
        + col("acquire_observed"),
        f"| **net cost of an acquire** (the line above minus the floor) | **{o['net']:.3f}** |" + col("net"),
        "",
        f"Under 2x oversubscription ({results['offered']:,} requests offered at {2 * RATE:.0f}/s against {RATE:.0f}/s,"
        f" burst {BURST}; {results['sent_in_offer_time']:,.0f} left within the {SECONDS:.0f} s of the offer):",
        "",
        "| window t | most departures in any window t (worst run) | burst + rate × t |",
        "|---:|---:|---:|",
    ]
    for window, count in results["windows"].items():
        lines.append(f"| {float(window) * 1000:g} ms | {count} | {BURST + RATE * float(window):g} |")
    if before:
        lines += ["", BEFORE_NOTE]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--loop", choices=LOOPS, default="auto", help="auto: the bot's own (uvloop when installed)")
    add_report_options(parser, HEADING)
    args = parser.parse_args()
    results = run_on(args.loop, run(args.runs))
    results["loop"] = args.loop
    command = command_line("bench_rate_limiter.py", args)
    publish(args, "rate_limiter", HEADING, results, markdown(results, load(args.baseline), command))


if __name__ == "__main__":
    main()

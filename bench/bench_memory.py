"""Memory: the bot's resident set after start-up and after 1,000,000 messages.

Run from the repository root:

    python bench/bench_memory.py                     # 3 runs, print the figures
    python bench/bench_memory.py --update-docs       # also rewrite the "## Memory" section

Each run starts the real process (`python -m bot run --config ...`, paper broker, side server, logging
JSON lines to a file) against the Discord emulator (its own process) and reads its VmRSS from
/proc/<pid>/status: once `/health/ready` answers 200 (plus 2 s), then after each 100,000 messages of
chatter (near-miss chatter from `tests/data/chatter.jsonl`, four signal channels, eight authors) once the
bot has counted them all (`tradecord_messages_seen_total`), and after 1,000,000. Figures are medians
over the runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from clients import bench_settings
from common import BEFORE_NOTE, add_report_options, load, machine, median, publish
from common import command as command_line
from discord_feeder import Feeder

from bot import event_loop

HEADING = "## Memory"
STEP = 100_000
ROOT = Path(__file__).resolve().parents[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def seen(http: aiohttp.ClientSession, port: int) -> float:
    async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
        text = await response.text()
    for line in text.splitlines():
        if line.startswith('tradecord_messages_seen_total{source="discord"}'):
            return float(line.split()[-1])
    return 0.0


async def wait_ready(http: aiohttp.ClientSession, port: int, process: asyncio.subprocess.Process) -> None:
    async with asyncio.timeout(60):
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"the bot exited with {process.returncode}")
            try:
                async with http.get(f"http://127.0.0.1:{port}/health/ready") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)


async def run_once(feeder: Feeder, total: int, workdir: Path) -> dict[str, Any]:
    world = feeder.world
    assert world is not None
    port = free_port()
    bench_settings(world, workdir, server={"port": port}, logging={"json": True})
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADECORD_") and k != "DISCORD_TOKEN"}
    with (workdir / "bot.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--config", str(workdir / "config.toml"),
            cwd=ROOT, env=env, stdout=log, stderr=log,
        )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as http:
            await wait_ready(http, port, process)
            await feeder.wait_connected()
            await asyncio.sleep(2)
            curve = [(0, rss_mb(process.pid))]
            for done in range(STEP, total + 1, STEP):
                await feeder.ask({"do": "chatter", "n": STEP, "chunk": 50_000})
                async with asyncio.timeout(600):
                    while await seen(http, port) < done:  # noqa: ASYNC110 - the bot's counter over HTTP
                        await asyncio.sleep(0.5)
                curve.append((done, rss_mb(process.pid)))
                print(f"  {done:>9,} messages: {curve[-1][1]:6.1f} MB", flush=True)
            await asyncio.sleep(2)
            after = rss_mb(process.pid)
    finally:
        process.terminate()
        await process.wait()
    await feeder.wait_disconnected()
    return {"startup": curve[0][1], "after": after, "growth": after - curve[0][1], "curve": curve}


async def run(runs: int, total: int) -> dict[str, Any]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="tradecord-bench-") as tmp:
        async with Feeder() as feeder:
            for index in range(runs):
                workdir = Path(tmp) / f"run-{index}"
                workdir.mkdir()
                row = await run_once(feeder, total, workdir)
                print(
                    f"run {index + 1}: {row['startup']:.1f} MB after start-up, {row['after']:.1f} MB after"
                    f" {total:,} messages (+{row['growth']:.1f} MB)",
                    flush=True,
                )
                rows.append(row)
    middle = sorted(rows, key=lambda r: r["growth"])[len(rows) // 2]
    return {
        "runs": runs,
        "messages": total,
        "startup": median(r["startup"] for r in rows),
        "after": median(r["after"] for r in rows),
        "growth": median(r["growth"] for r in rows),
        "curve": middle["curve"],
    }


def markdown(results: dict[str, Any], before: dict[str, Any] | None, command: str) -> str:
    curve = ", ".join(f"{mb:.1f}" for _, mb in results["curve"])
    lines = [
        HEADING,
        "",
        f"Command: `{command}` (machine: {machine()}; medians of {results['runs']} runs of the real process).",
        "",
        "| | RSS MB |" + (" before |" if before else ""),
        "|---|---:|" + ("---:|" if before else ""),
        f"| after start-up | {results['startup']:.1f} |" + (f" {before['startup']:.1f} |" if before else ""),
        f"| after {results['messages']:,} messages | {results['after']:.1f} |"
        + (f" {before['after']:.1f} |" if before else ""),
        f"| growth | {results['growth']:+.1f} |" + (f" {before['growth']:+.1f} |" if before else ""),
        "",
        f"RSS every {STEP:,} messages (the median run): {curve} MB.",
    ]
    if before:
        lines += ["", BEFORE_NOTE]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--messages", type=int, default=1_000_000)
    add_report_options(parser, HEADING)
    args = parser.parse_args()
    results = event_loop.run(run(args.runs, args.messages))
    command = command_line("bench_memory.py", args)
    publish(args, "memory", HEADING, results, markdown(results, load(args.baseline), command))


if __name__ == "__main__":
    main()

"""Chatter throughput: MESSAGE_CREATE events of chatter per second, the whole bot against bare discord.py.

Run from the repository root:

    python bench/bench_chatter.py                    # 5 rounds of 50,000 messages each, print the figures
    python bench/bench_chatter.py --update-docs      # also rewrite the "## Chatter throughput" section

The Discord emulator runs in its own process (`discord_feeder.py`) and queues N MESSAGE_CREATE events of
near-miss chatter (`tests/data/chatter.jsonl`), spread over four signal channels and eight authors, half
of them trusted. Each round measures, one after the other and against the same emulator: a raw websocket
client that only counts frames (the ceiling of the feed itself), a bare `discord.Client` with
discord.py's defaults that does nothing, and the whole Tradecord bot (open_runtime: database, paper broker,
side server, every cog; logging JSON lines to a file). The emulator creates a role (GUILD_ROLE_CREATE) before
and after the messages; a client's rate is N / (time it reached the second mark - time it reached the
first), so no listener is added per message. The ratio is taken within each round, and its median reported with the
median rates.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from clients import Marks, bare_client, bench_settings, log_to, tradecord
from common import BEFORE_NOTE, LOOPS, add_report_options, load, machine, median, publish, run_on
from common import command as command_line
from discord_feeder import Feeder

HEADING = "## Chatter throughput"
INTENTS = (1 << 0) | (1 << 9) | (1 << 15)  # guilds, guild messages, message content


async def raw_ceiling(feeder: Feeder, n: int) -> float:
    """Frames per second a websocket client that parses nothing receives: what the feed itself can do."""
    world = feeder.world
    assert world is not None
    async with aiohttp.ClientSession() as http, http.ws_connect(world.gateway_url + "?v=10&encoding=json") as ws:
        await ws.receive()  # HELLO
        identify = {"token": world.token, "intents": INTENTS, "properties": {"os": "linux"}}
        await ws.send_json({"op": 2, "d": identify})
        await feeder.wait_connected()
        feed = asyncio.create_task(feeder.ask({"do": "chatter", "n": n}))
        count, first, last = 0, 0.0, 0.0
        while count < n:
            msg = await ws.receive()
            if msg.type is not aiohttp.WSMsgType.TEXT:
                raise RuntimeError(f"unexpected frame {msg.type}")
            if '"t":"MESSAGE_CREATE"' in msg.data:
                last = time.perf_counter()
                first = first or last
                count += 1
        await feed
    await feeder.wait_disconnected()
    return (n - 1) / (last - first)


async def measure_bare(feeder: Feeder, n: int, *, freeze: bool = False) -> float:
    world = feeder.world
    assert world is not None
    marks = Marks()
    async with bare_client(world, marks, freeze=freeze):
        await feeder.wait_connected()
        await feeder.ask({"do": "chatter", "n": n})
        await marks.wait(2)
    await feeder.wait_disconnected()
    return marks.rate(n)


async def measure_tradecord(feeder: Feeder, n: int, workdir: Path) -> float:
    world = feeder.world
    assert world is not None
    marks = Marks()
    settings = bench_settings(world, workdir)
    async with tradecord(settings, marks) as runtime:
        await feeder.wait_connected()
        await feeder.ask({"do": "chatter", "n": n})
        await marks.wait(2)
        seen = runtime.services.metrics.registry.get_sample_value(
            "tradecord_messages_seen_total", {"source": "discord"}
        )
        if seen != n:  # every message handled by the time the end mark is: the rate is the bot's
            raise RuntimeError(f"the bot had counted {seen} of {n} messages at the end mark")
    await feeder.wait_disconnected()
    return marks.rate(n)


async def run(n: int, rounds: int) -> dict[str, Any]:
    rows: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="tradecord-bench-") as tmp:
        log_to(Path(tmp) / "bot.log")
        async with Feeder() as feeder:
            await measure_bare(feeder, min(n, 5000))  # warm-up: imports, the emulator's caches
            for index in range(rounds):
                workdir = Path(tmp) / f"round-{index}"
                workdir.mkdir()
                row = {
                    "ceiling": await raw_ceiling(feeder, n),
                    "bare": await measure_bare(feeder, n),
                    "bare_frozen": await measure_bare(feeder, n, freeze=True),
                    "tradecord": await measure_tradecord(feeder, n, workdir),
                }
                row["ratio"] = row["tradecord"] / row["bare"]
                row["ratio_frozen"] = row["tradecord"] / row["bare_frozen"]
                print(
                    f"round {index + 1}: feed ceiling {row['ceiling']:,.0f}/s, bare discord.py {row['bare']:,.0f}/s"
                    f" (frozen heap {row['bare_frozen']:,.0f}/s), Tradecord {row['tradecord']:,.0f}/s"
                    f" ({row['ratio']:.1%}; {row['ratio_frozen']:.1%} of the frozen bare client)",
                    flush=True,
                )
                rows.append(row)
    return {
        "messages": n,
        "rounds": rounds,
        "ceiling": median(r["ceiling"] for r in rows),
        "bare": median(r["bare"] for r in rows),
        "bare_frozen": median(r["bare_frozen"] for r in rows),
        "tradecord": median(r["tradecord"] for r in rows),
        "ratio": median(r["ratio"] for r in rows),
        "ratio_min": min(r["ratio"] for r in rows),
        "ratio_frozen": median(r["ratio_frozen"] for r in rows),
    }


def markdown(results: dict[str, Any], before: dict[str, Any] | None, command: str) -> str:
    def old(key: str) -> str:
        if before is None:
            return ""
        return f" {before[key]:,.0f} |" if key in before else " |"

    tradecord_before = f" {before['tradecord']:,.0f} ({before['ratio']:.1%}) |" if before else ""
    lines = [
        HEADING,
        "",
        f"Command: `{command}` (machine: {machine(results['loop'])}; {results['rounds']} rounds of"
        f" {results['messages']:,} MESSAGE_CREATE events; medians over the rounds, each ratio taken within its round).",
        "",
        "| client | events/s | Tradecord's share |" + (" before |" if before else ""),
        "|---|---:|---:|" + ("---:|" if before else ""),
        f"| raw websocket, counting frames (the feed's ceiling) | {results['ceiling']:,.0f} | |" + old("ceiling"),
        f"| bare discord.py client, discord.py's defaults | {results['bare']:,.0f} | 100% |" + old("bare"),
        f"| bare discord.py client, heap frozen once ready as Tradecord's is | {results['bare_frozen']:,.0f} |"
        f" {results['ratio_frozen']:.1%} |" + old("bare_frozen"),
        f"| **Tradecord** (the whole bot) | **{results['tradecord']:,.0f}** | **{results['ratio']:.1%}** of the first"
        f" (worst round {results['ratio_min']:.1%}) |" + tradecord_before,
    ]
    if before:
        lines += ["", BEFORE_NOTE]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--loop", choices=LOOPS, default="auto", help="auto: the bot's own (uvloop when installed)")
    add_report_options(parser, HEADING)
    args = parser.parse_args()
    results = run_on(args.loop, run(args.messages, args.rounds))
    results["loop"] = args.loop
    command = command_line("bench_chatter.py", args)
    publish(args, "chatter", HEADING, results, markdown(results, load(args.baseline), command))


if __name__ == "__main__":
    main()

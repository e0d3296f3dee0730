"""The crash harness: a real `python -m bot run` process against the fake Discord (and a fake venue), killed
with SIGKILL at random moments while signals keep arriving, then restarted until it has caught up."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.discord_emulator import FakeDiscord
from tests.e2e import discord_section, write_config
from tests.fake_discord.fixtures import DiscordWorld


@dataclass
class CrashRun:
    """What happened: how many times the bot was killed and how the restarts went."""

    kills: int = 0
    starts: int = 0
    logs: list[Path] = field(default_factory=list)


def bot_config(tmp_path: Path, fake: FakeDiscord, world: DiscordWorld, **sections: dict[str, Any]) -> Path:
    """A `python -m bot run` config for the standard test world: no side server, JSON logs, no duplicate
    window (the feed's signals are distinct anyway), a catch-up window longer than any test."""
    config: dict[str, dict[str, Any]] = {
        "discord": discord_section(fake, world),
        "signals": {"duplicate_window_seconds": 0},
        "risk": {"max_signal_age_seconds": 3600},
        "storage": {"path": str(tmp_path / "tradecord.db"), "batch_flush_seconds": 0.05},
        "server": {"enabled": False},
        "logging": {"json": True, "level": "INFO"},
    }
    return write_config(tmp_path, config, sections)


async def start_bot(config: Path, log: Path) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADECORD_") and k != "DISCORD_TOKEN"}
    env["PYTHONUNBUFFERED"] = "1"  # a SIGKILL must not take the last log lines with it
    with log.open("ab") as sink:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--config", str(config), stdout=sink, stderr=sink, env=env
        )


async def kill_repeatedly(
    config: Path,
    fake: FakeDiscord,
    *,
    kills: int,
    seed: int,
    done: Callable[[], bool],
    log_dir: Path,
    run: CrashRun,
    connected: asyncio.Event,
) -> None:
    """Start the bot, let it work for a random moment, SIGKILL it; `kills` times; then run it until `done()`."""
    chance = random.Random(seed)
    for attempt in range(kills + 1):
        log = log_dir / f"bot-{attempt}.log"
        run.logs.append(log)
        process = await start_bot(config, log)
        run.starts += 1
        try:
            await fake.wait_until_connected(timeout=30)
            connected.set()
            if attempt < kills:
                # From the handshake (on_ready waits ~2 s for guilds) through catch-up and into live traffic.
                await asyncio.sleep(chance.uniform(0.5, 6.0))
                process.send_signal(signal.SIGKILL)
                run.kills += 1
                await process.wait()
                async with asyncio.timeout(10):  # the fake must see the dead socket before the next start
                    while fake.is_connected:  # noqa: ASYNC110 - the fake's own state
                        await asyncio.sleep(0.01)
            else:
                async with asyncio.timeout(120):
                    while not done():
                        if process.returncode is not None:
                            raise AssertionError(f"the bot exited with {process.returncode}; see {log}")
                        await asyncio.sleep(0.2)
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    async with asyncio.timeout(20):
                        await process.wait()
                except TimeoutError:
                    process.kill()
                    await process.wait()


def query(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """A short read of the bot's database from outside (WAL lets it run beside the bot's writer)."""
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10) as conn:
        return [tuple(row) for row in conn.execute(sql, params)]

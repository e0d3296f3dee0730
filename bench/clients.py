"""The clients under test in the Discord benchmarks: the whole Tradecord bot, and a bare discord.py client.

Both run in the benchmark's process and log into the emulator of `discord_feeder.py`. Tradecord is built
with `open_runtime` and started like `bot.runner` starts it (endpoints from the settings, `bot.start`),
logging JSON lines to a file as it would to a pipe in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import discord
from discord_feeder import FeederWorld

from bot.app import Runtime, open_runtime
from bot.config_display import render_toml
from bot.discord_endpoints import configure_endpoints, set_endpoints
from bot.heap import freeze_after_start_up
from bot.logs import configure_logging
from bot.settings import Settings, load_settings

# discord.py waits this long after the last GUILD_CREATE before on_ready (2 s by default).
GUILD_READY_TIMEOUT = 0.05


def bench_settings(world: FeederWorld, workdir: Path, **sections: dict[str, Any]) -> Settings:
    """A config file for the benchmark world: every channel a signal channel, the Trader role trusted."""
    config: dict[str, dict[str, Any]] = {
        "discord": {
            "token": world.token,
            "api_base_url": world.api_base_url,
            "gateway_url": world.gateway_url,
            "guild_ids": [world.guild_id],
            "signal_channel_ids": world.channel_ids,
            "trusted_role_ids": [world.trader_role_id],
        },
        "broker": {"quotes": {"AAPL": "150", "TSLA": "250", "MSFT": "400", "NVDA": "880"}, "allow_short": True},
        "storage": {"path": str(workdir / "tradecord.db")},
        "server": {"port": 0},
    }
    for section, values in sections.items():
        config.setdefault(section, {}).update(values)
    path = workdir / "config.toml"
    path.write_text(render_toml(config), encoding="utf-8")
    return load_settings(path, environ={})


def log_to(path: Path) -> None:
    """The bot's logging as configured in production (JSON lines, INFO), into a file."""
    stream = path.open("a", encoding="utf-8")
    configure_logging("INFO", json=True, stream=stream)


class Marks:
    """Notes when a client reaches the emulator's marks (a new role: `on_guild_role_create`), so measuring a
    burst of messages adds no listener, and no task, per message."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._changed = asyncio.Event()

    async def on_guild_role_create(self, role: discord.Role) -> None:
        self.times.append(time.perf_counter())
        self._changed.set()

    async def wait(self, count: int, timeout: float = 600) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while len(self.times) < count:
                self._changed.clear()
                await self._changed.wait()

    def rate(self, messages: int) -> float:
        """Messages per second between the last two marks."""
        return messages / (self.times[-1] - self.times[-2])


async def _start(client: discord.Client, token: str, ready: asyncio.Event) -> asyncio.Task[None]:
    task = asyncio.create_task(client.start(token), name="bench-client")
    waiter = asyncio.create_task(ready.wait())
    done, _ = await asyncio.wait({task, waiter}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
    if waiter not in done:
        waiter.cancel()
        if task in done:
            task.result()
        raise TimeoutError("the client did not become ready")
    return task


async def _stop(client: discord.Client, task: asyncio.Task[None]) -> None:
    await client.close()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=30)
    # Event handlers still running (answers queued behind rate limits) would otherwise fail one by one into
    # the next measurement in this process, each with a logged traceback.
    leftovers = [t for t in asyncio.all_tasks() if t.get_name().startswith("discord.py:")]
    for leftover in leftovers:
        leftover.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)


@asynccontextmanager
async def bare_client(world: FeederWorld, marks: Marks, *, freeze: bool = False) -> AsyncIterator[discord.Client]:
    """A discord.py client with discord.py's defaults and the message content intent, doing nothing.

    `freeze`: the same heap tuning Tradecord's runner applies once ready (`bot.heap`)."""
    set_endpoints(world.api_base_url, world.gateway_url)
    intents = discord.Intents.default()
    intents.message_content = True
    client = discord.Client(intents=intents, max_messages=1000, guild_ready_timeout=GUILD_READY_TIMEOUT)
    ready = asyncio.Event()

    async def on_ready() -> None:
        if freeze:
            gc.collect()
            gc.freeze()
        ready.set()

    client.event(on_ready)
    client.event(marks.on_guild_role_create)
    task = await _start(client, world.token, ready)
    try:
        yield client
    finally:
        await _stop(client, task)
        gc.unfreeze()  # the next client starts from the same heap


@asynccontextmanager
async def tradecord(settings: Settings, marks: Marks | None = None) -> AsyncIterator[Runtime]:
    """The whole bot (database, paper broker, side server, cogs), connected and caught up."""
    async with open_runtime(settings, discord_options={"guild_ready_timeout": GUILD_READY_TIMEOUT}) as runtime:
        token = settings.discord.token
        assert token is not None
        await configure_endpoints(
            runtime.http, settings.discord.api_base_url, settings.discord.gateway_url, token.get_secret_value()
        )
        ready = asyncio.Event()
        bot = runtime.bot

        async def on_ready() -> None:
            while not runtime.services.readiness.ready:  # noqa: ASYNC110 - the catch-up runs in the cog's on_ready
                await asyncio.sleep(0.01)
            ready.set()

        bot.add_listener(on_ready, "on_ready")
        freeze_after_start_up(bot)  # as `bot.runner` does
        if marks is not None:
            bot.add_listener(marks.on_guild_role_create, "on_guild_role_create")
        task = await _start(bot, token.get_secret_value(), ready)
        try:
            yield runtime
        finally:
            await _stop(bot, task)
            gc.unfreeze()  # the next client starts from the same heap

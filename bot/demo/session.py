"""`open_demo`: the emulator, the real bot connected to it, the side server with `/demo`, and the feed.

Start-up order: a data directory (a temporary one unless `--db`), the Discord emulator and its world, the
application (`open_runtime`, with the demo's routes added to the side server), the bot's connection, and
once the bot is ready, the feed. Shut-down runs the same steps backwards and removes the temporary
directory, so a demo leaves nothing behind but the database it was told to keep.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import discord.gateway
import discord.http
import structlog

from bot.app import Runtime, open_runtime
from bot.demo.config import demo_settings
from bot.demo.defaults import DEFAULT_PORT, DEFAULT_SEED, DEFAULT_SPEED, DEMO_HOST
from bot.demo.feed import FeedPlayer, FeedProgress
from bot.demo.page import DemoRoom, add_demo_routes
from bot.demo.script import Script
from bot.demo.world import DemoWorld, build_world
from bot.discord_emulator import FakeDiscord
from bot.discord_endpoints import set_endpoints

log = structlog.get_logger(__name__)

READY_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class DemoOptions:
    seed: int = DEFAULT_SEED
    speed: float = DEFAULT_SPEED
    db_path: Path | None = None  # None: a temporary directory, removed at exit
    port: int = DEFAULT_PORT  # 0 picks a free port


@dataclass(frozen=True, slots=True)
class DemoSession:
    """A running demo, as the CLI and the tests see it."""

    options: DemoOptions
    fake: FakeDiscord
    world: DemoWorld
    runtime: Runtime
    player: FeedPlayer
    db_path: Path
    bot_task: asyncio.Task[None]
    feed_task: asyncio.Task[None]

    @property
    def base_url(self) -> str:
        server = self.runtime.server
        if server is None:  # demo_settings always enables it
            raise RuntimeError("the demo runs without a side server")
        return f"http://{DEMO_HOST}:{server.port}"


@asynccontextmanager
async def open_demo(options: DemoOptions) -> AsyncIterator[DemoSession]:
    """Everything running, the bot ready and the feed playing; stopped and cleaned up on exit."""
    async with AsyncExitStack() as stack:
        db_path = options.db_path or (await _temporary_directory(stack)) / "tradecord.db"
        fake = await stack.enter_async_context(FakeDiscord(bot_name="Tradecord"))
        world = build_world(fake)
        script = Script(options.seed)
        progress = FeedProgress()
        room = DemoRoom(fake, world, script.market, progress)
        settings = demo_settings(fake, world, script.market, db_path=db_path, port=options.port)
        runtime = await stack.enter_async_context(
            open_runtime(
                settings,
                discord_options={"guild_ready_timeout": 0.1},
                extend_web=partial(add_demo_routes, room=room),
            )
        )
        _point_discord_at(stack, fake)
        bot_task = asyncio.create_task(runtime.bot.start(fake.bot_token), name="demo-bot")
        stack.push_async_callback(_stop_bot, runtime, bot_task)
        await _wait_until_ready(runtime, bot_task)
        player = FeedPlayer(script, fake, world, runtime.quotes, speed=options.speed, progress=progress)
        feed_task = asyncio.create_task(player.run(), name="demo-feed")
        feed_task.add_done_callback(_report_feed_end)
        stack.push_async_callback(_cancel, feed_task)
        yield DemoSession(options, fake, world, runtime, player, db_path, bot_task, feed_task)


async def _temporary_directory(stack: AsyncExitStack) -> Path:
    path = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="tradecord-demo-"))
    stack.push_async_callback(asyncio.to_thread, shutil.rmtree, path, ignore_errors=True)
    return path


def _point_discord_at(stack: AsyncExitStack, fake: FakeDiscord) -> None:
    """discord.py's endpoints are class attributes: set them for the demo and put them back afterwards."""
    previous = discord.http.Route.BASE, str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    set_endpoints(fake.api_base_url, fake.gateway_url)
    stack.callback(set_endpoints, *previous)


async def _wait_until_ready(runtime: Runtime, bot_task: asyncio.Task[None]) -> None:
    """Connected, commands synced, catch-up done; a bot that fails to start raises its error here."""
    async with asyncio.timeout(READY_TIMEOUT_SECONDS):
        while not runtime.services.readiness.ready:
            if bot_task.done():
                bot_task.result()
                raise RuntimeError("the bot stopped before it was ready")
            await asyncio.sleep(0.05)


async def _stop_bot(runtime: Runtime, bot_task: asyncio.Task[None]) -> None:
    await runtime.bot.close()
    with contextlib.suppress(Exception):  # how it ended is logged by discord.py; shut-down goes on regardless
        await asyncio.wait_for(bot_task, timeout=10)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _report_feed_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("demo.feed_failed", error=repr(error), exc_info=error)

"""Pytest fixtures: a running ``FakeDiscord`` and a launcher for real discord.py bots connected to it.

Use from a test module (``pytest_plugins`` in a test module registers them for the session)::

    pytest_plugins = ["tests.fake_discord.fixtures"]

or from ``tests/conftest.py``: ``from tests.fake_discord.fixtures import discord_world, fake_discord, run_bot``.

Fixtures: ``fake_discord`` (started, empty world), ``discord_world`` (a guild with a signal channel, a
"Trader" role and a trusted member "alice"), ``run_bot`` (``await run_bot(bot=None)`` starts a bot with
``asyncio.create_task(bot.start(token))`` and waits for ``on_ready``; every bot is closed at teardown).
``run_bot`` points ``Route.BASE`` and ``DEFAULT_GATEWAY`` at the fake through ``monkeypatch``, so both are
restored after the test.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import discord
import pytest
import pytest_asyncio
import yarl
from discord.ext import commands

from bot.discord_emulator import FakeDiscord


def bot_intents() -> discord.Intents:
    """Default intents plus the privileged message-content intent (what Tradecord's listener needs)."""
    intents = discord.Intents.default()
    intents.message_content = True
    return intents


async def _no_identify_delay(shard_id: int | None, *, initial: bool = False) -> None:
    """Replacement for discord.py's ``before_identify_hook``, which sleeps 5 s before every re-IDENTIFY."""


@dataclass(frozen=True)
class DiscordWorld:
    """Ids of the standard test world built by ``build_world``."""

    guild_id: int
    channel_id: int
    other_channel_id: int
    trader_role_id: int
    alice_id: int
    mallory_id: int


def build_world(fake: FakeDiscord) -> DiscordWorld:
    """A guild with ``#signals`` and ``#general``, a "Trader" role, alice (Trader) and mallory (no role)."""
    guild_id = fake.add_guild("Tradecord Test Guild")
    channel_id = fake.add_channel(guild_id, "signals")
    other_channel_id = fake.add_channel(guild_id, "general")
    trader_role_id = fake.add_role(guild_id, "Trader")
    alice_id = fake.add_user("alice")
    mallory_id = fake.add_user("mallory")
    fake.add_member(guild_id, alice_id, roles=[trader_role_id])
    fake.add_member(guild_id, mallory_id)
    return DiscordWorld(guild_id, channel_id, other_channel_id, trader_role_id, alice_id, mallory_id)


class BotRunner:
    """Starts real ``commands.Bot`` instances against a fake and owns their tasks until teardown."""

    def __init__(self, fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch) -> None:
        self._fake = fake
        monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base_url)
        monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))
        self._running: list[tuple[commands.Bot, asyncio.Task[None]]] = []
        self._reported: set[asyncio.Task[None]] = set()

    def make_bot(self, **options: Any) -> commands.Bot:
        """A plain ``commands.Bot`` with test-friendly defaults (override any option)."""
        options.setdefault("command_prefix", "!")
        options.setdefault("intents", bot_intents())
        # discord.py waits this long after the last GUILD_CREATE before on_ready (2 s by default).
        options.setdefault("guild_ready_timeout", 0.05)
        return commands.Bot(**options)

    async def __call__(
        self,
        bot: commands.Bot | None = None,
        *,
        wait_ready: bool = True,
        timeout: float = 10.0,  # noqa: ASYNC109
        skip_identify_delay: bool = True,
    ) -> commands.Bot:
        """Start ``bot`` (or a default one) with ``bot.start(token)`` and wait for its first ``on_ready``.

        ``skip_identify_delay`` removes discord.py's 5 s sleep before a re-IDENTIFY (after an invalidated
        session); it does not change anything else about the client.
        """
        bot = bot if bot is not None else self.make_bot()
        if skip_identify_delay:
            bot.before_identify_hook = _no_identify_delay  # type: ignore[method-assign]
        ready = asyncio.Event()

        async def on_ready() -> None:
            ready.set()

        bot.add_listener(on_ready, "on_ready")
        task = asyncio.create_task(bot.start(self._fake.bot_token), name=f"discord-bot-{id(bot):x}")
        self._running.append((bot, task))
        if wait_ready:
            await self._race(task, ready, timeout)
        return bot

    async def _race(self, task: asyncio.Task[None], ready: asyncio.Event, within: float) -> None:
        waiter = asyncio.create_task(ready.wait())
        done, _ = await asyncio.wait({task, waiter}, timeout=within, return_when=asyncio.FIRST_COMPLETED)
        if waiter in done:
            return
        waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiter
        if task in done:
            self._reported.add(task)
            task.result()
            raise RuntimeError("bot.start() returned before the bot became ready")
        raise TimeoutError(f"bot not ready after {within}s (fake connected: {self._fake.is_connected})")

    async def stop(self, bot: commands.Bot) -> None:
        """Close one bot and wait for its ``start()`` task to finish."""
        for running_bot, task in list(self._running):
            if running_bot is bot:
                self._running.remove((running_bot, task))
                await bot.close()
                await self._finish(task)

    async def aclose(self) -> None:
        """Close every bot this runner started (fixture teardown)."""
        while self._running:
            await self.stop(self._running[-1][0])

    async def _finish(self, task: asyncio.Task[None]) -> None:
        try:
            await asyncio.wait_for(task, timeout=10)
        except Exception:
            if task not in self._reported:
                raise


@pytest_asyncio.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """A started fake Discord with an empty world, stopped after the test."""
    async with FakeDiscord() as fake:
        yield fake
        if fake.internal_errors:
            raise AssertionError(f"fake Discord failed on requests: {fake.internal_errors}")


@pytest.fixture
def discord_world(fake_discord: FakeDiscord) -> DiscordWorld:
    """The standard world (see ``build_world``) in ``fake_discord``; use it before starting the bot."""
    return build_world(fake_discord)


@pytest_asyncio.fixture
async def run_bot(fake_discord: FakeDiscord, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[BotRunner]:
    """Launcher for bots connected to ``fake_discord``; closes them all at teardown."""
    runner = BotRunner(fake_discord, monkeypatch)
    try:
        yield runner
    finally:
        await runner.aclose()

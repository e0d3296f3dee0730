"""Edited and deleted signal messages through the fake Discord: replace before trading, update after, never a
second order."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bot.app import Runtime
from bot.discord_emulator import FakeDiscord
from tests.e2e import e2e_settings, running_tradecord
from tests.fake_discord.fixtures import BotRunner, DiscordWorld

pytestmark = pytest.mark.slow

Rows = list[tuple[object, ...]]


async def rows(runtime: Runtime, sql: str) -> Rows:
    return [tuple(row) for row in await runtime.db.fetchall(sql)]


async def eventually(probe: Callable[[], Awaitable[Rows]], expected: Rows, timeout: float = 5.0) -> None:  # noqa: ASYNC109
    async with asyncio.timeout(timeout):
        while (seen := await probe()) != expected:  # noqa: ASYNC110 - polling the database under test
            await asyncio.sleep(0.02)
    assert seen == expected


def paper_orders(runtime: Runtime) -> Callable[[], Awaitable[Rows]]:
    return lambda: rows(
        runtime, "SELECT type, limit_price, stop_loss, take_profit, status FROM paper_orders ORDER BY created_at"
    )


async def test_edit_before_the_entry_fills_replaces_the_signal(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    channel, alice = discord_world.channel_id, discord_world.alice_id
    async with running_tradecord(e2e_settings(tmp_path, fake_discord, discord_world), run_bot) as runtime:
        message = await fake_discord.post_message(channel, alice, "BUY AAPL 10 @ 140 SL 135 TP 160")
        assert await fake_discord.wait_for_reaction(channel, message) == "✅"
        await fake_discord.edit_message(channel, message, "BUY AAPL 10 @ 145 SL 135 TP 160")
        await eventually(
            paper_orders(runtime),
            [("limit", "140", "135", "160", "canceled"), ("limit", "145", "135", "160", "accepted")],
        )
        await fake_discord.edit_message(channel, message, "BUY AAPL 10 @ 145 SL 135 TP 160")  # a replayed edit
        await asyncio.sleep(0.2)
        assert len(await paper_orders(runtime)()) == 2


async def test_edit_after_the_fill_moves_the_stop_and_places_nothing(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    channel, alice = discord_world.channel_id, discord_world.alice_id
    async with running_tradecord(e2e_settings(tmp_path, fake_discord, discord_world), run_bot) as runtime:
        message = await fake_discord.post_message(channel, alice, "BUY AAPL 10 @ 150.25 SL 145 TP 160")
        assert await fake_discord.wait_for_reaction(channel, message) == "✅"
        await fake_discord.edit_message(channel, message, "BUY AAPL 10 @ 150.25 SL 148 TP 160")
        await eventually(paper_orders(runtime), [("limit", "150.25", "148", "160", "filled")])
        await fake_discord.edit_message(channel, message, "BUY AAPL 50 @ 150.25 SL 148 TP 160")
        assert await fake_discord.wait_for_reaction(channel, message, emoji="⛔") == "⛔"
        reply = await fake_discord.wait_for_bot_message(channel, lambda m: "Not executed" in m.content, after=message)
        assert "only its stop loss and targets can change" in reply.content
        assert len(await paper_orders(runtime)()) == 1


async def test_chatter_edited_into_a_signal_trades_once(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    channel, alice = discord_world.channel_id, discord_world.alice_id
    async with running_tradecord(e2e_settings(tmp_path, fake_discord, discord_world), run_bot) as runtime:
        message = await fake_discord.post_message(channel, alice, "BUY AAPL 10 @ 150 SL 155 TP 160")
        assert await fake_discord.wait_for_reaction(channel, message) == "⚠️"
        await fake_discord.edit_message(channel, message, "BUY AAPL 10 @ MKT SL 145 TP 160")
        assert await fake_discord.wait_for_reaction(channel, message, emoji="✅") == "✅"
        await eventually(paper_orders(runtime), [("market", None, "145", "160", "filled")])


async def test_deleting_a_resting_signal_cancels_it(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    channel, alice = discord_world.channel_id, discord_world.alice_id
    async with running_tradecord(e2e_settings(tmp_path, fake_discord, discord_world), run_bot) as runtime:
        resting = await fake_discord.post_message(channel, alice, "BUY AAPL 10 @ 140")
        filled = await fake_discord.post_message(channel, alice, "BUY TSLA 1 @ MKT")
        await fake_discord.wait_for_reaction(channel, filled)
        await fake_discord.delete_message(channel, resting)
        await fake_discord.delete_message(channel, filled)
        await eventually(
            paper_orders(runtime), [("limit", "140", None, None, "canceled"), ("market", None, None, None, "filled")]
        )
        assert await rows(runtime, "SELECT symbol, quantity FROM paper_positions") == [("TSLA", "1")]

"""Chatter is read from the raw gateway payload and never becomes a discord.py Message; the rest is unchanged."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import discord
import pytest

from bot.discord_emulator import FakeDiscord
from cogs import gateway_screen
from tests.e2e import e2e_settings, running_tradecord, scrape, signals_total, wait_until
from tests.fake_discord.fixtures import BotRunner, DiscordWorld


def test_a_client_without_a_parser_table_gets_no_screen() -> None:
    """Where discord.py's internals are not what the screen expects, it installs nothing and says so."""
    remove = gateway_screen.install(SimpleNamespace(), lambda _data: True)  # type: ignore[arg-type]
    remove()


def test_the_screen_sits_in_front_of_the_parser_and_comes_off_again() -> None:
    """A payload the screen handles never reaches discord.py's parser; one it declines does; removal restores it."""
    parsed: list[str] = []
    parsers: dict[str, Any] = {"MESSAGE_CREATE": lambda data: parsed.append(data["id"])}
    client = SimpleNamespace(_connection=SimpleNamespace(parsers=parsers))
    remove = gateway_screen.install(client, lambda data: data["content"] == "chatter")  # type: ignore[arg-type]
    parsers["MESSAGE_CREATE"]({"id": "1", "content": "chatter"})
    parsers["MESSAGE_CREATE"]({"id": "2", "content": "BUY AAPL"})
    assert parsed == ["2"]
    remove()
    parsers["MESSAGE_CREATE"]({"id": "3", "content": "chatter"})
    assert parsed == ["2", "3"]


def test_a_screen_that_fails_hands_the_message_to_discord_py() -> None:
    """A bug in the screen costs the fast path, never the message."""
    parsed: list[str] = []
    parsers: dict[str, Any] = {"MESSAGE_CREATE": lambda data: parsed.append(data["id"])}

    def broken(_data: dict[str, Any]) -> bool:
        raise KeyError("author")

    gateway_screen.install(SimpleNamespace(_connection=SimpleNamespace(parsers=parsers)), broken)  # type: ignore[arg-type]
    parsers["MESSAGE_CREATE"]({"id": "7"})
    assert parsed == ["7"]


@pytest.mark.slow
async def test_chatter_is_counted_without_a_message_object_and_signals_still_trade(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """Chatter is counted (seen, not_a_signal) and moves the catch-up mark but never enters discord.py's cache;
    a signal next to it is read once, traded and answered as always."""
    settings = e2e_settings(tmp_path, fake_discord, discord_world)
    channel, alice = discord_world.channel_id, discord_world.alice_id
    async with running_tradecord(settings, run_bot) as runtime:
        chatter = await fake_discord.post_message(channel, alice, "gm everyone, what a day")
        signal = await fake_discord.post_message(channel, alice, "BUY AAPL 10 @ MKT")
        assert await fake_discord.wait_for_reaction(channel, signal) == "✅"
        cached = {message.id for message in runtime.bot.cached_messages}
        assert signal in cached and chatter not in cached
        samples = await scrape(runtime)
        assert samples[("tradecord_messages_seen_total", (("source", "discord"),))] == 2
        assert signals_total(samples, "not_a_signal") == 1 and signals_total(samples, "executed") == 1
        assert samples[("tradecord_signal_parse_seconds_count", ())] == 2  # the signal was not parsed twice
        later = await fake_discord.post_message(channel, alice, "nice trade")
        await wait_until(lambda: runtime.services.metrics.messages_seen.labels("discord")._value.get() == 3)
        await runtime.services.writer.flush()
        assert await runtime.services.state.last_message_id(str(channel)) == later


@pytest.mark.slow
async def test_direct_messages_and_the_bots_own_messages_take_the_ordinary_path(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """A DM is not counted as a guild message; the bot's own replies are neither counted nor turned into
    Messages (they come back through the gateway, and nothing reads them)."""
    settings = e2e_settings(tmp_path, fake_discord, discord_world)
    channel, alice = discord_world.channel_id, discord_world.alice_id
    async with running_tradecord(settings, run_bot) as runtime:
        await fake_discord.post_message(fake_discord.dm_channel(alice), alice, "BUY AAPL 10 @ MKT")
        signal = await fake_discord.post_message(channel, alice, "BUY AAPL 10 @ MKT")
        assert await fake_discord.wait_for_reaction(channel, signal) == "✅"
        reply = await fake_discord.wait_for_bot_message(channel, after=signal)
        await fake_discord.post_message(channel, alice, "thanks")  # frames arrive in order: the reply's echo first
        await wait_until(lambda: runtime.services.metrics.messages_seen.labels("discord")._value.get() == 2)
        assert reply.id not in {message.id for message in runtime.bot.cached_messages}
        samples = await scrape(runtime)
        assert samples[("tradecord_messages_seen_total", (("source", "discord"),))] == 2
        assert isinstance(runtime.bot.get_channel(channel), discord.TextChannel)

"""Chatter, and signals whose payload names their author fully, are read from the raw gateway payload and never
become discord.py Messages; the rest takes discord.py's ordinary path."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import discord
import pytest

from bot.discord_emulator import FakeDiscord, payloads
from bot.services.authority import Author
from cogs import gateway_screen
from cogs.signals import _payload_author
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
    a signal next to it is read once from its payload, traded and answered as always, without a Message."""
    settings = e2e_settings(tmp_path, fake_discord, discord_world)
    channel, alice = discord_world.channel_id, discord_world.alice_id
    async with running_tradecord(settings, run_bot) as runtime:
        chatter = await fake_discord.post_message(channel, alice, "gm everyone, what a day")
        signal = await fake_discord.post_message(channel, alice, "BUY AAPL 10 @ MKT")
        assert await fake_discord.wait_for_reaction(channel, signal) == "✅"
        cached = {message.id for message in runtime.bot.cached_messages}
        assert signal not in cached and chatter not in cached
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


GUILD = SimpleNamespace(id=1, get_role=lambda role: role if role in {1, 10, 11} else None)  # roles it knows


def test_a_payload_author_has_the_roles_discord_py_would_give_the_member() -> None:
    """Member.roles: the listed roles the guild knows, and the default role (the guild's id)."""
    data = {"author": {"id": "7"}, "member": {"roles": ["10", "99"]}}
    assert _payload_author(data, GUILD) == Author(id=7, role_ids=frozenset({10, 1}))  # type: ignore[arg-type]


def test_a_webhook_posts_without_roles_and_a_bot_is_marked() -> None:
    data = {"author": {"id": "8", "bot": True}, "webhook_id": "55"}
    expected = Author(id=8, role_ids=frozenset(), is_bot=True, webhook_id=55)
    assert _payload_author(data, GUILD) == expected  # type: ignore[arg-type]


def test_without_the_member_or_the_guild_the_payload_cannot_say_who_posted() -> None:
    assert _payload_author({"author": {"id": "7"}}, GUILD) is None  # type: ignore[arg-type]
    assert _payload_author({"author": {"id": "7"}, "member": {"roles": []}}, None) is None


@pytest.mark.slow
async def test_a_signal_whose_payload_lacks_the_member_takes_discord_py_s_path(
    tmp_path: Path,
    fake_discord: FakeDiscord,
    discord_world: DiscordWorld,
    run_bot: BotRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Discord may leave the member out of a guild message: the bot then builds the Message and looks the
    member up (the roles decide trust), still parsing the text once."""
    real = payloads.message

    def without_member(*args: Any, **kwargs: Any) -> dict[str, Any]:
        data = real(*args, **kwargs)
        data.pop("member", None)
        return data

    monkeypatch.setattr(payloads, "message", without_member)  # what the emulator sends, not our code
    settings = e2e_settings(tmp_path, fake_discord, discord_world)
    channel, alice = discord_world.channel_id, discord_world.alice_id
    async with running_tradecord(settings, run_bot) as runtime:
        signal = await fake_discord.post_message(channel, alice, "BUY AAPL 10 @ MKT")
        assert await fake_discord.wait_for_reaction(channel, signal) == "✅"  # trusted by her role
        assert signal in {message.id for message in runtime.bot.cached_messages}
        samples = await scrape(runtime)
        assert samples[("tradecord_signal_parse_seconds_count", ())] == 1

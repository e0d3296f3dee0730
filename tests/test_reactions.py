"""Reactions: one at a time per channel, in order; a failure logged and passed over; a stop bounded."""

from __future__ import annotations

import asyncio
import io
import json
from types import SimpleNamespace
from typing import Any, cast

import discord
import pytest

from bot.logs import configure_logging, log_context
from cogs.reactions import Reactions

pytestmark = pytest.mark.usefixtures("restore_logging")


class Channel:
    """What a channel's reactions go through: discord.py's route for them allows one at a time here."""

    def __init__(self, channel_id: int) -> None:
        self.id = channel_id
        self.sent: list[tuple[int, str]] = []
        self.open = asyncio.Event()
        self.open.set()
        self.under_way = 0
        self.most_under_way = 0


class Message:
    """A message whose `add_reaction` waits for its channel to be open, as a request waits for Discord."""

    def __init__(self, channel: Channel, message_id: int, failure: Exception | None = None) -> None:
        self.channel = channel
        self.id = message_id
        self._failure = failure

    async def add_reaction(self, emoji: str) -> None:
        self.channel.under_way += 1
        self.channel.most_under_way = max(self.channel.most_under_way, self.channel.under_way)
        try:
            await self.channel.open.wait()
            if self._failure is not None:
                raise self._failure
            self.channel.sent.append((self.id, emoji))
        finally:
            self.channel.under_way -= 1


def message(channel: Channel, message_id: int, failure: Exception | None = None) -> discord.PartialMessage:
    return cast(discord.PartialMessage, Message(channel, message_id, failure))


def log_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def settled(reactions: Reactions) -> None:
    for _ in range(1000):
        if not reactions.waiting:
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"{reactions.waiting} reactions still waiting after 1 s")


async def test_each_channel_gets_its_reactions_in_order_one_at_a_time() -> None:
    reactions = Reactions()
    busy, quiet = Channel(1), Channel(2)
    busy.open.clear()  # Discord holds the busy channel's first reaction back
    for n in range(5):
        reactions.add(message(busy, 100 + n), "✅")
    reactions.add(message(quiet, 200), "❌")
    await asyncio.sleep(0.01)
    assert quiet.sent == [(200, "❌")]  # not behind the other channel's queue
    assert busy.sent == [] and reactions.waiting == 5
    busy.open.set()
    await settled(reactions)
    assert busy.sent == [(100 + n, "✅") for n in range(5)]
    assert busy.most_under_way == 1


async def test_a_reaction_asked_for_later_starts_the_channel_again() -> None:
    reactions = Reactions()
    channel = Channel(1)
    reactions.add(message(channel, 1), "✅")
    await settled(reactions)
    reactions.add(message(channel, 2), "✅")
    await settled(reactions)
    assert channel.sent == [(1, "✅"), (2, "✅")]


async def test_a_failed_reaction_is_logged_and_the_next_still_goes_out() -> None:
    stream = io.StringIO()
    configure_logging(json=True, stream=stream)
    reactions = Reactions()
    channel = Channel(1)
    refused = discord.Forbidden(cast(Any, SimpleNamespace(status=403, reason="Forbidden")), "Missing Permissions")
    reactions.add(message(channel, 1, refused), "✅")
    reactions.add(message(channel, 2, RuntimeError("a bug")), "✅")
    reactions.add(message(channel, 3), "✅")
    await settled(reactions)
    assert channel.sent == [(3, "✅")]
    failed, crashed = log_lines(stream)
    assert failed["event"] == "discord.reaction_failed" and failed["message_id"] == 1 and failed["status"] == 403
    assert crashed["event"] == "discord.reaction_crashed" and "RuntimeError: a bug" in crashed["exception"]


async def test_a_stop_sends_what_it_can_in_time_and_counts_the_rest_in_one_line() -> None:
    stream = io.StringIO()
    configure_logging(json=True, stream=stream)
    reactions = Reactions(stop_wait_seconds=0.05)
    stuck, free = Channel(1), Channel(2)
    stuck.open.clear()  # rate limited past the stop
    for n in range(3):
        reactions.add(message(stuck, n), "✅")
    reactions.add(message(free, 10), "✅")
    await reactions.aclose()
    assert free.sent == [(10, "✅")] and stuck.sent == [] and stuck.under_way == 0
    assert reactions.waiting == 0
    (line,) = log_lines(stream)
    assert line["event"] == "discord.reactions_dropped" and line["count"] == 3 and line["level"] == "warning"


async def test_a_reaction_asked_for_once_the_bot_is_stopping_is_dropped_and_said_so() -> None:
    stream = io.StringIO()
    configure_logging(json=True, stream=stream)
    reactions = Reactions()
    channel = Channel(1)
    await reactions.aclose()
    reactions.add(message(channel, 7), "✅")
    await asyncio.sleep(0.01)
    assert channel.sent == [] and reactions.waiting == 0
    (line,) = log_lines(stream)
    assert line["event"] == "discord.reaction_dropped" and line["message_id"] == 7


async def test_a_stop_with_nothing_waiting_says_nothing() -> None:
    stream = io.StringIO()
    configure_logging(json=True, stream=stream)
    reactions = Reactions()
    channel = Channel(1)
    reactions.add(message(channel, 1), "✅")
    await reactions.aclose()
    assert channel.sent == [(1, "✅")] and stream.getvalue() == ""


async def test_lines_about_a_reaction_do_not_carry_the_ids_of_the_signal_that_started_the_queue() -> None:
    stream = io.StringIO()
    configure_logging(json=True, stream=stream)
    reactions = Reactions()
    channel = Channel(1)
    channel.open.clear()
    gone = discord.NotFound(cast(Any, SimpleNamespace(status=404, reason="Not Found")), "Unknown Message")
    with log_context(signal_id="s-first", message_id=1):
        reactions.add(message(channel, 1), "✅")
    with log_context(signal_id="s-second", message_id=2):
        reactions.add(message(channel, 2, gone), "✅")
    channel.open.set()
    await settled(reactions)
    (line,) = log_lines(stream)
    assert line["event"] == "discord.reaction_failed" and line["message_id"] == 2
    assert "signal_id" not in line

"""Confirmations of executed signals: a reply each in a quiet channel, one folded message in a busy one."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest

from bot.discord_emulator import FakeDiscord
from bot.domain import SignalSource
from bot.execution.ids import signal_id
from cogs.confirmations import CONFIRMATION_INTERVAL_SECONDS, MAX_MESSAGE_LENGTH, folded
from tests.e2e import e2e_settings, running_tradecord
from tests.fake_discord.fixtures import BotRunner, DiscordWorld


def test_folded_keeps_every_line_in_order_and_each_message_under_the_limit() -> None:
    lines = [f"✅ Executed: 1 order (1 filled) · signal `s-{n:020d}`" for n in range(200)]
    messages = list(folded(lines))
    assert len(messages) > 1
    assert all(len(text) <= MAX_MESSAGE_LENGTH for _, text in messages)
    assert [line for _, text in messages for line in text.split("\n")] == lines
    firsts = [first for first, _ in messages]
    assert firsts[0] == 0 and firsts == sorted(firsts)
    assert all(text.startswith(lines[first]) for first, text in messages)  # replies go to its first signal


def test_folded_one_line_is_that_line() -> None:
    assert list(folded(["✅ Executed: done · signal `s-a`"])) == [(0, "✅ Executed: done · signal `s-a`")]
    assert list(folded([])) == []


@pytest.mark.slow
async def test_a_busy_channel_gets_its_confirmations_folded_into_one_message(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """The first signal gets its own reply; the two right after it get their ✅ at once and one message a
    second later, replying to the first of them, with a line for each; once the channel is quiet again a
    signal gets its own reply."""
    settings = e2e_settings(tmp_path, fake_discord, discord_world)
    channel, alice = discord_world.channel_id, discord_world.alice_id

    def line_ids(text: str) -> list[str]:
        return re.findall(r"^✅ Executed: .* · signal `(s-[^`]+)`$", text, re.MULTILINE)

    def sid(message_id: int) -> str:
        return signal_id(SignalSource.DISCORD, str(channel), str(message_id))

    async with running_tradecord(settings, run_bot):
        first = await fake_discord.post_message(channel, alice, "BUY AAPL 10 @ MKT")
        assert await fake_discord.wait_for_reaction(channel, first) == "✅"
        reply = await fake_discord.wait_for_bot_message(channel, lambda m: m.reference_id == first)
        assert line_ids(reply.content) == [sid(first)]

        busy = [await fake_discord.post_message(channel, alice, f"BUY AAPL {n} @ MKT") for n in (11, 12)]
        reacted_by = time.monotonic()
        for message_id in busy:
            assert await fake_discord.wait_for_reaction(channel, message_id) == "✅"
        reacted_by = time.monotonic() - reacted_by
        fold = await fake_discord.wait_for_bot_message(channel, after=busy[-1])
        assert fold.reference_id == busy[0]
        assert line_ids(fold.content) == [sid(m) for m in busy]
        assert reacted_by < CONFIRMATION_INTERVAL_SECONDS  # the ✅ did not wait for the folded message
        assert [m for m in fake_discord.bot_messages(channel) if m.reference_id == busy[1]] == []

        await asyncio.sleep(CONFIRMATION_INTERVAL_SECONDS)
        quiet = await fake_discord.post_message(channel, alice, "BUY AAPL 13 @ MKT")
        assert await fake_discord.wait_for_reaction(channel, quiet) == "✅"
        reply = await fake_discord.wait_for_bot_message(channel, lambda m: m.reference_id == quiet)
        assert line_ids(reply.content) == [sid(quiet)]

"""End to end: /positions, /orders, /pnl, /ratelimits and the admin-only /pause, /resume, /close, through the
real discord.py client connected to the fake Discord."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.app import Runtime
from bot.discord_emulator import FakeDiscord, InteractionReply
from bot.settings import Settings
from tests.e2e import e2e_settings, running_tradecord, scrape, wait_until
from tests.fake_discord.fixtures import BotRunner, DiscordWorld

pytestmark = pytest.mark.slow

SIGNAL = "BUY AAPL 100 @ 150.25 SL 145 TP 160/165"


@dataclass(frozen=True)
class Desk:
    """The standard world plus bob, a member of the configured admin role."""

    world: DiscordWorld
    admin_role_id: int
    bob_id: int
    settings: Settings


@pytest.fixture
def desk(tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld) -> Desk:
    admin_role_id = fake_discord.add_role(discord_world.guild_id, "Desk admin")
    bob_id = fake_discord.add_user("bob")
    fake_discord.add_member(discord_world.guild_id, bob_id, roles=[admin_role_id])
    settings = e2e_settings(
        tmp_path,
        fake_discord,
        discord_world,
        discord={"admin_role_ids": [admin_role_id]},
        broker={"rate_per_second": 50, "burst": 20},
    )
    return Desk(discord_world, admin_role_id, bob_id, settings)


async def command(
    fake: FakeDiscord, desk: Desk, name: str, user_id: int | None = None, **options: Any
) -> InteractionReply:
    handle = await fake.invoke_command(
        name, user_id=desk.bob_id if user_id is None else user_id, channel_id=desk.world.channel_id, options=options
    )
    return await handle.wait_for_response(timeout=5)


def fields(reply: InteractionReply) -> dict[str, str]:
    return {field["name"]: field["value"] for field in reply.embeds[0]["fields"]}


async def signal(fake: FakeDiscord, desk: Desk, text: str, reply_to: int | None = None) -> tuple[int, str]:
    """Alice posts `text` in the signal channel; returns the message id and the bot's reaction."""
    message_id = await fake.post_message(desk.world.channel_id, desk.world.alice_id, text, reply_to=reply_to)
    return message_id, await fake.wait_for_reaction(desk.world.channel_id, message_id)


async def open_positions_gauge(runtime: Runtime) -> float:
    return (await scrape(runtime))[("tradecord_open_positions", ())]


async def test_positions_orders_pnl_and_ratelimits_show_the_paper_book(
    fake_discord: FakeDiscord, desk: Desk, run_bot: BotRunner
) -> None:
    """After signals fill on paper, each command defers and answers with an embed of the book's figures."""
    async with running_tradecord(desk.settings, run_bot) as runtime:
        names = {c["name"] for c in fake_discord.registered_commands(desk.world.guild_id)}
        assert {"positions", "orders", "pnl", "ratelimits", "pause", "resume", "close"} <= names
        entry, _ = await signal(fake_discord, desk, SIGNAL)
        await signal(fake_discord, desk, "SELL TSLA 10 @ MKT")
        runtime.quotes.set("AAPL", Decimal(155))

        positions = await command(fake_discord, desk, "positions", desk.world.alice_id)
        assert positions.deferred and positions.ack_latency < 3
        assert positions.embeds[0]["title"] == "Open positions · 2"
        assert fields(positions) == {
            "AAPL": "qty **100** · avg 150.00\nprice 155.00 · value 15,500.00\nunrealized **+500.00**",
            "TSLA": "qty **-10** · avg 250.00\nprice 250.00 · value -2,500.00\nunrealized **+0.00**",
        }
        assert positions.embeds[0]["footer"]["text"].startswith("market value 13,000.00 · unrealized +500.00")
        assert await open_positions_gauge(runtime) == 2

        _, reaction = await signal(fake_discord, desk, "close half", reply_to=entry)
        assert reaction == "✅"
        pnl = await command(fake_discord, desk, "pnl", desk.world.alice_id, window="1h")
        assert pnl.deferred and pnl.embeds[0]["title"] == "PnL · last 1h"
        assert {k: v for k, v in fields(pnl).items() if k != "Open positions"} == {
            "Realized": "+250.00",
            "Unrealized": "+250.00",
            "Total": "**+500.00**",
        }

        await signal(fake_discord, desk, "BUY AAPL 5 @ 100")  # rests: the quote is above the limit
        filled = await command(fake_discord, desk, "orders", desk.world.alice_id, status="filled")
        assert filled.deferred and filled.embeds[0]["title"] == "Recent orders · filled"
        lines = filled.embeds[0]["description"].splitlines()
        assert len(lines) == 4 and all("**filled**" in line for line in lines)
        assert "**AAPL** sell 50 market · **filled** @ 155.00" in lines[0]
        resting = await command(fake_discord, desk, "orders", desk.world.alice_id, status="accepted")
        assert resting.embeds[0]["description"].count("\n") == 0
        assert "**AAPL** buy 5 limit · **accepted**" in resting.embeds[0]["description"]
        everything = await command(fake_discord, desk, "orders", desk.world.alice_id)
        assert everything.embeds[0]["title"] == "Recent orders · all statuses"
        assert len(everything.embeds[0]["description"].splitlines()) == 5

        limits = await command(fake_discord, desk, "ratelimits", desk.world.alice_id)
        assert not limits.deferred and limits.embeds[0]["title"] == "Rate limits"
        broker = fields(limits)["broker"]
        assert re.fullmatch(
            r"50/s, burst 20\ntokens \*\*[0-9.]+\*\* · queued 0\nrequests [1-9][0-9]* · waited .*", broker
        )


async def test_admin_commands_refuse_members_outside_the_admin_config(
    fake_discord: FakeDiscord, desk: Desk, run_bot: BotRunner
) -> None:
    """A trusted trader without the admin role is refused privately, with the reason, counted and logged."""
    async with running_tradecord(desk.settings, run_bot) as runtime:
        registered = {c["name"]: c for c in fake_discord.registered_commands(desk.world.guild_id)}
        assert int(registered["pause"]["default_member_permissions"]) == 32  # Manage Server, a UI hint only
        assert registered["positions"]["default_member_permissions"] is None
        await signal(fake_discord, desk, SIGNAL)
        refused = await command(fake_discord, desk, "pause", desk.world.alice_id)
        assert refused.ephemeral and not refused.deferred
        assert refused.content.startswith("⛔ /pause is for admins only")
        assert "discord.admin_role_ids" in refused.content
        closing = await command(fake_discord, desk, "close", desk.world.mallory_id, symbol="AAPL")
        assert closing.ephemeral and "/close is for admins only" in closing.content
        assert not runtime.services.kill_switch.engaged
        rows = await runtime.db.fetchall("SELECT symbol, quantity FROM paper_positions")
        assert [tuple(row) for row in rows] == [("AAPL", "100")]
        await runtime.services.writer.flush()
        row = await runtime.db.fetchone("SELECT SUM(count) FROM activity WHERE name = 'admin.refused'")
        assert row is not None and row[0] == 2


async def test_pause_survives_a_restart_until_resume(fake_discord: FakeDiscord, desk: Desk, run_bot: BotRunner) -> None:
    """/pause refuses new signals (risk_rejected), still holds after a restart on the same database, /resume ends it."""
    async with running_tradecord(desk.settings, run_bot) as runtime:
        paused = await command(fake_discord, desk, "pause")
        assert paused.deferred and not paused.ephemeral
        assert paused.embeds[0]["title"] == "⏸️ Trading paused"
        message_id, reaction = await signal(fake_discord, desk, SIGNAL)
        assert reaction == "⛔"
        reply = await fake_discord.wait_for_bot_message(desk.world.channel_id, after=message_id)
        assert "kill switch engaged" in reply.content
        assert (await scrape(runtime))[("tradecord_kill_switch_engaged", ())] == 1

    async with running_tradecord(desk.settings, run_bot) as runtime:
        assert runtime.services.kill_switch.engaged
        assert (await scrape(runtime))[("tradecord_kill_switch_engaged", ())] == 1
        _, reaction = await signal(fake_discord, desk, "BUY TSLA 1 @ MKT")
        assert reaction == "⛔"
        again = await command(fake_discord, desk, "pause")
        assert again.embeds[0]["title"] == "⏸️ Trading was already paused"
        resumed = await command(fake_discord, desk, "resume")
        assert resumed.embeds[0]["title"] == "▶️ Trading resumed"
        _, reaction = await signal(fake_discord, desk, "BUY TSLA 2 @ MKT")
        assert reaction == "✅"
        assert (await scrape(runtime))[("tradecord_kill_switch_engaged", ())] == 0
        not_paused = await command(fake_discord, desk, "resume")
        assert not_paused.embeds[0]["title"] == "▶️ Trading was not paused"
        rejected = await runtime.db.fetchall("SELECT reason FROM signals WHERE outcome = 'risk_rejected'")
        assert len(rejected) == 2 and all("kill switch engaged" in row[0] for row in rejected)


async def test_close_one_symbol_then_all_leaves_no_position(
    fake_discord: FakeDiscord, desk: Desk, run_bot: BotRunner
) -> None:
    """/close AAPL (while paused) and then /close all sell everything at the paper broker as recorded closes."""
    async with running_tradecord(desk.settings, run_bot) as runtime:
        runtime.quotes.set("BTC/USDT", Decimal("60000.5"))
        for text in (SIGNAL, "SELL TSLA 10 @ MKT", "BUY BTC/USDT 0.5 @ MKT"):
            assert (await signal(fake_discord, desk, text))[1] == "✅"
        await command(fake_discord, desk, "pause")

        one = await command(fake_discord, desk, "close", symbol="aapl")
        assert one.deferred and one.embeds[0]["title"] == "Close AAPL · 1/1 executed"
        assert fields(one)["AAPL"].startswith("✅ executed · order **filled** 100 @ 150.00 · signal `s-")
        rows = await runtime.db.fetchall("SELECT symbol FROM paper_positions ORDER BY symbol")
        assert [row[0] for row in rows] == ["BTC/USDT", "TSLA"]
        assert await open_positions_gauge(runtime) == 2

        everything = await command(fake_discord, desk, "close", symbol="all")
        assert everything.embeds[0]["title"] == "Close all · 2/2 executed"
        assert "order **filled** 0.5 @ 60,000.50" in fields(everything)["BTC/USDT"]
        assert "order **filled** 10 @ 250.00" in fields(everything)["TSLA"]
        assert await runtime.db.fetchall("SELECT symbol FROM paper_positions") == []
        assert await open_positions_gauge(runtime) == 0
        closes = await runtime.db.fetchall(
            "SELECT symbol, outcome, author_id, text FROM signals WHERE channel_id = 'command:close' ORDER BY symbol"
        )
        assert [tuple(row) for row in closes] == [
            ("AAPL", "executed", str(desk.bob_id), "/close AAPL"),
            ("BTC/USDT", "executed", str(desk.bob_id), "/close all"),
            ("TSLA", "executed", str(desk.bob_id), "/close all"),
        ]
        nothing = await command(fake_discord, desk, "close", symbol="all")
        assert nothing.embeds[0]["description"] == "No open positions: nothing to close."
        counter = runtime.services.metrics.signals.labels("discord", "executed")
        await wait_until(lambda: counter._value.get() == 6, what="three signals and three closes executed")


async def test_invalid_options_are_answered_privately_with_the_valid_values(
    fake_discord: FakeDiscord, desk: Desk, run_bot: BotRunner
) -> None:
    """A malformed /close symbol, or a status/window from an outdated client, gets an ephemeral explanation."""
    async with running_tradecord(desk.settings, run_bot) as runtime:
        bad_symbol = await command(fake_discord, desk, "close", symbol="AAPL; DROP TABLE")
        assert bad_symbol.ephemeral and not bad_symbol.deferred
        assert bad_symbol.content.startswith("⚠️ symbol: 'AAPL; DROP TABLE' is not a symbol")
        for registered in fake_discord.registered_commands(desk.world.guild_id):
            for option in registered.get("options") or []:
                option.pop("choices", None)  # as a client with a stale command list would send
        status = await command(fake_discord, desk, "orders", status="done")
        assert status.ephemeral and status.content.startswith("⚠️ status: 'done' is not one of pending_submit,")
        window = await command(fake_discord, desk, "pnl", window="2y")
        assert window.ephemeral and window.content == "⚠️ window: '2y' is not one of 1h, 24h, 7d, 30d"
        row = await runtime.db.fetchone("SELECT COUNT(*) FROM signals")
        assert row is not None and row[0] == 0

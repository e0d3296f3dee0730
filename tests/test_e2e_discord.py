"""End to end: the real discord.py client, connected to the fake Discord, drives the whole pipeline."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import discord
import pytest
import yarl

from bot.discord_emulator import FakeDiscord
from bot.discord_endpoints import configure_endpoints
from bot.domain import OrderStatus
from storage.database import Database
from tests.e2e import e2e_settings, running_tradecord, scrape, side_url, signals_total, wait_until
from tests.fake_discord.fixtures import BotRunner, DiscordWorld

pytestmark = pytest.mark.slow

SIGNAL = "BUY AAPL 100 @ 150.25 SL 145 TP 160/165"


async def order_count(db: Database) -> int:
    row = await db.fetchone("SELECT COUNT(*) FROM orders")
    assert row is not None
    return int(row[0])


async def test_trusted_signal_becomes_paper_orders_and_a_check_mark(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """A trusted member's signal is recorded, placed as two bracket legs, filled on paper and answered with ✅."""
    settings = e2e_settings(tmp_path, fake_discord, discord_world)
    async with running_tradecord(settings, run_bot) as runtime:
        message_id = await fake_discord.post_message(discord_world.channel_id, discord_world.alice_id, SIGNAL)
        assert await fake_discord.wait_for_reaction(discord_world.channel_id, message_id) == "✅"
        orders = await runtime.db.fetchall("SELECT status, quantity, take_profit FROM orders ORDER BY leg")
        assert [tuple(row) for row in orders] == [
            (OrderStatus.FILLED.value, "50", "160"),
            (OrderStatus.FILLED.value, "50", "165"),
        ]
        samples = await scrape(runtime)
        assert signals_total(samples, "executed") == 1
        assert samples[("tradecord_orders_total", (("broker", "paper"), ("status", "filled")))] == 2
        assert samples[("tradecord_signal_to_order_seconds_count", ())] == 1
        assert samples[("tradecord_messages_seen_total", (("source", "discord"),))] == 1


async def test_replayed_message_create_places_no_second_order(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """A MESSAGE_CREATE delivered twice for one message id leaves exactly one set of orders and one reaction."""
    settings = e2e_settings(tmp_path, fake_discord, discord_world)
    async with running_tradecord(settings, run_bot) as runtime:
        message_id = await fake_discord.post_message(discord_world.channel_id, discord_world.alice_id, SIGNAL)
        await fake_discord.wait_for_reaction(discord_world.channel_id, message_id)
        await fake_discord.replay_dispatch(message_id)
        await wait_until(lambda: runtime.services.metrics.messages_seen.labels("discord")._value.get() == 2)
        assert await order_count(runtime.db) == 2
        assert fake_discord.reactions(discord_world.channel_id, message_id) == ["✅"]
        assert signals_total(await scrape(runtime), "executed") == 1


async def test_sell_at_market_and_close_work_and_a_missing_quote_is_explained(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """SELL at market and CLOSE execute on paper; a market order without a quote gets ❌ and the reason."""
    settings = e2e_settings(tmp_path, fake_discord, discord_world)
    channel, alice = discord_world.channel_id, discord_world.alice_id
    async with running_tradecord(settings, run_bot) as runtime:
        sell = await fake_discord.post_message(channel, alice, "SELL TSLA 10 @ MKT")
        assert await fake_discord.wait_for_reaction(channel, sell) == "✅"
        buy = await fake_discord.post_message(channel, alice, SIGNAL)
        await fake_discord.wait_for_reaction(channel, buy)
        close = await fake_discord.post_message(channel, alice, "CLOSE AAPL")
        assert await fake_discord.wait_for_reaction(channel, close) == "✅"
        positions = await runtime.db.fetchall("SELECT symbol, quantity FROM paper_positions")
        assert [tuple(row) for row in positions] == [("TSLA", "-10")]
        no_quote = await fake_discord.post_message(channel, alice, "BUY NVDA 5 @ MKT")
        assert await fake_discord.wait_for_reaction(channel, no_quote) == "❌"
        reply = await fake_discord.wait_for_bot_message(channel, after=no_quote)
        assert "no price for NVDA" in reply.content
        assert reply.reference_id == no_quote


async def test_untrusted_author_other_channel_and_bots_cause_no_order(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """The same signal from an untrusted member, in another channel, or from a bot is counted unauthorized."""
    robot = fake_discord.add_user("robot", bot=True)
    fake_discord.add_member(discord_world.guild_id, robot, roles=[discord_world.trader_role_id])
    settings = e2e_settings(tmp_path, fake_discord, discord_world)
    async with running_tradecord(settings, run_bot) as runtime:
        untrusted = await fake_discord.post_message(discord_world.channel_id, discord_world.mallory_id, SIGNAL)
        assert await fake_discord.wait_for_reaction(discord_world.channel_id, untrusted) == "🚫"
        await fake_discord.post_message(discord_world.other_channel_id, discord_world.alice_id, SIGNAL)
        await fake_discord.post_message(discord_world.channel_id, robot, SIGNAL)
        counter = runtime.services.metrics.signals.labels("discord", "unauthorized")
        await wait_until(lambda: counter._value.get() == 3, what="three unauthorized signals")
        assert await order_count(runtime.db) == 0
        assert fake_discord.bot_messages(discord_world.other_channel_id) == []
        reasons = await runtime.db.fetchall("SELECT reason FROM signals WHERE outcome = 'unauthorized' ORDER BY 1")
        assert len(reasons) == 3


async def test_invalid_signal_gets_a_warning_and_the_reason(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """An inconsistent signal (stop above a buy's entry) is recorded invalid and the author is told why."""
    settings = e2e_settings(tmp_path, fake_discord, discord_world)
    async with running_tradecord(settings, run_bot) as runtime:
        message_id = await fake_discord.post_message(
            discord_world.channel_id, discord_world.alice_id, "BUY AAPL 100 @ 150 SL 155 TP 160"
        )
        assert await fake_discord.wait_for_reaction(discord_world.channel_id, message_id) == "⚠️"
        reply = await fake_discord.wait_for_bot_message(discord_world.channel_id, after=message_id)
        assert "155" in reply.content and "Not executed" in reply.content
        assert signals_total(await scrape(runtime), "invalid") == 1
        assert await order_count(runtime.db) == 0


async def test_stats_and_health_slash_commands_answer_with_embeds(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """/stats and /health are synced to the guild, defer within 3 s and answer with embeds from the services."""
    settings = e2e_settings(tmp_path, fake_discord, discord_world)
    async with running_tradecord(settings, run_bot):
        names = {command["name"] for command in fake_discord.registered_commands(discord_world.guild_id)}
        assert {"stats", "health"} <= names
        message_id = await fake_discord.post_message(discord_world.channel_id, discord_world.alice_id, SIGNAL)
        await fake_discord.wait_for_reaction(discord_world.channel_id, message_id)
        handle = await fake_discord.invoke_command(
            "stats", user_id=discord_world.alice_id, channel_id=discord_world.channel_id, options={"window": "1h"}
        )
        reply = await handle.wait_for_response(timeout=5)
        assert reply.deferred and reply.ack_latency < 3
        fields = {field["name"]: field["value"] for field in reply.embeds[0]["fields"]}
        assert fields["Messages seen"] == "1"
        assert "executed: **1**" in fields["Signals by outcome"]
        assert "filled: **2**" in fields["Orders by status"]
        assert "p50" in fields["Signal → order latency"] and "–" not in fields["Signal → order latency"]
        health = await fake_discord.invoke_command(
            "health", user_id=discord_world.alice_id, channel_id=discord_world.channel_id
        )
        health_reply = await health.wait_for_response(timeout=5)
        assert health_reply.embeds[0]["title"] == "Tradecord health · ok"
        components = " ".join(field["name"] for field in health_reply.embeds[0]["fields"])
        assert "discord" in components and "database" in components


async def test_side_server_health_and_api_stats_follow_the_contract(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """/health, /health/live, /health/ready and /api/stats answer over HTTP from the same services."""
    settings = e2e_settings(tmp_path, fake_discord, discord_world)
    async with running_tradecord(settings, run_bot) as runtime, aiohttp.ClientSession() as http:
        message_id = await fake_discord.post_message(discord_world.channel_id, discord_world.alice_id, SIGNAL)
        await fake_discord.wait_for_reaction(discord_world.channel_id, message_id)
        async with http.get(side_url(runtime, "/health")) as response:
            assert response.status == 200
            body = await response.json()
        assert body["status"] == "ok" and body["components"]["database"]["status"] == "ok"
        for path in ("/health/live", "/health/ready"):
            async with http.get(side_url(runtime, path)) as response:
                assert response.status == 200
        async with http.get(side_url(runtime, "/api/stats?window=1h")) as response:
            stats = await response.json()
        assert stats["success"] is True
        assert stats["data"]["signals"]["by_outcome"] == {"executed": 1}
        assert stats["data"]["orders"]["total"] == 2 and stats["data"]["orders"]["by_status"] == {"filled": 2}
        async with http.get(side_url(runtime, "/api/stats?window=2y")) as response:
            assert response.status == 400


async def test_api_base_url_without_gateway_asks_gateway_bot(
    fake_discord: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With only discord.api_base_url set, the gateway comes from GET /gateway/bot and both endpoints are applied."""
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    )
    async with aiohttp.ClientSession() as http:
        rest, gateway = await configure_endpoints(http, fake_discord.api_base_url, None, fake_discord.bot_token)
    assert rest == fake_discord.api_base_url
    assert fake_discord.api_base_url == discord.http.Route.BASE
    assert yarl.URL(gateway) == discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    assert yarl.URL(gateway).port == yarl.URL(fake_discord.api_base_url).port


async def test_management_without_symbol_applies_to_the_replied_or_last_signal(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """ "close half" replying to a signal closes half of it; a later bare "close all" closes the author's last one."""
    settings = e2e_settings(tmp_path, fake_discord, discord_world)
    channel, alice = discord_world.channel_id, discord_world.alice_id
    async with running_tradecord(settings, run_bot) as runtime:
        signal = await fake_discord.post_message(channel, alice, SIGNAL)
        await fake_discord.wait_for_reaction(channel, signal)
        half = await fake_discord.post_message(channel, alice, "close half", reply_to=signal)
        assert await fake_discord.wait_for_reaction(channel, half) == "✅"
        positions = await runtime.db.fetchall("SELECT symbol, quantity FROM paper_positions")
        assert [tuple(row) for row in positions] == [("AAPL", "50")]
        rest = await fake_discord.post_message(channel, alice, "close all")
        assert await fake_discord.wait_for_reaction(channel, rest) == "✅"
        assert await runtime.db.fetchall("SELECT symbol FROM paper_positions") == []


async def test_signal_parse_command_shows_the_reading_privately(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """/signal parse answers with an ephemeral embed of the normalized signal, or the reason it is not one."""
    settings = e2e_settings(tmp_path, fake_discord, discord_world)
    async with running_tradecord(settings, run_bot) as runtime:
        handle = await fake_discord.invoke_command(
            "signal parse",
            user_id=discord_world.mallory_id,
            channel_id=discord_world.channel_id,
            options={"text": SIGNAL},
        )
        reply = await handle.wait_for_response(timeout=5)
        assert reply.ephemeral
        fields = {field["name"]: field["value"] for field in reply.embeds[0]["fields"]}
        assert fields["symbol"] == '`"AAPL"`' and fields["take_profits"] == '`["160", "165"]`'
        chatter = await fake_discord.invoke_command(
            "signal parse",
            user_id=discord_world.mallory_id,
            channel_id=discord_world.channel_id,
            options={"text": "TP1 hit 🚀"},
        )
        assert (await chatter.wait_for_response(timeout=5)).embeds[0]["title"] == "Not a trade: not_a_signal"
        assert await order_count(runtime.db) == 0


async def test_a_refused_token_is_a_configuration_error(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token Discord refuses ends `run` with a ConfigError naming discord.token, not a traceback."""
    from bot.errors import ConfigError
    from bot.runner import run

    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    )
    settings = e2e_settings(tmp_path, fake_discord, discord_world, discord={"token": "not-the-token"})
    with pytest.raises(ConfigError, match=r"discord\.token: Discord refused the token"):
        await run(settings)


async def test_a_storage_failure_is_reported_to_the_author_and_the_bot_keeps_running(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """With the database gone a signal gets ❌ and an explanation; once it is back, signals execute again."""
    settings = e2e_settings(tmp_path, fake_discord, discord_world)
    channel, alice = discord_world.channel_id, discord_world.alice_id
    async with running_tradecord(settings, run_bot) as runtime:
        await runtime.db.close()
        broken = await fake_discord.post_message(channel, alice, SIGNAL)
        assert await fake_discord.wait_for_reaction(channel, broken) == "❌"
        reply = await fake_discord.wait_for_bot_message(channel, after=broken)
        assert "internal error" in reply.content
        await runtime.db.open()
        fixed = await fake_discord.post_message(channel, alice, "BUY AAPL 10 @ 150.25")
        assert await fake_discord.wait_for_reaction(channel, fixed) == "✅"

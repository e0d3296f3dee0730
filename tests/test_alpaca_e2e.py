"""End to end with Alpaca: a trusted signal in the fake Discord becomes bracket orders at the fake Alpaca."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from bot.discord_emulator import FakeDiscord
from bot.domain import OrderStatus
from tests.e2e import e2e_settings, running_tradecord, side_url, wait_until
from tests.fake_broker import DEFAULT_KEY_ID, DEFAULT_SECRET_KEY, FakeAlpaca, Route
from tests.fake_discord.fixtures import BotRunner, DiscordWorld

pytestmark = pytest.mark.slow

SIGNAL = "BUY AAPL 100 @ 150.25 SL 145 TP 160/165"


@pytest.fixture
async def venue() -> AsyncIterator[FakeAlpaca]:
    async with FakeAlpaca(prices={"AAPL": "150"}) as fake:
        yield fake


async def test_trusted_signal_becomes_two_brackets_at_alpaca(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner, venue: FakeAlpaca
) -> None:
    """The signal is split into two bracket orders (one per target) at the venue, recorded, and answered ✅."""
    broker = {
        "kind": "alpaca",
        "base_url": venue.base_url,
        "data_url": venue.data_url,
        "key_id": DEFAULT_KEY_ID,
        "secret_key": DEFAULT_SECRET_KEY,
        "rate_per_second": 50,
        "burst": 10,
        "timeout_seconds": 2,
    }
    settings = e2e_settings(tmp_path, fake_discord, discord_world, broker=broker)
    async with running_tradecord(settings, run_bot) as runtime:
        message_id = await fake_discord.post_message(discord_world.channel_id, discord_world.alice_id, SIGNAL)
        assert await fake_discord.wait_for_reaction(discord_world.channel_id, message_id) == "✅"
        bodies = [request.body for request in venue.requests_for(Route.SUBMIT_ORDER)]
        assert [(b["qty"], b["limit_price"], b["order_class"], b["take_profit"], b["stop_loss"]) for b in bodies] == [
            ("50", "150.25", "bracket", {"limit_price": "160"}, {"stop_price": "145"}),
            ("50", "150.25", "bracket", {"limit_price": "165"}, {"stop_price": "145"}),
        ]
        rows = await runtime.db.fetchall("SELECT client_order_id, broker_order_id, status FROM orders ORDER BY leg")
        assert [row[0] for row in rows] == [body["client_order_id"] for body in bodies]
        assert [row[1] for row in rows] == [order.id for order in venue.orders]
        assert {row[2] for row in rows} == {OrderStatus.FILLED.value}
        assert venue.positions == {"AAPL": Decimal(100)}
        async with aiohttp.ClientSession() as http, http.get(side_url(runtime, "/health")) as response:
            health = await response.json()
        broker_health = health["components"]["broker"]
        assert broker_health["status"] == "ok" and "alpaca reachable" in broker_health["detail"]
        await wait_until(lambda: all(r.status is not None for r in venue.requests), what="venue idle")
        assert DEFAULT_SECRET_KEY not in str(health)

"""The demo's settings: built in code, never read from config.toml or the environment.

A demo must behave the same on every machine, and must not pick up (or write next to) a real deployment's
configuration, so only `--db` and `--port` reach it.
"""

from __future__ import annotations

from pathlib import Path

from bot.demo.defaults import DEMO_HOST
from bot.demo.market import Market
from bot.demo.world import DemoWorld
from bot.discord_emulator import FakeDiscord
from bot.settings import Settings


def demo_settings(fake: FakeDiscord, world: DemoWorld, market: Market, *, db_path: Path, port: int) -> Settings:
    """The real bot's settings, pointed at the emulator, trading on paper at the market's prices."""
    return Settings.model_validate(
        {
            "discord": {
                "token": fake.bot_token,
                "api_base_url": fake.api_base_url,
                "gateway_url": fake.gateway_url,
                "guild_ids": [world.guild_id],
                "signal_channel_ids": [world.channel_id],
                "trusted_role_ids": [world.provider_role_id],
            },
            # Signals without a size (Kenji's crypto, Lena's forex) trade this much.
            "signals": {"default_notional": "5000"},
            "broker": {
                "kind": "paper",
                "quotes": {symbol: str(price) for symbol, price in market.quotes().items()},
                "allow_short": True,
                "order_poll_seconds": 0.25,
            },
            # Low enough that "BUY SPY 500 @ MKT" shows a risk refusal.
            "risk": {"max_order_notional": "50000"},
            "storage": {"path": str(db_path), "batch_flush_seconds": 0.5, "system_sample_seconds": 5},
            "server": {"host": DEMO_HOST, "port": port, "webhook_enabled": False},
            "logging": {"level": "WARNING"},
        }
    )

"""Starting the real Tradecord application against the fake Discord, for end-to-end tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot.app import Runtime, open_runtime
from bot.config_display import render_toml
from bot.discord_emulator import FakeDiscord
from bot.settings import Settings, load_settings
from tests.fake_discord.fixtures import BotRunner, DiscordWorld


def discord_section(fake: FakeDiscord, world: DiscordWorld) -> dict[str, Any]:
    """The standard test world's `[discord]`: #signals is the signal channel, the Trader role is trusted."""
    return {
        "token": fake.bot_token,
        "api_base_url": fake.api_base_url,
        "gateway_url": fake.gateway_url,
        "guild_ids": [world.guild_id],
        "signal_channel_ids": [world.channel_id],
        "trusted_role_ids": [world.trader_role_id],
    }


def write_config(tmp_path: Path, config: dict[str, dict[str, Any]], sections: dict[str, dict[str, Any]]) -> Path:
    """`config` with each of `sections` merged over it, written as `tmp_path/config.toml`."""
    for section, values in sections.items():
        config.setdefault(section, {}).update(values)
    path = tmp_path / "config.toml"
    path.write_text(render_toml(config))
    return path


def e2e_settings(tmp_path: Path, fake: FakeDiscord, world: DiscordWorld, **sections: dict[str, Any]) -> Settings:
    """Settings for the standard test world with the paper broker and a side server on a free port."""
    config: dict[str, dict[str, Any]] = {
        "discord": discord_section(fake, world),
        "broker": {"quotes": {"AAPL": "150", "TSLA": "250"}, "allow_short": True},
        "storage": {"path": str(tmp_path / "tradecord.db"), "batch_flush_seconds": 0.05},
        "server": {"port": 0},
    }
    return load_settings(write_config(tmp_path, config, sections), environ={})


@asynccontextmanager
async def running_tradecord(settings: Settings, run_bot: BotRunner) -> AsyncIterator[Runtime]:
    """The whole application (database, broker, side server, bot) connected to the fake Discord."""
    async with open_runtime(settings, discord_options={"guild_ready_timeout": 0.05}) as runtime:
        await run_bot(runtime.bot)
        await wait_until(lambda: runtime.services.readiness.ready, what="readiness")
        yield runtime


async def wait_until(condition: Callable[[], bool], *, timeout: float = 5.0, what: str = "condition") -> None:  # noqa: ASYNC109
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - the conditions are plain state of the app under test
            await asyncio.sleep(0.01)
    assert condition(), what


def side_url(runtime: Runtime, path: str) -> str:
    assert runtime.server is not None
    return f"http://127.0.0.1:{runtime.server.port}{path}"


async def scrape(runtime: Runtime) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """`/metrics` over HTTP, as {(sample name, sorted labels): value}."""
    async with aiohttp.ClientSession() as http, http.get(side_url(runtime, "/metrics")) as response:
        assert response.status == 200
        text = await response.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def signals_total(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], outcome: str) -> float:
    key = ("tradecord_signals_total", (("outcome", outcome), ("source", "discord")))
    return samples.get(key, 0.0)

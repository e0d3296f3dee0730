"""End to end: history survives a restart, /api/series answers, and health alerts reach the alert channel
once, with a resolved message when the condition ends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import Runtime
from bot.discord_emulator import FakeDiscord, FakeMessage
from tests.e2e import e2e_settings, running_tradecord, side_url, wait_until
from tests.fake_discord.fixtures import BotRunner, DiscordWorld

pytestmark = pytest.mark.slow

SIGNAL = "BUY AAPL 100 @ 150.25 SL 145 TP 160/165"
FAST_ALERTS = {"evaluation_interval_seconds": 0.05, "consecutive_evaluations": 2}


async def get_json(runtime: Runtime, path: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(side_url(runtime, path)) as response:
        return response.status, await response.json()


def memory_messages(fake: FakeDiscord, channel_id: int) -> list[FakeMessage]:
    return [m for m in fake.bot_messages(channel_id) if m.embeds and "memory" in m.embeds[0].get("title", "")]


async def settle(runtime: Runtime, evaluations: int = 10) -> None:
    """Let the alert monitor run several more evaluations (a repeat alert would show up meanwhile)."""
    target = runtime.services.alerts.evaluations + evaluations
    await wait_until(lambda: runtime.services.alerts.evaluations >= target, what="more alert evaluations")


async def test_stats_survive_a_restart_and_series_follow_the_contract(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """Signals counted before a restart are still in /api/stats, /stats and /api/series after it."""
    settings = e2e_settings(tmp_path, fake_discord, discord_world)
    channel, alice = discord_world.channel_id, discord_world.alice_id
    async with running_tradecord(settings, run_bot) as first:
        executed = await fake_discord.post_message(channel, alice, SIGNAL)
        assert await fake_discord.wait_for_reaction(channel, executed) == "✅"
        invalid = await fake_discord.post_message(channel, alice, "BUY AAPL 100 @ 150 SL 155 TP 160")
        assert await fake_discord.wait_for_reaction(channel, invalid) == "⚠️"
        await fake_discord.post_message(channel, alice, "good morning")
        chatter = first.services.metrics.signals.labels("discord", "not_a_signal")
        await wait_until(lambda: chatter._value.get() == 1, what="the chatter handled")
    async with running_tradecord(settings, run_bot) as runtime:
        status, body = await get_json(runtime, "/api/stats?window=24h")
        assert status == 200 and body["success"] is True
        data = body["data"]
        assert data["messages_seen"] == 3
        assert data["signals"]["by_outcome"] == {"executed": 1, "invalid": 1, "not_a_signal": 1}
        assert data["orders"]["by_status"] == {"filled": 2} and data["orders"]["fill_rate"] == 1.0
        assert data["parse"] == {"valid": 1, "invalid": 1, "success_rate": 0.5}
        assert data["latency_ms"]["samples"] == 1 and data["latency_ms"]["p99"] is not None
        assert data["top_rejections"][0]["count"] == 1
        handle = await fake_discord.invoke_command("stats", user_id=alice, channel_id=channel, options={"window": "1h"})
        fields = {f["name"]: f["value"] for f in (await handle.wait_for_response(timeout=5)).embeds[0]["fields"]}
        assert (
            fields["Messages seen"] == "3" and fields["Fill rate"] == "100.0 %" and fields["Parse success"] == "50.0 %"
        )
        status, body = await get_json(runtime, "/api/series?window=1h")
        assert status == 200 and body["data"]["window"] == "1h" and body["data"]["step_seconds"] == 60
        points = body["data"]["points"]
        assert len(points) == 60 and points == sorted(points, key=lambda p: p["t"])
        assert sum(p["messages"] for p in points) == 3 and sum(p["executed"] for p in points) == 1
        assert sum(p["signals"] for p in points) == 2 and sum(p["rejected"] for p in points) == 1
        assert sum(p["orders"] for p in points) == 2 and sum(p["orders_failed"] for p in points) == 0
        assert set(points[-1]) == {
            "t", "messages", "signals", "executed", "rejected", "orders", "orders_failed", "latency_ms",
            "memory_mb", "cpu_percent", "loop_lag_ms", "throttled",
        }  # fmt: skip
        assert (await get_json(runtime, "/api/series?window=5m"))[0] == 400


async def test_alert_is_posted_once_kept_across_a_restart_and_resolved_when_the_condition_ends(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """A 1 MB memory warning threshold alerts once (the first post is refused and retried); a restart with the
    condition still standing posts nothing; a restart with the default threshold posts the resolved message."""
    alerts_channel = fake_discord.add_channel(discord_world.guild_id, "alerts")
    discord = {"alert_channel_id": alerts_channel}
    tiny = e2e_settings(
        tmp_path, fake_discord, discord_world, discord=discord, alerts={**FAST_ALERTS, "memory_warning_mb": 1}
    )
    fake_discord.fail_next("POST", f"/channels/{alerts_channel}/messages", status=403, times=1)
    async with running_tradecord(tiny, run_bot) as runtime:
        alert = await fake_discord.wait_for_bot_message(
            alerts_channel, lambda m: m in memory_messages(fake_discord, alerts_channel)
        )
        assert alert.embeds[0]["title"] == "🟡 memory is warning"
        now_field = alert.embeds[0]["fields"][0]["value"]
        assert "MB resident" in now_field and "warning ≥ 1 MB" in now_field
        await settle(runtime)
        assert len(memory_messages(fake_discord, alerts_channel)) == 1
        posts = [r.status for r in fake_discord.request_log if r.path == f"/channels/{alerts_channel}/messages"]
        assert posts[:2] == [403, 200]  # refused once, delivered by the next evaluation
    async with running_tradecord(tiny, run_bot) as runtime:
        await settle(runtime)
        assert len(memory_messages(fake_discord, alerts_channel)) == 1
    normal = e2e_settings(tmp_path, fake_discord, discord_world, discord=discord, alerts=FAST_ALERTS)
    async with running_tradecord(normal, run_bot) as runtime:
        resolved = await fake_discord.wait_for_bot_message(
            alerts_channel, lambda m: m in memory_messages(fake_discord, alerts_channel), after=alert.id
        )
        assert resolved.embeds[0]["title"] == "✅ Resolved: memory is ok again"
        await settle(runtime)
        assert len(memory_messages(fake_discord, alerts_channel)) == 2
        status, body = await get_json(runtime, "/health")
        assert body["components"]["memory"]["threshold"] == "warning ≥ 512 MB · critical ≥ 1024 MB"
        assert body["components"]["signal_latency"]["status"] == "ok"
        assert status in (200, 503) and set(body["components"]) >= {
            "discord", "database", "broker", "event_loop", "memory", "signal_latency", "order_success_rate",
            "ratelimit_block_rate",
        }  # fmt: skip

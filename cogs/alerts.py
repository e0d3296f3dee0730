"""Posts health alerts and resolved messages to `discord.alert_channel_id` for the alert monitor."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.services.alerts import AlertEvent
from cogs.embeds import alert_embed

if TYPE_CHECKING:
    from bot.client import TradecordBot


class AlertChannelError(Exception):
    """The alert channel is not a channel the bot can post in; the monitor logs it and retries later."""


class AlertPoster(commands.Cog):
    def __init__(self, bot: TradecordBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.services.alerts.attach(self.post)

    async def cog_unload(self) -> None:
        self.bot.services.alerts.attach(None)

    async def post(self, event: AlertEvent) -> None:
        """Send one event; any failure propagates so the monitor keeps the event for its next evaluation."""
        channel_id = self.bot.services.alerts.channel_id
        if channel_id is None:
            return
        channel = self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            raise AlertChannelError(f"discord.alert_channel_id {channel_id} is not a text channel")
        await channel.send(embed=alert_embed(event))


async def setup(bot: TradecordBot) -> None:
    await bot.add_cog(AlertPoster(bot))

"""`/health`: each component's status with its value and thresholds."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from cogs.embeds import health_embed

if TYPE_CHECKING:
    from bot.client import TradecordBot


class HealthCog(commands.Cog):
    def __init__(self, bot: TradecordBot) -> None:
        self.bot = bot

    @app_commands.command(name="health", description="Status of Discord, the database, the broker and the bot.")
    async def health(self, interaction: discord.Interaction[TradecordBot]) -> None:
        """Component statuses (ok, warning, critical) with the values and thresholds behind them."""
        await interaction.response.defer(thinking=True)
        report = await self.bot.services.health.check()
        await interaction.followup.send(embed=health_embed(report))


async def setup(bot: TradecordBot) -> None:
    await bot.add_cog(HealthCog(bot))

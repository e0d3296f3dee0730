"""`/stats`: what the bot did in a window."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.services.stats import Window
from cogs.embeds import stats_embed

if TYPE_CHECKING:
    from bot.client import TradecordBot


class StatsCog(commands.Cog):
    def __init__(self, bot: TradecordBot) -> None:
        self.bot = bot

    @app_commands.command(name="stats", description="Messages, signals, orders and latency over a window.")
    @app_commands.describe(window="How far back to look (default 24h).")
    @app_commands.choices(window=[app_commands.Choice(name=w.value, value=w.value) for w in Window])
    async def stats(self, interaction: discord.Interaction[TradecordBot], window: str = Window.DAY.value) -> None:
        """Messages seen, signals by outcome, orders by status and signal-to-order latency percentiles."""
        await interaction.response.defer(thinking=True)
        report = await self.bot.services.stats.report(Window(window))
        await interaction.followup.send(embed=stats_embed(report))


async def setup(bot: TradecordBot) -> None:
    await bot.add_cog(StatsCog(bot))

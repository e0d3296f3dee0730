"""`/trace signal_id`: one signal's chain from the message to its fills, with the time of each step."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import InvalidOption
from bot.services.records import InvalidQuery, parse_signal_id
from cogs.trace_embeds import trace_embed

if TYPE_CHECKING:
    from bot.client import TradecordBot


class TraceCog(commands.Cog):
    def __init__(self, bot: TradecordBot) -> None:
        self.bot = bot

    @app_commands.command(name="trace", description="Follow one signal from its message to its fills.")
    @app_commands.describe(signal_id="The id from the bot's reply or a log line (s-…).")
    async def trace(self, interaction: discord.Interaction[TradecordBot], signal_id: str) -> None:
        """Received, parsed, risk decision, each order sent, acknowledged and filled, with their times."""
        try:
            wanted = parse_signal_id(signal_id)  # before deferring, so a typo is answered privately
        except InvalidQuery as exc:
            raise InvalidOption("signal_id", str(exc).removeprefix("signal_id: ")) from None
        await interaction.response.defer(thinking=True)
        report = await self.bot.services.records.trace(wanted)
        if report is None:
            await interaction.followup.send(f"No signal `{wanted}` is recorded here.")
            return
        await interaction.followup.send(embed=trace_embed(report))


async def setup(bot: TradecordBot) -> None:
    await bot.add_cog(TraceCog(bot))

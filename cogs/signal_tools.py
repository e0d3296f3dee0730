"""`/signal parse`: show a provider how the bot reads a message, without trading it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import SignalParseError
from cogs.embeds import parse_embed

if TYPE_CHECKING:
    from bot.client import TradecordBot


class SignalTools(commands.GroupCog, group_name="signal", group_description="Signal tools"):
    def __init__(self, bot: TradecordBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="parse", description="Show how a message would be read (nothing is traded).")
    @app_commands.describe(text="The message, as a provider would post it.")
    async def parse(self, interaction: discord.Interaction[TradecordBot], text: str) -> None:
        """Parse a message with this channel's rules and show the result privately."""
        result = self.bot.services.intake.preview(text, str(interaction.channel_id))
        error = result if isinstance(result, SignalParseError) else None
        signal = None if isinstance(result, SignalParseError) else result
        await interaction.response.send_message(embed=parse_embed(text, signal, error), ephemeral=True)


async def setup(bot: TradecordBot) -> None:
    await bot.add_cog(SignalTools(bot))

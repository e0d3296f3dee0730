"""Admin-only `/pause`, `/resume` and `/close`: checked against the configured admins on every call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.services.control import parse_close_target
from cogs.trading_embeds import close_embed, kill_switch_embed

if TYPE_CHECKING:
    from bot.client import TradecordBot


def _role_ids(user: discord.User | discord.Member) -> frozenset[int]:
    return frozenset(role.id for role in getattr(user, "roles", ()))


# Hides the commands from members without Manage Server in Discord's UI. A server can change that under
# Server Settings → Integrations, which is why `interaction_check` runs on every call regardless.
ADMIN_UI_HINT = discord.Permissions(manage_guild=True)


class AdminCog(commands.Cog):
    def __init__(self, bot: TradecordBot) -> None:
        self.bot = bot

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        """Every admin command, every call: refuse (privately, logged, counted) anyone not configured."""
        command = interaction.command.name if interaction.command else "?"
        user = interaction.user
        reason = self.bot.services.trading.admins.check(command, user.id, _role_ids(user))
        if reason is not None:
            raise app_commands.CheckFailure(f"/{command} is for admins only: {reason}.")
        return True

    @app_commands.command(name="pause", description="Admin: engage the kill switch; new signals are refused.")
    @app_commands.guild_only()
    @app_commands.default_permissions(ADMIN_UI_HINT)
    async def pause(self, interaction: discord.Interaction[TradecordBot]) -> None:
        """Stop opening positions until /resume (closes still go through); survives restarts."""
        await interaction.response.defer(thinking=True)
        change = await self.bot.services.trading.control.pause(interaction.user.id)
        await interaction.followup.send(embed=kill_switch_embed(change, str(interaction.user)))

    @app_commands.command(name="resume", description="Admin: release the kill switch; signals trade again.")
    @app_commands.guild_only()
    @app_commands.default_permissions(ADMIN_UI_HINT)
    async def resume(self, interaction: discord.Interaction[TradecordBot]) -> None:
        """Let new signals trade again; survives restarts."""
        await interaction.response.defer(thinking=True)
        change = await self.bot.services.trading.control.resume(interaction.user.id)
        await interaction.followup.send(embed=kill_switch_embed(change, str(interaction.user)))

    @app_commands.command(name="close", description="Admin: close one position, or every one with 'all'.")
    @app_commands.guild_only()
    @app_commands.default_permissions(ADMIN_UI_HINT)
    @app_commands.describe(symbol="The symbol to close (e.g. AAPL, BTC/USDT), or 'all' for every open position.")
    async def close(self, interaction: discord.Interaction[TradecordBot], symbol: str) -> None:
        """Close at market through the executor, like a provider's CLOSE; allowed while trading is paused."""
        target = parse_close_target(symbol)  # before deferring, so a bad value is answered privately
        await interaction.response.defer(thinking=True)
        report = await self.bot.services.trading.control.close(
            target, interaction_id=interaction.id, actor_id=interaction.user.id
        )
        await interaction.followup.send(embed=close_embed(report))


async def setup(bot: TradecordBot) -> None:
    await bot.add_cog(AdminCog(bot))

"""`/positions`, `/orders`, `/pnl` and `/ratelimits`: what the account holds, did and may still do."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.services.order_history import ORDER_STATUSES, parse_order_status
from bot.services.portfolio import WINDOWS, parse_window
from cogs.trading_embeds import orders_embed, pnl_embed, positions_embed, rate_limits_embed

if TYPE_CHECKING:
    from bot.client import TradecordBot


class TradingCog(commands.Cog):
    def __init__(self, bot: TradecordBot) -> None:
        self.bot = bot

    @app_commands.command(name="positions", description="Open positions with market value and unrealized PnL.")
    async def positions(self, interaction: discord.Interaction[TradecordBot]) -> None:
        """Each open position: quantity, average price, current price, market value and unrealized PnL."""
        await interaction.response.defer(thinking=True)
        report = await self.bot.services.trading.portfolio.positions()
        await interaction.followup.send(embed=positions_embed(report))

    @app_commands.command(name="orders", description="The most recent orders, optionally of one status.")
    @app_commands.describe(status="Only orders with this status (default: all).")
    @app_commands.choices(status=[app_commands.Choice(name=s, value=s) for s in ORDER_STATUSES])
    async def orders(self, interaction: discord.Interaction[TradecordBot], status: str | None = None) -> None:
        """The newest orders the bot placed, with side, quantity, status, fill price and signal id."""
        wanted = parse_order_status(status)  # before deferring, so a bad value is answered privately
        await interaction.response.defer(thinking=True)
        report = await self.bot.services.trading.orders.recent(wanted)
        await interaction.followup.send(embed=orders_embed(report))

    @app_commands.command(name="pnl", description="Realized PnL over a window plus unrealized PnL now.")
    @app_commands.describe(window="How far back realized PnL is counted (default 24h).")
    @app_commands.choices(window=[app_commands.Choice(name=w, value=w) for w in WINDOWS])
    async def pnl(self, interaction: discord.Interaction[TradecordBot], window: str | None = None) -> None:
        """PnL realized by fills in the window, unrealized PnL of the open positions, and their total."""
        chosen = parse_window(window)
        await interaction.response.defer(thinking=True)
        report = await self.bot.services.trading.portfolio.pnl(chosen)
        await interaction.followup.send(embed=pnl_embed(report))

    @app_commands.command(name="ratelimits", description="The broker's token bucket: level, queue and waits.")
    async def ratelimits(self, interaction: discord.Interaction[TradecordBot]) -> None:
        """Each rate limiter's rate, burst, tokens left, queued callers and how often callers waited."""
        # In-memory counters only: nothing to wait for, so the answer goes out directly.
        limiters = self.bot.services.trading.rate_limits.report()
        await interaction.response.send_message(embed=rate_limits_embed(limiters))


async def setup(bot: TradecordBot) -> None:
    await bot.add_cog(TradingCog(bot))

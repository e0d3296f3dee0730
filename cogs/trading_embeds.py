"""Embeds for the trading and admin commands (`/positions`, `/orders`, `/pnl`, `/ratelimits`, `/pause`...)."""

from __future__ import annotations

from decimal import Decimal

import discord

from bot.domain import ExecutionResult, OrderAck, Outcome
from bot.services.control import CloseReport, KillSwitchChange
from bot.services.order_history import OrdersReport
from bot.services.portfolio import PnlReport, PositionLine, PositionsReport
from bot.services.rate_limits import LimiterState

MAX_FIELDS = 24  # Discord allows 25; the last one says how many were left out
OUTCOME_ICONS = {Outcome.EXECUTED: "✅", Outcome.RISK_REJECTED: "⛔", Outcome.DUPLICATE: "🔁", Outcome.FAILED: "❌"}


def quantity_text(value: Decimal) -> str:
    return f"{value.normalize():f}"


def price_text(value: Decimal | None) -> str:
    """Two decimals, more when the price has them (crypto and forex quotes)."""
    if value is None:
        return "–"
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        return f"{value.normalize():,f}"
    return f"{value:,.2f}"


def signed_money(value: Decimal | None) -> str:
    if value is None:
        return "–"
    return f"{abs(value) if value == 0 else value:+,.2f}"  # a flat short computes as -0


def _pnl_colour(value: Decimal) -> discord.Colour:
    return discord.Colour.green() if value >= 0 else discord.Colour.red()


def _position_field(line: PositionLine) -> str:
    return (
        f"qty **{quantity_text(line.quantity)}** · avg {price_text(line.average_price)}\n"
        f"price {price_text(line.market_price)} · value {price_text(line.market_value)}\n"
        f"unrealized **{signed_money(line.unrealized_pnl)}**"
    )


def positions_embed(report: PositionsReport) -> discord.Embed:
    count = len(report.positions)
    embed = discord.Embed(title=f"Open positions · {count}", colour=_pnl_colour(report.unrealized_pnl))
    if not report.positions:
        embed.description = "No open positions."
    for line in report.positions[:MAX_FIELDS]:
        embed.add_field(name=line.symbol, value=_position_field(line))
    if count > MAX_FIELDS:
        embed.add_field(name="…", value=f"{count - MAX_FIELDS} more not shown", inline=False)
    footer = f"market value {price_text(report.market_value)} · unrealized {signed_money(report.unrealized_pnl)}"
    if report.unpriced:
        footer += f" · no price for {', '.join(report.unpriced)}"
    embed.set_footer(text=f"{footer} · {report.as_of:%Y-%m-%d %H:%M:%S} UTC")
    return embed


def orders_embed(report: OrdersReport) -> discord.Embed:
    scope = "all statuses" if report.status is None else report.status.value
    embed = discord.Embed(title=f"Recent orders · {scope}", colour=discord.Colour.blurple())
    lines = []
    for order in report.orders:
        request = order.request
        fill = "" if order.average_fill_price is None else f" @ {price_text(order.average_fill_price)}"
        lines.append(
            f"`{order.created_at:%m-%d %H:%M}` **{request.symbol}** {request.side.value}"
            f" {quantity_text(request.quantity)} {request.type.value} · **{order.status.value}**{fill}"
            f" · `{order.signal_id}`"
        )
    embed.description = "\n".join(lines)[:4000] if lines else "No orders."
    embed.set_footer(text=f"newest {report.limit} at most")
    return embed


def pnl_embed(report: PnlReport) -> discord.Embed:
    embed = discord.Embed(title=f"PnL · last {report.window.value}", colour=_pnl_colour(report.total))
    realized = "not reported by this broker" if report.realized is None else signed_money(report.realized)
    embed.add_field(name="Realized", value=realized)
    embed.add_field(name="Unrealized", value=signed_money(report.unrealized))
    embed.add_field(name="Total", value=f"**{signed_money(report.total)}**")
    embed.add_field(name="Open positions", value=str(report.open_positions))
    if report.unpriced:
        embed.add_field(name="No price for", value=", ".join(report.unpriced)[:1024], inline=False)
    embed.set_footer(text=f"realized since {report.since:%Y-%m-%d %H:%M} UTC · unrealized at current prices")
    return embed


def rate_limits_embed(limiters: tuple[LimiterState, ...]) -> discord.Embed:
    embed = discord.Embed(title="Rate limits", colour=discord.Colour.blurple())
    for state in limiters:
        embed.add_field(
            name=state.name,
            value=(
                f"{state.rate_per_second:g}/s, burst {state.burst}\n"
                f"tokens **{max(state.tokens, 0.0):.1f}** · queued {state.queued}\n"
                f"requests {state.acquired} · waited {state.throttled} ({state.waited_seconds:.2f} s in all)"
            ),
        )
    if not limiters:
        embed.description = "No rate limiters."
    embed.set_footer(text="since the bot started")
    return embed


def kill_switch_embed(change: KillSwitchChange, actor: str) -> discord.Embed:
    if change.engaged:
        title = "⏸️ Trading paused" if change.changed else "⏸️ Trading was already paused"
        text = "New signals are refused (risk_rejected) until /resume. Closes still go through."
    else:
        title = "▶️ Trading resumed" if change.changed else "▶️ Trading was not paused"
        text = "New signals are executed again."
    colour = discord.Colour.orange() if change.engaged else discord.Colour.green()
    embed = discord.Embed(title=title, description=text, colour=colour)
    embed.set_footer(text=f"by {actor} · the state survives restarts")
    return embed


def _order_text(ack: OrderAck) -> str:
    fill = ""
    if ack.filled_quantity > 0:
        fill = f" {quantity_text(ack.filled_quantity)} @ {price_text(ack.average_fill_price)}"
    return f"order **{ack.status.value}**{fill}"


def _close_text(result: ExecutionResult) -> str:
    parts = [f"{OUTCOME_ICONS.get(result.outcome, '•')} {result.outcome.value}"]
    parts += [_order_text(ack) for ack in result.orders]
    if result.reason:
        parts.append(result.reason[:300])
    if result.signal_id:
        parts.append(f"signal `{result.signal_id}`")
    return " · ".join(parts)


def close_embed(report: CloseReport) -> discord.Embed:
    executed = sum(1 for line in report.closes if line.result.outcome is Outcome.EXECUTED)
    title = f"Close {report.target} · {executed}/{len(report.closes)} executed"
    colour = discord.Colour.green() if executed == len(report.closes) else discord.Colour.orange()
    embed = discord.Embed(title=title, colour=colour)
    if not report.closes:
        embed.description = "No open positions: nothing to close."
    for line in report.closes[:MAX_FIELDS]:
        embed.add_field(name=line.symbol, value=_close_text(line.result)[:1024], inline=False)
    if len(report.closes) > MAX_FIELDS:
        embed.add_field(name="…", value=f"{len(report.closes) - MAX_FIELDS} more, see /orders", inline=False)
    return embed

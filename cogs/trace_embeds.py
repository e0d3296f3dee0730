"""The `/trace` embed: a signal's chain step by step, with the time of each and the ms since it arrived."""

from __future__ import annotations

from typing import Any

import discord

from bot.domain import Outcome
from bot.services.records import SignalTraceReport, TraceStepView

MAX_STEPS = 25  # keeps the description far below Discord's 4096 characters
OUTCOME_COLOURS = {
    Outcome.EXECUTED: discord.Colour.green(),
    Outcome.DUPLICATE: discord.Colour.gold(),
    Outcome.RISK_REJECTED: discord.Colour.red(),
    Outcome.INVALID: discord.Colour.orange(),
    Outcome.UNAUTHORIZED: discord.Colour.dark_grey(),
    Outcome.FAILED: discord.Colour.red(),
}
STEP_NAMES = {
    "received": "received",
    "parsed": "parsed",
    "risk_decision": "risk decision",
    "order_sent": "order sent",
    "acknowledged": "acknowledged",
    "filled": "filled",
}


def _leg(detail: dict[str, Any]) -> str:
    return f"leg {detail['leg']} " if detail.get("leg") is not None else ""


def _summary(step: TraceStepView) -> str:
    """What happened at this step, in a few words."""
    d = step.detail
    match step.step:
        case "received":
            return f"{d.get('source', '')} message {d.get('message_id', '')}"
        case "parsed":
            if d.get("error"):
                return f"{d['error']}: {d.get('message', '')}"
            return f"{d.get('kind', '')} {d.get('symbol') or ''}".strip()
        case "risk_decision":
            if d.get("decision") == "approved":
                return f"approved · {d.get('legs', 0)} order(s)"
            return f"{d.get('outcome', 'rejected')}: {d.get('reason') or ''}"
        case "order_sent":
            return f"{_leg(d)}{d.get('side', '')} {d.get('quantity', '')} {d.get('symbol', '')} {d.get('type', '')}"
        case "acknowledged":
            reason = f" ({d['reason']})" if d.get("reason") else ""
            return f"{_leg(d)}{d.get('status', '')}{reason}" + (" · reconciled" if d.get("reconciled") else "")
        case "filled":
            kind = f" {d['kind']}" if d.get("kind") else ""
            return f"{_leg(d)}{d.get('quantity', '')} @ {d.get('price', '')}{kind}"
    return ""


def _line(step: TraceStepView) -> str:
    name = STEP_NAMES.get(step.step, step.step)
    stamp = f"{step.at:%H:%M:%S.%f}"[:-3]  # milliseconds
    return f"`{stamp}` +{step.ms_since_received:,.1f} ms · **{name}** {_summary(step)}"[:300]


def trace_embed(report: SignalTraceReport) -> discord.Embed:
    signal = report.signal
    outcome = signal.outcome
    state = "pending" if outcome is None else outcome.value
    colour = discord.Colour.blurple() if outcome is None else OUTCOME_COLOURS.get(outcome, discord.Colour.blurple())
    embed = discord.Embed(title=f"Trace {signal.id} · {state}", colour=colour)
    lines = [_line(step) for step in report.steps[:MAX_STEPS]]
    if len(report.steps) > MAX_STEPS:
        lines.append(f"… {len(report.steps) - MAX_STEPS} more steps (GET /api/trace/{signal.id} has them all)")
    embed.description = "\n".join(lines) or "No steps were recorded for this signal."
    if signal.reason:
        embed.add_field(name="Reason", value=signal.reason[:1024], inline=False)
    for order in report.orders[:10]:
        fill = "" if order.average_fill_price is None else f" @ {order.average_fill_price:f}"
        embed.add_field(
            name=f"Leg {order.leg} · {order.status.value}",
            value=f"{order.request.side.value} {order.request.quantity:f} {order.request.symbol}{fill}\n"
            f"`{order.client_order_id}`",
        )
    embed.add_field(name="Message", value=f"<#{signal.channel_id}> · {signal.message_id}", inline=False)
    embed.set_footer(text=f"received {signal.received_at:%Y-%m-%d %H:%M:%S} UTC · times in UTC")
    return embed

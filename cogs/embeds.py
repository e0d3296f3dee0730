"""Service reports formatted as Discord embeds (the side server formats the same dataclasses as JSON)."""

from __future__ import annotations

import json

import discord

from bot.domain import Signal
from bot.errors import SignalParseError
from bot.services.alerts import AlertEvent, AlertKind
from bot.services.health import ComponentHealth, HealthReport, Status
from bot.services.stats import StatsReport
from bot.signals.schema import signal_to_dict

STATUS_COLOURS = {
    Status.OK: discord.Colour.green(),
    Status.WARNING: discord.Colour.gold(),
    Status.CRITICAL: discord.Colour.red(),
}
STATUS_ICONS = {Status.OK: "🟢", Status.WARNING: "🟡", Status.CRITICAL: "🔴"}


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} ms"


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def _counts(counts: dict[str, int]) -> str:
    if not counts:
        return "none"
    return "\n".join(f"{name}: **{n}**" for name, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def stats_embed(report: StatsReport) -> discord.Embed:
    embed = discord.Embed(title=f"Tradecord stats · last {report.window.value}", colour=discord.Colour.blurple())
    embed.add_field(name="Messages seen", value=str(report.messages_seen))
    embed.add_field(name="Signals", value=str(report.signals_total))
    embed.add_field(name="Orders", value=str(report.orders_total))
    embed.add_field(name="Parse success", value=_rate(report.parse_success_rate))
    embed.add_field(name="Fill rate", value=_rate(report.fill_rate))
    embed.add_field(name="Signals by outcome", value=_counts(report.signals_by_outcome), inline=False)
    embed.add_field(name="Orders by status", value=_counts(report.orders_by_status), inline=False)
    latency = report.latency_ms
    embed.add_field(
        name="Signal → order latency",
        value=f"p50 {_ms(latency.p50)} · p95 {_ms(latency.p95)} · p99 {_ms(latency.p99)}",
        inline=False,
    )
    if report.pnl is not None:
        embed.add_field(name="Realized PnL", value=f"{report.pnl:,.2f}")
    embed.add_field(name="Rate-limit blocks", value=str(report.rate_limit_throttled))
    if report.top_rejections:
        lines = [f"{count}× {reason[:80]}" for reason, count in report.top_rejections]
        embed.add_field(name="Top rejections", value="\n".join(lines), inline=False)
    embed.set_footer(text=f"since {report.since:%Y-%m-%d %H:%M} UTC")
    return embed


def _component_text(component: ComponentHealth) -> str:
    """The detail (which carries the value) and the thresholds it is compared with."""
    value = component.detail
    if component.threshold is not None:
        value += f"\n{component.threshold}"
    elif component.warning is not None and component.critical is not None:
        value += f"\nwarning {component.warning:g} · critical {component.critical:g}"
    return value[:1024]


def health_embed(report: HealthReport) -> discord.Embed:
    embed = discord.Embed(title=f"Tradecord health · {report.overall}", colour=STATUS_COLOURS[report.status])
    for name, component in report.components.items():
        embed.add_field(name=f"{STATUS_ICONS[component.status]} {name}", value=_component_text(component), inline=False)
    return embed


def alert_embed(event: AlertEvent) -> discord.Embed:
    """An alert (a component got worse, or is still not ok) or a resolved message for the alert channel."""
    if event.kind is AlertKind.RESOLVED:
        title = f"✅ Resolved: {event.component} is ok again"
    else:
        title = f"{STATUS_ICONS[event.status]} {event.component} is {event.status.label}"
    embed = discord.Embed(title=title, colour=STATUS_COLOURS[event.status])
    embed.add_field(name="Now", value=_component_text(event.health), inline=False)
    embed.add_field(name="Was", value=event.previous.label)
    embed.set_footer(text="Tradecord health alert")
    return embed


def parse_embed(text: str, signal: Signal | None, error: SignalParseError | None) -> discord.Embed:
    """The parser's reading of a message: the normalized fields, or the error code and its reason."""
    if signal is None:
        assert error is not None
        embed = discord.Embed(title=f"Not a trade: {error.code}", colour=discord.Colour.orange())
        embed.add_field(name="Reason", value=error.message[:1024], inline=False)
    else:
        data = signal_to_dict(signal)
        embed = discord.Embed(title=f"{data['kind'].title()} signal", colour=discord.Colour.green())
        for key, value in data.items():
            if key != "kind" and value not in (None, []):
                embed.add_field(name=key, value=f"`{json.dumps(value, ensure_ascii=False)}`"[:1024])
    embed.set_footer(text=text[:200])
    return embed

"""Composition of the history and alerting parts: activity health probes, the alert monitor, the system
sampler and history retention, started in the order the composition root (`bot.app`) needs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import datetime

from bot.client import BotServices
from bot.execution.token_bucket import RateLimiter
from bot.services.activity_probes import (
    BlockRateWindow,
    order_success_probe,
    ratelimit_block_probe,
    signal_latency_probe,
)
from bot.services.alerting import AlertMonitor
from bot.services.health import HealthService, Readiness
from bot.services.maintenance import HistoryMaintenance
from bot.services.monitor import LoopLagMonitor
from bot.services.sampler import SystemSampler
from bot.settings import Settings
from storage.database import Database
from storage.retention import HistoryRetention, RetentionPolicy
from storage.state import StateRepository
from storage.stats import StatsQueries

Clock = Callable[[], datetime]


def register_activity_probes(
    settings: Settings,
    health: HealthService,
    queries: StatsQueries,
    limiter: RateLimiter,
    clock: Clock,
    flush: Callable[[], Awaitable[object]] | None = None,
) -> None:
    """The health components read from recent activity: latency, order success, rate-limit blocks."""
    alerts = settings.alerts
    health.register(
        "signal_latency",
        signal_latency_probe(
            queries, clock, alerts.signal_latency_warning_seconds, alerts.signal_latency_critical_seconds, flush=flush
        ),
    )
    health.register(
        "order_success_rate",
        order_success_probe(queries, clock, alerts.order_success_rate_warning, alerts.order_success_rate_critical),
    )
    health.register(
        "ratelimit_block_rate",
        ratelimit_block_probe(
            BlockRateWindow(limiter.stats), alerts.ratelimit_block_rate_warning, alerts.ratelimit_block_rate_critical
        ),
    )


def alert_monitor(
    settings: Settings, health: HealthService, state: StateRepository, readiness: Readiness
) -> AlertMonitor:
    alerts = settings.alerts
    return AlertMonitor(
        health,
        state,
        interval=alerts.evaluation_interval_seconds,
        confirmations=alerts.consecutive_evaluations,
        recovery_margin=alerts.recovery_margin,
        channel_id=settings.discord.alert_channel_id,
        # Not before the first connection and catch-up: "Discord not connected" at start-up is no news.
        active=lambda: readiness.caught_up,
    )


async def start_monitoring(
    stack: AsyncExitStack,
    settings: Settings,
    services: BotServices,
    *,
    db: Database,
    limiter: RateLimiter,
    monitor: LoopLagMonitor,
    clock: Clock,
    discord_latency: Callable[[], float],
) -> None:
    """Register the activity probes; start the loop-lag monitor, the system sampler, retention and the alert
    monitor. Each is stopped through `stack`, before the writer (opened earlier) makes its last flush."""
    register_activity_probes(settings, services.health, StatsQueries(db), limiter, clock, services.writer.flush)
    storage = settings.storage
    sampler = SystemSampler(services.writer, monitor, discord_latency, interval=storage.system_sample_seconds)
    policy = RetentionPolicy(storage.retention_days, storage.minute_history_days, storage.hourly_history_days)
    maintenance = HistoryMaintenance(HistoryRetention(db, policy))
    for part in (monitor, sampler, maintenance, services.alerts):
        await part.start()
        stack.push_async_callback(part.stop)

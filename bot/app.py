"""The composition root: open every resource in order, wire the services, close in reverse order."""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

import aiohttp
from aiohttp.web import Application

from bot.client import BotServices, TradecordBot
from bot.cpu_affinity import pin_loop_and_writer
from bot.credentials import load_stored_secrets
from bot.execution.alpaca import AlpacaBroker
from bot.execution.alpaca_setup import open_alpaca_broker
from bot.execution.broker import Broker, StaticQuotes
from bot.execution.ccxt_setup import open_ccxt_broker, stored_order_symbols
from bot.execution.day_start import DayStartEquity
from bot.execution.executor import ExecutionSettings, Executor
from bot.execution.kill_switch import KillSwitch
from bot.execution.paper import PaperBroker
from bot.execution.position_tracking import PositionTrackingBroker
from bot.execution.risk import RiskLimits, Sizing, SizingMethod
from bot.execution.submitter import OrderSubmitter, RetryPolicy
from bot.execution.token_bucket import RateLimiter, TokenBucket
from bot.execution.tracker import OrderTracker
from bot.metrics import Metrics
from bot.monitoring import alert_monitor, start_monitoring
from bot.periodic import Periodic
from bot.services.admin import AdminGate
from bot.services.authority import SignalAuthority
from bot.services.control import TradingControl
from bot.services.edits import EditHandler
from bot.services.health import HealthService, Readiness
from bot.services.intake import ChannelPolicy, SignalIntake
from bot.services.monitor import LoopLagMonitor
from bot.services.order_history import OrderHistory
from bot.services.ping_probe import ping_probe
from bot.services.portfolio import PortfolioService
from bot.services.probes import database_probe, discord_probe, loop_lag_probe, memory_probe, static_probe
from bot.services.rate_limits import RateLimitService
from bot.services.records import RecordsService
from bot.services.series import SeriesService
from bot.services.stats import StatsService
from bot.services.trading import TradingServices
from bot.services.venue_probe import venue_probe
from bot.settings import BrokerKind, Settings
from bot.signals.parser import ParseOptions
from bot.web.app import SideServer, WebServices, make_app
from bot.web.rate_limits import rate_limits_report
from bot.web.records import with_records_api
from bot.web.webhook import build_webhook
from storage.database import Database
from storage.orders import OrderRepository
from storage.paper import PaperBooks
from storage.series import SeriesQueries
from storage.signals import SignalRepository
from storage.state import StateRepository
from storage.stats import StatsQueries
from storage.trace import TraceRepository
from storage.writer import BatchWriter

if TYPE_CHECKING:
    from bot.execution.ccxt_broker import CcxtBroker  # imports ccxt, an optional extra

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Runtime:
    """The running application, as the CLI and the end-to-end tests see it."""

    settings: Settings
    bot: TradecordBot
    services: BotServices
    db: Database
    http: aiohttp.ClientSession
    quotes: StaticQuotes
    server: SideServer | None


def risk_limits(settings: Settings) -> RiskLimits:
    risk = settings.risk
    return RiskLimits(
        max_order_notional=risk.max_order_notional,
        max_position_notional=risk.max_position_notional,
        max_open_positions=risk.max_open_positions,
        max_leverage=risk.max_leverage,
        max_daily_loss=risk.max_daily_loss,
        cooldown_seconds=risk.cooldown_seconds,
        max_signal_age_seconds=risk.max_signal_age_seconds,
        symbol_allowlist=frozenset(risk.symbol_allowlist),
        symbol_denylist=frozenset(risk.symbol_denylist),
        allow_short=settings.broker.allow_short,
    )


def sizing(settings: Settings) -> Sizing:
    return Sizing(
        method=SizingMethod(settings.risk.sizing.value),
        value=settings.risk.sizing_value,
        default_quantity=settings.signals.default_quantity,
        default_notional=settings.signals.default_notional,
    )


def channel_policies(settings: Settings) -> Callable[[str], ChannelPolicy]:
    """Per-channel reading rules from `[signals.channels."<id>"]`, the global ones elsewhere."""
    global_last = settings.signals.management_applies_to_last_signal
    by_channel = {
        str(channel_id): ChannelPolicy(
            ParseOptions(
                default_asset_class=channel.default_asset_class,
                quote_currency=channel.quote_currency,
                aliases=dict(channel.aliases),
            ),
            global_last
            if channel.management_applies_to_last_signal is None
            else channel.management_applies_to_last_signal,
        )
        for channel_id, channel in settings.signals.channels.items()
    }
    default = ChannelPolicy(management_applies_to_last_signal=global_last)
    return lambda channel_id: by_channel.get(channel_id, default)


def _broker(
    settings: Settings,
    db: Database,
    quotes: StaticQuotes,
    limiter: RateLimiter,
    clock: Clock,
    http: aiohttp.ClientSession,
) -> PaperBroker | CcxtBroker | AlpacaBroker:
    if settings.broker.kind is BrokerKind.ALPACA:
        return open_alpaca_broker(settings.broker, http, limiter)
    if settings.broker.kind is BrokerKind.CCXT:
        return open_ccxt_broker(settings.broker, limiter, symbol_of=stored_order_symbols(OrderRepository(db)))
    return PaperBroker(PaperBooks(db), quotes, limiter, now=clock, starting_cash=settings.broker.paper_starting_cash)


async def _open_broker(
    stack: AsyncExitStack,
    settings: Settings,
    db: Database,
    quotes: StaticQuotes,
    limiter: RateLimiter,
    clock: Clock,
    http: aiohttp.ClientSession,
) -> PaperBroker | CcxtBroker | AlpacaBroker:
    broker = _broker(settings, db, quotes, limiter, clock, http)
    if not isinstance(broker, PaperBroker):
        stack.push_async_callback(broker.close)  # the venue's HTTP session, after everything that uses it
    await broker.open()
    return broker


async def _start_order_sync(
    stack: AsyncExitStack,
    settings: Settings,
    broker: Broker,
    tracker: OrderTracker,
    on_change: Callable[[], Awaitable[object]],
) -> None:
    """Resting orders fill (or expire) at the venue on their own: follow them, and on paper play the market."""

    async def tick() -> None:
        fills = await broker.simulate() if isinstance(broker, PaperBroker) else 0
        if await tracker.sync() or fills:
            await on_change()  # positions moved at the venue: re-read them once here, never per scrape

    follow = Periodic("orders.sync", settings.broker.order_poll_seconds, tick)
    await follow.start()
    stack.push_async_callback(follow.stop)


async def _track_positions(broker: Broker, metrics: Metrics) -> PositionTrackingBroker:
    """Every trading path goes through the returned broker, so `tradecord_open_positions` stays true with no
    broker call per scrape: it is refreshed by the position reads the bot makes anyway and by each fill."""
    venue = PositionTrackingBroker(broker)
    metrics.open_positions.set_function(lambda: float(venue.open_positions))
    # Before recovery: orders it finds filled are in this snapshot, orders it re-sends fill through `venue`.
    await venue.positions()
    return venue


def wait_observer(metrics: Metrics, writer: BatchWriter, limiter: str) -> Callable[[float], None]:
    """What a limiter reports after each request's wait (0 when a token was there): the wait histogram, and
    the throttle counters when it had to wait. Runs on every broker request, so the children are bound once."""
    waits, throttled = metrics.ratelimit_wait_seconds.labels(limiter), metrics.ratelimit_throttled.labels(limiter)

    def on_wait(seconds: float) -> None:
        waits.observe(seconds)
        if seconds > 0:
            throttled.inc()
            writer.count(limiter, "ratelimit.throttled")

    return on_wait


def _register_scrape_gauges(metrics: Metrics, limiter: RateLimiter, writer: BatchWriter, health: HealthService) -> None:
    metrics.scrape_time.add(
        "tradecord_ratelimit_tokens",
        "Tokens left in each rate limiter's bucket.",
        ("limiter",),
        lambda: [((limiter.name,), limiter.bucket.tokens())],
    )
    metrics.scrape_time.add(
        "tradecord_db_queue_depth",
        "Rows waiting for the batched writer.",
        (),
        lambda: [((), float(writer.depth))],
    )

    def health_statuses() -> list[tuple[tuple[str, ...], float]]:
        report = health.last_report
        return [] if report is None else [((name,), float(c.status)) for name, c in report.components.items()]

    metrics.scrape_time.add(
        "tradecord_health_status",
        "Component health: 0 ok, 1 warning, 2 critical.",
        ("component",),
        health_statuses,
    )


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    clock: Clock = utc_now,
    discord_options: dict[str, Any] | None = None,
    master_key: str | None = None,
    register_secret: Callable[[str], None] = lambda _value: None,
    extend_web: Callable[[Application], None] | None = None,
) -> AsyncIterator[Runtime]:
    """Everything but the Discord connection: `run` (or a test) then starts the bot.

    `discord_options` go to the discord.py client (tests shorten `guild_ready_timeout`). With `master_key`
    (TRADECORD_MASTER_KEY), broker credentials missing from the settings are read from the encrypted store
    and passed to `register_secret` (the log redactor's `add_secret`). `extend_web` adds routes to the side
    server's app before it starts (the demo mode's `/demo` page).
    """
    metrics = Metrics()
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(aiohttp.ClientSession())
        db = await stack.enter_async_context(Database(settings.storage.path))
        if settings.storage.writer_cpu == "loop":
            stack.callback(await pin_loop_and_writer(db))
        settings = await load_stored_secrets(settings, db, master_key, register_secret)
        writer = BatchWriter(db, flush_interval=settings.storage.batch_flush_seconds, on_flush=metrics.observe_db_flush)
        await writer.start()
        stack.push_async_callback(writer.stop)

        bucket = TokenBucket(*settings.broker.rate_limit, time.monotonic)
        limiter = RateLimiter("broker", bucket, on_wait=wait_observer(metrics, writer, "broker"))
        quotes = StaticQuotes(dict(settings.broker.quotes))
        broker = await _open_broker(stack, settings, db, quotes, limiter, clock, http)
        venue = await _track_positions(broker, metrics)
        metrics.start_limiter(limiter.name)
        metrics.start_broker(broker.name)
        state = StateRepository(db)
        kill_switch = KillSwitch(state)
        await kill_switch.load(settings.risk.kill_switch)
        metrics.kill_switch_engaged.set_function(lambda: float(kill_switch.engaged))
        signals = SignalRepository(db)
        executor = Executor(
            db=db,
            signals=signals,
            orders=OrderRepository(db),
            broker=venue,
            submitter=OrderSubmitter(venue, metrics, RetryPolicy(max_attempts=settings.broker.max_retries + 1)),
            limits=risk_limits(settings),
            sizing=sizing(settings),
            kill_switch=kill_switch,
            day_start=DayStartEquity(state, clock),
            metrics=metrics,
            clock=clock,
            settings=ExecutionSettings(settings.broker.time_in_force, settings.signals.duplicate_window_seconds),
        )
        # Orders a crash left in flight are settled before any new signal can be taken.
        await executor.recover()
        tracker = OrderTracker(OrderRepository(db), OrderSubmitter(broker, metrics, RetryPolicy()), clock)
        await _start_order_sync(stack, settings, broker, tracker, venue.positions)
        intake = SignalIntake(
            executor=executor,
            signals=signals,
            metrics=metrics,
            writer=writer,
            clock=clock,
            policy_for=channel_policies(settings),
        )
        monitor = LoopLagMonitor(metrics)
        readiness = Readiness(database_open=True)
        health = HealthService()
        services = BotServices(
            intake=intake,
            edits=EditHandler(
                intake=intake,
                executor=executor,
                signals=signals,
                orders=OrderRepository(db),
                enabled=settings.signals.edits_update_signals,
            ),
            stats=StatsService(
                StatsQueries(db), clock, pnl_since=PaperBooks(db).realized_pnl_since, flush=writer.flush
            ),
            health=health,
            alerts=alert_monitor(settings, health, state, readiness),
            readiness=readiness,
            metrics=metrics,
            authority=SignalAuthority(
                signal_channel_ids=settings.discord.signal_channel_ids,
                trusted_user_ids=settings.discord.trusted_user_ids,
                trusted_role_ids=settings.discord.trusted_role_ids,
                allowed_bot_ids=settings.discord.allowed_bot_ids,
            ),
            kill_switch=kill_switch,
            state=state,
            writer=writer,
            trading=TradingServices(
                portfolio=PortfolioService(venue, clock, realized_since=PaperBooks(db).realized_pnl_since),
                orders=OrderHistory(OrderRepository(db)),
                rate_limits=RateLimitService([limiter]),
                control=TradingControl(kill_switch=kill_switch, intake=intake, broker=venue, clock=clock),
                admins=AdminGate(
                    user_ids=settings.discord.admin_user_ids, role_ids=settings.discord.admin_role_ids, writer=writer
                ),
            ),
            records=RecordsService(signals, OrderRepository(db), TraceRepository(db)),
            max_catch_up_age_seconds=settings.risk.max_signal_age_seconds,
            guild_ids=tuple(settings.discord.guild_ids),
        )
        bot = TradecordBot(services, **(discord_options or {}))
        stack.push_async_callback(bot.close)
        _register_health(settings, health, db, bot, broker, monitor)
        # Activity probes, the loop-lag monitor, system samples, retention and alerts (README "Monitoring").
        await start_monitoring(
            stack,
            settings,
            services,
            db=db,
            limiter=limiter,
            monitor=monitor,
            clock=clock,
            discord_latency=lambda: bot.latency,
        )
        _register_scrape_gauges(metrics, limiter, writer, health)
        metrics.discord_latency_seconds.set_function(lambda: bot.latency if math.isfinite(bot.latency) else 0.0)
        server = None
        if settings.server.enabled:
            token = settings.server.metrics_token
            webhook = (
                build_webhook(settings.server, intake, metrics, clock) if settings.server.webhook_enabled else None
            )
            web = WebServices(
                stats=services.stats,
                health=health,
                readiness=readiness,
                metrics=metrics,
                metrics_token=None if token is None else token.get_secret_value(),
                webhook=None if webhook is None else webhook.handle,
                rate_limits=lambda: rate_limits_report(services.trading.rate_limits, webhook),
                series=SeriesService(SeriesQueries(db), clock, flush=writer.flush),
            )
            app = _extended(with_records_api(make_app(web), services.records), extend_web)
            server = await stack.enter_async_context(SideServer(app, settings.server.host, settings.server.port))
        yield Runtime(settings, bot, services, db, http, quotes, server)


def _extended(app: Application, extend: Callable[[Application], None] | None) -> Application:
    if extend is not None:
        extend(app)
    return app


def _register_health(
    settings: Settings,
    health: HealthService,
    db: Database,
    bot: TradecordBot,
    broker: Broker,
    monitor: LoopLagMonitor,
) -> None:
    alerts = settings.alerts
    health.register("discord", discord_probe(lambda: bot.is_ready() and not bot.is_closed(), lambda: bot.latency))
    health.register("database", database_probe(db))
    if isinstance(broker, AlpacaBroker):
        health.register("broker", venue_probe(broker))
    elif settings.broker.kind is BrokerKind.CCXT:
        exchange = cast("CcxtBroker", broker)  # the class lives behind the optional ccxt import
        health.register("broker", ping_probe(f"ccxt ({settings.broker.exchange})", exchange.ping))
    else:
        health.register("broker", static_probe(f"{broker.name} broker (simulated in the local database)"))
    health.register(
        "event_loop",
        loop_lag_probe(monitor, alerts.event_loop_lag_warning_seconds, alerts.event_loop_lag_critical_seconds),
    )
    health.register("memory", memory_probe(alerts.memory_warning_mb, alerts.memory_critical_mb))

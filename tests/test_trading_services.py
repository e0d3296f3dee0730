"""The services behind /positions, /orders, /pnl, /ratelimits, /pause, /resume and /close, on a real
database and the paper broker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.domain import (
    AssetClass,
    CloseSignal,
    Entry,
    EntryType,
    OpenSignal,
    OrderRequest,
    OrderStatus,
    OrderType,
    Outcome,
    Side,
)
from bot.errors import InvalidOption
from bot.execution.kill_switch import KillSwitch
from bot.execution.position_tracking import PositionTrackingBroker
from bot.execution.token_bucket import RateLimiter, TokenBucket
from bot.services.admin import REFUSED_COUNTER, AdminGate
from bot.services.control import CLOSE_CHANNEL, TradingControl, parse_close_target
from bot.services.intake import SignalIntake
from bot.services.order_history import OrderHistory, parse_order_status
from bot.services.portfolio import PortfolioService, PositionLine, PositionsReport, parse_window
from bot.services.rate_limits import RateLimitService
from bot.services.stats import Window
from storage.database import Database
from storage.paper import PaperBooks
from storage.state import StateRepository
from storage.stats import StatsQueries
from storage.writer import BatchWriter
from tests.support import EnvelopeFactory, Pipeline, build_pipeline


def buy(symbol: str, quantity: int, *, limit: str | None = None) -> OpenSignal:
    entry = Entry(EntryType.MARKET) if limit is None else Entry(EntryType.LIMIT, price=Decimal(limit))
    return OpenSignal(Side.BUY, symbol, AssetClass.EQUITY, entry, quantity=Decimal(quantity))


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Desk:
    pipeline: Pipeline
    venue: PositionTrackingBroker
    writer: BatchWriter
    control: TradingControl
    portfolio: PortfolioService


@pytest.fixture
async def desk(db: Database) -> AsyncIterator[Desk]:
    pipeline = await build_pipeline(db)
    writer = BatchWriter(db)
    venue = PositionTrackingBroker(pipeline.broker)
    intake = SignalIntake(
        executor=pipeline.executor, signals=pipeline.signals, metrics=pipeline.metrics, writer=writer, clock=now
    )
    control = TradingControl(kill_switch=pipeline.kill_switch, intake=intake, broker=venue, clock=now)
    portfolio = PortfolioService(venue, now, realized_since=PaperBooks(db).realized_pnl_since)
    yield Desk(pipeline, venue, writer, control, portfolio)
    await writer.flush()


async def test_positions_are_marked_to_the_current_quote(desk: Desk, make_envelope: EnvelopeFactory) -> None:
    """A position shows its quantity, average price, market value and unrealized PnL at the latest quote."""
    await desk.pipeline.executor.execute(make_envelope(author_id="1"), buy("AAPL", 100))
    await desk.pipeline.executor.execute(make_envelope(author_id="2"), buy("TSLA", 4))
    desk.pipeline.quotes.set("AAPL", Decimal("155.50"))
    report = await desk.portfolio.positions()
    assert [(p.symbol, p.quantity, p.average_price, p.market_price) for p in report.positions] == [
        ("AAPL", Decimal(100), Decimal(150), Decimal("155.50")),
        ("TSLA", Decimal(4), Decimal(250), Decimal(250)),
    ]
    aapl = report.positions[0]
    assert aapl.market_value == Decimal(15550) and aapl.unrealized_pnl == Decimal(550)
    assert report.market_value == Decimal(16550) and report.unrealized_pnl == Decimal(550)


def test_a_position_without_a_price_is_left_out_of_the_totals() -> None:
    """A symbol the broker cannot price has no market value or PnL and is named as unpriced."""
    report = PositionsReport(
        now(),
        (
            PositionLine("AAPL", Decimal(10), Decimal(100), Decimal(110)),
            PositionLine("XYZ", Decimal(-5), Decimal(20), None),
        ),
    )
    assert report.positions[1].market_value is None and report.positions[1].unrealized_pnl is None
    assert report.market_value == Decimal(1100) and report.unrealized_pnl == Decimal(100)
    assert report.unpriced == ("XYZ",)


def test_a_short_gains_when_the_price_falls() -> None:
    """A short's market value is negative and its unrealized PnL grows as the price drops."""
    line = PositionLine("TSLA", Decimal(-10), Decimal(250), Decimal(240))
    assert line.market_value == Decimal(-2400) and line.unrealized_pnl == Decimal(100)


async def test_pnl_adds_realized_fills_in_the_window_to_unrealized(desk: Desk, make_envelope: EnvelopeFactory) -> None:
    """Selling 40 of 100 bought at 150 for 160 realizes 400; the 60 left are 600 up at 160."""
    await desk.pipeline.executor.execute(make_envelope(author_id="1"), buy("AAPL", 100))
    desk.pipeline.quotes.set("AAPL", Decimal(160))
    close = await desk.pipeline.executor.execute(make_envelope(author_id="1"), CloseSignal("AAPL", Decimal("0.4")))
    assert close.outcome is Outcome.EXECUTED
    report = await desk.portfolio.pnl(Window.HOUR)
    assert (report.realized, report.unrealized, report.total) == (Decimal(400), Decimal(600), Decimal(1000))
    assert report.open_positions == 1 and report.unpriced == ()
    books = PaperBooks(desk.pipeline.db)
    later = PortfolioService(desk.venue, lambda: now() + timedelta(hours=2), realized_since=books.realized_pnl_since)
    assert (await later.pnl(Window.HOUR)).realized == Decimal(0)
    assert (await later.pnl(Window.DAY)).realized == Decimal(400)


def test_options_outside_their_sets_name_the_valid_values() -> None:
    """An unknown window or status is an InvalidOption listing what is accepted; valid ones are normalized."""
    with pytest.raises(InvalidOption, match=r"window: '2y' is not one of 1h, 24h, 7d, 30d"):
        parse_window("2y")
    with pytest.raises(InvalidOption, match=r"status: 'done' is not one of pending_submit, .*filled"):
        parse_order_status("done")
    assert parse_window(None) is Window.DAY and parse_window(" 7D ") is Window.WEEK
    assert parse_order_status(None) is None and parse_order_status("Filled") is OrderStatus.FILLED


async def test_orders_are_filtered_by_status(desk: Desk, make_envelope: EnvelopeFactory) -> None:
    """/orders accepted lists only the resting limit order; without a status every order is listed, newest first."""
    await desk.pipeline.executor.execute(make_envelope(author_id="1"), buy("AAPL", 10))
    await desk.pipeline.executor.execute(make_envelope(author_id="2"), buy("AAPL", 5, limit="100"))
    history = OrderHistory(desk.pipeline.orders)
    resting = await history.recent(OrderStatus.ACCEPTED)
    assert [(o.request.quantity, o.status) for o in resting.orders] == [(Decimal(5), OrderStatus.ACCEPTED)]
    everything = await history.recent()
    assert [o.status for o in everything.orders] == [OrderStatus.ACCEPTED, OrderStatus.FILLED]
    assert (await history.recent(OrderStatus.CANCELED)).orders == ()


async def test_rate_limit_report_reads_the_bucket_without_taking_a_token() -> None:
    """The report shows rate, burst, tokens left and how many requests had to wait; reading it is free."""
    clock = [0.0]
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    limiter = RateLimiter("broker", TokenBucket(2.0, 2, lambda: clock[0]), sleep=record)
    for _ in range(3):
        await limiter.acquire()
    service = RateLimitService([limiter])
    (state,) = service.report()
    assert (state.name, state.rate_per_second, state.burst) == ("broker", 2.0, 2)
    assert (state.tokens, state.queued, state.acquired, state.throttled) == (-1.0, 1, 3, 1)
    assert state.waited_seconds == pytest.approx(0.5) and waits == [0.5]
    assert service.report()[0].acquired == 3


async def test_pause_is_persisted_idempotent_and_refuses_new_entries(
    desk: Desk, db: Database, make_envelope: EnvelopeFactory
) -> None:
    """/pause engages the stored kill switch once; a new signal is then risk_rejected; /resume releases it."""
    first = await desk.control.pause(actor_id=9)
    again = await desk.control.pause(actor_id=9)
    assert (first.engaged, first.changed, again.changed) == (True, True, False)
    reloaded = KillSwitch(StateRepository(db))
    await reloaded.load(False)
    assert reloaded.engaged
    refused = await desk.pipeline.executor.execute(make_envelope(), buy("AAPL", 1))
    assert refused.outcome is Outcome.RISK_REJECTED and "kill switch engaged" in (refused.reason or "")
    resumed = await desk.control.resume(actor_id=9)
    assert (resumed.engaged, resumed.changed, desk.control.paused) == (False, True, False)
    await reloaded.load(True)
    assert not reloaded.engaged


async def test_close_goes_through_the_executor_even_while_paused(desk: Desk, make_envelope: EnvelopeFactory) -> None:
    """/close AAPL while paused sells the whole position as a recorded close signal, counted as executed."""
    await desk.pipeline.executor.execute(make_envelope(), buy("AAPL", 100))
    await desk.control.pause(actor_id=9)
    report = await desk.control.close("AAPL", interaction_id=4242, actor_id=9)
    (line,) = report.closes
    assert line.symbol == "AAPL" and line.result.outcome is Outcome.EXECUTED
    assert [(a.status, a.filled_quantity) for a in line.result.orders] == [(OrderStatus.FILLED, Decimal(100))]
    assert await desk.pipeline.broker.positions() == []
    record = await desk.pipeline.signals.get(line.result.signal_id or "")
    assert record is not None and record.channel_id == CLOSE_CHANNEL and record.message_id == "4242:AAPL"
    assert record.author_id == "9" and record.signal == CloseSignal("AAPL")
    await desk.writer.flush()
    activity = await StatsQueries(desk.pipeline.db).activity_since(now() - timedelta(minutes=5))
    assert activity["outcome.executed"] == 1 and "messages_seen" not in activity


async def test_close_all_closes_each_position_once_per_invocation(desk: Desk, make_envelope: EnvelopeFactory) -> None:
    """/close all sends one close per open symbol; the same interaction delivered again sends nothing more."""
    await desk.pipeline.executor.execute(make_envelope(author_id="1"), buy("AAPL", 10))
    await desk.pipeline.executor.execute(make_envelope(author_id="2"), buy("TSLA", 3))
    report = await desk.control.close(None, interaction_id=77, actor_id=9)
    assert report.target == "all"
    assert [(c.symbol, c.result.outcome) for c in report.closes] == [
        ("AAPL", Outcome.EXECUTED),
        ("TSLA", Outcome.EXECUTED),
    ]
    assert await desk.pipeline.broker.positions() == []
    again = await desk.control.close("AAPL", interaction_id=77, actor_id=9)
    assert again.closes[0].result.replayed
    row = await desk.pipeline.db.fetchone("SELECT COUNT(*) FROM orders WHERE reduce_only = 1")
    assert row is not None and row[0] == 2
    nothing = await desk.control.close(None, interaction_id=78, actor_id=9)
    assert nothing.closes == ()


async def test_closing_a_symbol_not_held_is_recorded_as_rejected(desk: Desk) -> None:
    """/close on a symbol with no position records a risk_rejected close naming the missing position."""
    report = await desk.control.close("NVDA", interaction_id=5, actor_id=9)
    result = report.closes[0].result
    assert result.outcome is Outcome.RISK_REJECTED and result.reason == "no open position in NVDA to close"


def test_close_target_is_a_symbol_or_all() -> None:
    """'all' in any case means every position; symbols are upper-cased; anything else is refused."""
    assert parse_close_target(" All ") is None
    assert parse_close_target("aapl") == "AAPL" and parse_close_target("btc/usdt") == "BTC/USDT"
    with pytest.raises(InvalidOption, match="symbol: 'AAPL; rm' is not a symbol"):
        parse_close_target("AAPL; rm")
    with pytest.raises(InvalidOption):
        parse_close_target("")


async def test_admin_gate_admits_configured_users_and_roles_and_counts_refusals(db: Database) -> None:
    """Admins are the configured users and role members; a refusal says why and is counted."""
    writer = BatchWriter(db)
    gate = AdminGate(user_ids=[1], role_ids=[50], writer=writer)
    assert gate.check("pause", 1, []) is None
    assert gate.check("pause", 2, [40, 50]) is None
    reason = gate.check("close", 3, [40])
    assert reason is not None and "discord.admin_role_ids" in reason
    nobody = AdminGate(user_ids=[], role_ids=[], writer=writer)
    assert "no admins are configured" in (nobody.check("pause", 1, [50]) or "")
    await writer.flush()
    activity = await StatsQueries(db).activity_since(now() - timedelta(minutes=5))
    assert activity[REFUSED_COUNTER] == 2


async def test_open_position_count_follows_fills_between_position_reads(pipeline: Pipeline) -> None:
    """The tracked count moves with each fill the venue reports, and an ack repeated for a re-send counts once."""
    venue = PositionTrackingBroker(pipeline.broker)
    await venue.positions()
    assert venue.open_positions == 0
    await venue.submit_order(market("tc-buy-aapl", "AAPL", Side.BUY, 10))
    await venue.submit_order(market("tc-buy-tsla", "TSLA", Side.BUY, 2))
    assert venue.open_positions == 2
    sell = market("tc-sell-aapl", "AAPL", Side.SELL, 10)
    await venue.submit_order(sell)
    await venue.submit_order(sell)  # the paper venue answers a re-send with the original ack
    assert venue.open_positions == 1
    await venue.submit_order(market("tc-rest", "AAPL", Side.BUY, 1, limit="1"))  # rests unfilled
    assert venue.open_positions == 1
    assert [p.symbol for p in await venue.positions()] == ["TSLA"] and venue.open_positions == 1


def market(client_id: str, symbol: str, side: Side, quantity: int, *, limit: str | None = None) -> OrderRequest:
    return OrderRequest(
        client_order_id=client_id,
        symbol=symbol,
        asset_class=AssetClass.EQUITY,
        side=side,
        type=OrderType.MARKET if limit is None else OrderType.LIMIT,
        quantity=Decimal(quantity),
        limit_price=None if limit is None else Decimal(limit),
    )

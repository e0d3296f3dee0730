"""The executor: record first, deterministic client ids, and never a second order for one message."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from bot.domain import (
    AssetClass,
    CloseSignal,
    Entry,
    EntryType,
    OpenSignal,
    OrderStatus,
    Outcome,
    Side,
)
from bot.execution.ids import client_order_id
from bot.execution.risk import RiskLimits
from storage.database import Database
from tests.support import EnvelopeFactory, Pipeline, build_pipeline

BUY_AAPL = OpenSignal(
    Side.BUY,
    "AAPL",
    AssetClass.EQUITY,
    Entry(EntryType.LIMIT, price=Decimal("150.25")),
    stop_loss=Decimal("145"),
    take_profits=(Decimal("160"), Decimal("165")),
    quantity=Decimal("100"),
)


async def paper_order_count(db: Database) -> int:
    row = await db.fetchone("SELECT COUNT(*) FROM paper_orders")
    assert row is not None
    return int(row[0])


async def test_open_signal_places_one_bracket_leg_per_target(
    pipeline: Pipeline, make_envelope: EnvelopeFactory
) -> None:
    """A signal with two targets becomes two filled legs of 50, each carrying the stop and its target."""
    result = await pipeline.executor.execute(make_envelope("BUY AAPL"), BUY_AAPL)
    assert result.outcome is Outcome.EXECUTED
    orders = await pipeline.orders.for_signal(result.signal_id or "")
    assert [(o.leg, o.request.quantity, o.request.take_profit) for o in orders] == [
        (1, Decimal(50), Decimal(160)),
        (2, Decimal(50), Decimal(165)),
    ]
    assert all(o.status is OrderStatus.FILLED and o.request.stop_loss == Decimal(145) for o in orders)
    positions = await pipeline.broker.positions()
    assert [(p.symbol, p.quantity) for p in positions] == [("AAPL", Decimal(100))]


async def test_replayed_message_never_places_a_second_order(pipeline: Pipeline, make_envelope: EnvelopeFactory) -> None:
    """The same message id delivered twice (gateway replay) yields one order set and a replayed result."""
    envelope = make_envelope("BUY AAPL", message_id="555")
    first = await pipeline.executor.execute(envelope, BUY_AAPL)
    second = await pipeline.executor.execute(envelope, BUY_AAPL)
    assert second.replayed and second.signal_id == first.signal_id
    assert await paper_order_count(pipeline.db) == 2


async def test_concurrent_deliveries_of_one_message_place_one_order_set(
    pipeline: Pipeline, make_envelope: EnvelopeFactory
) -> None:
    """Two deliveries racing each other are serialized by the UNIQUE key: one executes, one is a replay."""
    envelope = make_envelope("BUY AAPL", message_id="556")
    results = await asyncio.gather(*(pipeline.executor.execute(envelope, BUY_AAPL) for _ in range(3)))
    assert sum(not r.replayed for r in results) == 1
    assert await paper_order_count(pipeline.db) == 2


async def test_restart_with_a_fresh_executor_still_sees_the_message(
    db: Database, make_envelope: EnvelopeFactory
) -> None:
    """After a restart (new executor on the same database) a redelivered message places nothing."""
    envelope = make_envelope("BUY AAPL", message_id="557")
    await (await build_pipeline(db)).executor.execute(envelope, BUY_AAPL)
    again = await (await build_pipeline(db)).executor.execute(envelope, BUY_AAPL)
    assert again.replayed
    assert await paper_order_count(db) == 2


async def test_client_order_ids_are_deterministic_and_short(pipeline: Pipeline, make_envelope: EnvelopeFactory) -> None:
    """Client ids derive from (source, channel, message, leg): same inputs, same id, at most 48 characters."""
    envelope = make_envelope("BUY AAPL", message_id="558")
    result = await pipeline.executor.execute(envelope, BUY_AAPL)
    orders = await pipeline.orders.for_signal(result.signal_id or "")
    expected = [client_order_id(envelope.source, envelope.channel_id, envelope.message_id, leg) for leg in (1, 2)]
    assert [o.client_order_id for o in orders] == expected
    assert all(cid.startswith("tc-") and len(cid) <= 48 for cid in expected)


async def test_market_order_without_a_quote_is_refused_with_the_reason(
    db: Database, make_envelope: EnvelopeFactory
) -> None:
    """A market order needs a price: with no quote the paper broker rejects it and says why."""
    pipeline = await build_pipeline(db, quotes={}, limits=RiskLimits(allow_short=True))
    signal = OpenSignal(Side.SELL, "TSLA", AssetClass.EQUITY, quantity=Decimal(10))
    result = await pipeline.executor.execute(make_envelope("SELL TSLA 10 @ MKT"), signal)
    assert result.outcome is Outcome.FAILED
    assert result.reason is not None and "no price for TSLA" in result.reason
    assert result.orders[0].status is OrderStatus.REJECTED


async def test_short_sale_needs_allow_short(pipeline: Pipeline, make_envelope: EnvelopeFactory) -> None:
    """Selling an equity that is not held is a short and is refused while broker.allow_short is false."""
    signal = OpenSignal(Side.SELL, "TSLA", AssetClass.EQUITY, quantity=Decimal(10))
    result = await pipeline.executor.execute(make_envelope("SELL TSLA 10"), signal)
    assert result.outcome is Outcome.RISK_REJECTED
    assert result.reason is not None and "allow_short" in result.reason
    assert await paper_order_count(pipeline.db) == 0


async def test_close_sells_the_whole_position(pipeline: Pipeline, make_envelope: EnvelopeFactory) -> None:
    """CLOSE sells exactly what is held, leaving no position and a realized PnL."""
    await pipeline.executor.execute(make_envelope("BUY AAPL"), BUY_AAPL)
    pipeline.quotes.set("AAPL", Decimal("155"))
    result = await pipeline.executor.execute(make_envelope("CLOSE AAPL"), CloseSignal("AAPL"))
    assert result.outcome is Outcome.EXECUTED
    assert await pipeline.broker.positions() == []
    account = await pipeline.broker.account()
    assert account.realized_pnl == Decimal(500)  # bought 100 at the 150 quote, sold at 155


async def test_close_without_position_is_rejected(pipeline: Pipeline, make_envelope: EnvelopeFactory) -> None:
    """Closing a symbol that is not held is a risk rejection naming the symbol."""
    result = await pipeline.executor.execute(make_envelope("CLOSE AAPL"), CloseSignal("AAPL"))
    assert result.outcome is Outcome.RISK_REJECTED
    assert result.reason == "no open position in AAPL to close"


async def test_kill_switch_blocks_new_orders(pipeline: Pipeline, make_envelope: EnvelopeFactory) -> None:
    """While the kill switch is engaged a signal is recorded as risk_rejected and nothing is sent."""
    await pipeline.kill_switch.set(True)
    result = await pipeline.executor.execute(make_envelope("BUY AAPL"), BUY_AAPL)
    assert result.outcome is Outcome.RISK_REJECTED
    assert await paper_order_count(pipeline.db) == 0


async def test_same_signal_from_same_author_within_window_is_a_duplicate(
    pipeline: Pipeline, make_envelope: EnvelopeFactory
) -> None:
    """A second, different message carrying the same signal from the same author is recorded as duplicate."""
    await pipeline.executor.execute(make_envelope("BUY AAPL"), BUY_AAPL)
    again = await pipeline.executor.execute(make_envelope("BUY AAPL"), BUY_AAPL)
    assert again.outcome is Outcome.DUPLICATE
    assert await paper_order_count(pipeline.db) == 2


async def test_daily_loss_limit_pauses_trading_until_resumed(db: Database, make_envelope: EnvelopeFactory) -> None:
    """Realized plus unrealized loss since the day began reaching the limit refuses the entry and engages
    the kill switch, which persists; closes still go through."""
    pipeline = await build_pipeline(db, limits=RiskLimits(max_daily_loss=Decimal(500)))
    buy = OpenSignal(Side.BUY, "AAPL", AssetClass.EQUITY, quantity=Decimal(100))
    assert (await pipeline.executor.execute(make_envelope("BUY AAPL 100"), buy)).outcome is Outcome.EXECUTED
    pipeline.quotes.set("AAPL", Decimal("144.99"))  # 100 x -5.01 unrealized
    again = OpenSignal(Side.BUY, "TSLA", AssetClass.EQUITY, quantity=Decimal(1))
    refused = await pipeline.executor.execute(make_envelope("BUY TSLA 1"), again)
    assert refused.outcome is Outcome.RISK_REJECTED
    assert refused.reason == "daily loss 501.00 reached risk.max_daily_loss (500)"
    restarted = await build_pipeline(db, limits=RiskLimits(max_daily_loss=Decimal(500)))
    assert restarted.kill_switch.engaged
    closed = await restarted.executor.execute(make_envelope("CLOSE AAPL"), CloseSignal("AAPL"))
    assert closed.outcome is Outcome.EXECUTED


async def test_cooldown_refuses_a_second_entry_in_the_same_symbol(db: Database, make_envelope: EnvelopeFactory) -> None:
    pipeline = await build_pipeline(db, limits=RiskLimits(cooldown_seconds=60))
    first = OpenSignal(Side.BUY, "AAPL", AssetClass.EQUITY, quantity=Decimal(10))
    assert (
        await pipeline.executor.execute(make_envelope("BUY AAPL 10", author_id="1"), first)
    ).outcome is Outcome.EXECUTED
    second = OpenSignal(Side.BUY, "AAPL", AssetClass.EQUITY, quantity=Decimal(20))
    refused = await pipeline.executor.execute(make_envelope("BUY AAPL 20", author_id="2"), second)
    assert refused.outcome is Outcome.RISK_REJECTED and "cooldown_seconds is 60" in (refused.reason or "")
    other = OpenSignal(Side.BUY, "TSLA", AssetClass.EQUITY, quantity=Decimal(1))
    assert (await pipeline.executor.execute(make_envelope("BUY TSLA 1"), other)).outcome is Outcome.EXECUTED

"""The paper venue: resting entries, bracket exits against the quote, reduce-only closes, restart-proof books."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bot.domain import AssetClass, OrderRequest, OrderStatus, OrderType, Side
from bot.errors import OrderRejected
from bot.execution.broker import StaticQuotes
from bot.execution.paper import PaperBroker
from bot.execution.token_bucket import RateLimiter, TokenBucket
from storage.database import Database
from storage.paper import PaperBooks


def paper(db: Database, quotes: StaticQuotes) -> PaperBroker:
    limiter = RateLimiter("broker", TokenBucket(1000.0, 1000, time.monotonic))
    return PaperBroker(PaperBooks(db), quotes, limiter, now=lambda: datetime.now(UTC))


def order(
    cid: str,
    side: Side = Side.BUY,
    quantity: str = "10",
    type_: OrderType = OrderType.MARKET,
    *,
    limit: str | None = None,
    stop: str | None = None,
    stop_loss: str | None = None,
    take_profit: str | None = None,
    reduce_only: bool = False,
) -> OrderRequest:
    dec = lambda value: None if value is None else Decimal(value)  # noqa: E731
    return OrderRequest(
        client_order_id=cid,
        symbol="AAPL",
        asset_class=AssetClass.EQUITY,
        side=side,
        type=type_,
        quantity=Decimal(quantity),
        limit_price=dec(limit),
        stop_price=dec(stop),
        stop_loss=dec(stop_loss),
        take_profit=dec(take_profit),
        reduce_only=reduce_only,
    )


@pytest.fixture
def quotes() -> StaticQuotes:
    return StaticQuotes({"AAPL": Decimal("150")})


@pytest.fixture
async def broker(db: Database, quotes: StaticQuotes) -> PaperBroker:
    venue = paper(db, quotes)
    await venue.open()
    return venue


async def held(broker: PaperBroker) -> Decimal:
    positions = await broker.positions()
    return next((p.quantity for p in positions if p.symbol == "AAPL"), Decimal(0))


async def test_resting_limit_fills_when_the_quote_reaches_it(broker: PaperBroker, quotes: StaticQuotes) -> None:
    ack = await broker.submit_order(order("tc-1", type_=OrderType.LIMIT, limit="145"))
    assert ack.status is OrderStatus.ACCEPTED
    assert await broker.simulate() == 0
    quotes.set("AAPL", Decimal("144.5"))
    assert await broker.simulate() == 1
    filled = await broker.get_order("tc-1")
    assert filled is not None and filled.status is OrderStatus.FILLED
    assert filled.average_fill_price == Decimal("144.5")
    assert await held(broker) == 10


async def test_breakout_stop_entry_waits_for_strength(broker: PaperBroker, quotes: StaticQuotes) -> None:
    await broker.submit_order(order("tc-1", type_=OrderType.STOP, stop="155"))
    quotes.set("AAPL", Decimal("154"))
    assert await broker.simulate() == 0
    quotes.set("AAPL", Decimal("155.2"))
    assert await broker.simulate() == 1
    assert await held(broker) == 10


async def test_stop_loss_closes_the_leg_and_realizes_the_loss(broker: PaperBroker, quotes: StaticQuotes) -> None:
    await broker.submit_order(order("tc-1", stop_loss="145", take_profit="160"))
    quotes.set("AAPL", Decimal("144"))
    assert await broker.simulate() == 1
    assert await held(broker) == 0
    account = await broker.account()
    assert account.realized_pnl == Decimal("-60")  # 10 x (144 - 150): the stop fills at the quote that crossed it
    assert await broker.simulate() == 0  # nothing left to trigger


async def test_each_target_closes_only_its_own_leg(broker: PaperBroker, quotes: StaticQuotes) -> None:
    await broker.submit_order(order("tc-1", quantity="5", stop_loss="145", take_profit="160"))
    await broker.submit_order(order("tc-2", quantity="5", stop_loss="145", take_profit="165"))
    quotes.set("AAPL", Decimal("161"))
    assert await broker.simulate() == 1
    assert await held(broker) == 5
    quotes.set("AAPL", Decimal("166"))
    assert await broker.simulate() == 1
    assert await held(broker) == 0
    assert (await broker.account()).realized_pnl == Decimal("5") * 11 + Decimal("5") * 16


async def test_short_bracket_mirrors_the_long_one(broker: PaperBroker, quotes: StaticQuotes) -> None:
    await broker.submit_order(order("tc-1", side=Side.SELL, stop_loss="155", take_profit="140"))
    quotes.set("AAPL", Decimal("139"))
    assert await broker.simulate() == 1
    assert await held(broker) == 0
    assert (await broker.account()).realized_pnl == Decimal("110")


async def test_closing_the_position_retires_its_exits(broker: PaperBroker, quotes: StaticQuotes) -> None:
    await broker.submit_order(order("tc-1", stop_loss="145"))
    await broker.submit_order(order("tc-close", side=Side.SELL, quantity="10", reduce_only=True))
    quotes.set("AAPL", Decimal("140"))
    assert await broker.simulate() == 0
    assert await held(broker) == 0
    with pytest.raises(OrderRejected, match="already closed"):
        await broker.replace_exits("tc-1", stop_loss=Decimal("146"))


async def test_partial_close_caps_the_exit_at_what_is_left(broker: PaperBroker, quotes: StaticQuotes) -> None:
    await broker.submit_order(order("tc-1", stop_loss="145"))
    await broker.submit_order(order("tc-half", side=Side.SELL, quantity="4", reduce_only=True))
    assert await held(broker) == 6
    quotes.set("AAPL", Decimal("144"))
    assert await broker.simulate() == 1
    assert await held(broker) == 0


async def test_reduce_only_never_flips_the_position(broker: PaperBroker) -> None:
    await broker.submit_order(order("tc-1", quantity="3"))
    ack = await broker.submit_order(order("tc-close", side=Side.SELL, quantity="10", reduce_only=True))
    assert ack.filled_quantity == 3
    assert await held(broker) == 0
    with pytest.raises(OrderRejected, match="no AAPL position"):
        await broker.submit_order(order("tc-again", side=Side.SELL, quantity="1", reduce_only=True))


async def test_moved_stop_is_the_one_that_triggers(broker: PaperBroker, quotes: StaticQuotes) -> None:
    await broker.submit_order(order("tc-1", stop_loss="145"))
    await broker.replace_exits("tc-1", stop_loss=Decimal("150"))  # breakeven
    quotes.set("AAPL", Decimal("149.5"))
    assert await broker.simulate() == 1
    assert (await broker.account()).realized_pnl == Decimal("-5")


async def test_cancel_a_resting_entry_and_keep_a_filled_one(broker: PaperBroker, quotes: StaticQuotes) -> None:
    await broker.submit_order(order("tc-rest", type_=OrderType.LIMIT, limit="140"))
    await broker.submit_order(order("tc-filled"))
    assert (await broker.cancel_order("tc-rest")).status is OrderStatus.CANCELED
    assert (await broker.cancel_order("tc-filled")).status is OrderStatus.FILLED
    quotes.set("AAPL", Decimal("130"))
    assert await broker.simulate() == 0  # a cancelled entry never fills
    with pytest.raises(OrderRejected):
        await broker.cancel_order("tc-unknown")


async def test_books_survive_a_restart_identically(tmp_path: Path) -> None:
    quotes = StaticQuotes({"AAPL": Decimal("150")})
    async with Database(tmp_path / "paper.db") as db:
        venue = paper(db, quotes)
        await venue.open()
        await venue.submit_order(order("tc-1", stop_loss="145", take_profit="170"))
        await venue.submit_order(order("tc-2", type_=OrderType.LIMIT, limit="140"))
        before = (await venue.positions(), await venue.account(), await venue.get_order("tc-2"))
    async with Database(tmp_path / "paper.db") as db:
        venue = paper(db, quotes)
        await venue.open()
        assert (await venue.positions(), await venue.account(), await venue.get_order("tc-2")) == before
        quotes.set("AAPL", Decimal("139"))
        assert await venue.simulate() == 2  # the resting limit fills, then the first leg's stop triggers


async def test_account_and_positions_read_from_memory_match_the_books(db: Database, quotes: StaticQuotes) -> None:
    """What the broker answers from memory after fills, stops and a cancel is exactly what its tables say."""
    venue = paper(db, quotes)
    await venue.open()
    await venue.submit_order(order("tc-1", quantity="10", stop_loss="145"))
    await venue.submit_order(order("tc-2", side=Side.SELL, quantity="4"))
    await venue.submit_order(order("tc-3", type_=OrderType.LIMIT, limit="140"))
    await venue.cancel_order("tc-3")
    quotes.set("AAPL", Decimal("144"))
    assert await venue.simulate() == 1
    reopened = paper(db, quotes)  # reads the tables afresh
    await reopened.open()
    assert await venue.account() == await reopened.account()
    assert await venue.positions() == await reopened.positions() == []
    row = await db.fetchone("SELECT cash, realized_pnl FROM paper_account WHERE id = 1")
    assert row is not None and (await venue.account()).cash == Decimal(row["cash"])


async def test_a_rejected_order_changes_nothing_in_memory_or_on_disk(broker: PaperBroker) -> None:
    """A reduce-only order with nothing to reduce is refused, and the account it leaves is the one before."""
    before = await broker.account()
    with pytest.raises(OrderRejected):
        await broker.submit_order(order("tc-9", side=Side.SELL, reduce_only=True))
    assert await broker.account() == before
    assert await broker.get_order("tc-9") is None

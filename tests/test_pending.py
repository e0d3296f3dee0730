"""The book of approved orders awaiting the venue: what a risk check adds to the account it is shown."""

from __future__ import annotations

from decimal import Decimal

from bot.domain import AssetClass, OrderRequest, OrderType, Position, Side
from bot.execution.pending import PendingOrders


def leg(symbol: str, side: Side, quantity: int, cid: str = "tc-1") -> OrderRequest:
    return OrderRequest(cid, symbol, AssetClass.EQUITY, side, OrderType.MARKET, Decimal(quantity))


HELD = [Position("AAPL", Decimal(10), Decimal(150))]


def test_an_entry_sees_pending_orders_as_filled_and_their_symbols_as_open() -> None:
    """A pending buy of TSLA counts as an open TSLA position and adds to AAPL as if filled."""
    pending = PendingOrders()
    pending.add([leg("TSLA", Side.BUY, 5), leg("AAPL", Side.BUY, 3, "tc-2")])
    position, open_positions = pending.for_entry(HELD, "AAPL")
    assert position is not None and position.quantity == Decimal(13) and position.average_price == Decimal(150)
    assert open_positions == 2
    tsla, _ = pending.for_entry(HELD, "TSLA")
    assert tsla is not None and tsla.quantity == Decimal(5)


def test_a_pending_close_does_not_free_a_slot_before_it_fills() -> None:
    """A symbol being closed still counts as open for new entries until the venue has sold it."""
    pending = PendingOrders()
    pending.add([leg("AAPL", Side.SELL, 10)])
    position, open_positions = pending.for_entry(HELD, "MSFT")
    assert position is None and open_positions == 1


def test_an_exit_sees_only_what_other_pending_orders_do_not_already_sell() -> None:
    """A close sees the held position less pending sells; pending buys add nothing until they fill."""
    pending = PendingOrders()
    buy = pending.add([leg("AAPL", Side.BUY, 50)])
    exit_view = pending.for_exit(HELD, "AAPL")
    assert exit_view is not None and exit_view.quantity == Decimal(10)
    pending.add([leg("AAPL", Side.SELL, 4, "tc-2")])
    exit_view = pending.for_exit(HELD, "AAPL")
    assert exit_view is not None and exit_view.quantity == Decimal(6)
    pending.add([leg("AAPL", Side.SELL, 6, "tc-3")])
    assert pending.for_exit(HELD, "AAPL") is None
    pending.discard(buy)
    assert pending.for_exit(HELD, "AAPL") is None


def test_tickets_keep_identical_orders_apart() -> None:
    """A replayed message approved twice (same client ids) leaves one approval behind when the other goes."""
    pending = PendingOrders()
    first = pending.add([leg("TSLA", Side.BUY, 5)])
    pending.add([leg("TSLA", Side.BUY, 5)])
    pending.discard(first)
    position, _ = pending.for_entry([], "TSLA")
    assert position is not None and position.quantity == Decimal(5)
    pending.discard(first)  # twice is harmless

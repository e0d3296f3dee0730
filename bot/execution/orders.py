"""From an approved signal to the order legs we send: type, prices and the split across targets."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from bot.domain import AssetClass, EntryType, OpenSignal, OrderRequest, OrderType, Side, SignalEnvelope
from bot.execution.ids import client_order_id


def split_quantity(quantity: Decimal, parts: int, asset_class: AssetClass) -> list[Decimal]:
    """Split evenly; whole units for equities and options, the remainder going to the first legs."""
    if parts <= 1:
        return [quantity]
    step = Decimal(1) if asset_class in (AssetClass.EQUITY, AssetClass.OPTION) else Decimal("0.00000001")
    share = (quantity / parts).quantize(step, rounding=ROUND_DOWN)
    legs = [share] * parts
    remainder = quantity - share * parts
    index = 0
    while remainder > 0:
        bump = min(step, remainder)
        legs[index % parts] += bump
        remainder -= bump
        index += 1
    return [leg for leg in legs if leg > 0]


def _entry_order(signal: OpenSignal) -> tuple[OrderType, Decimal | None, Decimal | None]:
    """(type, limit price, stop price) for the entry."""
    entry = signal.entry
    if entry.type is EntryType.LIMIT:
        return OrderType.LIMIT, entry.price, None
    if entry.type is EntryType.RANGE:
        # Anywhere in the zone is acceptable, so the far edge fills soonest without leaving it.
        return OrderType.LIMIT, entry.high if signal.side is Side.BUY else entry.low, None
    if entry.type is EntryType.BREAKOUT:
        return OrderType.STOP, None, entry.price
    return OrderType.MARKET, None, None


def open_legs(signal: OpenSignal, quantity: Decimal, *, origin: SignalEnvelope, tif: str) -> list[OrderRequest]:
    """One bracket leg per take-profit (legs 1..N), the quantity split evenly; one leg without targets."""
    order_type, limit_price, stop_price = _entry_order(signal)
    targets: list[Decimal | None] = list(signal.take_profits) or [None]
    quantities = split_quantity(quantity, len(targets), signal.asset_class)
    return [
        OrderRequest(
            client_order_id=client_order_id(origin.source, origin.channel_id, origin.message_id, leg),
            symbol=signal.symbol,
            asset_class=signal.asset_class,
            side=signal.side,
            type=order_type,
            quantity=leg_quantity,
            limit_price=limit_price,
            stop_price=stop_price,
            stop_loss=signal.stop_loss,
            take_profit=target,
            time_in_force=tif,
        )
        for leg, (leg_quantity, target) in enumerate(zip(quantities, targets, strict=False), start=1)
    ]


def close_leg(
    symbol: str,
    asset_class: AssetClass,
    held: Decimal,
    quantity: Decimal,
    *,
    origin: SignalEnvelope,
    tif: str,
) -> OrderRequest:
    """A market order against the position's direction, marked reduce-only."""
    return OrderRequest(
        client_order_id=client_order_id(origin.source, origin.channel_id, origin.message_id, 1),
        symbol=symbol,
        asset_class=asset_class,
        side=Side.SELL if held > 0 else Side.BUY,
        type=OrderType.MARKET,
        quantity=quantity,
        time_in_force=tif,
        reduce_only=True,
    )

"""Alpaca's Trading API v2 shapes, both ways: our order requests as JSON bodies, its replies as domain types.

Pure functions, no I/O. A reply that does not have the documented shape raises `UnreadableReply` (or the
KeyError/TypeError/ValueError of the field that is wrong); the adapter turns that into a broker error.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.domain import Account, OrderAck, OrderRequest, OrderStatus, OrderType, Position
from bot.execution.alpaca_http import UnreadableReply

# Alpaca's statuses for an order that is still working (or paused) at the venue.
_WORKING = frozenset(
    {
        "new", "accepted", "pending_new", "accepted_for_bidding", "held", "done_for_day", "pending_cancel",
        "pending_replace", "stopped", "suspended", "calculated", "replaced",
    }
)  # fmt: skip
_FINAL = {
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}
# An exit leg that can still be moved; `held` is a bracket leg waiting for its entry to fill.
_MOVABLE = frozenset({"new", "accepted", "pending_new", "held", "partially_filled", "done_for_day"})


def map_status(status: str, *, quantity: Decimal, filled: Decimal) -> OrderStatus:
    """Alpaca's order status as ours; `unknown` (with the venue's word kept as the reason) if it is new to us.

    Working statuses read as accepted, or partially filled once anything filled; `calculated` (done for the
    day, settlement pending) is filled when the whole quantity is. `replaced` means the order lives on under
    the id in `replaced_by`, so it is still working.
    """
    if status in _FINAL:
        return _FINAL[status]
    if status == "partially_filled":
        return OrderStatus.PARTIALLY_FILLED
    if status in _WORKING:
        if status == "calculated" and filled >= quantity > 0:
            return OrderStatus.FILLED
        return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.ACCEPTED
    return OrderStatus.UNKNOWN


def number(value: Decimal) -> str:
    """A decimal as Alpaca wants it: a plain string, never scientific notation ("1E+2")."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def order_body(request: OrderRequest, time_in_force: str) -> dict[str, Any]:
    """`POST /v2/orders` for one leg: bracket with a stop and a target, oto with one, simple otherwise.

    A reduce-only close is a plain market order: its position has no exits of its own to attach.
    """
    body: dict[str, Any] = {
        "symbol": request.symbol,
        "qty": number(request.quantity),
        "side": request.side.value,
        "type": request.type.value,
        "time_in_force": time_in_force,
        "client_order_id": request.client_order_id,
    }
    if request.type is OrderType.LIMIT and request.limit_price is not None:
        body["limit_price"] = number(request.limit_price)
    if request.type is OrderType.STOP and request.stop_price is not None:
        body["stop_price"] = number(request.stop_price)
    if request.reduce_only:
        return body
    if request.take_profit is not None:
        body["take_profit"] = {"limit_price": number(request.take_profit)}
    if request.stop_loss is not None:
        body["stop_loss"] = {"stop_price": number(request.stop_loss)}
    exits = (request.take_profit is not None) + (request.stop_loss is not None)
    if exits:
        body["order_class"] = "bracket" if exits == 2 else "oto"
    return body


def is_duplicate_client_id(message: str) -> bool:
    """Alpaca's 422 for a client order id it already has ("client_order_id must be unique")."""
    text = message.lower()
    return "client_order_id" in text and ("unique" in text or "duplicate" in text)


@dataclass(frozen=True, slots=True)
class AlpacaOrder:
    """The fields of Alpaca's order object that we use; `legs` only when asked for with `nested=true`."""

    id: str
    client_order_id: str
    status: str
    type: str
    quantity: Decimal
    filled_quantity: Decimal
    average_fill_price: Decimal | None
    legs: tuple[AlpacaOrder, ...] = ()

    def ack(self) -> OrderAck:
        status = map_status(self.status, quantity=self.quantity, filled=self.filled_quantity)
        return OrderAck(
            client_order_id=self.client_order_id,
            status=status,
            broker_order_id=self.id,
            filled_quantity=self.filled_quantity,
            average_fill_price=self.average_fill_price,
            reason=f"Alpaca status {self.status!r}" if status in (OrderStatus.UNKNOWN, OrderStatus.REJECTED) else None,
        )

    def open_leg(self, *types: str) -> AlpacaOrder | None:
        """The exit leg of one of `types` that can still be moved (a replaced leg's successor included)."""
        return next((leg for leg in self.legs if leg.type in types and leg.status in _MOVABLE), None)


def read_order(payload: Any) -> AlpacaOrder:
    item = _object(payload, "order")
    legs = item.get("legs") or ()
    if not isinstance(legs, list | tuple):
        raise UnreadableReply("order.legs is not a list")
    return AlpacaOrder(
        id=_text(item, "id"),
        client_order_id=_text(item, "client_order_id"),
        status=_text(item, "status"),
        type=str(item.get("type") or item.get("order_type") or ""),
        quantity=_decimal(item, "qty", default=Decimal(0)),
        filled_quantity=_decimal(item, "filled_qty", default=Decimal(0)),
        average_fill_price=_optional_decimal(item, "filled_avg_price"),
        legs=tuple(read_order(leg) for leg in legs),
    )


def read_ack(payload: Any) -> OrderAck:
    return read_order(payload).ack()


def read_position(payload: Any) -> Position:
    """Alpaca reports a short as `side: "short"` (its `qty` may or may not carry the sign): ours is signed."""
    item = _object(payload, "position")
    quantity = abs(_decimal(item, "qty"))
    return Position(
        symbol=_text(item, "symbol"),
        quantity=-quantity if item.get("side") == "short" else quantity,
        average_price=_decimal(item, "avg_entry_price"),
        market_price=_optional_decimal(item, "current_price"),
    )


def read_positions(payload: Any) -> list[Position]:
    if not isinstance(payload, list):
        raise UnreadableReply("positions: expected a list")
    return [read_position(item) for item in payload]


def read_account(payload: Any) -> Account:
    """Cash and equity as Alpaca reports them. Realized PnL is not in Alpaca's account object (its
    `equity - last_equity` mixes in unrealized moves), so it is reported as 0 rather than guessed."""
    item = _object(payload, "account")
    return Account(
        cash=_decimal(item, "cash"),
        equity=_decimal(item, "equity"),
        realized_pnl=Decimal(0),
        currency=str(item.get("currency") or "USD"),
    )


def read_held_quantity(payload: Any) -> Decimal:
    """`GET /v2/positions/{symbol}`: the signed quantity held."""
    return read_position(payload).quantity


def read_stock_trade_price(payload: Any) -> Decimal | None:
    """`GET /v2/stocks/{symbol}/trades/latest`: `{"symbol": ..., "trade": {"p": price, ...}}`."""
    trade = _object(payload, "latest trade").get("trade")
    return None if trade is None else _price(trade)


def read_crypto_trade_price(payload: Any, symbol: str) -> Decimal | None:
    """`GET /v1beta3/crypto/us/latest/trades?symbols=...`: `{"trades": {"BTC/USD": {"p": price, ...}}}`."""
    trades = _object(payload, "latest trades").get("trades") or {}
    trade = _object(trades, "trades").get(symbol)
    return None if trade is None else _price(trade)


def read_market_open(payload: Any) -> bool:
    """`GET /v2/clock`: whether the market is open now."""
    is_open = _object(payload, "clock").get("is_open")
    if not isinstance(is_open, bool):
        raise UnreadableReply("clock.is_open is not a boolean")
    return is_open


def _price(trade: Any) -> Decimal:
    price = _decimal(_object(trade, "trade"), "p")
    if price <= 0:
        raise UnreadableReply(f"trade price {price} is not positive")
    return price


def _object(payload: Any, what: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise UnreadableReply(f"{what}: expected a JSON object")
    return payload


def _text(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise UnreadableReply(f"{key} is missing or not a string")
    return value


def _decimal(item: dict[str, Any], key: str, *, default: Decimal | None = None) -> Decimal:
    value = item.get(key)
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise UnreadableReply(f"{key} is not a decimal")
    try:
        parsed = Decimal(value)
    except InvalidOperation as exc:
        raise UnreadableReply(f"{key} is not a decimal: {value!r}") from exc
    if not parsed.is_finite():
        raise UnreadableReply(f"{key} is not a finite decimal")
    return parsed


def _optional_decimal(item: dict[str, Any], key: str) -> Decimal | None:
    return None if item.get(key) is None else _decimal(item, key)

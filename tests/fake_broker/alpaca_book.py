"""The fake Alpaca's account, in memory: orders (bracket and oto legs included), positions, cash, matching.

Shapes follow Alpaca's Trading API v2 documentation: decimals as strings, timestamps in RFC 3339 UTC,
errors as `{"code": ..., "message": ...}`. Matching is deliberately simple: an order fills completely, at the
symbol's current price, as soon as it is marketable (market: a price is known; limit: the price is at or
better than the limit; stop: the price reached the stop). A bracket's legs are `held` until the entry fills;
when one leg fills, the other is canceled.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from .alpaca_model import (
    MAX_CLIENT_ORDER_ID,
    ORDER_TYPES,
    TIME_IN_FORCE,
    FakeOrder,
    FakePosition,
    VenueRefusal,
    as_decimal,
    not_found,
    text,
    unprocessable,
)


class AlpacaBook:
    """Orders, positions and cash of one fake account, and the rule that fills orders."""

    def __init__(self, *, cash: Decimal, prices: dict[str, Decimal]) -> None:
        self.cash = cash
        self.starting_cash = cash
        self.prices = prices
        self.orders: dict[str, FakeOrder] = {}  # by venue id, legs and replaced orders included
        self.by_client_id: dict[str, FakeOrder] = {}
        self.positions: dict[str, FakePosition] = {}

    def find(self, order_id: str) -> FakeOrder:
        order = self.orders.get(order_id)
        if order is None:
            raise not_found("order not found")
        return order

    def find_by_client_id(self, client_order_id: str) -> FakeOrder:
        order = self.by_client_id.get(client_order_id)
        if order is None:
            raise not_found(f"order not found for {client_order_id}")
        return order

    def _register(self, order: FakeOrder) -> None:
        self.orders[order.id] = order
        self.by_client_id[order.client_order_id] = order

    # ------------------------------------------------------------------------------------------ placing

    def place(self, body: Any) -> FakeOrder:
        """`POST /v2/orders`: validate like Alpaca, store, and fill at once if marketable."""
        order = self._entry_from(body)
        self._check_bracket(order, body)
        self._check_buying_power(order)
        self._register(order)
        for leg in order.legs:
            self._register(leg)
        self._match(order)
        return order

    def _entry_from(self, body: Any) -> FakeOrder:
        if not isinstance(body, dict):
            raise unprocessable("request body must be a JSON object")
        symbol, side, kind = body.get("symbol"), body.get("side"), body.get("type")
        if not isinstance(symbol, str) or not symbol:
            raise unprocessable("symbol is required")
        if side not in ("buy", "sell"):
            raise unprocessable("side must be buy or sell")
        if kind not in ORDER_TYPES:
            raise unprocessable(f"invalid order type {kind!r}")
        tif = body.get("time_in_force")
        if tif not in TIME_IN_FORCE:
            raise unprocessable("invalid time_in_force")
        client_order_id = body.get("client_order_id") or str(uuid.uuid4())
        if not isinstance(client_order_id, str) or len(client_order_id) > MAX_CLIENT_ORDER_ID:
            raise unprocessable(f"client_order_id must be no more than {MAX_CLIENT_ORDER_ID} characters")
        if client_order_id in self.by_client_id:
            raise unprocessable("client_order_id must be unique")
        order = FakeOrder(
            symbol=symbol.upper(),
            side=side,
            type=kind,
            qty=_required(as_decimal(body, "qty", required=True)),
            time_in_force=tif,
            client_order_id=client_order_id,
            order_class=str(body.get("order_class") or "simple"),
            limit_price=as_decimal(body, "limit_price", required=kind in ("limit", "stop_limit")),
            stop_price=as_decimal(body, "stop_price", required=kind in ("stop", "stop_limit")),
        )
        order.legs = self._legs_from(order, body)
        return order

    def _legs_from(self, entry: FakeOrder, body: dict[str, Any]) -> list[FakeOrder]:
        take_profit, stop_loss = body.get("take_profit"), body.get("stop_loss")
        if entry.order_class == "simple":
            return []
        if entry.order_class not in ("bracket", "oto"):
            raise unprocessable(f"order_class {entry.order_class!r} is not supported")
        exits = [e for e in (take_profit, stop_loss) if e is not None]
        if entry.order_class == "bracket" and len(exits) != 2:
            raise unprocessable("bracket orders require take_profit and stop_loss")
        if entry.order_class == "oto" and len(exits) != 1:
            raise unprocessable("oto orders require one of take_profit or stop_loss")
        exit_side = "sell" if entry.side == "buy" else "buy"
        legs = []
        if isinstance(take_profit, dict):
            price = as_decimal(take_profit, "limit_price", required=True)
            legs.append(self._leg(entry, exit_side, "limit", limit_price=price))
        elif take_profit is not None:
            raise unprocessable("take_profit must be an object")
        if isinstance(stop_loss, dict):
            price = as_decimal(stop_loss, "stop_price", required=True)
            legs.append(self._leg(entry, exit_side, "stop", stop_price=price))
        elif stop_loss is not None:
            raise unprocessable("stop_loss must be an object")
        return legs

    @staticmethod
    def _leg(
        entry: FakeOrder, side: str, kind: str, *, limit_price: Decimal | None = None, stop_price: Decimal | None = None
    ) -> FakeOrder:
        return FakeOrder(
            symbol=entry.symbol,
            side=side,
            type=kind,
            qty=entry.qty,
            time_in_force=entry.time_in_force,
            client_order_id=str(uuid.uuid4()),
            order_class=entry.order_class,
            status="held",
            parent=entry,
            limit_price=limit_price,
            stop_price=stop_price,
        )

    def _check_bracket(self, entry: FakeOrder, body: dict[str, Any]) -> None:
        """Exits on the right side of the entry's base price, as Alpaca requires."""
        base = entry.limit_price or entry.stop_price or self.prices.get(entry.symbol)
        if base is None:
            return
        up = 1 if entry.side == "buy" else -1
        for leg in entry.legs:
            if leg.type == "limit" and leg.limit_price is not None and (leg.limit_price - base) * up <= 0:
                side = ">" if up > 0 else "<"
                raise unprocessable(f"take_profit.limit_price must be {side} base_price {text(base)}")
            if leg.type == "stop" and leg.stop_price is not None and (base - leg.stop_price) * up <= 0:
                side = "<" if up > 0 else ">"
                raise unprocessable(f"stop_loss.stop_price must be {side} base_price {text(base)}")

    def _check_buying_power(self, order: FakeOrder) -> None:
        price = order.limit_price or order.stop_price or self.prices.get(order.symbol)
        if order.side == "buy" and price is not None and order.qty * price > self.cash:
            raise VenueRefusal(403, 40310000, "insufficient buying power")

    # --------------------------------------------------------------------------------- changing orders

    def cancel(self, order_id: str) -> None:
        """`DELETE /v2/orders/{id}`: cancels the order and its open legs; 422 once it is final."""
        order = self.find(order_id)
        if not order.is_open:
            raise VenueRefusal(422, 42210000, f'order is already in "{order.status}" state')
        for each in (order, *order.legs):
            if each.is_open:
                each.touch("canceled")
                each.canceled_at = each.updated_at

    def replace(self, order_id: str, body: Any) -> FakeOrder:
        """`PATCH /v2/orders/{id}`: a new order takes the old one's place (in its parent's legs too)."""
        old = self.find(order_id)
        if not isinstance(body, dict):
            raise unprocessable("request body must be a JSON object")
        if not old.is_open:
            raise VenueRefusal(422, 42210000, f'order is already in "{old.status}" state')
        limit_price = as_decimal(body, "limit_price")
        stop_price = as_decimal(body, "stop_price")
        if limit_price is not None and old.type not in ("limit", "stop_limit"):
            raise unprocessable("limit_price is only for limit orders")
        if stop_price is not None and old.type not in ("stop", "stop_limit"):
            raise unprocessable("stop_price is only for stop orders")
        new = FakeOrder(
            symbol=old.symbol,
            side=old.side,
            type=old.type,
            qty=as_decimal(body, "qty") or old.qty,
            time_in_force=str(body.get("time_in_force") or old.time_in_force),
            client_order_id=str(body.get("client_order_id") or uuid.uuid4()),
            order_class=old.order_class,
            limit_price=limit_price or old.limit_price,
            stop_price=stop_price or old.stop_price,
            status=old.status,
            replaces=old.id,
            parent=old.parent,
            legs=old.legs,
        )
        old.touch("replaced")
        old.replaced_at, old.replaced_by = old.updated_at, new.id
        for leg in new.legs:
            leg.parent = new
        if old.parent is not None:
            siblings = old.parent.legs
            siblings[siblings.index(old)] = new
        self._register(new)
        self._match(new)
        return new

    # --------------------------------------------------------------------------------------- matching

    def set_price(self, symbol: str, price: Decimal) -> None:
        """Move the market: resting orders for `symbol` that became marketable fill now."""
        self.prices[symbol.upper()] = price
        for order in list(self.orders.values()):
            if order.symbol == symbol.upper():
                self._match(order)

    def _match(self, order: FakeOrder) -> None:
        price = self.prices.get(order.symbol)
        if price is None or order.status not in ("new", "accepted", "partially_filled"):
            return
        buy = order.side == "buy"
        if order.type == "limit" and order.limit_price is not None:
            marketable = price <= order.limit_price if buy else price >= order.limit_price
        elif order.type in ("stop", "stop_limit") and order.stop_price is not None:
            marketable = price >= order.stop_price if buy else price <= order.stop_price
        else:
            marketable = order.type == "market"
        if marketable:
            self._fill(order, price)

    def _fill(self, order: FakeOrder, price: Decimal) -> None:
        order.touch("filled")
        order.filled_qty, order.filled_avg_price, order.filled_at = order.qty, price, order.updated_at
        signed = order.qty if order.side == "buy" else -order.qty
        self.cash -= signed * price
        self._move_position(order.symbol, signed, price)
        for leg in order.legs:  # the entry filled: its exits start working
            if leg.status == "held":
                leg.touch("new")
                self._match(leg)
        if order.parent is not None:  # an exit filled: the other one is no longer needed
            for sibling in order.parent.legs:
                if sibling is not order and sibling.is_open:
                    sibling.touch("canceled")
                    sibling.canceled_at = sibling.updated_at

    def _move_position(self, symbol: str, signed: Decimal, price: Decimal) -> None:
        held = self.positions.get(symbol)
        if held is None:
            self.positions[symbol] = FakePosition(signed, price)
            return
        total = held.quantity + signed
        if total == 0:
            del self.positions[symbol]
        elif (held.quantity > 0) == (signed > 0):
            held.average_price = (held.average_price * held.quantity + price * signed) / total
            held.quantity = total
        elif (total > 0) == (held.quantity > 0):
            held.quantity = total  # reduced: the average cost of what is left is unchanged
        else:
            self.positions[symbol] = FakePosition(total, price)  # flipped through zero

    # ----------------------------------------------------------------------------------- account views

    def position_json(self, symbol: str, held: FakePosition) -> dict[str, Any]:
        price = self.prices.get(symbol, held.average_price)
        market_value = held.quantity * price
        cost_basis = held.quantity * held.average_price
        return {
            "asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, symbol)),
            "symbol": symbol,
            "exchange": "NASDAQ",
            "asset_class": "crypto" if "/" in symbol else "us_equity",
            "asset_marginable": True,
            "avg_entry_price": text(held.average_price),
            "qty": text(held.quantity),
            "qty_available": text(held.quantity),
            "side": "long" if held.quantity > 0 else "short",
            "market_value": text(market_value),
            "cost_basis": text(cost_basis),
            "unrealized_pl": text(market_value - cost_basis),
            "current_price": text(price),
            "lastday_price": text(price),
            "change_today": "0",
        }

    def account_json(self) -> dict[str, Any]:
        values = [
            held.quantity * self.prices.get(symbol, held.average_price) for symbol, held in self.positions.items()
        ]
        long_value = sum((value for value in values if value > 0), Decimal(0))
        short_value = sum((value for value in values if value < 0), Decimal(0))
        equity = self.cash + long_value + short_value
        return {
            "id": "00000000-0000-4000-8000-000000000001",
            "account_number": "PA0000FAKE",
            "status": "ACTIVE",
            "currency": "USD",
            "cash": text(self.cash),
            "portfolio_value": text(equity),
            "equity": text(equity),
            "last_equity": text(self.starting_cash),
            "buying_power": text(max(self.cash, Decimal(0))),
            "long_market_value": text(long_value),
            "short_market_value": text(short_value),
            "pattern_day_trader": False,
            "trading_blocked": False,
            "account_blocked": False,
            "shorting_enabled": True,
            "multiplier": "1",
        }


def _required(value: Decimal | None) -> Decimal:
    assert value is not None  # as_decimal(required=True) never returns None
    return value

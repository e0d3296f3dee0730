"""The fake exchange's venue state: Binance spot markets, balances and orders, with Binance's own shapes.

Kept apart from the HTTP layer (`exchange.py`) so the matching rules can be read on their own: market
orders fill at the current price, marketable limits fill at the price, other limits rest (locking their
funds), stop (`STOP_LOSS`) orders rest until `set_price` crosses their stop. Every refusal is a
`VenueError` carrying Binance's documented HTTP status, error code and message.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any

JSON = dict[str, Any]


class VenueError(Exception):
    """A Binance error answer: `{"code": code, "msg": msg}` with HTTP `status`."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg

    def body(self) -> JSON:
        return {"code": self.code, "msg": self.msg}


INSUFFICIENT_BALANCE = (400, -2010, "Account has insufficient balance for requested action.")
DUPLICATE_ORDER = (400, -2010, "Duplicate order sent.")
ORDER_NOT_FOUND = (400, -2013, "Order does not exist.")
UNKNOWN_ORDER = (400, -2011, "Unknown order sent.")
INVALID_SYMBOL = (400, -1121, "Invalid symbol.")


def fmt(value: Decimal) -> str:
    """Binance prints amounts with 8 decimals."""
    return f"{value.quantize(Decimal('0.00000001'), rounding=ROUND_DOWN):f}"


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class SpotMarket:
    symbol: str  # the venue id, e.g. BTCUSDT
    base: str
    quote: str
    min_qty: Decimal = Decimal("0.0001")
    step: Decimal = Decimal("0.00001")
    tick: Decimal = Decimal("0.01")
    min_notional: Decimal = Decimal("5")

    def info(self) -> JSON:
        """One `symbols[]` entry of `GET /api/v3/exchangeInfo`."""
        return {
            "symbol": self.symbol,
            "status": "TRADING",
            "baseAsset": self.base,
            "baseAssetPrecision": 8,
            "quoteAsset": self.quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": [
                "LIMIT",
                "LIMIT_MAKER",
                "MARKET",
                "STOP_LOSS",
                "STOP_LOSS_LIMIT",
                "TAKE_PROFIT",
                "TAKE_PROFIT_LIMIT",
            ],
            "icebergAllowed": True,
            "ocoAllowed": True,
            "otoAllowed": True,
            "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": True,
            "cancelReplaceAllowed": True,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": fmt(self.tick),
                    "maxPrice": "1000000.00000000",
                    "tickSize": fmt(self.tick),
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": fmt(self.min_qty),
                    "maxQty": "9000.00000000",
                    "stepSize": fmt(self.step),
                },
                {
                    "filterType": "NOTIONAL",
                    "minNotional": fmt(self.min_notional),
                    "applyMinToMarket": True,
                    "maxNotional": "9000000.00000000",
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                },
            ],
            "permissions": [],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
        }


DEFAULT_MARKETS = (
    SpotMarket("BTCUSDT", "BTC", "USDT"),
    SpotMarket("ETHUSDT", "ETH", "USDT", min_qty=Decimal("0.001"), step=Decimal("0.0001")),
    SpotMarket("SOLUSDT", "SOL", "USDT", min_qty=Decimal("0.01"), step=Decimal("0.001")),
)


@dataclass
class FakeOrder:
    """One order as the venue keeps it; `status` is Binance's (NEW, PARTIALLY_FILLED, FILLED, CANCELED...)."""

    order_id: int
    symbol: str
    client_order_id: str
    side: str  # BUY | SELL
    type: str  # MARKET | LIMIT | STOP_LOSS ...
    quantity: Decimal
    price: Decimal = Decimal(0)
    stop_price: Decimal = Decimal(0)
    time_in_force: str | None = None
    status: str = "NEW"
    executed: Decimal = Decimal(0)
    quote_spent: Decimal = Decimal(0)
    reserved: Decimal = Decimal(0)  # funds locked while the order rests
    created_ms: int = field(default_factory=now_ms)
    updated_ms: int = field(default_factory=now_ms)
    fills: list[JSON] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status in ("NEW", "PARTIALLY_FILLED")

    def query_shape(self) -> JSON:
        """`GET /api/v3/order` (and each element of `openOrders` / `allOrders`)."""
        return {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_order_id,
            "price": fmt(self.price),
            "origQty": fmt(self.quantity),
            "executedQty": fmt(self.executed),
            "cummulativeQuoteQty": fmt(self.quote_spent),
            "status": self.status,
            "timeInForce": self.time_in_force or "GTC",
            "type": self.type,
            "side": self.side,
            "stopPrice": fmt(self.stop_price),
            "icebergQty": "0.00000000",
            "time": self.created_ms,
            "updateTime": self.updated_ms,
            "isWorking": self.type in ("MARKET", "LIMIT") or self.executed > 0,
            "workingTime": self.created_ms,
            "origQuoteOrderQty": "0.00000000",
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }

    def full_shape(self) -> JSON:
        """`POST /api/v3/order` with `newOrderRespType=FULL` (ccxt's default for spot)."""
        shape = self.query_shape()
        for key in ("stopPrice", "icebergQty", "time", "updateTime", "isWorking", "origQuoteOrderQty"):
            shape.pop(key)
        return {**shape, "transactTime": self.updated_ms, "fills": list(self.fills)}


class SpotBook:
    """Markets, prices, balances and orders of one account."""

    def __init__(self, markets: tuple[SpotMarket, ...] = DEFAULT_MARKETS) -> None:
        self.markets = {market.symbol: market for market in markets}
        self.prices: dict[str, Decimal] = {}
        self.free: dict[str, Decimal] = {}
        self.locked: dict[str, Decimal] = {}
        self.orders: list[FakeOrder] = []
        self._ids = itertools.count(1000)
        self._trade_ids = itertools.count(5000)

    def market(self, symbol: str | None) -> SpotMarket:
        if symbol is None or symbol not in self.markets:
            raise VenueError(*INVALID_SYMBOL)
        return self.markets[symbol]

    def price(self, symbol: str) -> Decimal:
        return self.prices.get(symbol, Decimal(0))

    # ---------------------------------------------------------------------------------------- orders

    def find(self, symbol: str, client_order_id: str | None, order_id: str | None) -> FakeOrder:
        for order in reversed(self.orders):  # the newest order with a re-used client id wins, as at Binance
            if order.symbol != symbol:
                continue
            if (client_order_id is not None and order.client_order_id == client_order_id) or (
                order_id is not None and str(order.order_id) == order_id
            ):
                return order
        raise VenueError(*ORDER_NOT_FOUND)

    def place(self, params: dict[str, str]) -> FakeOrder:
        """`POST /api/v3/order`: validate like Binance, store, then match."""
        market = self.market(params.get("symbol"))
        side, kind = params.get("side", "").upper(), params.get("type", "").upper()
        if side not in ("BUY", "SELL"):
            raise VenueError(400, -1102, "Mandatory parameter 'side' was not sent, was empty/null, or malformed.")
        if kind not in ("MARKET", "LIMIT", "STOP_LOSS", "STOP_LOSS_LIMIT"):
            raise VenueError(400, -1116, "Invalid orderType.")
        quantity = _decimal(params.get("quantity"), "quantity")
        self._check_lot(market, quantity)
        client_id = params.get("newClientOrderId") or f"web_{next(self._ids)}"
        if any(o.client_order_id == client_id and o.is_open for o in self.orders):
            raise VenueError(*DUPLICATE_ORDER)  # Binance: unique among open orders
        price = _decimal(params["price"], "price") if "price" in params else Decimal(0)
        stop = _decimal(params["stopPrice"], "stopPrice") if "stopPrice" in params else Decimal(0)
        if kind in ("LIMIT", "STOP_LOSS_LIMIT") and price <= 0:
            raise VenueError(400, -1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed.")
        reference = price if price > 0 else self.price(market.symbol)
        if reference > 0 and quantity * reference < market.min_notional:
            raise VenueError(400, -1013, "Filter failure: NOTIONAL")
        order = FakeOrder(
            next(self._ids), market.symbol, client_id, side, kind, quantity, price, stop, params.get("timeInForce")
        )
        self._reserve(market, order, reference)
        self.orders.append(order)
        self._match(order)
        return order

    def cancel(self, symbol: str, client_order_id: str | None, order_id: str | None) -> FakeOrder:
        try:
            order = self.find(symbol, client_order_id, order_id)
        except VenueError:
            raise VenueError(*UNKNOWN_ORDER) from None
        if not order.is_open:
            raise VenueError(*UNKNOWN_ORDER)  # Binance answers -2011 for orders that already ended
        self._release(order)
        order.status, order.updated_ms = "CANCELED", now_ms()
        return order

    def set_price(self, symbol: str, price: Decimal) -> None:
        self.prices[symbol] = price
        for order in self.orders:
            if order.symbol == symbol and order.is_open:
                self._match(order)

    # ---------------------------------------------------------------------------------------- matching

    @staticmethod
    def _check_lot(market: SpotMarket, quantity: Decimal) -> None:
        if quantity <= 0:
            raise VenueError(400, -1013, "Invalid quantity.")
        if quantity < market.min_qty or (quantity - market.min_qty) % market.step != 0:
            raise VenueError(400, -1013, "Filter failure: LOT_SIZE")

    def _reserve(self, market: SpotMarket, order: FakeOrder, reference: Decimal) -> None:
        asset, amount = (
            (market.quote, order.quantity * reference) if order.side == "BUY" else (market.base, order.quantity)
        )
        if self.free.get(asset, Decimal(0)) < amount:
            raise VenueError(*INSUFFICIENT_BALANCE)
        self.free[asset] = self.free.get(asset, Decimal(0)) - amount
        self.locked[asset] = self.locked.get(asset, Decimal(0)) + amount
        order.reserved = amount

    def _release(self, order: FakeOrder) -> None:
        market = self.markets[order.symbol]
        asset = market.quote if order.side == "BUY" else market.base
        self.locked[asset] -= order.reserved
        self.free[asset] = self.free.get(asset, Decimal(0)) + order.reserved
        order.reserved = Decimal(0)

    def _triggered(self, order: FakeOrder, price: Decimal) -> bool:
        if order.type == "MARKET":
            return price > 0
        if order.type == "LIMIT":
            return price > 0 and (price <= order.price if order.side == "BUY" else price >= order.price)
        # STOP_LOSS on Binance spot: a BUY triggers at or above the stop, a SELL at or below it
        return price > 0 and (price >= order.stop_price if order.side == "BUY" else price <= order.stop_price)

    def _match(self, order: FakeOrder) -> None:
        price = self.price(order.symbol)
        if not order.is_open or not self._triggered(order, price):
            if order.type == "MARKET":  # nothing to fill against: Binance expires it
                self._release(order)
                order.status = "EXPIRED"
            return
        market = self.markets[order.symbol]
        self._release(order)
        cost = order.quantity * price
        if order.side == "BUY":
            self.free[market.quote] = self.free.get(market.quote, Decimal(0)) - cost
            self.free[market.base] = self.free.get(market.base, Decimal(0)) + order.quantity
        else:
            self.free[market.base] = self.free.get(market.base, Decimal(0)) - order.quantity
            self.free[market.quote] = self.free.get(market.quote, Decimal(0)) + cost
        order.fills.append(
            {
                "price": fmt(price),
                "qty": fmt(order.quantity),
                "commission": "0.00000000",
                "commissionAsset": market.quote,
                "tradeId": next(self._trade_ids),
            }
        )
        order.executed, order.quote_spent = order.quantity, cost
        order.status, order.updated_ms = "FILLED", now_ms()

    # ---------------------------------------------------------------------------------------- account

    def account_shape(self) -> JSON:
        """`GET /api/v3/account`."""
        assets = sorted(set(self.free) | set(self.locked))
        return {
            "makerCommission": 10,
            "takerCommission": 10,
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {
                "maker": "0.00100000",
                "taker": "0.00100000",
                "buyer": "0.00000000",
                "seller": "0.00000000",
            },
            "canTrade": True,
            "canWithdraw": True,
            "canDeposit": True,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": now_ms(),
            "accountType": "SPOT",
            "balances": [
                {"asset": a, "free": fmt(self.free.get(a, Decimal(0))), "locked": fmt(self.locked.get(a, Decimal(0)))}
                for a in assets
            ],
            "permissions": ["SPOT"],
            "uid": 354937868,
        }


def _decimal(raw: str | None, name: str) -> Decimal:
    try:
        value = Decimal(raw or "")
    except ArithmeticError:
        raise VenueError(
            400,
            -1100,
            f"Illegal characters found in parameter '{name}'; legal range is '^([0-9]{{1,20}})(\\.[0-9]{{1,20}})?$'.",
        ) from None
    if not value.is_finite():
        raise VenueError(400, -1100, f"Illegal characters found in parameter '{name}'.")
    return value

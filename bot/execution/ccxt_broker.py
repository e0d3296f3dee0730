"""A spot account on a crypto exchange through ccxt (`broker.kind = "ccxt"`).

Every ccxt call first passes our token bucket (ccxt's own throttle and retries are off). Orders carry our
client order id (ccxt's unified `clientOrderId`, Binance's `newClientOrderId`) and are looked up by it.

Spot exchanges attach no stop loss or take profit to an order, so only the entry is placed: the ack says
so in its reason and `replace_exits` is refused. Balances are the positions: every non-zero balance of an
asset that trades against `broker.quote_currency`, marked at the last price (a spot balance has no cost
basis, so its average price is that mark). Cash is the quote currency balance.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import ccxt
import structlog

from bot.domain import Account, OrderAck, OrderRequest, OrderStatus, OrderType, Position
from bot.errors import AmbiguousOrderOutcome, BrokerError, OrderRejected
from bot.execution.ccxt_errors import (
    DEFAULT_RATE_LIMIT_PAUSE_SECONDS,
    is_duplicate_client_id,
    is_order_absent,
    is_rate_limit,
    order_placement_error,
    rate_limited,
    request_error,
    retry_after_of,
)
from bot.execution.token_bucket import RateLimiter

log = structlog.get_logger(__name__)
T = TypeVar("T")
SymbolLookup = Callable[[str], Awaitable[str | None]]
Translate = Callable[[BaseException], BrokerError]

_TIME_IN_FORCE = {"gtc": "GTC", "ioc": "IOC", "fok": "FOK"}  # day/opg/cls are equity sessions: GTC here
_CCXT_FAILURES = (ccxt.BaseError, TimeoutError)
EXITS_NOT_PLACED = "entry only: spot orders carry no stop loss or take profit at the exchange"


def decimal_or_none(value: object) -> Decimal | None:
    """ccxt's numbers (floats, strings or None) as Decimal, through `str` so 0.1 stays 0.1."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def order_status(order: dict[str, Any]) -> OrderStatus:
    """ccxt's unified status plus the filled amount, in our lifecycle."""
    filled = decimal_or_none(order.get("filled")) or Decimal(0)
    match order.get("status"):
        case "closed":
            return OrderStatus.FILLED
        case "canceled":
            return OrderStatus.CANCELED
        case "expired":
            return OrderStatus.EXPIRED
        case "rejected":
            return OrderStatus.REJECTED
        case _:  # "open", "canceling", or no status yet: the exchange holds a live order
            return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.ACCEPTED


def ack_of(order: dict[str, Any], client_order_id: str, reason: str | None = None) -> OrderAck:
    filled = decimal_or_none(order.get("filled")) or Decimal(0)
    average = decimal_or_none(order.get("average"))
    if average is None and filled > 0 and (cost := decimal_or_none(order.get("cost"))) is not None:
        average = cost / filled
    venue_id = order.get("id")
    return OrderAck(
        client_order_id,
        order_status(order),
        broker_order_id=None if venue_id is None else str(venue_id),
        filled_quantity=filled,
        average_fill_price=average if filled > 0 else None,
        reason=reason,
    )


class CcxtBroker:
    """The `Broker` protocol over one ccxt exchange instance (one account)."""

    name = "ccxt"

    def __init__(self, exchange: Any, limiter: RateLimiter, *, quote_currency: str, symbol_of: SymbolLookup) -> None:
        self._exchange = exchange
        self._limiter = limiter
        self._quote = quote_currency.upper()
        self._symbol_of = symbol_of
        self._symbols: dict[str, str] = {}  # client order id -> symbol, for orders sent by this process
        self._markets_lock = asyncio.Lock()

    # ------------------------------------------------------------------------------ lifecycle

    async def open(self) -> None:
        """Load the exchange's markets now if it answers; otherwise the first call that needs them will."""
        try:
            await self._markets()
        except BrokerError as exc:
            log.warning("broker.markets_unavailable", exchange=self._exchange.id, reason=str(exc))

    async def close(self) -> None:
        await self._exchange.close()

    async def ping(self) -> None:
        """One cheap request (the exchange's clock), for /health: raises the broker error if it fails."""
        await self._call(request_error, "fetch_time")

    # ------------------------------------------------------------------------------ plumbing

    async def _call(self, translate: Translate, method: str, *args: Any, **kwargs: Any) -> Any:
        """One ccxt call behind the token bucket; its failure becomes one of our broker errors."""
        await self._limiter.acquire()
        try:
            return await getattr(self._exchange, method)(*args, **kwargs)
        except _CCXT_FAILURES as exc:
            if is_rate_limit(exc):
                retry_after = retry_after_of(self._exchange.last_response_headers)
                self._limiter.penalize(retry_after if retry_after is not None else DEFAULT_RATE_LIMIT_PAUSE_SECONDS)
                raise rate_limited(exc, retry_after) from exc
            raise translate(exc) from exc

    async def _markets(self) -> dict[str, Any]:
        async with self._markets_lock:
            if not self._exchange.markets:
                await self._call(request_error, "load_markets")
            markets: dict[str, Any] = self._exchange.markets
            return markets

    async def _symbol_for(self, client_order_id: str) -> str | None:
        if (symbol := self._symbols.get(client_order_id)) is not None:
            return symbol
        return await self._symbol_of(client_order_id)

    # ------------------------------------------------------------------------------ orders

    async def submit_order(self, request: OrderRequest) -> OrderAck:
        if request.symbol not in await self._markets():
            raise OrderRejected(f"{request.symbol} is not a market on {self._exchange.id}")
        kind, price, params = self._order_shape(request)
        self._symbols[request.client_order_id] = request.symbol
        try:
            order = await self._call(
                order_placement_error,
                "create_order",
                request.symbol,
                kind,
                request.side.value,
                _plain(request.quantity),
                price,
                params,
            )
        except OrderRejected as exc:
            if not is_duplicate_client_id(exc.__cause__ or exc):
                raise
            # The exchange already holds an open order with this id: ours, from an earlier attempt.
            try:
                existing = await self.get_order(request.client_order_id)
            except BrokerError as lookup:
                raise AmbiguousOrderOutcome(f"the exchange has this client id but did not show it: {lookup}") from exc
            if existing is None:
                raise
            return existing
        has_exits = request.stop_loss is not None or request.take_profit is not None
        if has_exits:
            log.warning("order.exits_not_placed", client_order_id=request.client_order_id, broker=self.name)
        return ack_of(order, request.client_order_id, EXITS_NOT_PLACED if has_exits else None)

    @staticmethod
    def _order_shape(request: OrderRequest) -> tuple[str, str | None, dict[str, Any]]:
        """(ccxt order type, limit price, params) for one request."""
        params: dict[str, Any] = {"clientOrderId": request.client_order_id}
        if request.type is OrderType.LIMIT:
            if request.limit_price is None:
                raise OrderRejected("a limit order needs a limit price")
            params["timeInForce"] = _TIME_IN_FORCE.get(request.time_in_force, "GTC")
            return "limit", _plain(request.limit_price), params
        if request.type is OrderType.STOP:
            if request.stop_price is None:
                raise OrderRejected("a stop order needs a stop price")
            params["triggerPrice"] = _plain(request.stop_price)  # a market order once the price trades there
        return "market", None, params

    async def get_order(self, client_order_id: str) -> OrderAck | None:
        symbol = await self._symbol_for(client_order_id)
        if symbol is None:
            raise BrokerError(f"no symbol is known for client order id {client_order_id}: cannot look it up")
        if not self._exchange.has.get("fetchOrder"):
            return await self._scan_for(client_order_id, symbol)
        try:
            order = await self._call(request_error, "fetch_order", None, symbol, {"clientOrderId": client_order_id})
        except OrderRejected as exc:
            if is_order_absent(exc.__cause__ or exc):
                return None  # the exchange says it has no order with this client id
            raise
        return ack_of(order, client_order_id)

    async def _scan_for(self, client_order_id: str, symbol: str) -> OrderAck:
        """For exchanges without fetchOrder: recent open and closed orders. Not finding it confirms nothing."""
        for method in ("fetch_open_orders", "fetch_closed_orders"):
            for order in await self._call(request_error, method, symbol):
                if order.get("clientOrderId") == client_order_id:
                    return ack_of(order, client_order_id)
        raise BrokerError(f"order {client_order_id} not among {symbol}'s recent orders: absence unconfirmed")

    async def cancel_order(self, client_order_id: str) -> OrderAck:
        symbol = await self._symbol_for(client_order_id)
        if symbol is None:
            raise OrderRejected(f"no order with client id {client_order_id} is known")
        try:
            order = await self._call(request_error, "cancel_order", None, symbol, {"clientOrderId": client_order_id})
        except OrderRejected:
            # Already filled, canceled or never there: the exchange's record says which.
            found = await self.get_order(client_order_id)
            if found is None:
                raise OrderRejected(f"{self._exchange.id} has no order with client id {client_order_id}") from None
            return found
        return ack_of(order, client_order_id)

    async def replace_exits(
        self, client_order_id: str, *, stop_loss: Decimal | None = None, take_profit: Decimal | None = None
    ) -> OrderAck:
        raise OrderRejected(
            f"{self._exchange.id} spot orders have no attached stop loss or take profit to move "
            f"(order {client_order_id}): manage the exit with a close signal"
        )

    # ------------------------------------------------------------------------------ account

    async def _holdings(self) -> tuple[Decimal, list[Position]]:
        """(quote-currency cash, the other non-zero balances marked at their last price)."""
        markets = await self._markets()
        balance = await self._call(request_error, "fetch_balance")
        totals: dict[str, Any] = balance.get("total") or {}
        cash = decimal_or_none(totals.get(self._quote)) or Decimal(0)
        held = {
            f"{asset}/{self._quote}": amount
            for asset, raw in totals.items()
            if asset != self._quote and f"{asset}/{self._quote}" in markets and (amount := decimal_or_none(raw))
        }
        prices = await self._last_prices(list(held))
        positions = [
            Position(symbol, quantity, prices.get(symbol) or Decimal(0), prices.get(symbol))
            for symbol, quantity in sorted(held.items())
        ]
        return cash, positions

    async def _last_prices(self, symbols: list[str]) -> dict[str, Decimal]:
        if not symbols:
            return {}
        if self._exchange.has.get("fetchTickers"):
            tickers = await self._call(request_error, "fetch_tickers", symbols)
        else:
            tickers = {s: await self._call(request_error, "fetch_ticker", s) for s in symbols}
        prices = {s: decimal_or_none((tickers.get(s) or {}).get("last")) for s in symbols}
        return {s: price for s, price in prices.items() if price}

    async def positions(self) -> list[Position]:
        _, positions = await self._holdings()
        return positions

    async def account(self) -> Account:
        cash, positions = await self._holdings()
        equity = cash + sum((p.quantity * (p.market_price or Decimal(0)) for p in positions), Decimal(0))
        return Account(cash=cash, equity=equity, currency=self._quote)

    async def last_price(self, symbol: str) -> Decimal | None:
        if symbol not in await self._markets():
            return None
        ticker = await self._call(request_error, "fetch_ticker", symbol)
        return decimal_or_none(ticker.get("last")) or None


def _plain(value: Decimal) -> str:
    """A Decimal as ccxt takes amounts and prices without float rounding: plain digits, no exponent."""
    return format(value, "f")

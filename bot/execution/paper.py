"""The paper broker: a venue simulated in our own SQLite, so dry runs survive restarts like real accounts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from bot.domain import (
    Account,
    OrderAck,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    Side,
)
from bot.errors import InsufficientQuote, OrderRejected
from bot.execution.broker import QuoteSource
from bot.execution.token_bucket import RateLimiter
from storage.paper import Fill, PaperBooks

Now = Callable[[], datetime]


def apply_to_position(
    position: Position | None, symbol: str, side: Side, quantity: Decimal, price: Decimal
) -> tuple[Position | None, Decimal]:
    """The position after a fill and the PnL it realizes (average-cost accounting, signed quantities)."""
    signed = quantity if side is Side.BUY else -quantity
    if position is None or position.quantity == 0:
        return Position(symbol, signed, price), Decimal(0)
    held = position.quantity
    if (held > 0) == (signed > 0):
        total = held + signed
        average = (position.average_price * held + price * signed) / total
        return Position(symbol, total, average), Decimal(0)
    closed = min(abs(held), abs(signed))
    direction = 1 if held > 0 else -1
    realized = (price - position.average_price) * closed * direction
    remaining = held + signed
    if remaining == 0:
        return None, realized
    if (remaining > 0) == (held > 0):
        return Position(symbol, remaining, position.average_price), realized
    return Position(symbol, remaining, price), realized  # flipped through zero: the rest opens at this price


def _marketable(request: OrderRequest, quote: Decimal) -> bool:
    assert request.limit_price is not None
    return quote <= request.limit_price if request.side is Side.BUY else quote >= request.limit_price


class PaperBroker:
    """Fills market orders (and marketable limits) at the quote; other orders rest as accepted."""

    name = "paper"

    def __init__(
        self,
        books: PaperBooks,
        quotes: QuoteSource,
        limiter: RateLimiter,
        *,
        now: Now,
        starting_cash: Decimal = Decimal(100_000),
    ) -> None:
        self._books = books
        self._quotes = quotes
        self._limiter = limiter
        self._now = now
        self._starting_cash = starting_cash

    async def open(self) -> None:
        await self._books.ensure_account(self._starting_cash)

    async def submit_order(self, request: OrderRequest) -> OrderAck:
        await self._limiter.acquire()
        quote = await self._quotes.price(request.symbol)
        if request.type is OrderType.MARKET and quote is None:
            raise InsufficientQuote(
                f"no price for {request.symbol}: a market order needs a quote (add it under [broker.quotes])"
            )
        if request.quantity <= 0:
            raise OrderRejected(f"quantity must be positive (got {request.quantity})")
        async with self._books.db.transaction() as conn:
            existing = await self._books.order_in(conn, request.client_order_id)
            if existing is not None:
                return existing  # the venue already has this client id: same answer, no second order
            fill_price = self._fill_price(request, quote)
            now = self._now()
            broker_order_id = "paper-" + request.client_order_id.removeprefix("tc-")
            if fill_price is None:
                ack = OrderAck(request.client_order_id, OrderStatus.ACCEPTED, broker_order_id)
                await self._books.insert_order(conn, request, ack, now)
                return ack
            ack = OrderAck(request.client_order_id, OrderStatus.FILLED, broker_order_id, request.quantity, fill_price)
            await self._books.insert_order(conn, request, ack, now)
            held = await self._books.position(conn, request.symbol)
            position, realized = apply_to_position(held, request.symbol, request.side, request.quantity, fill_price)
            notional = request.quantity * fill_price
            cash_delta = -notional if request.side is Side.BUY else notional
            fill = Fill(
                request.client_order_id,
                request.symbol,
                request.side,
                request.quantity,
                fill_price,
                realized,
                now,
            )
            await self._books.apply_fill(conn, fill, position, cash_delta)
            return ack

    @staticmethod
    def _fill_price(request: OrderRequest, quote: Decimal | None) -> Decimal | None:
        if request.type is OrderType.MARKET:
            return quote
        if request.type is OrderType.LIMIT and quote is not None and _marketable(request, quote):
            return quote
        return None

    async def get_order(self, client_order_id: str) -> OrderAck | None:
        await self._limiter.acquire()
        return await self._books.order(client_order_id)

    async def cancel_order(self, client_order_id: str) -> OrderAck:
        await self._limiter.acquire()
        async with self._books.db.transaction() as conn:
            ack = await self._books.order_in(conn, client_order_id)
            if ack is None:
                raise OrderRejected(f"no paper order with client id {client_order_id}")
            if ack.status.is_terminal:
                return ack
            await self._books.set_status(conn, client_order_id, OrderStatus.CANCELED)
            return replace(ack, status=OrderStatus.CANCELED)

    async def replace_exits(
        self, client_order_id: str, *, stop_loss: Decimal | None = None, take_profit: Decimal | None = None
    ) -> OrderAck:
        await self._limiter.acquire()
        async with self._books.db.transaction() as conn:
            ack = await self._books.order_in(conn, client_order_id)
            if ack is None:
                raise OrderRejected(f"no paper order with client id {client_order_id}")
            if ack.status in (OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED):
                raise OrderRejected(f"order {client_order_id} is {ack.status.value}: its exits cannot move")
            await self._books.set_exits(conn, client_order_id, stop_loss=stop_loss, take_profit=take_profit)
            return ack

    async def positions(self) -> list[Position]:
        await self._limiter.acquire()
        return await self._marked_positions()

    async def _marked_positions(self) -> list[Position]:
        held = await self._books.positions()
        return [Position(p.symbol, p.quantity, p.average_price, await self._quotes.price(p.symbol)) for p in held]

    async def account(self) -> Account:
        await self._limiter.acquire()
        positions = await self._marked_positions()
        cash, realized = await self._books.account()
        market_value = sum(
            (p.quantity * (p.market_price if p.market_price is not None else p.average_price) for p in positions),
            Decimal(0),
        )
        return Account(cash=cash, equity=cash + market_value, realized_pnl=realized)

    async def last_price(self, symbol: str) -> Decimal | None:
        return await self._quotes.price(symbol)

"""The paper broker: a venue simulated in our own SQLite, so dry runs survive restarts like real accounts.

Market orders fill at the quote. Limit and stop entries rest until the quote reaches them, and a filled
entry's stop loss and take profit (its bracket) watch the quote until one of them closes the leg:
`simulate()` plays one tick of that market against the quote source.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import aiosqlite

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
from storage.paper import ExitState, Fill, PaperBooks, WorkingOrder

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


def entry_fill_price(
    order_type: OrderType, side: Side, limit: Decimal | None, stop: Decimal | None, quote: Decimal | None
) -> Decimal | None:
    """The price an entry fills at now, or None while it rests (a stop is a breakout: it waits for strength)."""
    if quote is None:
        return None
    if order_type is OrderType.MARKET:
        return quote
    if order_type is OrderType.LIMIT and limit is not None:
        return quote if (quote <= limit if side is Side.BUY else quote >= limit) else None
    if order_type is OrderType.STOP and stop is not None:
        return quote if (quote >= stop if side is Side.BUY else quote <= stop) else None
    return None


def triggered_exit(order: WorkingOrder, quote: Decimal) -> str | None:
    """Which exit of a filled entry the quote reaches: the stop wins when both do (the cautious reading)."""
    long = order.side is Side.BUY
    if order.stop_loss is not None and (quote <= order.stop_loss if long else quote >= order.stop_loss):
        return "stop_loss"
    if order.take_profit is not None and (quote >= order.take_profit if long else quote <= order.take_profit):
        return "take_profit"
    return None


class PaperBroker:
    """A simulated account; every request passes the same token bucket a real venue's would."""

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
            quantity = request.quantity
            if request.reduce_only:
                quantity = await self._reducible(conn, request)
                request = replace(request, quantity=quantity)
            fill_price = entry_fill_price(request.type, request.side, request.limit_price, request.stop_price, quote)
            broker_order_id = "paper-" + request.client_order_id.removeprefix("tc-")
            if fill_price is None:
                ack = OrderAck(request.client_order_id, OrderStatus.ACCEPTED, broker_order_id)
                await self._books.insert_order(conn, request, ack, self._now())
                return ack
            ack = OrderAck(request.client_order_id, OrderStatus.FILLED, broker_order_id, quantity, fill_price)
            await self._books.insert_order(conn, request, ack, self._now())
            kind = "close" if request.reduce_only else "entry"
            await self._fill(conn, request.client_order_id, request.symbol, request.side, quantity, fill_price, kind)
            return ack

    async def _reducible(self, conn: aiosqlite.Connection, request: OrderRequest) -> Decimal:
        """A reduce-only order never grows or flips the position: it is cut to what is held."""
        held = await self._books.position(conn, request.symbol)
        against = held is not None and (held.quantity > 0) == (request.side is Side.SELL) and held.quantity != 0
        if held is None or not against:
            raise OrderRejected(f"no {request.symbol} position for a reduce-only {request.side.value} to reduce")
        return min(request.quantity, abs(held.quantity))

    async def _fill(
        self,
        conn: aiosqlite.Connection,
        client_order_id: str,
        symbol: str,
        side: Side,
        quantity: Decimal,
        price: Decimal,
        kind: str,
    ) -> None:
        held = await self._books.position(conn, symbol)
        position, realized = apply_to_position(held, symbol, side, quantity, price)
        notional = quantity * price
        fill = Fill(client_order_id, symbol, side, quantity, price, realized, self._now(), kind)
        await self._books.apply_fill(conn, fill, position, -notional if side is Side.BUY else notional)
        if position is None:
            await self._books.close_exits(conn, symbol)

    async def simulate(self) -> int:
        """Play one tick of the market: resting entries that the quote reaches fill, then stops and targets.

        Returns the number of fills. This is the venue's own matching, so it spends no rate-limit tokens.
        """
        working = await self._books.working_orders()
        quotes = {symbol: await self._quotes.price(symbol) for symbol in {order.symbol for order in working}}
        fills = 0
        async with self._books.db.transaction() as conn:
            for order in working:
                quote = quotes[order.symbol]
                if quote is None:
                    continue
                if order.status is OrderStatus.ACCEPTED:
                    fills += await self._fill_resting(conn, order, quote)
                else:
                    fills += await self._run_exits(conn, order, quote)
        return fills

    async def _fill_resting(self, conn: aiosqlite.Connection, order: WorkingOrder, quote: Decimal) -> int:
        price = entry_fill_price(OrderType(order.type), order.side, order.limit_price, order.stop_price, quote)
        if price is None:
            return 0
        has_exits = order.stop_loss is not None or order.take_profit is not None
        await self._books.mark_filled(
            conn, order.client_order_id, order.quantity, price, ExitState.OPEN if has_exits else None
        )
        await self._fill(conn, order.client_order_id, order.symbol, order.side, order.quantity, price, "entry")
        return 1

    async def _run_exits(self, conn: aiosqlite.Connection, order: WorkingOrder, quote: Decimal) -> int:
        exit_kind = triggered_exit(order, quote)
        if exit_kind is None:
            return 0
        held = await self._books.position(conn, order.symbol)
        long = order.side is Side.BUY
        remaining = Decimal(0) if held is None else (held.quantity if long else -held.quantity)
        if remaining <= 0:
            await self._books.set_exit_state(conn, order.client_order_id, ExitState.CLOSED)
            return 0
        quantity = min(order.quantity, remaining)
        exit_side = Side.SELL if long else Side.BUY
        state = ExitState.STOPPED if exit_kind == "stop_loss" else ExitState.TARGET
        await self._books.set_exit_state(conn, order.client_order_id, state)
        await self._fill(conn, order.client_order_id, order.symbol, exit_side, quantity, quote, exit_kind)
        return 1

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
            state = await self._books.exit_state(conn, client_order_id)
            if state in (ExitState.STOPPED, ExitState.TARGET, ExitState.CLOSED):
                raise OrderRejected(f"order {client_order_id} is already closed ({state}): nothing left to protect")
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

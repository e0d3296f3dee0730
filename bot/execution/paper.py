"""The paper broker: a venue simulated in our own SQLite, so dry runs survive restarts like real accounts.

Market orders fill at the quote. Limit and stop entries rest until the quote reaches them, and a filled
entry's stop loss and take profit (its bracket) watch the quote until one of them closes the leg:
`simulate()` plays one tick of that market against the quote source.

Every operation is one write unit (`Database.write`: one round trip to the database's thread, sharing a
commit with whatever else is queued); a signal's orders are placed inside the executor's own transaction
instead (`local_venue`, `bot.execution.broker.LocalVenue`). The venue is our own database, so the broker also
keeps the account as last committed (cash, realized PnL, positions) in memory: positions and account reads,
one per risk check, cost no database read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from functools import partial

from bot.domain import (
    Account,
    OrderAck,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    Side,
)
from bot.errors import ExitsClosed, InsufficientQuote, OrderRejected
from bot.execution.broker import Placement, PlaceOrder, QuoteSource
from bot.execution.token_bucket import RateLimiter
from storage.paper import ExitState, Fill, PaperBooks, WorkingOrder

Now = Callable[[], datetime]
_AVERAGE_STEP = Decimal("0.00000001")


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
        # Eight decimals, as venues report it: an unrounded quotient would carry 28 digits into every embed.
        average = ((position.average_price * held + price * signed) / total).quantize(_AVERAGE_STEP)
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


@dataclass(slots=True)
class _Books:
    """What a committed operation left in the account: the positions it touched and the cash after it."""

    positions: dict[str, Position | None] = field(default_factory=dict)
    cash: Decimal | None = None
    realized: Decimal | None = None
    fills: int = 0


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
        self._cash = Decimal(0)
        self._realized = Decimal(0)
        self._held: dict[str, Position] = {}
        self._loaded = False

    async def open(self) -> None:
        await self._books.ensure_account(self._starting_cash)
        await self._load()

    async def _load(self) -> None:
        self._cash, self._realized = await self._books.account()
        self._held = {p.symbol: p for p in await self._books.positions()}
        self._loaded = True

    def _apply(self, books: _Books) -> None:
        """Bring the in-memory account up to what was just committed."""
        for symbol, position in books.positions.items():
            if position is None or position.quantity == 0:
                self._held.pop(symbol, None)
            else:
                self._held[symbol] = position
        if books.cash is not None:
            self._cash = books.cash
        if books.realized is not None:
            self._realized = books.realized

    @property
    def local_venue(self) -> PaperBroker:
        """The paper venue lives in our database: the executor places its orders in its own transaction."""
        return self

    async def prepare_order(self, request: OrderRequest) -> PlaceOrder:
        await self._limiter.acquire()
        quote = await self._quotes.price(request.symbol)
        if request.type is OrderType.MARKET and quote is None:
            raise InsufficientQuote(
                f"no price for {request.symbol}: a market order needs a quote (add it under [broker.quotes])"
            )
        if request.quantity <= 0:
            raise OrderRejected(f"quantity must be positive (got {request.quantity})")
        return partial(self._place, request, quote, self._now())

    def _place(
        self, request: OrderRequest, quote: Decimal | None, now: datetime, conn: sqlite3.Connection
    ) -> Placement:
        ack, books = self._submit(request, quote, now, conn)
        return Placement(ack, partial(self._apply, books))

    async def submit_order(self, request: OrderRequest) -> OrderAck:
        placement = await self._books.db.write(await self.prepare_order(request))
        placement.committed()
        return placement.ack

    def _submit(
        self, request: OrderRequest, quote: Decimal | None, now: datetime, conn: sqlite3.Connection
    ) -> tuple[OrderAck, _Books]:
        books = _Books()
        if request.reduce_only:
            # A close sent again answers as it did the first time, whatever it left of the position.
            if (existing := PaperBooks.order_in(conn, request.client_order_id)) is not None:
                return existing, books
            request = replace(request, quantity=self._reducible(conn, request))
        fill_price = entry_fill_price(request.type, request.side, request.limit_price, request.stop_price, quote)
        broker_order_id = "paper-" + request.client_order_id.removeprefix("tc-")
        if fill_price is None:
            ack = OrderAck(request.client_order_id, OrderStatus.ACCEPTED, broker_order_id)
        else:
            ack = OrderAck(request.client_order_id, OrderStatus.FILLED, broker_order_id, request.quantity, fill_price)
        if not PaperBooks.insert_order(conn, request, ack, now):
            # The venue already has this client id: the same answer, and no second order.
            existing = PaperBooks.order_in(conn, request.client_order_id)
            assert existing is not None  # the insert just found it
            return existing, books
        if fill_price is not None:
            kind = "close" if request.reduce_only else "entry"
            fill = (request.client_order_id, request.symbol, request.side, request.quantity, fill_price, kind)
            self._fill(conn, books, now, *fill)
        return ack, books

    @staticmethod
    def _reducible(conn: sqlite3.Connection, request: OrderRequest) -> Decimal:
        """A reduce-only order never grows or flips the position: it is cut to what is held."""
        held = PaperBooks.position(conn, request.symbol)
        against = held is not None and (held.quantity > 0) == (request.side is Side.SELL) and held.quantity != 0
        if held is None or not against:
            raise OrderRejected(f"no {request.symbol} position for a reduce-only {request.side.value} to reduce")
        return min(request.quantity, abs(held.quantity))

    @staticmethod
    def _fill(
        conn: sqlite3.Connection,
        books: _Books,
        now: datetime,
        client_order_id: str,
        symbol: str,
        side: Side,
        quantity: Decimal,
        price: Decimal,
        kind: str,
    ) -> None:
        held = PaperBooks.position(conn, symbol)
        position, realized = apply_to_position(held, symbol, side, quantity, price)
        notional = quantity * price
        fill = Fill(client_order_id, symbol, side, quantity, price, realized, now, kind)
        books.cash, books.realized = PaperBooks.apply_fill(
            conn, fill, position, -notional if side is Side.BUY else notional
        )
        books.positions[symbol] = position
        books.fills += 1
        if position is None:
            PaperBooks.close_exits(conn, symbol)

    async def simulate(self) -> int:
        """Play one tick of the market: resting entries that the quote reaches fill, then stops and targets.

        Returns the number of fills. This is the venue's own matching, so it spends no rate-limit tokens.
        """
        working = await self._books.working_orders()
        if not working:
            return 0
        quotes = {symbol: await self._quotes.price(symbol) for symbol in {order.symbol for order in working}}
        books = await self._books.db.write(partial(self._match, working, quotes, self._now()))
        self._apply(books)
        return books.fills

    def _match(
        self,
        working: list[WorkingOrder],
        quotes: dict[str, Decimal | None],
        now: datetime,
        conn: sqlite3.Connection,
    ) -> _Books:
        books = _Books()
        for order in working:
            quote = quotes[order.symbol]
            if quote is None:
                continue
            if order.status is OrderStatus.ACCEPTED:
                self._fill_resting(conn, books, now, order, quote)
            else:
                self._run_exits(conn, books, now, order, quote)
        return books

    def _fill_resting(
        self, conn: sqlite3.Connection, books: _Books, now: datetime, order: WorkingOrder, quote: Decimal
    ) -> None:
        price = entry_fill_price(OrderType(order.type), order.side, order.limit_price, order.stop_price, quote)
        if price is None:
            return
        has_exits = order.stop_loss is not None or order.take_profit is not None
        PaperBooks.mark_filled(
            conn, order.client_order_id, order.quantity, price, ExitState.OPEN if has_exits else None
        )
        self._fill(conn, books, now, order.client_order_id, order.symbol, order.side, order.quantity, price, "entry")

    def _run_exits(
        self, conn: sqlite3.Connection, books: _Books, now: datetime, order: WorkingOrder, quote: Decimal
    ) -> None:
        exit_kind = triggered_exit(order, quote)
        if exit_kind is None:
            return
        held = PaperBooks.position(conn, order.symbol)
        long = order.side is Side.BUY
        remaining = Decimal(0) if held is None else (held.quantity if long else -held.quantity)
        if remaining <= 0:
            PaperBooks.set_exit_state(conn, order.client_order_id, ExitState.CLOSED)
            return
        quantity = min(order.quantity, remaining)
        exit_side = Side.SELL if long else Side.BUY
        state = ExitState.STOPPED if exit_kind == "stop_loss" else ExitState.TARGET
        PaperBooks.set_exit_state(conn, order.client_order_id, state)
        self._fill(conn, books, now, order.client_order_id, order.symbol, exit_side, quantity, quote, exit_kind)

    async def get_order(self, client_order_id: str) -> OrderAck | None:
        await self._limiter.acquire()
        return await self._books.order(client_order_id)

    async def cancel_order(self, client_order_id: str) -> OrderAck:
        await self._limiter.acquire()
        return await self._books.db.write(partial(_cancel, client_order_id))

    async def replace_exits(
        self, client_order_id: str, *, stop_loss: Decimal | None = None, take_profit: Decimal | None = None
    ) -> OrderAck:
        await self._limiter.acquire()
        return await self._books.db.write(partial(_replace_exits, client_order_id, stop_loss, take_profit))

    async def positions(self) -> list[Position]:
        await self._limiter.acquire()
        return await self._marked_positions()

    async def _marked_positions(self) -> list[Position]:
        if not self._loaded:
            await self._load()
        held = sorted(self._held.values(), key=lambda p: p.symbol)
        return [Position(p.symbol, p.quantity, p.average_price, await self._quotes.price(p.symbol)) for p in held]

    async def account(self) -> Account:
        await self._limiter.acquire()
        positions = await self._marked_positions()
        market_value = sum(
            (p.quantity * (p.market_price if p.market_price is not None else p.average_price) for p in positions),
            Decimal(0),
        )
        return Account(cash=self._cash, equity=self._cash + market_value, realized_pnl=self._realized)

    async def last_price(self, symbol: str) -> Decimal | None:
        return await self._quotes.price(symbol)


def _cancel(client_order_id: str, conn: sqlite3.Connection) -> OrderAck:
    ack = PaperBooks.order_in(conn, client_order_id)
    if ack is None:
        raise OrderRejected(f"no paper order with client id {client_order_id}")
    if ack.status.is_terminal:
        return ack
    PaperBooks.set_status(conn, client_order_id, OrderStatus.CANCELED)
    return replace(ack, status=OrderStatus.CANCELED)


def _replace_exits(
    client_order_id: str, stop_loss: Decimal | None, take_profit: Decimal | None, conn: sqlite3.Connection
) -> OrderAck:
    ack = PaperBooks.order_in(conn, client_order_id)
    if ack is None:
        raise OrderRejected(f"no paper order with client id {client_order_id}")
    if ack.status in (OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED):
        raise OrderRejected(f"order {client_order_id} is {ack.status.value}: its exits cannot move")
    state = PaperBooks.exit_state(conn, client_order_id)
    if state in (ExitState.STOPPED, ExitState.TARGET, ExitState.CLOSED):
        raise ExitsClosed(f"order {client_order_id} is already closed ({state}): nothing left to protect")
    PaperBooks.set_exits(conn, client_order_id, stop_loss=stop_loss, take_profit=take_profit)
    return ack

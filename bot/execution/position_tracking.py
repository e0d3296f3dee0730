"""A broker wrapper that keeps the open-position count up to date from what the bot already learns.

`tradecord_open_positions` is read at scrape time, and a scrape must not cost a broker request (it would
spend rate-limit tokens and tie the scrape to the venue's latency). So the count is refreshed whenever
the bot reads positions anyway (every signal's risk check, `/positions`, `/pnl`, `/close all`) and
adjusted by each fill the venue reports in between.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal

from bot.domain import Account, OrderAck, OrderRequest, Position, Side
from bot.execution.broker import Broker, LocalVenue, Placement, PlaceOrder, local_venue_of


class PositionTrackingBroker:
    """Delegates every call to `inner`; remembers net quantities per symbol from positions and fills."""

    def __init__(self, inner: Broker) -> None:
        self._inner = inner
        self.name = inner.name
        self._held: dict[str, Decimal] = {}
        # A client id whose fill is already counted since the last snapshot: a venue answering a re-send
        # with the original ack must not move the count twice.
        self._counted: set[str] = set()

    @property
    def open_positions(self) -> int:
        """Symbols with a non-zero quantity, as of the last snapshot plus the fills reported since."""
        return sum(1 for quantity in self._held.values() if quantity != 0)

    async def positions(self) -> list[Position]:
        positions = await self._inner.positions()
        self._held = {p.symbol: p.quantity for p in positions}
        self._counted.clear()
        return positions

    async def submit_order(self, request: OrderRequest) -> OrderAck:
        ack = await self._inner.submit_order(request)
        self._count_fill(request, ack)
        return ack

    def _count_fill(self, request: OrderRequest, ack: OrderAck) -> None:
        if ack.filled_quantity > 0 and ack.client_order_id not in self._counted:
            self._counted.add(ack.client_order_id)
            signed = ack.filled_quantity if request.side is Side.BUY else -ack.filled_quantity
            self._held[request.symbol] = self._held.get(request.symbol, Decimal(0)) + signed

    @property
    def local_venue(self) -> LocalVenue | None:
        """The inner broker's local venue, its fills counted like `submit_order`'s once they commit."""
        inner = local_venue_of(self._inner)
        return None if inner is None else _CountingVenue(inner, self)

    async def get_order(self, client_order_id: str) -> OrderAck | None:
        return await self._inner.get_order(client_order_id)

    async def cancel_order(self, client_order_id: str) -> OrderAck:
        return await self._inner.cancel_order(client_order_id)

    async def replace_exits(
        self, client_order_id: str, *, stop_loss: Decimal | None = None, take_profit: Decimal | None = None
    ) -> OrderAck:
        return await self._inner.replace_exits(client_order_id, stop_loss=stop_loss, take_profit=take_profit)

    async def account(self) -> Account:
        return await self._inner.account()

    async def last_price(self, symbol: str) -> Decimal | None:
        return await self._inner.last_price(symbol)


class _CountingVenue:
    def __init__(self, inner: LocalVenue, tracker: PositionTrackingBroker) -> None:
        self._inner = inner
        self._tracker = tracker

    async def prepare_order(self, request: OrderRequest) -> PlaceOrder:
        place = await self._inner.prepare_order(request)

        def counted(conn: sqlite3.Connection) -> Placement:
            placement = place(conn)

            def committed() -> None:
                placement.committed()
                self._tracker._count_fill(request, placement.ack)

            return Placement(placement.ack, committed)

        return counted

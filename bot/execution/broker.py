"""The one protocol every broker adapter implements; vendor errors become `bot.errors` broker errors."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable

from bot.domain import Account, OrderAck, OrderRequest, Position


class Broker(Protocol):
    """A trading venue account. Every method is one venue request that passes the account's token bucket.

    `submit_order` raises OrderRejected (final), TemporaryBrokerError (nothing accepted; retry with the
    same client id) or AmbiguousOrderOutcome (look it up with `get_order` before anything else).
    """

    name: str

    async def submit_order(self, request: OrderRequest) -> OrderAck: ...

    async def get_order(self, client_order_id: str) -> OrderAck | None:
        """The venue's view of an order by our client id; None only when the venue confirms it has none."""
        ...

    async def cancel_order(self, client_order_id: str) -> OrderAck:
        """Cancel a resting order (with its bracket exits); the ack says what the venue ended with.

        An order that already filled comes back `filled`: the caller then manages the position instead.
        Raises OrderRejected when the venue has no such order.
        """
        ...

    async def replace_exits(
        self, client_order_id: str, *, stop_loss: Decimal | None = None, take_profit: Decimal | None = None
    ) -> OrderAck:
        """Move the stop loss and/or take profit attached to the entry order `client_order_id`.

        `None` leaves that exit as it is. Raises OrderRejected when the order has no such exit or is closed.
        """
        ...

    async def positions(self) -> list[Position]: ...

    async def account(self) -> Account: ...

    async def last_price(self, symbol: str) -> Decimal | None:
        """The latest price the venue knows for `symbol`, for sizing and risk; None when it has none."""
        ...


@dataclass(frozen=True, slots=True)
class Placement:
    """An order a local venue placed inside the caller's transaction: its answer, and what the venue does
    once that transaction has committed (bring its in-memory account up to date)."""

    ack: OrderAck
    committed: Callable[[], None]


# Runs inside the caller's write unit (`Database.write`); raises OrderRejected before writing anything.
PlaceOrder = Callable[[sqlite3.Connection], Placement]


@runtime_checkable
class LocalVenue(Protocol):
    """A venue kept in our own database (the paper broker).

    Its orders can be placed inside the transaction that records them: the signal, its order intents, the
    venue's orders and their answers then commit together or not at all, so a crash can leave no order
    whose outcome is unknown, and a signal costs one commit instead of three.
    """

    async def prepare_order(self, request: OrderRequest) -> PlaceOrder:
        """What `submit_order` does before writing (the token bucket, the quote, checks; it raises the same
        errors); the returned function places the order inside the caller's transaction."""
        ...


def local_venue_of(broker: object) -> LocalVenue | None:
    """The broker's local venue (its `local_venue` attribute), None for a venue elsewhere."""
    venue = getattr(broker, "local_venue", None)
    return venue if isinstance(venue, LocalVenue) else None


class QuoteSource(Protocol):
    """Where the paper broker gets prices: static config today, a market-data feed later."""

    async def price(self, symbol: str) -> Decimal | None: ...


class StaticQuotes:
    """Prices from `[broker.quotes]`; `set` lets a demo or a test move the market."""

    def __init__(self, quotes: dict[str, Decimal] | None = None) -> None:
        self._quotes = {symbol.upper(): price for symbol, price in (quotes or {}).items()}

    async def price(self, symbol: str) -> Decimal | None:
        return self._quotes.get(symbol.upper())

    def set(self, symbol: str, price: Decimal) -> None:
        self._quotes[symbol.upper()] = price

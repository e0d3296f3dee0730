"""Orders the risk check has approved and the venue has not answered yet.

Signals are executed concurrently, but their risk checks run one at a time, and each one sees the account as
the venue reports it plus every order approved before it and still on its way: two signals in flight
together can then not both pass a limit (open positions, position size, no short) that only one of them
fits, and two closes cannot both sell the same shares. The venue's answer ends an order's stay here; by
then the venue's own positions carry its fill.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from decimal import Decimal

from bot.domain import OrderRequest, Position, Side


class PendingOrders:
    def __init__(self) -> None:
        self._approved: dict[int, tuple[OrderRequest, ...]] = {}
        self._tickets = itertools.count()
        # Per symbol, the quantities pending orders buy and sell (kept up to date: a burst has thousands).
        self._buying: dict[str, Decimal] = {}
        self._selling: dict[str, Decimal] = {}

    def add(self, legs: Iterable[OrderRequest]) -> int:
        """Count `legs` in every check from now on; returns the ticket that `discard` takes."""
        ticket = next(self._tickets)
        self._approved[ticket] = approved = tuple(legs)
        for leg in approved:
            side = self._buying if leg.side is Side.BUY else self._selling
            side[leg.symbol] = side.get(leg.symbol, Decimal(0)) + leg.quantity
        return ticket

    def discard(self, ticket: int) -> None:
        """The venue answered these legs (or they were never sent)."""
        for leg in self._approved.pop(ticket, ()):
            side = self._buying if leg.side is Side.BUY else self._selling
            left = side[leg.symbol] - leg.quantity
            if left:
                side[leg.symbol] = left
            else:
                del side[leg.symbol]

    def _delta(self, symbol: str) -> Decimal:
        return self._buying.get(symbol, Decimal(0)) - self._selling.get(symbol, Decimal(0))

    def for_entry(self, positions: list[Position], symbol: str) -> tuple[Position | None, int]:
        """(the position in `symbol`, the open positions) to check a new entry against: as if every pending
        order had filled, and counting a symbol as open while a pending order would still change that."""
        held = {p.symbol: p.quantity for p in positions}
        open_symbols = {s for s, quantity in held.items() if quantity != 0}
        open_symbols.update(s for s in self._buying.keys() | self._selling.keys() if held.get(s, 0) + self._delta(s))
        current = next((p for p in positions if p.symbol == symbol), None)
        if symbol not in self._buying and symbol not in self._selling:
            return current, len(open_symbols)
        quantity = (current.quantity if current else Decimal(0)) + self._delta(symbol)
        average = current.average_price if current else Decimal(0)
        return Position(symbol, quantity, average, current.market_price if current else None), len(open_symbols)

    def for_exit(self, positions: list[Position], symbol: str) -> Position | None:
        """The position in `symbol` a close may still sell: what is held, less what pending orders already
        reduce it by (a pending entry has not bought anything yet, so it adds nothing)."""
        current = next((p for p in positions if p.symbol == symbol), None)
        if current is None or current.quantity == 0:
            return current
        long = current.quantity > 0
        reducing = self._selling.get(symbol, Decimal(0)) if long else self._buying.get(symbol, Decimal(0))
        left = abs(current.quantity) - reducing
        if left <= 0:
            return None
        return Position(symbol, left if long else -left, current.average_price, current.market_price)

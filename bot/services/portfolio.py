"""`/positions` and `/pnl`: what the account holds, marked to the broker's prices, and what it made."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from bot.domain import Position
from bot.errors import InvalidOption
from bot.execution.broker import Broker
from bot.services.stats import Window

Clock = Callable[[], datetime]
RealizedSince = Callable[[datetime], Awaitable[Decimal | None]]

WINDOWS = tuple(w.value for w in Window)


def parse_window(value: str | None, default: Window = Window.DAY) -> Window:
    """The window named by a command option; InvalidOption names the valid ones."""
    if value is None:
        return default
    try:
        return Window(value.strip().lower())
    except ValueError:
        raise InvalidOption.not_one_of("window", value, WINDOWS) from None


@dataclass(frozen=True, slots=True)
class PositionLine:
    """One open position; market figures are None when the broker has no price for the symbol."""

    symbol: str
    quantity: Decimal  # negative for a short
    average_price: Decimal
    market_price: Decimal | None

    @property
    def market_value(self) -> Decimal | None:
        return None if self.market_price is None else self.quantity * self.market_price

    @property
    def unrealized_pnl(self) -> Decimal | None:
        return None if self.market_price is None else (self.market_price - self.average_price) * self.quantity


def _lines(positions: list[Position]) -> tuple[PositionLine, ...]:
    held = sorted((p for p in positions if p.quantity != 0), key=lambda p: p.symbol)
    return tuple(PositionLine(p.symbol, p.quantity, p.average_price, p.market_price) for p in held)


@dataclass(frozen=True, slots=True)
class PositionsReport:
    as_of: datetime
    positions: tuple[PositionLine, ...]

    @property
    def market_value(self) -> Decimal:
        """Net market value of the priced positions (shorts count negative)."""
        return sum((v for p in self.positions if (v := p.market_value) is not None), Decimal(0))

    @property
    def unrealized_pnl(self) -> Decimal:
        return sum((v for p in self.positions if (v := p.unrealized_pnl) is not None), Decimal(0))

    @property
    def unpriced(self) -> tuple[str, ...]:
        """Symbols left out of the totals because the broker has no price for them."""
        return tuple(p.symbol for p in self.positions if p.market_price is None)


@dataclass(frozen=True, slots=True)
class PnlReport:
    window: Window
    since: datetime
    realized: Decimal | None  # None: this broker cannot report realized PnL by time
    unrealized: Decimal
    open_positions: int
    unpriced: tuple[str, ...]

    @property
    def total(self) -> Decimal:
        return (self.realized or Decimal(0)) + self.unrealized


class PortfolioService:
    def __init__(self, broker: Broker, clock: Clock, *, realized_since: RealizedSince | None = None) -> None:
        self._broker = broker
        self._clock = clock
        self._realized_since = realized_since

    async def positions(self) -> PositionsReport:
        """Open positions with their market value and unrealized PnL at the broker's current prices."""
        return PositionsReport(self._clock(), _lines(await self._broker.positions()))

    async def pnl(self, window: Window = Window.DAY) -> PnlReport:
        """PnL realized by fills in the window plus the unrealized PnL of what is held now."""
        now = self._clock()
        since = now - window.duration
        held = PositionsReport(now, _lines(await self._broker.positions()))
        realized = None if self._realized_since is None else await self._realized_since(since)
        return PnlReport(window, since, realized, held.unrealized_pnl, len(held.positions), held.unpriced)

"""A seeded make-believe market: prices that wander, and the jumps the script needs to hit stops and targets.

Pure state: it never sleeps and never touches the bot. The feed turns each change into a `Quote` that the
player writes into the paper broker's quotes, so the same seed always gives the same prices in the same
order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal


@dataclass(frozen=True, slots=True)
class Instrument:
    start: Decimal
    places: int  # decimals quoted: 2 for stocks and gold, 5 for EUR/USD
    volatility: float  # standard deviation of one tick's relative move


INSTRUMENTS: dict[str, Instrument] = {
    "AAPL": Instrument(Decimal("189.50"), 2, 0.0006),
    "TSLA": Instrument(Decimal("251.20"), 2, 0.0010),
    "NVDA": Instrument(Decimal("121.40"), 2, 0.0009),
    "SPY": Instrument(Decimal("521.30"), 2, 0.0003),
    "BTC/USDT": Instrument(Decimal("60250.00"), 2, 0.0010),
    "EUR/USD": Instrument(Decimal("1.08500"), 5, 0.0002),
    "XAU/USD": Instrument(Decimal("2350.00"), 2, 0.0004),
}
# Each tick pulls a price back towards where it started by this fraction of the gap, so a demo left running
# for hours still trades around familiar prices.
_REVERSION = 0.02


@dataclass(frozen=True, slots=True)
class Quote:
    """A new price for one symbol."""

    symbol: str
    price: Decimal


class Market:
    def __init__(self, rng: random.Random, instruments: dict[str, Instrument] = INSTRUMENTS) -> None:
        self._rng = rng
        self._instruments = instruments
        self._prices = {symbol: instrument.start for symbol, instrument in instruments.items()}

    def quotes(self) -> dict[str, Decimal]:
        """Every symbol's current price."""
        return dict(self._prices)

    def price(self, symbol: str) -> Decimal:
        return self._prices[symbol]

    def level(self, symbol: str, percent: float | str) -> Decimal:
        """The current price moved by `percent` (e.g. -2 for a stop 2 % below), quoted to the symbol's places."""
        return self._quantize(symbol, self._prices[symbol] * (1 + Decimal(str(percent)) / 100))

    def tick(self) -> list[Quote]:
        """One step of noise (with a pull back towards the starting price) for every symbol."""
        changes = []
        for symbol, instrument in self._instruments.items():
            price = self._prices[symbol]
            pull = _REVERSION * float(instrument.start / price - 1)
            step = self._rng.gauss(pull, instrument.volatility)
            changes.append(self._set(symbol, price * (1 + Decimal(f"{step:.6f}"))))
        return changes

    def jump(self, symbol: str, percent: float | str) -> Quote:
        """A sudden move: news, a breakout, a flush."""
        return self._set(symbol, self.level(symbol, percent))

    def _set(self, symbol: str, price: Decimal) -> Quote:
        self._prices[symbol] = self._quantize(symbol, price)
        return Quote(symbol, self._prices[symbol])

    def _quantize(self, symbol: str, price: Decimal) -> Decimal:
        step = Decimal(1).scaleb(-self._instruments[symbol].places)
        return price.quantize(step, rounding=ROUND_HALF_EVEN)

"""The account's equity when the UTC day began, the baseline of `risk.max_daily_loss`.

Equity now minus equity at the day's first check counts realized and unrealized PnL alike, on any venue,
without asking it for a day's fills. The baseline is persisted so a restart mid-day keeps it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

from storage.state import StateRepository

Clock = Callable[[], datetime]


class DayStartEquity:
    def __init__(self, state: StateRepository, clock: Clock) -> None:
        self._state = state
        self._clock = clock
        self._day: date | None = None
        self._start: Decimal | None = None

    async def pnl(self, equity: Decimal) -> Decimal:
        """Today's PnL given the equity now; the first call of a day records the baseline."""
        today = self._clock().date()
        if self._day != today or self._start is None:
            key = f"risk.day_start_equity.{today.isoformat()}"
            stored = await self._state.get(key)
            if stored is None:
                await self._state.set(key, str(equity))
            self._day, self._start = today, equity if stored is None else Decimal(stored)
        return equity - self._start

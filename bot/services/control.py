"""The admin actions: pause and resume trading (the kill switch) and close positions by hand.

A `/close` is executed as a close signal through the intake and the executor, so it is recorded, checked,
rate-limited, idempotent and counted like a provider's "CLOSE AAPL". Its envelope uses the interaction
id as the message id (unique per invocation) on a channel marker of its own, so a re-delivered
interaction maps to the same signal and client order ids, and never collides with a real message.

The kill switch stops new entries only: closing reduces risk, so a close (by signal or by `/close`) is
allowed while trading is paused.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import structlog

from bot.domain import CloseSignal, ExecutionResult, SignalEnvelope, SignalSource
from bot.errors import InvalidOption
from bot.execution.broker import Broker
from bot.execution.kill_switch import KillSwitch
from bot.services.intake import SignalIntake

log = structlog.get_logger(__name__)
Clock = Callable[[], datetime]

CLOSE_CHANNEL = "command:close"
CLOSE_ALL = "all"
_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9./:_-]{0,31}$")


def parse_close_target(value: str) -> str | None:
    """The symbol to close, upper-cased; None for `all`. InvalidOption for anything that is not a symbol."""
    text = value.strip()
    if text.lower() == CLOSE_ALL:
        return None
    symbol = text.upper()
    if not _SYMBOL.fullmatch(symbol):
        raise InvalidOption("symbol", f"{value[:40]!r} is not a symbol; give one like AAPL or BTC/USDT, or 'all'")
    return symbol


@dataclass(frozen=True, slots=True)
class KillSwitchChange:
    engaged: bool
    changed: bool  # False: it was already in that state (the command is idempotent)


@dataclass(frozen=True, slots=True)
class CloseLine:
    symbol: str
    result: ExecutionResult


@dataclass(frozen=True, slots=True)
class CloseReport:
    target: str  # a symbol, or "all"
    closes: tuple[CloseLine, ...]


class TradingControl:
    def __init__(self, *, kill_switch: KillSwitch, intake: SignalIntake, broker: Broker, clock: Clock) -> None:
        self._kill_switch = kill_switch
        self._intake = intake
        self._broker = broker
        self._clock = clock

    @property
    def paused(self) -> bool:
        return self._kill_switch.engaged

    async def pause(self, actor_id: int) -> KillSwitchChange:
        """Engage the kill switch (persisted): new entries are refused until `resume`."""
        return await self._set(True, actor_id)

    async def resume(self, actor_id: int) -> KillSwitchChange:
        """Release the kill switch (persisted)."""
        return await self._set(False, actor_id)

    async def _set(self, engaged: bool, actor_id: int) -> KillSwitchChange:
        changed = self._kill_switch.engaged != engaged
        if changed:
            await self._kill_switch.set(engaged)
        log.warning("kill_switch.set", engaged=engaged, changed=changed, actor_id=actor_id)
        return KillSwitchChange(engaged, changed)

    async def close(self, symbol: str | None, *, interaction_id: int, actor_id: int) -> CloseReport:
        """Close `symbol`, or every open position (one close signal per symbol) when it is None."""
        if symbol is not None:
            return CloseReport(symbol, (await self._close_one(symbol, interaction_id, actor_id, symbol),))
        held = sorted({p.symbol for p in await self._broker.positions() if p.quantity != 0})
        closes = [await self._close_one(s, interaction_id, actor_id, CLOSE_ALL) for s in held]
        return CloseReport(CLOSE_ALL, tuple(closes))

    async def _close_one(self, symbol: str, interaction_id: int, actor_id: int, target: str) -> CloseLine:
        envelope = SignalEnvelope(
            source=SignalSource.DISCORD,
            channel_id=CLOSE_CHANNEL,
            message_id=f"{interaction_id}:{symbol}",
            author_id=str(actor_id),
            text=f"/close {target}",
            received_at=self._clock(),
            received_monotonic=time.perf_counter(),
            authorized=True,
        )
        log.info("admin.close", symbol=symbol, target=target, actor_id=actor_id, interaction_id=interaction_id)
        return CloseLine(symbol, await self._intake.submit(envelope, CloseSignal(symbol)))

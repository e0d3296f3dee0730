"""Read-only views of what was recorded: pages of signals and orders, and one signal's trace.

The same functions answer `/trace` in Discord and `/api/signals`, `/api/orders`, `/api/trace/{id}` on the
side server; each transport formats the dataclasses its own way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from bot.domain import OrderStatus, Outcome
from bot.execution.trace import Step
from storage.orders import OrderRecord, OrderRepository
from storage.signals import SignalRecord, SignalRepository
from storage.trace import FillRecord, TraceRepository

T = TypeVar("T")
MAX_PAGE = 200
DEFAULT_PAGE = 50
PENDING = "pending"
SIGNAL_ID = re.compile(r"s-[a-z2-7]{13}")
# Fills the venue reports in its first answer; later fills of the same order are exits or resting entries.
_ACK_FILL_KINDS = frozenset({"entry", "close"})


class InvalidQuery(ValueError):
    """A request for records that cannot be answered as asked; the message names the parameter."""


def parse_signal_id(text: str, name: str = "signal_id") -> str:
    """A signal id as typed or pasted (backticks and case forgiven), or InvalidQuery saying what one looks like."""
    candidate = text.strip().strip("`").strip().lower()
    if SIGNAL_ID.fullmatch(candidate) is None:
        raise InvalidQuery(f"{name}: {text.strip()[:40]!r} is not a signal id (they look like s-abcdefghijklm)")
    return candidate


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: tuple[T, ...]  # newest first
    next_before: str | None  # pass as `before` for the next (older) page; None on the last page


@dataclass(frozen=True, slots=True)
class TraceStepView:
    step: str
    at: datetime
    ms_since_received: float
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SignalTraceReport:
    signal: SignalRecord
    orders: tuple[OrderRecord, ...]
    fills: tuple[FillRecord, ...]
    steps: tuple[TraceStepView, ...]  # in time order, the first one `received`


def _later_fills(fills: Sequence[FillRecord], acknowledged_fills: set[str]) -> list[FillRecord]:
    """Fills that no acknowledgement reported: stops and targets, resting entries that filled later."""
    return [f for f in fills if not (f.kind in _ACK_FILL_KINDS and f.client_order_id in acknowledged_fills)]


class RecordsService:
    def __init__(self, signals: SignalRepository, orders: OrderRepository, trace: TraceRepository) -> None:
        self._signals = signals
        self._orders = orders
        self._trace = trace

    async def signals(
        self, *, limit: int = DEFAULT_PAGE, outcome: Outcome | None = None, pending: bool = False, before: str | None
    ) -> Page[SignalRecord]:
        """Signals newest first, at most `limit` (capped at MAX_PAGE), older than the signal `before`."""
        if before is not None and await self._signals.get(before) is None:
            raise InvalidQuery(f"before: no signal {before}")
        state = PENDING if pending else None if outcome is None else outcome.value
        limit = min(limit, MAX_PAGE)
        rows = await self._signals.page(limit + 1, outcome=state, before=before)
        items = tuple(rows[:limit])
        return Page(items, items[-1].id if len(rows) > limit else None)

    async def orders(
        self, *, limit: int = DEFAULT_PAGE, status: OrderStatus | None = None, before: str | None
    ) -> Page[OrderRecord]:
        """Orders newest first, at most `limit` (capped at MAX_PAGE), older than the order `before`."""
        if before is not None and await self._orders.get(before) is None:
            raise InvalidQuery(f"before: no order with client id {before}")
        limit = min(limit, MAX_PAGE)
        rows = await self._orders.page(limit + 1, status=status, before=before)
        items = tuple(rows[:limit])
        return Page(items, items[-1].client_order_id if len(rows) > limit else None)

    async def trace(self, signal_id: str) -> SignalTraceReport | None:
        """The signal, its orders and fills and every step with its time; None for an unknown id."""
        signal = await self._signals.get(signal_id)
        if signal is None:
            return None
        events = await self._trace.events(signal_id)
        fills = await self._trace.fills(signal_id)
        acknowledged_fills = {str(e.detail.get("client_order_id")) for e in events if e.step == Step.FILLED}
        steps = [(e.at, e.step, e.detail) for e in events]
        steps += [
            (
                f.at,
                Step.FILLED.value,
                {
                    "client_order_id": f.client_order_id,
                    "kind": f.kind,
                    "side": f.side.value,
                    "quantity": format(f.quantity, "f"),
                    "price": format(f.price, "f"),
                },
            )
            for f in _later_fills(fills, acknowledged_fills)
        ]
        steps.sort(key=lambda step: step[0])  # stable: steps written together keep their order
        base = signal.received_at
        return SignalTraceReport(
            signal=signal,
            orders=tuple(await self._orders.for_signal(signal_id)),
            fills=tuple(fills),
            steps=tuple(
                TraceStepView(name, at, round((at - base).total_seconds() * 1000, 3), detail)
                for at, name, detail in steps
            ),
        )

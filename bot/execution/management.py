"""Managing a signal that already traded: move its stop or targets, cancel its resting entries.

Pure planning: given the managed signal and its entry legs as stored, say what to ask the venue for, or
why nothing can be done. The executor records the plan and sends it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bot.domain import BREAKEVEN, CancelSignal, OpenSignal, OrderStatus, Side, UpdateSignal
from storage.orders import OrderRecord

_LIVE = (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED)


@dataclass(frozen=True, slots=True)
class CancelEntry:
    client_order_id: str


@dataclass(frozen=True, slots=True)
class MoveExits:
    client_order_id: str
    stop_loss: Decimal | None
    take_profit: Decimal | None


Action = CancelEntry | MoveExits


def entry_legs(orders: list[OrderRecord]) -> list[OrderRecord]:
    """The legs that opened the position and are still live at the venue, in leg order."""
    return [o for o in orders if not o.request.reduce_only and o.status in _LIVE]


def _entry_price(leg: OrderRecord, target: OpenSignal) -> Decimal | None:
    return leg.average_fill_price or leg.request.limit_price or leg.request.stop_price or target.entry.reference_price


def plan_update(update: UpdateSignal, target: OpenSignal, legs: list[OrderRecord]) -> tuple[Action, ...] | str:
    """One MoveExits per leg, or the reason the update cannot apply."""
    if not legs:
        return f"the {target.symbol} signal has no live order left to update"
    if update.stop_loss is None and not update.take_profits:
        return "the update names neither a stop loss nor targets"
    targets: list[Decimal | None]
    if not update.take_profits:
        targets = [None] * len(legs)
    elif len(update.take_profits) == 1:
        targets = [update.take_profits[0]] * len(legs)
    elif len(update.take_profits) == len(legs):
        targets = list(update.take_profits)
    else:
        return f"{len(update.take_profits)} targets for {len(legs)} open legs: give one target or one per leg"
    actions: list[Action] = []
    long = target.side is Side.BUY
    for leg, take_profit in zip(legs, targets, strict=True):
        stop: Decimal | None
        if update.stop_loss == BREAKEVEN:
            stop = _entry_price(leg, target)
            if stop is None:
                return f"breakeven needs the entry price of leg {leg.leg}, which is not known yet"
        else:
            stop = update.stop_loss if isinstance(update.stop_loss, Decimal) else None
        exit_target = take_profit if take_profit is not None else leg.request.take_profit
        if stop is not None and exit_target is not None and (stop >= exit_target if long else stop <= exit_target):
            return f"stop {stop} is beyond the target {exit_target} of leg {leg.leg}"
        actions.append(MoveExits(leg.client_order_id, stop, take_profit))
    return tuple(actions)


def plan_cancel(cancel: CancelSignal, target: OpenSignal, legs: list[OrderRecord]) -> tuple[Action, ...] | str:
    """Cancel the entries still resting; a filled entry is a position, which only a close can end."""
    resting = [leg for leg in legs if leg.status is OrderStatus.ACCEPTED]
    if not resting:
        return f"the {cancel.symbol or target.symbol} signal has no resting entry to cancel (filled: use CLOSE)"
    return tuple(CancelEntry(leg.client_order_id) for leg in resting)

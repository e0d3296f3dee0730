"""Edited and deleted signal messages: never a second order, never a lost change.

- A message the bot did not trade on (chatter, invalid, refused) that is edited is read again as a new
  revision: an author who fixes a typo gets the signal they meant.
- An edited signal whose entries are all still resting has not traded yet: its entries are cancelled and
  the new text replaces it (a new revision with its own client order ids).
- An edited signal that has traded becomes an update of its stop and targets; anything else it changes
  (symbol, side, size, entry) is refused with the reason, and no order is ever placed for it.
- A deleted signal whose entries are resting is cancelled; one that traded keeps its position.

Each revision is recorded as its own signal, keyed by message id and edit time, so a replayed edit event
is recognised like a replayed message.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime
from decimal import Decimal

import structlog

from bot.domain import (
    CancelSignal,
    ExecutionResult,
    OpenSignal,
    OrderStatus,
    Outcome,
    Signal,
    SignalEnvelope,
    UpdateSignal,
)
from bot.errors import SignalParseError
from bot.execution.executor import Executor
from bot.execution.management import entry_legs
from bot.services.intake import SignalIntake
from storage.orders import OrderRepository
from storage.signals import SignalRecord, SignalRepository

log = structlog.get_logger(__name__)


def revision_id(message_id: str, edited_at: datetime) -> str:
    """One id per edit of a message, stable across replays of the same edit event."""
    return f"{message_id}@{int(edited_at.timestamp() * 1000)}"


def stop_and_target_changes(
    before: OpenSignal, exits: tuple[Decimal | None, tuple[Decimal, ...]], after: Signal
) -> UpdateSignal | str | None:
    """What an edit of a traded signal may still change (compared with the exits the legs have now), None
    when it changes nothing that matters, or the reason it cannot apply."""
    if not isinstance(after, OpenSignal):
        return f"the edit turns a traded {before.symbol} signal into a {after.kind.value}: post it as a new message"
    if (after.symbol, after.side) != (before.symbol, before.side):
        return "the signal already traded: its symbol and side cannot change by an edit"
    current_stop, current_targets = exits
    stop = after.stop_loss if after.stop_loss is not None and after.stop_loss != current_stop else None
    targets = after.take_profits if after.take_profits and after.take_profits != current_targets else ()
    if stop is None and not targets:
        if (after.quantity, after.entry) != (before.quantity, before.entry):
            return "the signal already traded: only its stop loss and targets can change by an edit"
        return None
    return UpdateSignal(before.symbol, stop_loss=stop, take_profits=targets)


class EditHandler:
    def __init__(
        self,
        *,
        intake: SignalIntake,
        executor: Executor,
        signals: SignalRepository,
        orders: OrderRepository,
        enabled: bool,
    ) -> None:
        self._intake = intake
        self._executor = executor
        self._signals = signals
        self._orders = orders
        self._enabled = enabled

    async def on_edit(self, envelope: SignalEnvelope, edited_at: datetime) -> ExecutionResult | None:
        """`envelope` carries the original message id and the new text; None when there is nothing to do."""
        if not self._enabled:
            return None
        original = await self._signals.get_by_message(envelope.source, envelope.channel_id, envelope.message_id)
        if original is not None and original.text == envelope.text:
            return None  # Discord also sends edits for link previews; the text did not change
        revision = dataclasses.replace(envelope, message_id=revision_id(envelope.message_id, edited_at))
        if original is None or original.outcome is not Outcome.EXECUTED:
            return await self._intake.handle(revision)  # never traded: read the new text as a new message
        if not isinstance(original.signal, OpenSignal):
            return await self._executor.record_refusal(
                revision, None, Outcome.INVALID, "edits to close and update messages are not re-executed"
            )
        legs = entry_legs(await self._orders.for_signal(original.id))
        if legs and all(leg.status is OrderStatus.ACCEPTED for leg in legs):
            cancelled = await self._cancel(original, revision, suffix="cancel")
            if cancelled.outcome is Outcome.EXECUTED:
                log.info("signal.edit_replaces", signal_id=original.id, revision=revision.message_id)
                return await self._intake.handle(revision)
            legs = entry_legs(await self._orders.for_signal(original.id))  # an entry filled meanwhile
        return await self._update(original, revision, envelope)

    async def _update(
        self, original: SignalRecord, revision: SignalEnvelope, envelope: SignalEnvelope
    ) -> ExecutionResult | None:
        assert isinstance(original.signal, OpenSignal)
        edited = self._intake.preview(envelope.text, envelope.channel_id)
        if isinstance(edited, SignalParseError):
            return await self._executor.record_refusal(
                revision, None, Outcome.INVALID, f"the edited text is not a signal any more ({edited.message})"
            )
        legs = entry_legs(await self._orders.for_signal(original.id))
        stops = {leg.request.stop_loss for leg in legs}
        exits = (
            stops.pop() if len(stops) == 1 else None,
            tuple(leg.request.take_profit for leg in legs if leg.request.take_profit is not None),
        )
        change = stop_and_target_changes(original.signal, exits, edited)
        if change is None:
            return None
        if isinstance(change, str):
            return await self._executor.record_refusal(revision, edited, Outcome.RISK_REJECTED, change)
        return await self._executor.execute(revision, change, manages=original)

    async def on_delete(self, envelope: SignalEnvelope) -> ExecutionResult | None:
        """A deleted signal whose entries still rest is cancelled; one that traded keeps its position."""
        original = await self._signals.get_by_message(envelope.source, envelope.channel_id, envelope.message_id)
        if original is None or original.outcome is not Outcome.EXECUTED or not isinstance(original.signal, OpenSignal):
            return None
        legs = entry_legs(await self._orders.for_signal(original.id))
        if not any(leg.status is OrderStatus.ACCEPTED for leg in legs):
            log.info("signal.deleted_after_trading", signal_id=original.id)
            return None
        deletion = dataclasses.replace(envelope, author_id=original.author_id, text="(deleted)")
        return await self._cancel(original, deletion, suffix="deleted")

    async def _cancel(self, original: SignalRecord, envelope: SignalEnvelope, *, suffix: str) -> ExecutionResult:
        """Cancel the original's resting entries, recorded as its own signal (`<message>@<suffix>`)."""
        assert original.signal is not None
        cancelling = dataclasses.replace(
            envelope, message_id=f"{envelope.message_id}#{suffix}", received_monotonic=time.perf_counter()
        )
        return await self._executor.execute(cancelling, CancelSignal(original.signal.symbol), manages=original)

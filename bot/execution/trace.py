"""The steps of a signal's chain (received, parsed, risk decision, order sent, acknowledged, filled).

Steps are collected in memory and written by the executor inside the transactions it commits anyway (the
signal with its order intents, then each leg's acknowledgement), so tracing adds no commit to the hot path.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from bot.domain import OrderAck, OrderRequest, Outcome, Signal, SignalEnvelope
from bot.errors import SignalParseError
from bot.execution.ids import signal_id as make_signal_id
from storage.trace import TraceEvent


class Step(StrEnum):
    RECEIVED = "received"
    PARSED = "parsed"
    RISK_DECISION = "risk_decision"
    ORDER_SENT = "order_sent"
    ACKNOWLEDGED = "acknowledged"
    FILLED = "filled"


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


class SignalTrace:
    """The steps of one signal that are not written yet; `take()` hands them over and forgets them."""

    def __init__(self, signal_id: str) -> None:
        self.signal_id = signal_id
        self._events: list[TraceEvent] = []

    @classmethod
    def received(cls, envelope: SignalEnvelope) -> SignalTrace:
        """A trace whose first step is the message arriving (at `envelope.received_at`)."""
        trace = cls(make_signal_id(envelope.source, envelope.channel_id, envelope.message_id))
        trace.add(
            Step.RECEIVED,
            envelope.received_at,
            source=envelope.source.value,
            channel_id=envelope.channel_id,
            message_id=envelope.message_id,
            author_id=envelope.author_id,
        )
        return trace

    def add(self, step: Step, at: datetime, **detail: Any) -> None:
        self._events.append(TraceEvent(self.signal_id, step.value, at, detail))

    def parsed(self, at: datetime, result: Signal | SignalParseError, parse_seconds: float) -> None:
        parse_us = round(parse_seconds * 1_000_000, 1)
        if isinstance(result, SignalParseError):
            self.add(Step.PARSED, at, error=result.code, message=result.message, parse_us=parse_us)
        else:
            self.add(Step.PARSED, at, kind=result.kind.value, symbol=result.symbol, parse_us=parse_us)

    def decided(self, at: datetime, outcome: Outcome | None, reason: str | None, legs: int) -> None:
        """The gate's answer: `outcome` None means approved with `legs` orders to send."""
        if outcome is None:
            self.add(Step.RISK_DECISION, at, decision="approved", legs=legs)
        else:
            self.add(Step.RISK_DECISION, at, decision="rejected", outcome=outcome.value, reason=reason)

    def take(self) -> list[TraceEvent]:
        events, self._events = self._events, []
        return events


def leg_events(
    signal_id: str,
    leg: int,
    request: OrderRequest,
    ack: OrderAck,
    *,
    sent_at: datetime | None,
    acked_at: datetime,
    attempts: int,
) -> list[TraceEvent]:
    """What one order leg went through: sent (when we sent it), acknowledged, and filled if the answer says so.

    `sent_at` None means the answer came from a look-up at the venue (start-up recovery), not from a send.
    """
    cid = request.client_order_id
    events = []
    if sent_at is not None:
        events.append(
            TraceEvent(
                signal_id,
                Step.ORDER_SENT.value,
                sent_at,
                {
                    "leg": leg,
                    "client_order_id": cid,
                    "symbol": request.symbol,
                    "side": request.side.value,
                    "type": request.type.value,
                    "quantity": _dec(request.quantity),
                    "limit_price": _dec(request.limit_price),
                    "stop_price": _dec(request.stop_price),
                },
            )
        )
    acknowledged = {
        "leg": leg,
        "client_order_id": cid,
        "status": ack.status.value,
        "broker_order_id": ack.broker_order_id,
        "reason": ack.reason,
        "attempts": attempts,
        "reconciled": sent_at is None,
    }
    events.append(TraceEvent(signal_id, Step.ACKNOWLEDGED.value, acked_at, acknowledged))
    if ack.filled_quantity > 0:
        filled = {
            "leg": leg,
            "client_order_id": cid,
            "quantity": _dec(ack.filled_quantity),
            "price": _dec(ack.average_fill_price),
        }
        events.append(TraceEvent(signal_id, Step.FILLED.value, acked_at, filled))
    return events

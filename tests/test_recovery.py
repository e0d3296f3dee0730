"""Start-up recovery: what a crash left between our commit and the venue's answer is settled, never doubled."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal

from bot.domain import Account, AssetClass, OpenSignal, OrderAck, OrderRequest, OrderStatus, Outcome, Position, Side
from bot.errors import AmbiguousOrderOutcome, TemporaryBrokerError
from bot.execution.executor import fingerprint
from bot.execution.ids import signal_id
from bot.execution.orders import open_legs
from bot.execution.paper import PaperBroker
from storage.database import Database
from storage.signals import SignalRecord
from tests.support import EnvelopeFactory, build_pipeline

SIGNAL = OpenSignal(Side.BUY, "AAPL", AssetClass.EQUITY, quantity=Decimal(10))


async def crash_after_commit(db: Database, make_envelope: EnvelopeFactory, *, venue_accepted: bool) -> str:
    """Do what the executor does up to the broker call (and, optionally, the venue's side of it), then stop."""
    pipeline = await build_pipeline(db)
    envelope = make_envelope("BUY AAPL 10")
    record_id = signal_id(envelope.source, envelope.channel_id, envelope.message_id)
    record = SignalRecord(
        record_id, envelope.source, envelope.channel_id, envelope.message_id, envelope.author_id,
        envelope.received_at, envelope.text, SIGNAL, fingerprint(SIGNAL), None,
    )  # fmt: skip
    (leg,) = open_legs(SIGNAL, Decimal(10), origin=envelope, tif="gtc")

    def before_the_broker(conn: sqlite3.Connection) -> None:
        pipeline.signals.insert_now(conn, record)
        pipeline.orders.insert_intent_now(conn, record_id, 1, "paper", leg, datetime.now(UTC))

    await db.write(before_the_broker)
    if venue_accepted:
        await pipeline.broker.submit_order(leg)  # the venue filled it; our process died before recording that
    return record_id


async def paper_orders(db: Database) -> int:
    row = await db.fetchone("SELECT COUNT(*) FROM paper_orders")
    assert row is not None
    return int(row[0])


async def test_order_the_venue_never_got_is_sent_once_at_start_up(db: Database, make_envelope: EnvelopeFactory) -> None:
    """An intent committed but never sent is confirmed absent at the venue, then sent with the same client id."""
    record_id = await crash_after_commit(db, make_envelope, venue_accepted=False)
    restarted = await build_pipeline(db)
    assert await restarted.executor.recover() == 1
    (order,) = await restarted.orders.for_signal(record_id)
    assert order.status is OrderStatus.FILLED
    assert await paper_orders(db) == 1
    signal = await restarted.signals.get(record_id)
    assert signal is not None and signal.outcome is Outcome.EXECUTED


async def test_order_the_venue_accepted_is_recorded_not_resent(db: Database, make_envelope: EnvelopeFactory) -> None:
    """An order the venue accepted before the crash is found by client id and recorded; nothing is re-sent."""
    record_id = await crash_after_commit(db, make_envelope, venue_accepted=True)
    restarted = await build_pipeline(db)
    await restarted.executor.recover()
    (order,) = await restarted.orders.for_signal(record_id)
    assert order.status is OrderStatus.FILLED and order.broker_order_id is not None
    assert await paper_orders(db) == 1
    positions = await restarted.broker.positions()
    assert [(p.symbol, p.quantity) for p in positions] == [("AAPL", Decimal(10))]


async def test_recovery_with_nothing_in_flight_does_nothing(db: Database) -> None:
    """A clean start settles nothing and sends nothing."""
    assert await (await build_pipeline(db)).executor.recover() == 0
    assert await paper_orders(db) == 0


class LostAnswerVenue:
    """The paper venue behind a flaky link: it takes the first order but the answer is lost, and look-ups
    fail until the process restarts."""

    def __init__(self, venue: PaperBroker) -> None:
        self.venue = venue
        self.name = venue.name

    async def submit_order(self, request: OrderRequest) -> OrderAck:
        await self.venue.submit_order(request)
        raise AmbiguousOrderOutcome("connection dropped after the order was sent")

    async def get_order(self, client_order_id: str) -> OrderAck | None:
        raise TemporaryBrokerError("venue unreachable", kind="network")

    async def positions(self) -> list[Position]:
        return await self.venue.positions()

    async def account(self) -> Account:
        return await self.venue.account()

    async def last_price(self, symbol: str) -> Decimal | None:
        return await self.venue.last_price(symbol)


async def test_unknown_outcome_stays_pending_until_recovery_finds_the_order(
    db: Database, make_envelope: EnvelopeFactory
) -> None:
    """An order whose answer was lost is neither re-sent nor written off: recovery finds it and executes the signal."""
    flaky = await build_pipeline(db, venue=LostAnswerVenue)
    result = await flaky.executor.execute(make_envelope("BUY AAPL 10"), SIGNAL)
    assert result.outcome is Outcome.FAILED and result.reason is not None and "outcome unknown" in result.reason
    (order,) = await flaky.orders.for_signal(result.signal_id or "")
    assert order.status is OrderStatus.UNKNOWN
    pending = await flaky.signals.get(result.signal_id or "")
    assert pending is not None and pending.outcome is None
    restarted = await build_pipeline(db)
    assert await restarted.executor.recover() == 1
    settled = await restarted.signals.get(result.signal_id or "")
    assert settled is not None and settled.outcome is Outcome.EXECUTED
    assert await paper_orders(db) == 1

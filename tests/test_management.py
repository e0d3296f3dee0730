"""Managing a traded signal: move the stop (to breakeven), change targets, cancel a resting entry."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial

from bot.domain import (
    BREAKEVEN,
    AssetClass,
    CancelSignal,
    Entry,
    EntryType,
    OpenSignal,
    OrderStatus,
    Outcome,
    Side,
    UpdateSignal,
)
from bot.execution.executor import fingerprint
from bot.execution.ids import signal_id
from bot.execution.submitter import OrderSubmitter, RetryPolicy
from bot.execution.tracker import OrderTracker
from storage.database import Database
from storage.signals import SignalRecord
from tests.support import EnvelopeFactory, Pipeline, build_pipeline

BRACKET = OpenSignal(
    Side.BUY,
    "AAPL",
    AssetClass.EQUITY,
    Entry(EntryType.LIMIT, price=Decimal("150.25")),
    stop_loss=Decimal("145"),
    take_profits=(Decimal("160"), Decimal("165")),
    quantity=Decimal("10"),
)


def now() -> datetime:
    return datetime.now(UTC)


RESTING = replace(BRACKET, entry=Entry(EntryType.LIMIT, price=Decimal("140")), take_profits=())


async def venue_exits(db: Database, signal: str) -> list[tuple[str | None, str | None]]:
    rows = await db.fetchall(
        "SELECT p.stop_loss, p.take_profit FROM paper_orders p JOIN orders o USING (client_order_id)"
        " WHERE o.signal_id = ? ORDER BY o.leg",
        (signal,),
    )
    return [(row[0], row[1]) for row in rows]


async def open_bracket(pipeline: Pipeline, make_envelope: EnvelopeFactory, signal: OpenSignal = BRACKET) -> str:
    result = await pipeline.executor.execute(make_envelope("BUY AAPL ...", message_id="500"), signal)
    assert result.outcome is Outcome.EXECUTED and result.signal_id is not None
    return result.signal_id


async def test_stop_to_breakeven_moves_every_leg_to_its_fill_price(
    pipeline: Pipeline, make_envelope: EnvelopeFactory
) -> None:
    opened = await open_bracket(pipeline, make_envelope)
    result = await pipeline.executor.execute(make_envelope("SL to BE"), UpdateSignal("AAPL", stop_loss=BREAKEVEN))
    assert result.outcome is Outcome.EXECUTED, result.reason
    assert await venue_exits(pipeline.db, opened) == [("150", "160"), ("150", "165")]
    legs = await pipeline.orders.for_signal(opened)
    assert [leg.request.stop_loss for leg in legs] == [Decimal(150), Decimal(150)]  # our copy follows the venue
    record = await pipeline.signals.get(result.signal_id or "")
    assert record is not None and record.target_signal_id == opened


async def test_new_targets_go_one_per_leg_or_one_for_all(pipeline: Pipeline, make_envelope: EnvelopeFactory) -> None:
    opened = await open_bracket(pipeline, make_envelope)
    per_leg = UpdateSignal("AAPL", take_profits=(Decimal(170), Decimal(175)))
    assert (await pipeline.executor.execute(make_envelope("TP 170/175"), per_leg)).outcome is Outcome.EXECUTED
    assert await venue_exits(pipeline.db, opened) == [("145", "170"), ("145", "175")]
    one = UpdateSignal("AAPL", take_profits=(Decimal(180),))
    assert (await pipeline.executor.execute(make_envelope("TP 180"), one)).outcome is Outcome.EXECUTED
    assert await venue_exits(pipeline.db, opened) == [("145", "180"), ("145", "180")]
    three = UpdateSignal("AAPL", take_profits=(Decimal(181), Decimal(182), Decimal(183)))
    refused = await pipeline.executor.execute(make_envelope("TP 181/182/183"), three)
    assert refused.outcome is Outcome.RISK_REJECTED
    assert refused.reason == "3 targets for 2 open legs: give one target or one per leg"


async def test_a_stop_beyond_the_target_is_refused(pipeline: Pipeline, make_envelope: EnvelopeFactory) -> None:
    await open_bracket(pipeline, make_envelope)
    result = await pipeline.executor.execute(make_envelope("SL 162"), UpdateSignal("AAPL", stop_loss=Decimal(162)))
    assert result.outcome is Outcome.RISK_REJECTED
    assert result.reason == "stop 162 is beyond the target 160 of leg 1"


async def test_only_the_author_of_the_signal_manages_it(pipeline: Pipeline, make_envelope: EnvelopeFactory) -> None:
    await open_bracket(pipeline, make_envelope)
    other = make_envelope("SL to BE", author_id="8")
    result = await pipeline.executor.execute(other, UpdateSignal("AAPL", stop_loss=BREAKEVEN))
    assert result.outcome is Outcome.RISK_REJECTED
    assert result.reason == "no executed AAPL signal from this author to manage"


async def test_a_reply_manages_the_signal_it_replies_to(pipeline: Pipeline, make_envelope: EnvelopeFactory) -> None:
    first = await open_bracket(pipeline, make_envelope)
    again = replace(BRACKET, quantity=Decimal(20))  # not a duplicate: a second, larger position
    second = await pipeline.executor.execute(make_envelope("BUY AAPL again", message_id="501"), again)
    reply = replace(make_envelope("move SL to 148"), reply_to_message_id="500")
    result = await pipeline.executor.execute(reply, UpdateSignal("AAPL", stop_loss=Decimal(148)))
    assert result.outcome is Outcome.EXECUTED
    assert await venue_exits(pipeline.db, first) == [("148", "160"), ("148", "165")]
    assert await venue_exits(pipeline.db, second.signal_id or "") == [("145", "160"), ("145", "165")]


async def test_cancel_stops_a_resting_entry_from_ever_filling(
    pipeline: Pipeline, make_envelope: EnvelopeFactory
) -> None:
    opened = await open_bracket(pipeline, make_envelope, RESTING)
    result = await pipeline.executor.execute(make_envelope("Cancel AAPL"), CancelSignal("AAPL"))
    assert result.outcome is Outcome.EXECUTED, result.reason
    (leg,) = await pipeline.orders.for_signal(opened)
    assert leg.status is OrderStatus.CANCELED
    pipeline.quotes.set("AAPL", Decimal(139))
    assert await pipeline.broker.simulate() == 0


async def test_cancel_after_the_fill_asks_for_a_close(pipeline: Pipeline, make_envelope: EnvelopeFactory) -> None:
    await open_bracket(pipeline, make_envelope)
    result = await pipeline.executor.execute(make_envelope("Cancel AAPL"), CancelSignal("AAPL"))
    assert result.outcome is Outcome.RISK_REJECTED
    assert result.reason == "the AAPL signal has no resting entry to cancel (filled: use CLOSE)"


async def test_cancel_of_an_entry_that_filled_meanwhile_says_so(
    pipeline: Pipeline, make_envelope: EnvelopeFactory
) -> None:
    """Our copy says resting, the venue already filled it: the venue's answer wins and nothing is cancelled."""
    await open_bracket(pipeline, make_envelope, RESTING)
    pipeline.quotes.set("AAPL", Decimal(139))
    assert await pipeline.broker.simulate() == 1
    result = await pipeline.executor.execute(make_envelope("Cancel AAPL"), CancelSignal("AAPL"))
    assert result.outcome is Outcome.FAILED
    assert result.reason is not None and "had already filled: use CLOSE" in result.reason


async def test_an_interrupted_stop_move_is_finished_at_start_up(db: Database, make_envelope: EnvelopeFactory) -> None:
    pipeline = await build_pipeline(db)
    opened = await open_bracket(pipeline, make_envelope)
    envelope = make_envelope("SL to BE")
    update = UpdateSignal("AAPL", stop_loss=BREAKEVEN)
    record = SignalRecord(
        signal_id(envelope.source, envelope.channel_id, envelope.message_id), envelope.source, envelope.channel_id,
        envelope.message_id, envelope.author_id, datetime.now(UTC), envelope.text, update, fingerprint(update),
        None, target_signal_id=opened,
    )  # fmt: skip
    # Committed, then the process died before the venue heard of it.
    await db.write(partial(pipeline.signals.insert_now, record=record))
    restarted = await build_pipeline(db)
    await restarted.executor.recover()
    finished = await restarted.signals.get(record.id)
    assert finished is not None and finished.outcome is Outcome.EXECUTED
    assert await venue_exits(db, opened) == [("150", "160"), ("150", "165")]


async def test_tracker_records_a_resting_entry_that_filled_at_the_venue(
    pipeline: Pipeline, make_envelope: EnvelopeFactory
) -> None:
    opened = await open_bracket(pipeline, make_envelope, RESTING)
    tracker = OrderTracker(pipeline.orders, OrderSubmitter(pipeline.broker, pipeline.metrics, RetryPolicy()), now)
    assert await tracker.sync() == 0  # still resting: nothing changed
    pipeline.quotes.set("AAPL", Decimal("139.5"))
    await pipeline.broker.simulate()
    assert await tracker.sync() == 1
    (leg,) = await pipeline.orders.for_signal(opened)
    assert (leg.status, leg.filled_quantity, leg.average_fill_price) == (OrderStatus.FILLED, 10, Decimal("139.5"))
    assert await pipeline.orders.working(10) == []


async def test_stop_to_breakeven_after_tp1_moves_the_legs_still_open(
    pipeline: Pipeline, make_envelope: EnvelopeFactory
) -> None:
    """ "TP1 hit, SL to BE": the leg its target closed is skipped, the other one gets the new stop."""
    opened = await open_bracket(pipeline, make_envelope)
    pipeline.quotes.set("AAPL", Decimal(161))
    assert await pipeline.broker.simulate() == 1  # leg 1's target (160) closes leg 1
    result = await pipeline.executor.execute(make_envelope("SL to BE"), UpdateSignal("AAPL", stop_loss=BREAKEVEN))
    assert result.outcome is Outcome.EXECUTED, result.reason
    assert await venue_exits(pipeline.db, opened) == [("145", "160"), ("150", "165")]
    pipeline.quotes.set("AAPL", Decimal(166))
    await pipeline.broker.simulate()  # leg 2's target closes it too
    refused = await pipeline.executor.execute(make_envelope("SL 155"), UpdateSignal("AAPL", stop_loss=Decimal(155)))
    assert refused.outcome is Outcome.RISK_REJECTED
    assert refused.reason == "every leg of the signal is already closed: nothing to move"


async def test_the_same_stop_move_on_two_signals_is_not_a_duplicate(
    pipeline: Pipeline, make_envelope: EnvelopeFactory
) -> None:
    first = await open_bracket(pipeline, make_envelope)
    again = replace(BRACKET, quantity=Decimal(20))
    await pipeline.executor.execute(make_envelope("BUY AAPL again", message_id="501"), again)
    for parent in ("500", "501"):
        reply = replace(make_envelope("SL to BE"), reply_to_message_id=parent)
        moved = await pipeline.executor.execute(reply, UpdateSignal("AAPL", stop_loss=BREAKEVEN))
        assert moved.outcome is Outcome.EXECUTED, moved.reason
    assert await venue_exits(pipeline.db, first) == [("150", "160"), ("150", "165")]

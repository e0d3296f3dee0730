"""`SignalIntake.read`: the listener's cheap first look at a message's text, and `handle` taking it from there."""

from __future__ import annotations

import gc
from collections import Counter
from datetime import UTC, datetime

from bot.domain import Outcome, SignalSource
from bot.services.intake import SignalIntake
from storage.writer import BatchWriter
from tests.support import EnvelopeFactory, Pipeline


def intake(pipeline: Pipeline) -> SignalIntake:
    return SignalIntake(
        executor=pipeline.executor,
        signals=pipeline.signals,
        metrics=pipeline.metrics,
        writer=BatchWriter(pipeline.db),
        clock=lambda: datetime.now(UTC),
    )


def sample(pipeline: Pipeline, name: str, **labels: str) -> float:
    return pipeline.metrics.registry.get_sample_value(name, labels) or 0.0


async def test_chatter_is_counted_and_done_with(pipeline: Pipeline) -> None:
    """Chatter gives no reading, and is counted as seen and as not_a_signal, with its parse time."""
    front = intake(pipeline)
    assert front.read(SignalSource.DISCORD, "100", "gm everyone", datetime.now(UTC)) is None
    assert sample(pipeline, "tradecord_messages_seen_total", source="discord") == 1
    assert sample(pipeline, "tradecord_signals_total", source="discord", outcome="not_a_signal") == 1
    assert sample(pipeline, "tradecord_signal_parse_seconds_count") == 1
    assert await pipeline.db.fetchone("SELECT 1 FROM signals") is None


async def test_a_reading_goes_on_to_handle_without_being_counted_or_parsed_again(
    pipeline: Pipeline, make_envelope: EnvelopeFactory
) -> None:
    """A signal read by `read` and handed to `handle` is seen once, parsed once and executed."""
    front = intake(pipeline)
    envelope = make_envelope("BUY AAPL 10 @ MKT")
    reading = front.read(envelope.source, envelope.channel_id, envelope.text, envelope.received_at)
    assert reading is not None and reading.parse_seconds > 0
    result = await front.handle(envelope, reading=reading)
    assert result.outcome is Outcome.EXECUTED
    assert sample(pipeline, "tradecord_messages_seen_total", source="discord") == 1
    assert sample(pipeline, "tradecord_signal_parse_seconds_count") == 1
    assert sample(pipeline, "tradecord_signals_total", source="discord", outcome="executed") == 1


async def test_handle_alone_still_reads_the_message_itself(pipeline: Pipeline, make_envelope: EnvelopeFactory) -> None:
    """Without a reading (webhook, catch-up), `handle` counts and parses as before, reason included."""
    result = await intake(pipeline).handle(make_envelope("what do you think of AAPL?"))
    assert result.outcome is Outcome.NOT_A_SIGNAL and result.reason
    assert sample(pipeline, "tradecord_messages_seen_total", source="discord") == 1


async def test_messages_leave_no_reference_cycles(pipeline: Pipeline, make_envelope: EnvelopeFactory) -> None:
    """Chatter, a question, an inconsistent signal, executed signals and their repeats (duplicates) leave nothing
    for the cyclic collector: the bot collects young objects rarely (`bot.heap`), so garbage made per message
    would pile up between collections."""
    front = intake(pipeline)
    texts = ["gm everyone", "what do you think of AAPL?", "BUY AAPL 10 @ 150 SL 160", "SELL AAPL 5 @ MKT"]
    await front.handle(make_envelope("BUY AAPL 1 @ MKT"))  # first use: caches, prepared statements
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for round_ in range(10):
            for text in texts:
                envelope = make_envelope(text)
                reading = front.read(envelope.source, envelope.channel_id, envelope.text, envelope.received_at)
                if reading is not None:
                    await front.handle(envelope, reading=reading)
            await front.handle(make_envelope(f"gm {round_}"))  # chatter through `handle` (webhook, catch-up)
        gc.collect()
        garbage = Counter(type(item).__name__ for item in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert not garbage, f"reference cycles left by 50 messages: {garbage.most_common(8)}"

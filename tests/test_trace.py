"""Tracing: each signal's chain is stored with its times, served by /api/trace, and its id is in every log line."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.discord_emulator import FakeDiscord
from bot.domain import AssetClass, OpenSignal, Side, SignalSource
from bot.execution.executor import fingerprint
from bot.execution.ids import signal_id
from bot.execution.orders import open_legs
from bot.execution.trace import SignalTrace
from bot.logs import bound_log_context, configure_logging
from bot.services.intake import SignalIntake
from bot.services.records import InvalidQuery, RecordsService, parse_signal_id
from bot.web.records import with_records_api
from storage.database import Database
from storage.signals import SignalRecord
from storage.trace import TraceRepository
from storage.writer import BatchWriter
from tests.e2e import e2e_settings, running_tradecord
from tests.fake_discord.fixtures import BotRunner, DiscordWorld
from tests.support import EnvelopeFactory, Pipeline, build_pipeline

SIGNAL = "BUY AAPL 100 @ 150.25 SL 145 TP 160/165"
OPEN = OpenSignal(Side.BUY, "AAPL", AssetClass.EQUITY, quantity=Decimal(10))
SUPPRESS_NOTIFICATIONS = 1 << 12  # Discord's message flag for a silent message
CHAIN = ["received", "parsed", "risk_decision"] + ["order_sent", "acknowledged", "filled"] * 2


def make_intake(pipeline: Pipeline) -> SignalIntake:
    return SignalIntake(
        executor=pipeline.executor,
        signals=pipeline.signals,
        metrics=pipeline.metrics,
        writer=BatchWriter(pipeline.db),
        clock=lambda: datetime.now(UTC),
    )


def records(pipeline: Pipeline) -> RecordsService:
    return RecordsService(pipeline.signals, pipeline.orders, TraceRepository(pipeline.db))


@pytest.fixture
async def api(pipeline: Pipeline) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = with_records_api(web.Application(), records(pipeline))
    async with TestClient(TestServer(app)) as client:
        yield client


async def test_executed_signal_records_every_step_in_order_with_times(
    pipeline: Pipeline, make_envelope: EnvelopeFactory
) -> None:
    """A two-leg signal leaves received, parsed, risk decision and sent/acknowledged/filled per leg, in time order."""
    result = await make_intake(pipeline).handle(make_envelope(SIGNAL))
    report = await records(pipeline).trace(str(result.signal_id))
    assert report is not None
    assert [step.step for step in report.steps] == CHAIN
    assert report.steps[0].ms_since_received == 0
    times = [step.at for step in report.steps]
    assert times == sorted(times)
    parsed, decision = report.steps[1].detail, report.steps[2].detail
    assert parsed["kind"] == "open" and parsed["symbol"] == "AAPL" and parsed["parse_us"] > 0
    assert decision == {"decision": "approved", "legs": 2}
    sent = [step.detail for step in report.steps if step.step == "order_sent"]
    assert [(d["leg"], d["quantity"], d["side"]) for d in sent] == [(1, "50", "buy"), (2, "50", "buy")]
    acknowledged = [step.detail for step in report.steps if step.step == "acknowledged"]
    assert [d["status"] for d in acknowledged] == ["filled", "filled"]
    filled = [step.detail for step in report.steps if step.step == "filled"]
    assert [(d["quantity"], d["price"]) for d in filled] == [("50", "150"), ("50", "150")]
    assert [o.client_order_id for o in report.orders] == [d["client_order_id"] for d in sent]
    assert [f.kind for f in report.fills] == ["entry", "entry"]


async def test_refusals_stop_the_chain_at_the_step_that_refused(
    pipeline: Pipeline, make_envelope: EnvelopeFactory
) -> None:
    """Invalid stops after `parsed` (with the error), unauthorized and risk rejections after the decision."""
    intake = make_intake(pipeline)
    service = records(pipeline)
    invalid = await intake.handle(make_envelope("BUY AAPL 100 @ 150 SL 155 TP 160"))
    untrusted = await intake.handle(make_envelope(SIGNAL, authorized=False))
    await pipeline.kill_switch.set(True)
    rejected = await intake.handle(make_envelope("BUY TSLA 5 @ MKT"))
    chains = {}
    for result in (invalid, untrusted, rejected):
        report = await service.trace(str(result.signal_id))
        assert report is not None
        chains[result.outcome.value] = [(s.step, s.detail) for s in report.steps]
    invalid_chain = chains["invalid"]
    assert [step for step, _ in invalid_chain] == ["received", "parsed"]
    assert invalid_chain[1][1]["error"] == "invalid_signal" and "155" in invalid_chain[1][1]["message"]
    assert [step for step, _ in chains["unauthorized"]] == ["received", "parsed", "risk_decision"]
    assert chains["unauthorized"][2][1] == {"decision": "rejected", "outcome": "unauthorized", "reason": "untrusted"}
    assert [step for step, _ in chains["risk_rejected"]] == ["received", "parsed", "risk_decision"]
    decision = chains["risk_rejected"][2][1]
    assert decision["decision"] == "rejected" and "kill switch" in decision["reason"]


async def test_a_later_paper_fill_joins_the_chain(pipeline: Pipeline, make_envelope: EnvelopeFactory) -> None:
    """When the quote reaches a leg's target, the paper venue's exit fill appears as a later `filled` step."""
    result = await make_intake(pipeline).handle(make_envelope(SIGNAL))
    pipeline.quotes.set("AAPL", Decimal("160"))
    assert await pipeline.broker.simulate() == 1
    report = await records(pipeline).trace(str(result.signal_id))
    assert report is not None
    assert [step.step for step in report.steps] == [*CHAIN, "filled"]
    exit_fill = report.steps[-1].detail
    assert exit_fill["kind"] == "take_profit" and exit_fill["side"] == "sell" and exit_fill["price"] == "160"
    assert exit_fill["client_order_id"] == report.orders[0].client_order_id
    assert [f.kind for f in report.fills] == ["entry", "entry", "take_profit"]


async def test_steps_ride_in_transactions_that_commit_anyway(
    db: Database, pipeline: Pipeline, make_envelope: EnvelopeFactory
) -> None:
    """Trace steps never cost a commit of their own: on the paper venue (in our own database) the signal, its
    steps, its orders, the venue's orders and their answers are all one transaction, with each order's row
    written once (with its answer) and every step in one statement."""
    statements: list[str] = []
    await db._conn.set_trace_callback(statements.append)  # observing the writer connection's SQL
    await make_intake(pipeline).handle(make_envelope(SIGNAL))
    await db._conn.set_trace_callback(None)
    transactions: list[list[str]] = []
    for sql in statements:
        if sql.startswith("BEGIN"):
            transactions.append([])
        elif transactions:
            transactions[-1].append(sql)
    traced = [t for t in transactions if any("INTO signal_events" in sql for sql in t)]
    assert len(traced) == 1
    (whole,) = traced
    assert any("INSERT INTO signals" in sql for sql in whole)
    assert sum("INSERT INTO paper_orders" in sql for sql in whole) == 2  # both legs placed at the venue
    # A set: the trace callback repeats a statement for each trigger it runs (the status counts).
    answered = {sql for sql in whole if sql.startswith("INSERT INTO orders")}
    assert len(answered) == 2 and all("'filled'" in sql for sql in answered)  # recorded with their answers
    assert not any(sql.startswith("UPDATE orders") for sql in whole)
    assert sum("INTO signal_events" in sql for sql in whole) == 1
    assert any(sql.startswith("UPDATE signals SET outcome") for sql in whole)


@pytest.mark.parametrize(
    ("venue_has_it", "steps"), [(True, ["acknowledged", "filled"]), (False, ["order_sent", "acknowledged", "filled"])]
)
async def test_start_up_recovery_adds_what_it_learned_to_the_chain(
    db: Database, make_envelope: EnvelopeFactory, venue_has_it: bool, steps: list[str]
) -> None:
    """An order a crash left in flight gets its acknowledgement step at recovery: looked up, or sent then."""
    pipeline = await build_pipeline(db)
    envelope = make_envelope("BUY AAPL 10")
    trace = SignalTrace.received(envelope)
    (leg,) = open_legs(OPEN, Decimal(10), origin=envelope, tif="gtc")
    record = SignalRecord(
        trace.signal_id, envelope.source, envelope.channel_id, envelope.message_id, envelope.author_id,
        envelope.received_at, envelope.text, OPEN, fingerprint(OPEN), None,
    )  # fmt: skip

    def before_the_broker(conn: sqlite3.Connection) -> None:  # what the executor commits; then the crash
        pipeline.signals.insert_now(conn, record)
        pipeline.orders.insert_intent_now(conn, record.id, 1, "paper", leg, datetime.now(UTC))
        TraceRepository.insert_now(conn, trace.take())

    await db.write(before_the_broker)
    if venue_has_it:
        await pipeline.broker.submit_order(leg)
    restarted = await build_pipeline(db)
    assert await restarted.executor.recover() == 1
    report = await records(restarted).trace(record.id)
    assert report is not None and [s.step for s in report.steps] == ["received", *steps]
    acknowledged = next(s.detail for s in report.steps if s.step == "acknowledged")
    assert acknowledged["status"] == "filled" and acknowledged["reconciled"] is venue_has_it


async def test_a_replayed_message_writes_no_second_chain(pipeline: Pipeline, make_envelope: EnvelopeFactory) -> None:
    """Handling the same message twice leaves one set of steps (they commit with the signal row or not at all)."""
    intake = make_intake(pipeline)
    envelope = make_envelope(SIGNAL)
    first = await intake.handle(envelope)
    again = await intake.handle(envelope)
    assert again.replayed and again.signal_id == first.signal_id
    events = await TraceRepository(pipeline.db).events(
        signal_id(envelope.source, envelope.channel_id, envelope.message_id)
    )
    assert [event.step for event in events] == CHAIN


async def test_api_trace_answers_the_chain_404_and_400(
    api: TestClient[web.Request, web.Application], pipeline: Pipeline, make_envelope: EnvelopeFactory
) -> None:
    """GET /api/trace/{id} returns signal, orders, fills and steps; unknown ids 404, malformed ids 400."""
    result = await make_intake(pipeline).handle(make_envelope(SIGNAL))
    response = await api.get(f"/api/trace/{result.signal_id}")
    assert response.status == 200
    body = await response.json()
    assert body["success"] is True and set(body) >= {"timestamp", "data"}
    data = body["data"]
    assert data["signal"]["id"] == result.signal_id and data["signal"]["outcome"] == "executed"
    assert data["signal"]["signal"]["take_profits"] == ["160", "165"]
    assert [o["status"] for o in data["orders"]] == ["filled", "filled"]
    assert [f["kind"] for f in data["fills"]] == ["entry", "entry"]
    assert [s["step"] for s in data["steps"]] == CHAIN
    assert data["steps"][0]["ms_since_received"] == 0
    assert all(datetime.fromisoformat(s["at"]).tzinfo is not None for s in data["steps"])
    ms = [s["ms_since_received"] for s in data["steps"]]
    assert ms == sorted(ms)

    missing = await api.get("/api/trace/s-aaaaaaaaaaaaa")
    assert missing.status == 404
    assert (await missing.json())["error"] == "no signal s-aaaaaaaaaaaaa is recorded"
    malformed = await api.get("/api/trace/not-an-id")
    assert malformed.status == 400
    error = (await malformed.json())["error"]
    assert "not a signal id" in error and (await malformed.json())["success"] is False


def test_signal_ids_are_read_forgivingly_and_refused_clearly() -> None:
    """Pasted ids lose their backticks and case; anything else is refused with what an id looks like."""
    assert parse_signal_id(" `S-ABCDEFGHIJKLM` ") == "s-abcdefghijklm"
    with pytest.raises(InvalidQuery, match="s-abcdefghijklm"):
        parse_signal_id("s-123")
    with pytest.raises(InvalidQuery, match=r"^before: "):
        parse_signal_id("tc-1", "before")


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """Logging configured as in production (JSON lines), at DEBUG, into a buffer; restored afterwards."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    configure_logging("DEBUG", json=True, stream=stream)
    yield stream
    structlog.reset_defaults()
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


async def test_every_log_line_of_a_signal_carries_its_id(
    json_logs: io.StringIO, pipeline: Pipeline, make_envelope: EnvelopeFactory
) -> None:
    """Lines written while a signal is handled (the executor's too) are JSON with its signal, channel, message ids."""
    intake = make_intake(pipeline)
    first, second = make_envelope(SIGNAL), make_envelope("BUY TSLA 10 @ MKT", author_id="8")
    results = [await intake.handle(first), await intake.handle(second)]
    lines: list[dict[str, Any]] = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    for envelope, result, orders in ((first, results[0], 2), (second, results[1], 1)):
        mine = [line for line in lines if line.get("message_id") == envelope.message_id]
        events = [line["event"] for line in mine]
        assert events.count("order.acknowledged") == orders and events[-1] == "signal.processed"
        assert all(line["signal_id"] == result.signal_id for line in mine)
        assert all(line["channel_id"] == envelope.channel_id and line["source"] == "discord" for line in mine)
    assert len({line["signal_id"] for line in lines if "message_id" in line}) == 2
    assert bound_log_context() == {}  # nothing leaks into the next message


@pytest.mark.slow
async def test_discord_reply_carries_the_id_and_trace_shows_the_chain(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """An executed signal gets a silent one-line reply with its id; /trace with that id shows each step."""
    settings = e2e_settings(tmp_path, fake_discord, discord_world)
    channel = discord_world.channel_id
    async with running_tradecord(settings, run_bot):
        message_id = await fake_discord.post_message(channel, discord_world.alice_id, SIGNAL)
        assert await fake_discord.wait_for_reaction(channel, message_id) == "✅"
        reply = await fake_discord.wait_for_bot_message(channel, after=message_id)
        expected_id = signal_id(SignalSource.DISCORD, str(channel), str(message_id))
        assert reply.content == f"✅ Executed: 2 orders (2 filled) · signal `{expected_id}`"
        assert reply.reference_id == message_id and reply.flags & SUPPRESS_NOTIFICATIONS

        handle = await fake_discord.invoke_command(
            "trace", user_id=discord_world.mallory_id, channel_id=channel, options={"signal_id": f"`{expected_id}`"}
        )
        answer = await handle.wait_for_response(timeout=5)
        assert answer.deferred
        embed = answer.embeds[0]
        assert embed["title"] == f"Trace {expected_id} · executed"
        lines = embed["description"].splitlines()
        names = ["received", "parsed", "risk decision", "order sent", "acknowledged", "filled"]
        assert [next(n for n in names if f"**{n}**" in line) for line in lines] == [
            "received",
            "parsed",
            "risk decision",
            *["order sent", "acknowledged", "filled"] * 2,
        ]
        assert "+0.0 ms" in lines[0] and "approved · 2 order(s)" in lines[2]
        assert [field["name"] for field in embed["fields"][:2]] == ["Leg 1 · filled", "Leg 2 · filled"]

        typo = await fake_discord.invoke_command(
            "trace", user_id=discord_world.alice_id, channel_id=channel, options={"signal_id": "12345"}
        )
        refused = await typo.wait_for_response(timeout=5)
        assert refused.ephemeral and "not a signal id" in refused.content
        unknown = await fake_discord.invoke_command(
            "trace", user_id=discord_world.alice_id, channel_id=channel, options={"signal_id": "s-aaaaaaaaaaaaa"}
        )
        assert (await unknown.wait_for_response(timeout=5)).content == "No signal `s-aaaaaaaaaaaaa` is recorded here."

"""Fault injection: with a fifth of every kind of broker call failing in each scripted way, every signal
ends in a terminal state with a reason, no definite rejection is retried and no ambiguous order is re-sent
without a look-up that found nothing."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import aiohttp
import pytest

from bot.domain import AssetClass, OpenSignal, Outcome, Side
from bot.execution.alpaca import AlpacaBroker
from bot.execution.day_start import DayStartEquity
from bot.execution.executor import ExecutionSettings, Executor
from bot.execution.kill_switch import KillSwitch
from bot.execution.risk import RiskLimits, Sizing
from bot.execution.submitter import OrderSubmitter, RetryPolicy
from bot.execution.token_bucket import RateLimiter, TokenBucket
from bot.metrics import Metrics
from storage.database import Database
from storage.orders import OrderRepository
from storage.signals import SignalRepository
from storage.state import StateRepository
from tests.fake_broker import DEFAULT_KEY_ID, DEFAULT_SECRET_KEY, FakeAlpaca, Fault, RecordedRequest, Route
from tests.support import EnvelopeFactory

pytestmark = pytest.mark.slow

SIGNALS = 120
FAULT_SHARE = 0.2
ORDER_FAULTS = (
    Fault.REJECT,
    Fault.SERVER_ERROR,
    Fault.RATE_LIMITED,
    Fault.HANG,
    Fault.COMMIT_THEN_HANG,
    Fault.DROP,
    Fault.COMMIT_THEN_DROP,
    Fault.COMMIT_THEN_GARBLE,
)
READ_FAULTS = (Fault.SERVER_ERROR, Fault.RATE_LIMITED, Fault.HANG, Fault.DROP)


def script_faults(venue: FakeAlpaca, chance: random.Random) -> None:
    """About one call in five of each route fails, each failing way equally often, in a random order."""
    plans = {
        Route.SUBMIT_ORDER: ORDER_FAULTS,
        Route.ORDER_BY_CLIENT_ID: READ_FAULTS,
        Route.POSITIONS: READ_FAULTS,
        Route.ACCOUNT: READ_FAULTS,
        Route.LATEST_STOCK_TRADE: READ_FAULTS,
    }
    for route, faults in plans.items():
        for _ in range(SIGNALS * 3):
            fault = chance.choice(faults) if chance.random() < FAULT_SHARE else Fault.NONE
            venue.script(route, fault, times=1, status=503, retry_after=0.01)


@pytest.fixture
async def venue() -> AsyncIterator[FakeAlpaca]:
    async with FakeAlpaca(prices={"AAPL": "150"}, cash="100000000") as fake:
        yield fake


def executor_for(db: Database, broker: AlpacaBroker) -> Executor:
    async def no_sleep(_seconds: float) -> None:
        await asyncio.sleep(0)

    metrics = Metrics()
    return Executor(
        db=db,
        signals=SignalRepository(db),
        orders=OrderRepository(db),
        broker=broker,
        submitter=OrderSubmitter(broker, metrics, RetryPolicy(max_attempts=4), sleep=no_sleep),
        limits=RiskLimits(),
        sizing=Sizing(),
        kill_switch=KillSwitch(StateRepository(db)),
        day_start=DayStartEquity(StateRepository(db), lambda: datetime.now(UTC)),
        metrics=metrics,
        clock=lambda: datetime.now(UTC),
        settings=ExecutionSettings(duplicate_window_seconds=0),
    )


def client_id_of(request: RecordedRequest) -> str | None:
    if request.route == Route.SUBMIT_ORDER and isinstance(request.body, dict):
        return str(request.body.get("client_order_id"))
    if request.route == Route.ORDER_BY_CLIENT_ID:
        return request.query.get("client_order_id")
    return None


async def test_every_signal_ends_with_a_reason_and_nothing_is_sent_blind(
    db: Database, venue: FakeAlpaca, make_envelope: EnvelopeFactory
) -> None:
    script_faults(venue, random.Random(42))
    async with aiohttp.ClientSession() as http:
        limiter = RateLimiter("broker", TokenBucket(5000.0, 100, time.monotonic))
        broker = AlpacaBroker(
            http,
            base_url=venue.base_url,
            data_url=venue.data_url,
            key_id=DEFAULT_KEY_ID,
            secret_key=DEFAULT_SECRET_KEY,
            limiter=limiter,
            timeout_seconds=0.2,
        )
        executor = executor_for(db, broker)
        signals = [OpenSignal(Side.BUY, "AAPL", AssetClass.EQUITY, quantity=Decimal(n)) for n in range(1, SIGNALS + 1)]
        await asyncio.gather(*(executor.execute(make_envelope(f"BUY AAPL {s.quantity}"), s) for s in signals))
        # Restarts settle what stayed unknown; the scripts run out, so the venue answers in the end.
        for _ in range(10):
            if not await SignalRepository(db).pending():
                break
            await executor_for(db, broker).recover()

    rows = await db.fetchall("SELECT outcome, reason FROM signals")
    assert len(rows) == SIGNALS
    outcomes = defaultdict(int)
    for outcome, reason in rows:
        outcomes[outcome] += 1
        assert outcome in {o.value for o in (Outcome.EXECUTED, Outcome.FAILED, Outcome.RISK_REJECTED)}
        assert outcome == Outcome.EXECUTED.value or reason, f"{outcome} without a reason"
    assert outcomes[Outcome.EXECUTED.value] > 0 and outcomes[Outcome.FAILED.value] > 0

    sent: dict[str, list[RecordedRequest]] = defaultdict(list)
    for request in venue.requests:
        if (cid := client_id_of(request)) is not None:
            sent[cid].append(request)
    rejected = {cid for (cid,) in await db.fetchall("SELECT client_order_id FROM orders WHERE status = 'rejected'")}
    assert rejected, "the script rejects some orders"
    for cid in rejected:  # a definite refusal ends the order: no POST after it
        refusal = next(i for i, r in enumerate(sent[cid]) if r.route == Route.SUBMIT_ORDER and r.status == 403)
        assert not any(r.route == Route.SUBMIT_ORDER for r in sent[cid][refusal + 1 :])
    for cid, requests in sent.items():
        posts = [i for i, r in enumerate(requests) if r.route == Route.SUBMIT_ORDER]
        for earlier, later in itertools.pairwise(posts):
            first = requests[earlier]
            if first.status is not None and first.status in (429, 503):
                continue  # the venue said it did nothing: the same id may go again
            lookups = [r for r in requests[earlier + 1 : later] if r.route == Route.ORDER_BY_CLIENT_ID]
            assert lookups and lookups[-1].status == 404, f"{cid} re-sent after an unknown outcome without a look-up"
    assert venue.requests_for(Route.ORDER_BY_CLIENT_ID), "ambiguous answers were looked up"
    ids = [order.client_order_id for order in venue.orders]
    assert len(ids) == len(set(ids)), "an order reached the venue twice"

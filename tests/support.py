"""Builders shared by tests: a paper-broker pipeline on a real database, envelopes for messages."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from bot.domain import SignalEnvelope, SignalSource
from bot.execution.broker import Broker, StaticQuotes
from bot.execution.day_start import DayStartEquity
from bot.execution.executor import ExecutionSettings, Executor
from bot.execution.kill_switch import KillSwitch
from bot.execution.paper import PaperBroker
from bot.execution.risk import RiskLimits, Sizing
from bot.execution.submitter import OrderSubmitter, RetryPolicy
from bot.execution.token_bucket import RateLimiter, TokenBucket
from bot.metrics import Metrics
from storage.database import Database
from storage.orders import OrderRepository
from storage.paper import PaperBooks
from storage.signals import SignalRepository
from storage.state import StateRepository


@dataclass
class Pipeline:
    db: Database
    executor: Executor
    broker: PaperBroker
    quotes: StaticQuotes
    orders: OrderRepository
    signals: SignalRepository
    kill_switch: KillSwitch
    metrics: Metrics


async def build_pipeline(
    db: Database,
    *,
    limits: RiskLimits | None = None,
    quotes: dict[str, Decimal] | None = None,
    venue: Callable[[PaperBroker], Broker] | None = None,
) -> Pipeline:
    """`venue` puts a faulty network path between the executor and the paper venue."""
    metrics = Metrics()
    static = StaticQuotes(quotes if quotes is not None else {"AAPL": Decimal("150"), "TSLA": Decimal("250")})
    limiter = RateLimiter("broker", TokenBucket(1000.0, 1000, time.monotonic))
    broker = PaperBroker(PaperBooks(db), static, limiter, now=lambda: datetime.now(UTC))
    await broker.open()
    reached: Broker = broker if venue is None else venue(broker)
    kill_switch = KillSwitch(StateRepository(db))
    await kill_switch.load(False)

    async def no_sleep(_seconds: float) -> None:
        return None

    executor = Executor(
        db=db,
        signals=SignalRepository(db),
        orders=OrderRepository(db),
        broker=reached,
        submitter=OrderSubmitter(reached, metrics, RetryPolicy(), sleep=no_sleep),
        limits=limits or RiskLimits(allow_short=False),
        sizing=Sizing(),
        kill_switch=kill_switch,
        day_start=DayStartEquity(StateRepository(db), lambda: datetime.now(UTC)),
        metrics=metrics,
        clock=lambda: datetime.now(UTC),
        settings=ExecutionSettings(),
    )
    return Pipeline(db, executor, broker, static, OrderRepository(db), SignalRepository(db), kill_switch, metrics)


EnvelopeFactory = Callable[..., SignalEnvelope]


def envelope_factory() -> EnvelopeFactory:
    counter = iter(range(1_000_000, 2_000_000))

    def factory(
        text: str = "",
        *,
        message_id: str | None = None,
        channel_id: str = "100",
        author_id: str = "7",
        authorized: bool = True,
        received_at: datetime | None = None,
    ) -> SignalEnvelope:
        return SignalEnvelope(
            source=SignalSource.DISCORD,
            channel_id=channel_id,
            message_id=message_id or str(next(counter)),
            author_id=author_id,
            text=text,
            received_at=received_at or datetime.now(UTC),
            received_monotonic=time.perf_counter(),
            authorized=authorized,
            unauthorized_reason=None if authorized else "untrusted",
        )

    return factory

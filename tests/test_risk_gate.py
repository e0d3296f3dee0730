"""Risk limits hold when signals arrive together: each is checked against the account its predecessors left."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from bot.domain import AssetClass, CloseSignal, OpenSignal, OrderAck, OrderRequest, Outcome, Side
from bot.execution.broker import Broker
from bot.execution.paper import PaperBroker
from bot.execution.position_tracking import PositionTrackingBroker
from bot.execution.risk import RiskLimits
from storage.database import Database
from tests.support import EnvelopeFactory, build_pipeline

QUOTES = {"AAPL": Decimal("150"), "TSLA": Decimal("250"), "MSFT": Decimal("400")}


class SlowVenue(PositionTrackingBroker):
    """The paper venue behind a network that takes 20 ms to answer an order: time for others to overtake."""

    async def submit_order(self, request: OrderRequest) -> OrderAck:
        await asyncio.sleep(0.02)
        return await super().submit_order(request)


def slow(paper: PaperBroker) -> Broker:
    return SlowVenue(paper)


def buy(symbol: str, quantity: int = 10) -> OpenSignal:
    return OpenSignal(Side.BUY, symbol, AssetClass.EQUITY, quantity=Decimal(quantity))


async def test_signals_arriving_together_cannot_exceed_max_open_positions(
    db: Database, make_envelope: EnvelopeFactory
) -> None:
    """Three entries in three symbols at once against max_open_positions = 1: one trades, two are refused."""
    pipeline = await build_pipeline(db, limits=RiskLimits(max_open_positions=1), quotes=QUOTES, venue=slow)
    results = await asyncio.gather(
        *(pipeline.executor.execute(make_envelope(f"BUY {s} 10"), buy(s)) for s in ("AAPL", "TSLA", "MSFT"))
    )
    outcomes = sorted(r.outcome.value for r in results)
    assert outcomes == ["executed", "risk_rejected", "risk_rejected"]
    assert all("max_open_positions" in (r.reason or "") for r in results if r.outcome is Outcome.RISK_REJECTED)
    assert len(await pipeline.broker.positions()) == 1


async def test_two_closes_at_once_sell_the_position_once(db: Database, make_envelope: EnvelopeFactory) -> None:
    """Two providers' CLOSE AAPL at the same moment: the first sells what is held, the second finds nothing left."""
    pipeline = await build_pipeline(db, quotes=QUOTES, venue=slow)
    opened = await pipeline.executor.execute(make_envelope("BUY AAPL 10"), buy("AAPL"))
    assert opened.outcome is Outcome.EXECUTED
    envelopes = [make_envelope("CLOSE AAPL", author_id=author) for author in ("7", "8")]
    closes = await asyncio.gather(*(pipeline.executor.execute(envelope, CloseSignal("AAPL")) for envelope in envelopes))
    assert sorted(r.outcome.value for r in closes) == ["executed", "risk_rejected"]
    assert any("no open position" in (r.reason or "") for r in closes)
    assert await pipeline.broker.positions() == []


async def test_position_notional_counts_the_fills_of_signals_just_before(
    db: Database, make_envelope: EnvelopeFactory
) -> None:
    """Four buys of 10 AAPL at once under max_position_notional 3000 (20 shares at 150): two go through."""
    limits = RiskLimits(max_position_notional=Decimal(3000))
    pipeline = await build_pipeline(db, limits=limits, quotes=QUOTES, venue=slow)
    envelopes = [make_envelope("BUY AAPL 10", author_id=str(n)) for n in range(4)]  # four providers, no duplicates
    results = await asyncio.gather(*(pipeline.executor.execute(envelope, buy("AAPL")) for envelope in envelopes))
    assert sorted(r.outcome.value for r in results) == ["executed", "executed", "risk_rejected", "risk_rejected"]
    (position,) = await pipeline.broker.positions()
    assert position.quantity == Decimal(20)

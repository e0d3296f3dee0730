"""`/api/signals` and `/api/orders`: newest first, keyset pages, filters, a capped limit and 400s that say why."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.domain import AssetClass, OrderAck, OrderRequest, OrderStatus, OrderType, Outcome, Side, SignalSource
from bot.execution.ids import client_order_id, signal_id
from bot.metrics import Metrics
from bot.services.health import HealthService, Readiness
from bot.services.records import RecordsService
from bot.services.stats import StatsService
from bot.web.app import WebServices, make_app
from bot.web.records import with_records_api
from storage.database import Database
from storage.orders import OrderRepository
from storage.signals import SignalRecord, SignalRepository
from storage.stats import StatsQueries
from storage.trace import TraceRepository

Client = TestClient[web.Request, web.Application]
START = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)
OUTCOMES = [Outcome.EXECUTED, Outcome.RISK_REJECTED, Outcome.INVALID, None]  # None: still pending


async def seed_signals(db: Database, count: int) -> list[str]:
    """`count` signals one second apart with rotating outcomes; returns their ids newest first."""
    records = []
    for n in range(count):
        message_id = str(5000 + n)
        record = SignalRecord(
            id=signal_id(SignalSource.DISCORD, "100", message_id),
            source=SignalSource.DISCORD,
            channel_id="100",
            message_id=message_id,
            author_id="7",
            received_at=START + timedelta(seconds=n),
            text=f"BUY AAPL {n + 1}",
            signal=None,
            fingerprint=None,
            outcome=OUTCOMES[n % len(OUTCOMES)],
            reason=None if n % 4 == 0 else f"reason {n}",
        )
        records.append(record)
    inserted = await db.write(lambda conn: [SignalRepository.insert_now(conn, record) for record in records])
    assert all(inserted)
    return [record.id for record in reversed(records)]


async def seed_orders(db: Database, signal_ids: list[str]) -> list[str]:
    """One order per signal, a second apart, alternately filled and rejected; ids newest first."""
    orders = OrderRepository(db)
    ids = []
    for n, sid in enumerate(reversed(signal_ids)):
        cid = client_order_id(SignalSource.DISCORD, "100", str(n), 1)
        request = OrderRequest(cid, "AAPL", AssetClass.EQUITY, Side.BUY, OrderType.MARKET, Decimal(n + 1))
        await db.write(
            partial(
                orders.insert_intent_now,
                signal_id=sid,
                leg=1,
                broker="paper",
                request=request,
                at=START + timedelta(seconds=n),
            )
        )
        status = OrderStatus.FILLED if n % 2 == 0 else OrderStatus.REJECTED
        await orders.record_ack(OrderAck(cid, status), START + timedelta(seconds=n), attempts=1)
        ids.append(cid)
    return ids[::-1]


async def serve(db: Database, token: str | None = None) -> Client:
    web_services = WebServices(
        stats=StatsService(StatsQueries(db), lambda: datetime.now(UTC)),
        health=HealthService(),
        readiness=Readiness(),
        metrics=Metrics(),
        metrics_token=token,
    )
    records = RecordsService(SignalRepository(db), OrderRepository(db), TraceRepository(db))
    client = TestClient(TestServer(with_records_api(make_app(web_services), records)))
    await client.start_server()
    return client


@pytest.fixture
async def api(db: Database) -> AsyncIterator[Client]:
    client = await serve(db)
    yield client
    await client.close()


async def get(api: Client, path: str, status: int = 200) -> Any:
    response = await api.get(path)
    body = await response.json()
    assert response.status == status, body
    assert body["success"] is (status == 200)
    return body["data"] if status == 200 else body["error"]


async def test_signals_come_newest_first_in_pages_that_cover_everything_once(db: Database, api: Client) -> None:
    """Following `next_before` from page to page yields every signal exactly once, newest first."""
    ids = await seed_signals(db, 11)
    seen: list[str] = []
    path = "/api/signals?limit=4"
    pages = 0
    while True:
        data = await get(api, path)
        seen += [s["id"] for s in data["signals"]]
        pages += 1
        if data["next_before"] is None:
            break
        assert data["next_before"] == seen[-1]
        path = f"/api/signals?limit=4&before={data['next_before']}"
    assert seen == ids and pages == 3
    first = (await get(api, "/api/signals?limit=1"))["signals"][0]
    assert first["received_at"] == (START + timedelta(seconds=10)).isoformat()
    assert first["text"] == "BUY AAPL 11" and first["outcome"] == "invalid"


async def test_signals_filter_by_outcome_including_pending(db: Database, api: Client) -> None:
    """`outcome` keeps only that outcome; `pending` lists signals whose orders are still in flight."""
    await seed_signals(db, 12)
    executed = (await get(api, "/api/signals?outcome=executed"))["signals"]
    assert len(executed) == 3 and {s["outcome"] for s in executed} == {"executed"}
    pending = (await get(api, "/api/signals?outcome=PENDING&limit=2"))["signals"]
    assert [s["outcome"] for s in pending] == ["pending", "pending"]
    rest = await get(api, f"/api/signals?outcome=pending&before={pending[-1]['id']}")
    assert len(rest["signals"]) == 1 and rest["next_before"] is None


async def test_signal_limit_is_capped_at_200(db: Database, api: Client) -> None:
    """Asking for more than 200 signals returns 200 and a cursor for the rest."""
    ids = await seed_signals(db, 203)
    data = await get(api, "/api/signals?limit=1000")
    assert len(data["signals"]) == 200 and data["next_before"] == ids[199]
    assert len((await get(api, "/api/signals"))["signals"]) == 50  # the default page


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("limit=0", "limit must be a whole number"),
        ("limit=ten", "limit must be a whole number"),
        ("limit=-3", "limit must be a whole number"),
        ("outcome=won", "outcome must be one of executed"),
        ("before=12345", "before: '12345' is not a signal id"),
        ("before=s-aaaaaaaaaaaaa", "before: no signal s-aaaaaaaaaaaaa"),
        ("limt=5", "unknown parameter 'limt'"),
    ],
)
async def test_bad_signal_parameters_are_400_with_the_reason(
    db: Database, api: Client, query: str, reason: str
) -> None:
    """Each malformed parameter is answered 400 naming the parameter and what it accepts."""
    await seed_signals(db, 2)
    assert reason in await get(api, f"/api/signals?{query}", status=400)


async def test_orders_page_and_filter_by_status(db: Database, api: Client) -> None:
    """Orders come newest first in keyset pages; `status` keeps one status; every field is a JSON string or number."""
    order_ids = await seed_orders(db, await seed_signals(db, 5))
    first = await get(api, "/api/orders?limit=3")
    rest = await get(api, f"/api/orders?limit=3&before={first['next_before']}")
    assert [o["client_order_id"] for o in first["orders"] + rest["orders"]] == order_ids
    assert rest["next_before"] is None
    newest = first["orders"][0]
    assert newest["quantity"] == "5" and newest["status"] == "filled" and newest["leg"] == 1
    assert newest["created_at"] == (START + timedelta(seconds=4)).isoformat()
    rejected = (await get(api, "/api/orders?status=rejected"))["orders"]
    assert [o["client_order_id"] for o in rejected] == [order_ids[1], order_ids[3]]


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("status=done", "status must be one of pending_submit"),
        ("limit=1.5", "limit must be a whole number"),
        ("before=tc-nope", "before: no order with client id tc-nope"),
        ("outcome=executed", "unknown parameter 'outcome'"),
    ],
)
async def test_bad_order_parameters_are_400_with_the_reason(api: Client, query: str, reason: str) -> None:
    """Each malformed `/api/orders` parameter is answered 400 with the reason."""
    assert reason in await get(api, f"/api/orders?{query}", status=400)


async def test_record_routes_take_the_bearer_token_when_one_is_set(db: Database) -> None:
    """With `server.metrics_token` set, the list and trace routes answer 401 without it and 200 with it."""
    ids = await seed_signals(db, 1)
    client = await serve(db, token="dashboard-token-123")
    try:
        for path in ("/api/signals", "/api/orders", f"/api/trace/{ids[0]}"):
            assert (await client.get(path)).status == 401
            response = await client.get(path, headers={"Authorization": "Bearer dashboard-token-123"})
            assert response.status == 200, path
    finally:
        await client.close()


async def test_webhook_signals_never_echo_their_body(db: Database, api: Client) -> None:
    """A webhook signal's stored text is not returned: whatever the sender put in it stays inside."""
    record = SignalRecord(
        id=signal_id(SignalSource.WEBHOOK, "tradingview", "alert-1"),
        source=SignalSource.WEBHOOK,
        channel_id="tradingview",
        message_id="alert-1",
        author_id="tradingview",
        received_at=START,
        text='{"ticker": "AAPL", "action": "buy"}',
        signal=None,
        fingerprint=None,
        outcome=Outcome.INVALID,
        reason="no quantity",
    )
    await db.write(partial(SignalRepository.insert_now, record=record))
    listed = (await get(api, "/api/signals"))["signals"][0]
    assert listed["source"] == "webhook" and listed["text"] is None and listed["reason"] == "no quantity"

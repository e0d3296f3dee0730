"""POST /webhook/tradingview over loopback: authentication, limits, answers, and the paper broker behind it."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from bot.app import open_runtime
from bot.domain import SignalSource
from bot.services.health import HealthService, Readiness
from bot.services.intake import SignalIntake
from bot.services.rate_limits import RateLimitService
from bot.services.stats import StatsService
from bot.settings import BrokerSettings, ServerSettings, Settings, StorageSettings
from bot.web.abuse import AbuseGuard, AbuseLimits
from bot.web.app import WebServices, make_app
from bot.web.rate_limits import rate_limits_report
from bot.web.webhook import CHANNEL_ID, WebhookConfig, WebhookEndpoint, register_webhook_metrics
from bot.web.webhook_auth import sign
from storage.database import Database
from storage.stats import StatsQueries
from storage.writer import BatchWriter
from tests.support import Pipeline, build_pipeline

SECRET = "tv-shared-secret-0123"
URL = "/webhook/tradingview"


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Webhook:
    client: TestClient[Any, Any]
    pipeline: Pipeline
    clock: FakeMonotonic
    endpoint: WebhookEndpoint

    async def post(
        self,
        body: str | bytes | dict[str, Any],
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> ClientResponse:
        data = json.dumps(body) if isinstance(body, dict) else body
        sent = {"Content-Type": content_type, **(headers or {})}
        return await self.client.post(URL, data=data, headers=sent)

    def metric(self, name: str, **labels: str) -> float:
        return self.pipeline.metrics.registry.get_sample_value(name, labels) or 0.0

    async def signal_rows(self) -> int:
        return len(await self.pipeline.signals.recent(1000))

    async def positions(self) -> dict[str, Decimal]:
        return {p.symbol: p.quantity for p in await self.pipeline.broker.positions()}


MakeWebhook = Callable[..., Awaitable[Webhook]]


@pytest.fixture
async def make_webhook(db: Database) -> AsyncIterator[MakeWebhook]:
    clients: list[TestClient[Any, Any]] = []

    async def make(**server: Any) -> Webhook:
        settings = ServerSettings(**{"webhook_secret": SECRET, **server})
        pipeline = await build_pipeline(db)
        metrics = pipeline.metrics
        now = lambda: datetime.now(UTC)  # noqa: E731
        intake = SignalIntake(
            executor=pipeline.executor, signals=pipeline.signals, metrics=metrics, writer=BatchWriter(db), clock=now
        )
        clock = FakeMonotonic()
        guard = AbuseGuard(AbuseLimits.from_settings(settings), clock)
        register_webhook_metrics(metrics, guard)
        endpoint = WebhookEndpoint(WebhookConfig.from_settings(settings), guard, intake, metrics, now)
        services = WebServices(
            stats=StatsService(StatsQueries(db), now),
            health=HealthService(),
            readiness=Readiness(),
            metrics=metrics,
            webhook=endpoint.handle,
            rate_limits=lambda: rate_limits_report(RateLimitService([]), endpoint),
        )
        client: TestClient[Any, Any] = TestClient(TestServer(make_app(services)))
        await client.start_server()
        clients.append(client)
        return Webhook(client, pipeline, clock, endpoint)

    yield make
    for client in clients:
        await client.close()


async def test_json_alert_with_secret_field_is_executed(make_webhook: MakeWebhook) -> None:
    """A TradingView JSON alert with the secret field places a paper order and answers 200 executed."""
    hook = await make_webhook()
    alert = {"ticker": "NASDAQ:AAPL", "action": "buy", "contracts": 5, "price": 150.1, "secret": SECRET}
    response = await hook.post(alert)
    body = await response.json()
    assert response.status == 200, body
    assert body["success"] is True
    assert body["data"]["outcome"] == "executed"
    assert body["data"]["signal_id"].startswith("s-")
    assert "timestamp" in body
    assert await hook.positions() == {"AAPL": Decimal(5)}
    assert hook.metric("tradecord_signals_total", source="webhook", outcome="executed") == 1
    assert hook.metric("tradecord_messages_seen_total", source="webhook") == 1
    assert hook.metric("tradecord_webhook_requests_total", outcome="accepted") == 1
    [row] = await hook.pipeline.signals.recent(10)
    assert row.source is SignalSource.WEBHOOK
    assert row.channel_id == CHANNEL_ID
    assert SECRET not in row.text
    assert json.loads(row.text) == {"ticker": "NASDAQ:AAPL", "action": "buy", "contracts": 5, "price": 150.1}


async def test_text_body_with_secret_header_is_executed(make_webhook: MakeWebhook) -> None:
    """A plain-text body in the signal grammar, authenticated by header, trades like a Discord message."""
    hook = await make_webhook()
    response = await hook.post(
        f"BUY 3 TSLA secret {SECRET}", content_type="text/plain", headers={"X-Tradecord-Secret": SECRET}
    )
    assert response.status == 200, await response.text()
    assert (await response.json())["data"]["outcome"] == "executed"
    assert await hook.positions() == {"TSLA": Decimal(3)}
    [row] = await hook.pipeline.signals.recent(10)
    assert SECRET not in row.text
    assert row.text == "BUY 3 TSLA secret [redacted]"


async def test_tradingview_json_sent_as_text_plain(make_webhook: MakeWebhook) -> None:
    """TradingView posts its JSON as text/plain; it is still read as a TradingView alert."""
    hook = await make_webhook()
    alert = json.dumps({"ticker": "AAPL", "action": "long", "qty": "2", "secret": SECRET})
    response = await hook.post(alert, content_type="text/plain; charset=utf-8")
    assert response.status == 200, await response.text()
    assert await hook.positions() == {"AAPL": Decimal(2)}


async def test_hmac_signature_valid_tampered_stale_and_malformed(make_webhook: MakeWebhook) -> None:
    """A fresh matching signature passes; a changed body, an old timestamp or a bad header is 401, unrecorded."""
    hook = await make_webhook()
    body = json.dumps({"ticker": "AAPL", "action": "buy", "contracts": 1}).encode()
    now = int(time.time())
    refused = [
        (body + b" ", sign(SECRET, now, body)),
        (body, sign(SECRET, now - 301, body)),
        (body, sign(SECRET, now + 301, body)),
        (body, sign("another-secret", now, body)),
        (body, f"t={now}"),
        (body, f"v1={'0' * 64}"),
        (body, "garbage"),
        (body, f"t=soon,v1={'0' * 64}"),
    ]
    for sent, signature in refused:
        response = await hook.post(sent, headers={"X-Tradecord-Signature": signature})
        answer = await response.json()
        assert response.status == 401, (signature, answer)
        assert answer["success"] is False
        assert answer["code"] == "unauthorized"
        assert SECRET not in json.dumps(answer)
    assert await hook.signal_rows() == 0
    assert hook.metric("tradecord_webhook_requests_total", outcome="unauthorized") == len(refused)
    assert hook.metric("tradecord_messages_seen_total", source="webhook") == 0

    response = await hook.post(body, headers={"X-Tradecord-Signature": sign(SECRET, now - 200, body)})
    assert response.status == 200, await response.text()
    assert await hook.positions() == {"AAPL": Decimal(1)}


async def test_missing_or_wrong_secrets_are_401(make_webhook: MakeWebhook) -> None:
    """No credentials, a wrong field, a wrong header (even with a right field) are all refused."""
    hook = await make_webhook()
    alert = {"ticker": "AAPL", "action": "buy", "contracts": 1}
    attempts = [
        hook.post(alert),
        hook.post({**alert, "secret": "nope"}),
        hook.post({**alert, "secret": 12345}),
        hook.post({**alert, "secret": SECRET}, headers={"X-Tradecord-Secret": "nope"}),
        hook.post("BUY 1 AAPL", content_type="text/plain"),
        hook.post(b"{not json", headers={"X-Tradecord-Secret": "nope"}),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status == 401, await response.text()
    assert await hook.signal_rows() == 0
    assert hook.metric("tradecord_signals_total", source="webhook", outcome="unauthorized") == 0


async def test_repeated_alert_id_is_a_duplicate_with_one_order(make_webhook: MakeWebhook) -> None:
    """The same alert id twice answers 200 duplicate and leaves a single order; the header id works alike."""
    hook = await make_webhook()
    alert = {"ticker": "AAPL", "action": "buy", "contracts": 4, "id": "alert-42", "secret": SECRET}
    first = await (await hook.post(alert)).json()
    again = await hook.post(alert)
    second = await again.json()
    assert again.status == 200
    assert first["data"]["outcome"] == "executed"
    assert second["data"]["outcome"] == "duplicate"
    assert second["data"]["signal_id"] == first["data"]["signal_id"]
    assert len(await hook.pipeline.orders.recent(10)) == 1
    assert await hook.positions() == {"AAPL": Decimal(4)}
    assert hook.metric("tradecord_webhook_requests_total", outcome="duplicate") == 1

    headers = {"X-Tradecord-Secret": SECRET, "X-Tradecord-Alert-Id": "tv-7"}
    for _ in range(2):
        response = await hook.post("BUY 2 TSLA", content_type="text/plain", headers=headers)
        assert response.status == 200
    assert len(await hook.pipeline.orders.recent(10)) == 2


async def test_body_size_limit_413(make_webhook: MakeWebhook) -> None:
    """Bodies over the limit are refused with 413, declared or streamed without a length."""
    hook = await make_webhook(webhook_max_body_bytes=256)
    big = json.dumps({"ticker": "AAPL", "action": "buy", "secret": SECRET, "pad": "x" * 300})
    response = await hook.post(big)
    assert response.status == 413
    assert (await response.json())["code"] == "too_large"

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"x" * 64

    response = await hook.client.post(URL, data=chunks(), headers={"Content-Type": "text/plain"})
    assert response.status == 413
    assert hook.metric("tradecord_webhook_requests_total", outcome="too_large") == 2
    assert await hook.signal_rows() == 0


async def test_other_media_types_are_415(make_webhook: MakeWebhook) -> None:
    """Form posts, binary and missing content types are refused with 415 before authentication."""
    hook = await make_webhook()
    for content_type in ("application/x-www-form-urlencoded", "application/octet-stream", "text/html"):
        response = await hook.post("BUY 1 AAPL", content_type=content_type, headers={"X-Tradecord-Secret": SECRET})
        assert response.status == 415, content_type
        assert (await response.json())["code"] == "unsupported_media_type"
    response = await hook.client.post(URL, data=b"BUY 1 AAPL", headers={"X-Tradecord-Secret": SECRET})
    assert response.status == 415
    response = await hook.post({"ticker": "AAPL", "action": "buy", "contracts": 1, "secret": SECRET},
                               content_type="application/vnd.tradingview+json")  # fmt: skip
    assert response.status == 200


async def test_authenticated_bad_bodies_are_400_with_the_reason(make_webhook: MakeWebhook) -> None:
    """Malformed JSON, non-objects, chatter and inconsistent signals get 400 with a specific code and reason."""
    hook = await make_webhook(webhook_burst_per_ip=100)
    auth = {"X-Tradecord-Secret": SECRET}
    cases: list[tuple[bytes | str, str, str, str]] = [
        (b"{not json", "application/json", "bad_request", "not valid JSON"),
        (b"[1, 2]", "application/json", "bad_request", "must be a JSON object"),
        (b"", "application/json", "bad_request", "empty"),
        (b"\xff\xfe", "text/plain", "bad_request", "not valid utf-8"),
        (b"BUY AAPL", "text/plain; charset=no-such-charset", "bad_request", "no-such-charset"),
        ('{"hello": "world"}', "application/json", "not_a_signal", "no ticker"),
        ("good morning traders", "text/plain", "not_a_signal", ""),
        ('{"ticker": "AAPL", "action": "buy", "price": 150, "sl": 155}', "application/json", "invalid_signal", "stop"),
        ('{"ticker": "AAPL", "action": "hold"}', "application/json", "invalid_signal", "unknown action"),
        ('{"ticker": "AAPL", "action": "buy", "id": true}', "application/json", "bad_request", "alert id"),
        ("[" * 5000 + "]" * 5000, "application/json", "bad_request", "JSON"),
        ('{"a":' * 40 + "1" + "}" * 40, "application/json", "bad_request", "nested"),
        ('{"ticker": "\\ud800", "action": "buy"}', "application/json", "bad_request", "surrogate"),
    ]
    for body, content_type, code, reason in cases:
        response = await hook.post(body, content_type=content_type, headers=auth)
        answer = await response.json()
        assert response.status == 400, (body[:40], answer)
        assert answer["code"] == code, (body[:40], answer)
        assert reason.lower() in answer["error"].lower(), (body[:40], answer)
    assert hook.metric("tradecord_webhook_requests_total", outcome="invalid") == 2
    assert hook.metric("tradecord_signals_total", source="webhook", outcome="invalid") == 2
    assert await hook.pipeline.orders.recent(10) == []


async def test_garbage_never_causes_a_500(make_webhook: MakeWebhook) -> None:
    """Random bytes, content types and credential headers are always answered with a 2xx or 4xx."""
    hook = await make_webhook(webhook_burst_per_ip=1000, webhook_rate_per_ip_per_minute=1000)
    rng = random.Random(6)
    fragments = [b"{", b"}", b"[", b'"ticker"', b":", b'"AAPL"', b",", b'"action"', b'"buy"', b"\xff", b"\x00",
                 b"1e999", b"NaN", b"-", b"BUY", b" ", b"SL", b"TP", b"@", b"\\u0000", b'"secret"', SECRET.encode(),
                 b"9" * 5000, b'"contracts"', b"\n"]  # fmt: skip
    content_types = ["application/json", "text/plain", "text/plain; charset=latin-1", "application/json; charset=x"]
    statuses = set()
    for _ in range(150):
        body = b"".join(rng.choice(fragments) for _ in range(rng.randint(0, 30)))
        headers = rng.choice([{}, {"X-Tradecord-Secret": SECRET}, {"X-Tradecord-Signature": "t=1,v1=zz"},
                              {"X-Tradecord-Secret": SECRET, "X-Tradecord-Alert-Id": "\t"}])  # fmt: skip
        response = await hook.post(body, content_type=rng.choice(content_types), headers=headers)
        statuses.add(response.status)
        assert response.status < 500, (body, await response.text())
        assert (await response.json())["success"] in (True, False)
    assert {400, 401} <= statuses
    assert hook.metric("tradecord_webhook_requests_total", outcome="error") == 0


async def test_without_a_secret_every_call_is_refused(make_webhook: MakeWebhook) -> None:
    """With no webhook_secret configured the route answers 503 with the reason, whatever is presented."""
    hook = await make_webhook(webhook_secret=None)
    for headers in ({}, {"X-Tradecord-Secret": ""}, {"X-Tradecord-Secret": SECRET}):
        response = await hook.post({"ticker": "AAPL", "action": "buy", "secret": ""}, headers=headers)
        answer = await response.json()
        assert response.status == 503
        assert answer["code"] == "not_configured"
        assert "webhook_secret" in answer["error"]
    assert await hook.signal_rows() == 0


async def test_forwarded_for_is_believed_only_from_trusted_proxies(make_webhook: MakeWebhook) -> None:
    """The deny list sees the forwarded client behind a trusted proxy, and the real peer otherwise."""
    auth = {"X-Tradecord-Secret": SECRET}
    denied = await make_webhook(ip_denylist=["203.0.113.0/24"], trusted_proxies=["127.0.0.1"])
    for forwarded in ("203.0.113.9", "198.51.100.1, 203.0.113.9", "203.0.113.9, 127.0.0.1"):
        response = await denied.post("BUY 1 AAPL", content_type="text/plain",
                                     headers={**auth, "X-Forwarded-For": forwarded})  # fmt: skip
        assert response.status == 403, forwarded
        assert (await response.json())["code"] == "forbidden"
    # Only the right-most untrusted hop counts: a forged left-most entry does not get a client denied.
    response = await denied.post("BUY 1 AAPL", content_type="text/plain",
                                 headers={**auth, "X-Forwarded-For": "203.0.113.9, 198.51.100.1"})  # fmt: skip
    assert response.status == 200

    untrusting = await make_webhook(ip_denylist=["203.0.113.0/24"])
    response = await untrusting.post("BUY 1 TSLA", content_type="text/plain",
                                     headers={**auth, "X-Forwarded-For": "203.0.113.9"})  # fmt: skip
    assert response.status == 200
    assert untrusting.metric("tradecord_webhook_requests_total", outcome="forbidden") == 0


async def test_allow_list(make_webhook: MakeWebhook) -> None:
    """With an allow list, addresses outside it get 403 before anything else is looked at."""
    hook = await make_webhook(ip_allowlist=["10.0.0.0/8"], trusted_proxies=["127.0.0.1"])
    response = await hook.post("BUY 1 AAPL", content_type="text/plain", headers={"X-Tradecord-Secret": SECRET})
    assert response.status == 403
    response = await hook.post("BUY 1 AAPL", content_type="text/plain",
                               headers={"X-Tradecord-Secret": SECRET, "X-Forwarded-For": "10.1.2.3"})  # fmt: skip
    assert response.status == 200


async def test_global_limit_answers_429_with_retry_after(make_webhook: MakeWebhook) -> None:
    """Past the global per-minute budget every client gets 429 with Retry-After, and nobody is banned."""
    hook = await make_webhook(webhook_rate_global_per_minute=3, trusted_proxies=["127.0.0.1"])
    statuses = []
    for n in range(5):
        response = await hook.post("hello", content_type="text/plain", headers={"X-Forwarded-For": f"198.51.100.{n}"})
        statuses.append(response.status)
        if response.status == 429:
            assert response.headers["Retry-After"] == "20"
    assert statuses == [401, 401, 401, 429, 429]
    assert hook.metric("tradecord_webhook_rate_limited_total", scope="global") == 2
    assert hook.endpoint.guard.snapshot().active_bans == 0


async def scrape(hook: Webhook) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await hook.client.get("/metrics")
    assert response.status == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(await response.text())
        for sample in family.samples
    }


async def test_flood_engages_limits_and_a_ban_that_lifts(make_webhook: MakeWebhook) -> None:
    """300 requests from one address: the burst passes, then 429s, then a ban (shown in /api/rate-limits and
    the metrics) that spares other addresses, lifts when it expires and doubles when earned again."""
    hook = await make_webhook(
        webhook_rate_per_ip_per_minute=60,
        webhook_burst_per_ip=10,
        ban_after_violations=5,
        ban_base_seconds=60,
        ban_max_seconds=600,
        trusted_proxies=["127.0.0.1"],
    )
    flooder = {"X-Forwarded-For": "198.51.100.66"}
    statuses = []
    for _ in range(300):
        response = await hook.post("spam", content_type="text/plain", headers=flooder)
        statuses.append((response.status, (await response.json())["code"]))
        assert response.status in (401, 429)
        if response.status == 429:
            assert int(response.headers["Retry-After"]) >= 1
    assert statuses[:10] == [(401, "unauthorized")] * 10
    assert statuses[10:15] == [(429, "rate_limited")] * 5
    assert statuses[15:] == [(429, "banned")] * 285
    assert 55 <= int(response.headers["Retry-After"]) <= 60

    report = (await (await hook.client.get("/api/rate-limits")).json())["data"]["webhook"]
    assert report["active_bans"] == 1
    assert report["bans"] == [{"client": "198.51.100.66", "remaining_seconds": 60.0, "bans": 1}]
    assert report["rate_limited"] == {"ip": 5, "global": 0}
    assert report["limits"]["burst_per_ip"] == 10
    samples = await scrape(hook)
    assert samples[("tradecord_webhook_bans_active", ())] == 1
    assert samples[("tradecord_webhook_bans_total", ())] == 1
    assert samples[("tradecord_webhook_rate_limited_total", (("scope", "ip"),))] == 5
    assert samples[("tradecord_webhook_requests_total", (("outcome", "banned"),))] == 285
    assert not any("198.51.100.66" in str(labels) for _name, labels in samples)

    bystander = await hook.post("BUY 1 AAPL", content_type="text/plain",
                                headers={"X-Forwarded-For": "198.51.100.7", "X-Tradecord-Secret": SECRET})  # fmt: skip
    assert bystander.status == 200

    hook.clock.now += 60
    lifted = await hook.post("BUY 1 TSLA", content_type="text/plain",
                             headers={**flooder, "X-Tradecord-Secret": SECRET})  # fmt: skip
    assert lifted.status == 200, await lifted.text()
    assert (await lifted.json())["data"]["outcome"] == "executed"
    report = (await (await hook.client.get("/api/rate-limits")).json())["data"]["webhook"]
    assert report["active_bans"] == 0

    for _ in range(30):
        response = await hook.post("spam", content_type="text/plain", headers=flooder)
    assert response.status == 429
    report = (await (await hook.client.get("/api/rate-limits")).json())["data"]["webhook"]
    assert report["bans"][0]["bans"] == 2
    assert report["bans"][0]["remaining_seconds"] == 120.0


@pytest.fixture
def runtime_settings(tmp_path: Path) -> Callable[..., Settings]:
    def settings(**server: Any) -> Settings:
        return Settings(
            storage=StorageSettings(path=tmp_path / "tradecord.db", batch_flush_seconds=0.05),
            broker=BrokerSettings(quotes={"AAPL": Decimal("150")}),
            server=ServerSettings(port=0, webhook_secret=SECRET, metrics_token="scrape-token", **server),
        )

    return settings


async def test_runtime_serves_the_webhook_and_rate_limits(runtime_settings: Callable[..., Settings]) -> None:
    """The composed application takes webhook alerts without the bearer token and guards /api/rate-limits."""
    async with open_runtime(runtime_settings()) as runtime, aiohttp.ClientSession() as http:
        assert runtime.server is not None
        base = f"http://127.0.0.1:{runtime.server.port}"
        alert = {"ticker": "AAPL", "action": "buy", "contracts": 2, "secret": SECRET}
        async with http.post(base + URL, json=alert) as response:
            assert response.status == 200, await response.text()
            assert (await response.json())["data"]["outcome"] == "executed"
        async with http.get(base + "/api/rate-limits") as response:
            assert response.status == 401
        bearer = {"Authorization": "Bearer scrape-token"}
        async with http.get(base + "/api/rate-limits", headers=bearer) as response:
            data = (await response.json())["data"]
        assert [limiter["name"] for limiter in data["limiters"]] == ["broker"]
        assert data["limiters"][0]["acquired"] >= 1
        assert data["webhook"]["enabled"] is True
        assert data["webhook"]["limits"]["rate_per_ip_per_minute"] == 60
        async with http.get(base + "/metrics", headers=bearer) as response:
            text = await response.text()
        assert 'tradecord_signals_total{outcome="executed",source="webhook"} 1.0' in text
        assert 'tradecord_webhook_requests_total{outcome="accepted"} 1.0' in text
        assert "tradecord_webhook_bans_active 0.0" in text
        assert SECRET not in text


async def test_disabled_webhook_has_no_route(runtime_settings: Callable[..., Settings]) -> None:
    """`server.webhook_enabled = false` removes the route: 404, and /api/rate-limits shows no webhook."""
    async with open_runtime(runtime_settings(webhook_enabled=False)) as runtime, aiohttp.ClientSession() as http:
        assert runtime.server is not None
        base = f"http://127.0.0.1:{runtime.server.port}"
        async with http.post(base + URL, json={"secret": SECRET}) as response:
            assert response.status == 404
        async with http.get(base + "/api/rate-limits", headers={"Authorization": "Bearer scrape-token"}) as response:
            assert (await response.json())["data"]["webhook"] is None


async def test_a_trickled_body_is_cut_off(make_webhook: MakeWebhook, monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that declares a body and trickles part of it gets 408 instead of holding the handler forever."""
    monkeypatch.setattr("bot.web.webhook.BODY_READ_TIMEOUT_SECONDS", 0.2)
    hook = await make_webhook()
    reader, writer = await asyncio.open_connection("127.0.0.1", hook.client.port)
    writer.write(
        f"POST {URL} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nBUY".encode()
    )
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 5)
    writer.close()
    await writer.wait_closed()
    assert status_line.startswith(b"HTTP/1.1 408")
    assert hook.metric("tradecord_webhook_requests_total", outcome="bad_request") == 1

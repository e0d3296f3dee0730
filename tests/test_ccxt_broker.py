"""The CCXT adapter: real ccxt (binance) against a fake Binance spot API on 127.0.0.1."""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ccxt", reason="ccxt is an optional extra (pip install -e .[ccxt]); the adapter needs it")

from bot.app import open_runtime
from bot.domain import AssetClass, OrderRequest, OrderStatus, OrderType, Outcome, Position, Side
from bot.errors import AmbiguousOrderOutcome, BrokerError, ConfigError, OrderRejected, TemporaryBrokerError
from bot.execution.ccxt_broker import EXITS_NOT_PLACED, CcxtBroker
from bot.execution.ccxt_errors import ExchangeCredentialsRejected
from bot.execution.ccxt_setup import create_exchange, open_ccxt_broker, rewrite_api_urls
from bot.execution.submitter import OrderSubmitter, RetryPolicy
from bot.execution.token_bucket import RateLimiter, TokenBucket
from bot.metrics import Metrics
from bot.services.health import Status
from bot.services.ping_probe import ping_probe
from bot.settings import BrokerSettings, Settings
from storage.orders import OrderRepository
from storage.signals import SignalRepository
from tests.fake_broker.exchange import (
    FakeExchange,
    commit_then_drop,
    hang,
    rate_limited,
    server_error,
    venue_error,
)
from tests.support import EnvelopeFactory

ORDER = "/api/v3/order"
BrokerFactory = Callable[..., CcxtBroker]


class Sleeps:
    """Records what the limiter and the submitter would have waited, without waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def settings_for(venue: FakeExchange, **overrides: Any) -> BrokerSettings:
    values: dict[str, Any] = {
        "kind": "ccxt",
        "exchange": "binance",
        "sandbox": True,
        "base_url": venue.url,
        "key_id": venue.api_key,
        "secret_key": "fake-secret",
        "timeout_seconds": 0.5,
    }
    return BrokerSettings(**(values | overrides))


def request(cid: str = "tc-0001", **changes: Any) -> OrderRequest:
    values: dict[str, Any] = {
        "client_order_id": cid,
        "symbol": "BTC/USDT",
        "asset_class": AssetClass.CRYPTO,
        "side": Side.BUY,
        "type": OrderType.MARKET,
        "quantity": Decimal("0.01"),
    }
    return OrderRequest(**(values | changes))


@pytest.fixture
async def venue() -> AsyncIterator[FakeExchange]:
    async with FakeExchange() as fake:
        fake.set_price("BTC/USDT", Decimal("60000"))
        fake.set_price("ETH/USDT", Decimal("3000"))
        fake.set_balance("USDT", Decimal("10000"))
        yield fake


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def make_broker(venue: FakeExchange, sleeps: Sleeps) -> AsyncIterator[BrokerFactory]:
    """Brokers on the fake; `stored` plays the order table that maps client ids to symbols after a restart."""
    made: list[CcxtBroker] = []

    def make(stored: dict[str, str] | None = None, **overrides: Any) -> CcxtBroker:
        async def symbol_of(cid: str) -> str | None:
            return (stored or {}).get(cid)

        limiter = RateLimiter("broker", TokenBucket(1000.0, 1000, time.monotonic), sleep=sleeps)
        broker = open_ccxt_broker(settings_for(venue, **overrides), limiter, symbol_of=symbol_of)
        made.append(broker)
        return broker

    yield make
    for broker in made:
        await broker.close()


@pytest.fixture
async def broker(make_broker: BrokerFactory) -> CcxtBroker:
    made = make_broker()
    await made.open()
    return made


def submitter(broker: CcxtBroker, sleeps: Sleeps) -> OrderSubmitter:
    return OrderSubmitter(broker, Metrics(), RetryPolicy(max_attempts=4), sleep=sleeps)


def order_requests(venue: FakeExchange) -> list[tuple[str, str]]:
    """(method, client id) of every call on /api/v3/order, in order."""
    return [
        (r.method, r.params.get("newClientOrderId") or r.params.get("origClientOrderId", ""))
        for r in venue.requests
        if r.path == ORDER
    ]


# ---------------------------------------------------------------------------------------------- orders


async def test_market_order_fills_and_carries_our_client_id(broker: CcxtBroker, venue: FakeExchange) -> None:
    """A market buy is sent once with our client id and the API key, and fills at the venue's price."""
    ack = await broker.submit_order(request())
    assert ack.status is OrderStatus.FILLED
    assert ack.filled_quantity == Decimal("0.01") and ack.average_fill_price == Decimal("60000")
    assert ack.reason is None
    (order,) = venue.orders
    assert order.client_order_id == "tc-0001" and str(order.order_id) == ack.broker_order_id
    (post,) = venue.calls("POST", ORDER)
    assert post.params["newClientOrderId"] == "tc-0001" and post.params["quantity"] == "0.01"
    assert post.api_key == venue.api_key and "signature" in post.params


async def test_limit_order_rests_then_is_found_filled(broker: CcxtBroker, venue: FakeExchange) -> None:
    """A limit below the market rests (accepted); once the price reaches it, the look-up says filled."""
    ack = await broker.submit_order(request(type=OrderType.LIMIT, limit_price=Decimal("59000")))
    assert ack.status is OrderStatus.ACCEPTED and ack.filled_quantity == 0
    (post,) = venue.calls("POST", ORDER)
    assert post.params["type"] == "LIMIT" and post.params["price"] == "59000" and post.params["timeInForce"] == "GTC"
    venue.set_price("BTC/USDT", Decimal("58900"))
    found = await broker.get_order("tc-0001")
    assert found is not None and found.status is OrderStatus.FILLED and found.average_fill_price == Decimal("58900")


async def test_breakout_entry_is_a_stop_order_at_the_exchange(broker: CcxtBroker, venue: FakeExchange) -> None:
    """A stop (breakout) entry goes out as Binance's STOP_LOSS with the trigger as stopPrice and rests."""
    ack = await broker.submit_order(request(type=OrderType.STOP, stop_price=Decimal("61000")))
    assert ack.status is OrderStatus.ACCEPTED
    (post,) = venue.calls("POST", ORDER)
    assert post.params["type"] == "STOP_LOSS" and post.params["stopPrice"] == "61000"


async def test_exits_are_not_placed_and_cannot_be_moved(broker: CcxtBroker, venue: FakeExchange) -> None:
    """Stop loss and take profit are not sent to a spot exchange: the ack says so and replace_exits refuses."""
    ack = await broker.submit_order(request(stop_loss=Decimal("58000"), take_profit=Decimal("65000")))
    assert ack.status is OrderStatus.FILLED and ack.reason == EXITS_NOT_PLACED
    assert len(venue.calls("POST", ORDER)) == 1
    with pytest.raises(OrderRejected, match="no attached stop loss"):
        await broker.replace_exits("tc-0001", stop_loss=Decimal("59000"))


async def test_resent_client_id_of_an_open_order_returns_that_order(broker: CcxtBroker, venue: FakeExchange) -> None:
    """Binance refuses a second open order with the same client id; the adapter answers with the first one."""
    first = await broker.submit_order(request(type=OrderType.LIMIT, limit_price=Decimal("50000")))
    again = await broker.submit_order(request(type=OrderType.LIMIT, limit_price=Decimal("50000")))
    assert again.broker_order_id == first.broker_order_id and again.status is OrderStatus.ACCEPTED
    assert len(venue.orders) == 1


async def test_duplicate_client_id_whose_look_up_fails_is_ambiguous(broker: CcxtBroker, venue: FakeExchange) -> None:
    """The exchange holds an order with this id but the look-up gets no answer: unknown, not rejected."""
    await broker.submit_order(request(type=OrderType.LIMIT, limit_price=Decimal("50000")))
    venue.script("GET", ORDER, server_error(503))
    with pytest.raises(AmbiguousOrderOutcome):
        await broker.submit_order(request(type=OrderType.LIMIT, limit_price=Decimal("50000")))
    assert len(venue.orders) == 1


async def test_get_order_is_none_only_when_the_exchange_says_so(
    make_broker: BrokerFactory, venue: FakeExchange
) -> None:
    """An unknown client id is None (Binance -2013); without a known symbol nothing is confirmed."""
    broker = make_broker(stored={"tc-stored": "BTC/USDT"})
    assert await broker.get_order("tc-stored") is None
    assert venue.calls("GET", ORDER)[-1].status == 400
    with pytest.raises(BrokerError, match="no symbol"):
        await broker.get_order("tc-never-recorded")


async def test_order_is_found_after_a_restart_from_the_stored_symbol(
    make_broker: BrokerFactory, venue: FakeExchange
) -> None:
    """A fresh adapter (no memory of the order) finds it by client id through the stored symbol."""
    await make_broker().submit_order(request("tc-before-crash"))
    restarted = make_broker(stored={"tc-before-crash": "BTC/USDT"})
    found = await restarted.get_order("tc-before-crash")
    assert found is not None and found.status is OrderStatus.FILLED
    assert venue.calls("GET", ORDER)[-1].params["origClientOrderId"] == "tc-before-crash"


async def test_cancel_resting_filled_and_unknown_orders(broker: CcxtBroker, venue: FakeExchange) -> None:
    """A resting order is canceled; a filled one comes back filled; an order the venue lacks is rejected."""
    await broker.submit_order(request("tc-rest", type=OrderType.LIMIT, limit_price=Decimal("50000")))
    canceled = await broker.cancel_order("tc-rest")
    assert canceled.status is OrderStatus.CANCELED
    assert venue.orders_with("tc-rest")[0].status == "CANCELED"
    await broker.submit_order(request("tc-filled"))
    assert (await broker.cancel_order("tc-filled")).status is OrderStatus.FILLED
    # Canceling it again: Binance answers -2011, and the look-up shows it canceled.
    assert (await broker.cancel_order("tc-rest")).status is OrderStatus.CANCELED
    with pytest.raises(OrderRejected, match="no order with client id"):
        await broker.cancel_order("tc-unknown")


# ---------------------------------------------------------------------------------------------- rejections


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"quantity": Decimal("1")}, "insufficient balance"),  # -2010
        ({"quantity": Decimal("0.00005")}, "LOT_SIZE"),  # -1013 filter failure
    ],
)
async def test_definite_rejections_are_order_rejected(
    broker: CcxtBroker, venue: FakeExchange, changes: dict[str, Any], message: str
) -> None:
    """Binance's -2010 (insufficient balance) and -1013 (filter failure) are final rejections."""
    with pytest.raises(OrderRejected, match=message) as caught:
        await broker.submit_order(request(**changes))
    assert not isinstance(caught.value, ExchangeCredentialsRejected)
    assert venue.orders == [] and venue.calls("POST", ORDER)[0].status == 400


async def test_notional_filter_and_unknown_symbol_are_rejected(broker: CcxtBroker, venue: FakeExchange) -> None:
    """An order worth less than the minimum notional, and a symbol the exchange does not list, are refused."""
    venue.set_price("ETH/USDT", Decimal("10"))
    with pytest.raises(OrderRejected, match="NOTIONAL"):
        await broker.submit_order(request(symbol="ETH/USDT", quantity=Decimal("0.01")))
    with pytest.raises(OrderRejected, match="not a market"):
        await broker.submit_order(request(symbol="DOGE/EUR"))
    assert venue.orders == []


async def test_wrong_api_key_is_a_credentials_error(make_broker: BrokerFactory, venue: FakeExchange) -> None:
    """Binance -2015 (invalid key) is a final, clearly worded credentials rejection."""
    broker = make_broker(key_id="not-the-key")
    with pytest.raises(ExchangeCredentialsRejected, match=r"broker\.key_id"):
        await broker.submit_order(request())
    with pytest.raises(ExchangeCredentialsRejected):
        await broker.account()
    assert venue.orders == []


# ---------------------------------------------------------------------------------------------- faults


@pytest.mark.parametrize("status", [429, 418])
async def test_rate_limit_is_temporary_and_pauses_the_bucket(
    broker: CcxtBroker, venue: FakeExchange, sleeps: Sleeps, status: int
) -> None:
    """429/418 become TemporaryBrokerError(rate_limited) with Retry-After, and the bucket pays the pause."""
    venue.script("POST", ORDER, rate_limited(retry_after=2, status=status))
    with pytest.raises(TemporaryBrokerError) as caught:
        await broker.submit_order(request())
    assert caught.value.kind == "rate_limited" and caught.value.retry_after == 2.0
    assert venue.orders == []
    await broker.last_price("BTC/USDT")  # the next request waits out the pause first
    assert sleeps.delays and sleeps.delays[-1] >= 1.9


async def test_rate_limited_read_is_temporary(broker: CcxtBroker, venue: FakeExchange) -> None:
    """A 429 on any other call is the same temporary, rate-limited error."""
    venue.script("GET", "/api/v3/account", rate_limited(retry_after=1))
    with pytest.raises(TemporaryBrokerError) as caught:
        await broker.positions()
    assert caught.value.kind == "rate_limited"


@pytest.mark.parametrize(
    "fault",
    [server_error(503), server_error(502), venue_error(500, -1001, "Internal error; unable to process your request.")],
)
async def test_5xx_on_order_creation_is_ambiguous(broker: CcxtBroker, venue: FakeExchange, fault: Any) -> None:
    """Binance documents a 5xx as "execution status unknown": the order must be looked up, not re-sent."""
    venue.script("POST", ORDER, fault)
    with pytest.raises(AmbiguousOrderOutcome):
        await broker.submit_order(request())


async def test_5xx_on_a_read_is_temporary(broker: CcxtBroker, venue: FakeExchange) -> None:
    """A 5xx while reading balances is a temporary error (nothing to reconcile)."""
    venue.script("GET", "/api/v3/account", server_error(503))
    with pytest.raises(TemporaryBrokerError):
        await broker.account()


async def test_maintenance_is_temporary(broker: CcxtBroker, venue: FakeExchange) -> None:
    """The exchange's "System is under maintenance." accepted nothing: temporary, safe to retry."""
    venue.script("POST", ORDER, venue_error(503, 1, "System is under maintenance."))
    with pytest.raises(TemporaryBrokerError) as caught:
        await broker.submit_order(request())
    assert caught.value.kind == "temporary"


@pytest.mark.parametrize("fault", [hang(), hang(commit=True), commit_then_drop()])
async def test_no_answer_is_ambiguous(broker: CcxtBroker, venue: FakeExchange, fault: Any) -> None:
    """A request that times out or loses its connection has an unknown outcome."""
    venue.script("POST", ORDER, fault)
    with pytest.raises(AmbiguousOrderOutcome):
        await broker.submit_order(request())


async def test_timeout_on_a_look_up_is_temporary(broker: CcxtBroker, venue: FakeExchange) -> None:
    """A look-up that times out confirms nothing: a temporary error, never None."""
    await broker.submit_order(request())
    venue.script("GET", ORDER, hang())
    with pytest.raises(TemporaryBrokerError) as caught:
        await broker.get_order("tc-0001")
    assert caught.value.kind == "timeout"


# ---------------------------------------------------------------------------------------------- submitter


@pytest.mark.parametrize("fault", [hang(), server_error(503)])
async def test_unanswered_order_is_looked_up_before_it_is_sent_again(
    broker: CcxtBroker, venue: FakeExchange, sleeps: Sleeps, fault: Any
) -> None:
    """Through the submitter: no answer, then a look-up confirms absence, then one re-send with the same id."""
    venue.script("POST", ORDER, fault)
    submission = await submitter(broker, sleeps).submit(request())
    assert submission.ack.status is OrderStatus.FILLED and submission.attempts == 2
    assert order_requests(venue) == [("POST", "tc-0001"), ("GET", "tc-0001"), ("POST", "tc-0001")]
    assert len(venue.orders) == 1


@pytest.mark.parametrize("fault", [hang(commit=True), commit_then_drop()])
async def test_order_the_exchange_took_is_found_not_resent(
    broker: CcxtBroker, venue: FakeExchange, sleeps: Sleeps, fault: Any
) -> None:
    """Through the submitter: the exchange stored the order but never answered; the look-up finds it."""
    venue.script("POST", ORDER, fault)
    submission = await submitter(broker, sleeps).submit(request())
    assert submission.ack.status is OrderStatus.FILLED and submission.attempts == 1
    assert order_requests(venue) == [("POST", "tc-0001"), ("GET", "tc-0001")]
    assert len(venue.orders_with("tc-0001")) == 1


async def test_look_up_that_fails_leaves_the_order_unknown(
    broker: CcxtBroker, venue: FakeExchange, sleeps: Sleeps
) -> None:
    """When the look-up itself gets no answer, nothing is re-sent: the order stays unknown for recovery."""
    venue.script("POST", ORDER, commit_then_drop())
    venue.script("GET", ORDER, server_error(503))
    submission = await submitter(broker, sleeps).submit(request())
    assert submission.ack.status is OrderStatus.UNKNOWN
    assert [m for m, _ in order_requests(venue)] == ["POST", "GET"]


async def test_rate_limited_order_is_retried_with_the_same_id_after_retry_after(
    broker: CcxtBroker, venue: FakeExchange, sleeps: Sleeps
) -> None:
    """Through the submitter: a 429 is retried with the same client id, no sooner than Retry-After."""
    venue.script("POST", ORDER, rate_limited(retry_after=3))
    submission = await submitter(broker, sleeps).submit(request())
    assert submission.ack.status is OrderStatus.FILLED and submission.attempts == 2
    assert order_requests(venue) == [("POST", "tc-0001"), ("POST", "tc-0001")]
    assert max(sleeps.delays) >= 3.0
    assert len(venue.orders) == 1


async def test_definite_rejection_is_not_retried(broker: CcxtBroker, venue: FakeExchange, sleeps: Sleeps) -> None:
    """Through the submitter: an insufficient-balance rejection ends the leg after one request."""
    submission = await submitter(broker, sleeps).submit(request(quantity=Decimal("5")))
    assert submission.ack.status is OrderStatus.REJECTED and submission.attempts == 1
    assert "insufficient balance" in (submission.ack.reason or "")
    assert order_requests(venue) == [("POST", "tc-0001")]


# ---------------------------------------------------------------------------------------------- account


async def test_balances_are_positions_marked_at_the_last_price(broker: CcxtBroker, venue: FakeExchange) -> None:
    """Non-zero balances against the quote currency are positions; cash is the quote balance."""
    await broker.submit_order(request(quantity=Decimal("0.1")))
    venue.set_price("BTC/USDT", Decimal("61000"))
    assert await broker.positions() == [Position("BTC/USDT", Decimal("0.1"), Decimal("61000"), Decimal("61000"))]
    account = await broker.account()
    assert account.cash == Decimal("4000") and account.equity == Decimal("10100") and account.currency == "USDT"


async def test_last_price(broker: CcxtBroker, venue: FakeExchange) -> None:
    """The ticker's last price, None for a symbol the exchange does not list."""
    assert await broker.last_price("BTC/USDT") == Decimal("60000")
    assert await broker.last_price("NOPE/USDT") is None


async def test_every_exchange_request_passes_the_token_bucket(broker: CcxtBroker, venue: FakeExchange) -> None:
    """One token per ccxt call, and each call here is one HTTP request (markets were loaded at open)."""
    limiter: RateLimiter = broker._limiter
    before_tokens, before_requests = limiter.stats.acquired, len(venue.requests)
    await broker.submit_order(request())
    await broker.get_order("tc-0001")
    await broker.account()
    await broker.last_price("BTC/USDT")
    assert limiter.stats.acquired - before_tokens == len(venue.requests) - before_requests == 5


# ---------------------------------------------------------------------------------------------- setup


def test_base_url_moves_every_api_url_and_keeps_paths() -> None:
    """Each ccxt API URL keeps its path under the configured root; non-URLs are left alone."""
    urls = {"public": "https://api.binance.com/api/v3", "nested": {"fapi": "https://fapi.binance.com/fapi/v1"}}
    assert rewrite_api_urls(urls, "http://127.0.0.1:9/") == {
        "public": "http://127.0.0.1:9/api/v3",
        "nested": {"fapi": "http://127.0.0.1:9/fapi/v1"},
    }


def test_default_base_url_leaves_the_exchange_urls() -> None:
    """With the (Alpaca) default base_url the exchange keeps its own hosts, here Binance's testnet."""
    exchange = create_exchange(BrokerSettings(kind="ccxt", exchange="binance", sandbox=True))
    assert exchange.urls["api"]["public"] == "https://testnet.binance.vision/api/v3"
    assert exchange.enableRateLimit is False and exchange.timeout == 10_000


def test_unknown_exchange_id_is_a_config_error() -> None:
    """An id ccxt does not know is named in a ConfigError."""
    with pytest.raises(ConfigError, match="'nosuchexchange' is not a ccxt exchange id"):
        create_exchange(BrokerSettings(kind="ccxt", exchange="nosuchexchange", sandbox=True))


def test_missing_ccxt_is_a_config_error_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the ccxt package, kind = "ccxt" fails with the install command (ccxt made unimportable)."""
    monkeypatch.setitem(sys.modules, "ccxt.async_support", None)
    with pytest.raises(ConfigError, match=r"pip install -e \.\[ccxt\]"):
        create_exchange(BrokerSettings(kind="ccxt", exchange="binance", sandbox=True))


async def test_close_closes_the_exchange_session(make_broker: BrokerFactory) -> None:
    """close() ends ccxt's HTTP session (the composition root calls it at shutdown)."""
    broker = make_broker()
    await broker.open()
    session = broker._exchange.session
    assert session is not None and not session.closed
    await broker.close()
    assert session.closed


# ---------------------------------------------------------------------------------------------- wiring


@pytest.mark.slow
async def test_runtime_trades_on_the_exchange_and_recovers_by_stored_symbol(
    venue: FakeExchange, tmp_path: Path, make_envelope: EnvelopeFactory
) -> None:
    """kind = "ccxt" in the composition root: an order whose answer and look-up were both lost stays
    unknown; the next start's adapter (which remembers nothing) finds it by client id, never re-sends it."""
    settings = Settings(
        broker=settings_for(venue, order_poll_seconds=3600),  # only start-up recovery looks orders up
        signals={"default_quantity": "0.01"},
        storage={"path": tmp_path / "tradecord.db"},
        server={"enabled": False},
    )
    venue.script("POST", ORDER, hang(commit=True))
    venue.script("GET", ORDER, server_error(503))
    async with open_runtime(settings) as runtime:
        first = await runtime.services.intake.handle(make_envelope("BUY BTC/USDT"))
    assert [ack.status for ack in first.orders] == [OrderStatus.UNKNOWN]
    async with open_runtime(settings) as runtime:
        record = await OrderRepository(runtime.db).get(first.orders[0].client_order_id)
        signal = await SignalRepository(runtime.db).get(first.signal_id or "")
    assert record is not None and record.status is OrderStatus.FILLED
    assert signal is not None and signal.outcome is Outcome.EXECUTED
    assert len(venue.calls("POST", ORDER)) == 1 and len(venue.orders) == 1


async def test_health_pings_the_exchange_clock_at_most_every_30_seconds(
    broker: CcxtBroker, venue: FakeExchange
) -> None:
    now = [1000.0]
    probe = ping_probe("ccxt (binance)", broker.ping, clock=lambda: now[0])
    assert (await probe()).status is Status.OK
    assert (await probe()).status is Status.OK  # answered from the last ping
    assert len(venue.calls("GET", "/api/v3/time")) == 1
    venue.script("GET", "/api/v3/time", server_error(503))
    now[0] += 31
    down = await probe()
    assert down.status is Status.CRITICAL and "unreachable" in down.detail

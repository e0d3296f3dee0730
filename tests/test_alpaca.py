"""The Alpaca adapter against the fake Alpaca over real sockets: request shapes, error mapping, faults, and
what the submitter makes of them (same client id on retries, look-ups after ambiguity, never two orders)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from bot.domain import AssetClass, OrderRequest, OrderStatus, OrderType, Side
from bot.errors import (
    AmbiguousOrderOutcome,
    BrokerRequestRefused,
    ConfigError,
    OrderRejected,
    TemporaryBrokerError,
)
from bot.execution.alpaca import AlpacaBroker
from bot.execution.alpaca_codec import map_status
from bot.execution.submitter import OrderSubmitter, RetryPolicy
from bot.execution.token_bucket import RateLimiter, TokenBucket
from bot.metrics import Metrics
from bot.services.health import Status
from bot.services.venue_probe import venue_probe
from tests.fake_broker import DEFAULT_KEY_ID, DEFAULT_SECRET_KEY, FakeAlpaca, Fault, Route

TIMEOUT = 0.25  # long enough for any loopback answer, short enough that hangs keep the suite fast
BrokerFactory = Callable[..., AlpacaBroker]


@pytest.fixture
async def venue() -> AsyncIterator[FakeAlpaca]:
    async with FakeAlpaca(prices={"AAPL": "150", "TSLA": "250", "BTC/USD": "60000"}) as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def limiter() -> RateLimiter:
    return RateLimiter("broker", TokenBucket(10_000.0, 10_000, time.monotonic))


@pytest.fixture
def make_broker(venue: FakeAlpaca, http: aiohttp.ClientSession, limiter: RateLimiter) -> BrokerFactory:
    def factory(**overrides: Any) -> AlpacaBroker:
        options: dict[str, Any] = {
            "base_url": venue.base_url,
            "data_url": venue.data_url,
            "key_id": DEFAULT_KEY_ID,
            "secret_key": DEFAULT_SECRET_KEY,
            "limiter": limiter,
            "timeout_seconds": TIMEOUT,
        } | overrides
        return AlpacaBroker(http, **options)

    return factory


@pytest.fixture
def broker(make_broker: BrokerFactory) -> AlpacaBroker:
    return make_broker()


def order(cid: str = "tc-1", **fields: Any) -> OrderRequest:
    values: dict[str, Any] = {
        "client_order_id": cid,
        "symbol": "AAPL",
        "asset_class": AssetClass.EQUITY,
        "side": Side.BUY,
        "type": OrderType.MARKET,
        "quantity": Decimal(10),
    } | fields
    return OrderRequest(**values)


def resting_bracket(cid: str = "tc-rest") -> OrderRequest:
    """A buy limit below the market: it rests, with its stop and target legs held."""
    return order(cid, type=OrderType.LIMIT, limit_price=Decimal(140), stop_loss=Decimal(130), take_profit=Decimal(170))


def posted_bodies(venue: FakeAlpaca) -> list[Any]:
    return [request.body for request in venue.requests_for(Route.SUBMIT_ORDER)]


async def no_sleep(_seconds: float) -> None:
    return None


def submitter(broker: AlpacaBroker, attempts: int = 4) -> OrderSubmitter:
    return OrderSubmitter(broker, Metrics(), RetryPolicy(max_attempts=attempts), sleep=no_sleep)


# ------------------------------------------------------------------------------------- request shapes


async def test_bracket_order_is_posted_with_alpaca_fields_and_string_decimals(
    broker: AlpacaBroker, venue: FakeAlpaca
) -> None:
    """A limit entry with a stop and a target becomes one bracket POST with decimals as strings."""
    ack = await broker.submit_order(
        order(type=OrderType.LIMIT, limit_price=Decimal("150.25"), stop_loss=Decimal(145), take_profit=Decimal(160))
    )
    assert posted_bodies(venue) == [
        {
            "symbol": "AAPL",
            "qty": "10",
            "side": "buy",
            "type": "limit",
            "time_in_force": "gtc",
            "client_order_id": "tc-1",
            "limit_price": "150.25",
            "take_profit": {"limit_price": "160"},
            "stop_loss": {"stop_price": "145"},
            "order_class": "bracket",
        }
    ]
    (placed,) = venue.orders
    assert ack.status is OrderStatus.FILLED and ack.broker_order_id == placed.id
    assert ack.filled_quantity == Decimal(10) and ack.average_fill_price == Decimal(150)
    assert [(leg.type, leg.status) for leg in placed.legs] == [("limit", "new"), ("stop", "new")]


@pytest.mark.parametrize(
    ("exits", "order_class"),
    [({"stop_loss": Decimal(140)}, "oto"), ({"take_profit": Decimal(160)}, "oto"), ({}, None)],
)
async def test_one_exit_is_oto_and_none_is_simple(
    broker: AlpacaBroker, venue: FakeAlpaca, exits: dict[str, Any], order_class: str | None
) -> None:
    """With only a stop or only a target the order is `oto`; without exits it is a simple order."""
    await broker.submit_order(order(**exits))
    (body,) = posted_bodies(venue)
    assert body.get("order_class") == order_class
    assert ("stop_loss" in body, "take_profit" in body) == ("stop_loss" in exits, "take_profit" in exits)


async def test_reduce_only_close_and_breakout_entry(broker: AlpacaBroker, venue: FakeAlpaca) -> None:
    """A reduce-only close is a plain market order; a breakout entry is a stop order with its stop price."""
    await broker.submit_order(order("tc-open"))
    await broker.submit_order(order("tc-close", side=Side.SELL, reduce_only=True, stop_loss=Decimal(1)))
    await broker.submit_order(order("tc-break", type=OrderType.STOP, stop_price=Decimal("155.5"), quantity=Decimal(2)))
    close, breakout = posted_bodies(venue)[1:]
    assert close == {
        "symbol": "AAPL", "qty": "10", "side": "sell", "type": "market", "time_in_force": "gtc",
        "client_order_id": "tc-close",
    }  # fmt: skip
    assert breakout["type"] == "stop" and breakout["stop_price"] == "155.5"
    assert venue.positions == {}
    resting = venue.order("tc-break")
    assert resting is not None and resting.status == "new"


@pytest.mark.parametrize(
    ("status", "filled", "expected"),
    [
        ("new", "0", OrderStatus.ACCEPTED),
        ("accepted", "0", OrderStatus.ACCEPTED),
        ("pending_new", "0", OrderStatus.ACCEPTED),
        ("accepted_for_bidding", "0", OrderStatus.ACCEPTED),
        ("held", "0", OrderStatus.ACCEPTED),
        ("partially_filled", "4", OrderStatus.PARTIALLY_FILLED),
        ("filled", "10", OrderStatus.FILLED),
        ("done_for_day", "0", OrderStatus.ACCEPTED),
        ("done_for_day", "4", OrderStatus.PARTIALLY_FILLED),
        ("canceled", "0", OrderStatus.CANCELED),
        ("expired", "0", OrderStatus.EXPIRED),
        ("replaced", "0", OrderStatus.ACCEPTED),
        ("pending_cancel", "0", OrderStatus.ACCEPTED),
        ("pending_replace", "4", OrderStatus.PARTIALLY_FILLED),
        ("stopped", "0", OrderStatus.ACCEPTED),
        ("rejected", "0", OrderStatus.REJECTED),
        ("suspended", "0", OrderStatus.ACCEPTED),
        ("calculated", "10", OrderStatus.FILLED),
        ("calculated", "4", OrderStatus.PARTIALLY_FILLED),
        ("something_new", "0", OrderStatus.UNKNOWN),
    ],
)
def test_every_alpaca_status_maps_to_ours(status: str, filled: str, expected: OrderStatus) -> None:
    """Each documented Alpaca status has a fixed meaning for us; an undocumented one is `unknown`."""
    assert map_status(status, quantity=Decimal(10), filled=Decimal(filled)) is expected


# ------------------------------------------------------------------------------------ error mapping


async def test_insufficient_buying_power_is_a_rejection_with_alpacas_message(broker: AlpacaBroker) -> None:
    """403 from the order POST is final, and the user sees Alpaca's reason."""
    with pytest.raises(OrderRejected, match=r"\(403\): insufficient buying power"):
        await broker.submit_order(order(quantity=Decimal(1_000_000)))


async def test_invalid_order_is_a_rejection_with_alpacas_message(broker: AlpacaBroker) -> None:
    """422 (here a target below a buy's entry) is final, with Alpaca's reason."""
    with pytest.raises(OrderRejected, match=r"422.*take_profit.limit_price must be > base_price"):
        await broker.submit_order(order(stop_loss=Decimal(140), take_profit=Decimal(149)))


async def test_duplicate_client_id_returns_the_order_the_venue_already_has(
    broker: AlpacaBroker, venue: FakeAlpaca
) -> None:
    """A 422 for a taken client id is not an error: the existing order's record comes back, nothing new."""
    first = await broker.submit_order(order())
    again = await broker.submit_order(order())
    assert again == first
    assert len(venue.orders) == 1
    assert [r.status for r in venue.requests_for(Route.SUBMIT_ORDER)] == [200, 422]


async def test_429_is_temporary_with_retry_after_and_pauses_the_bucket(
    venue: FakeAlpaca, make_broker: BrokerFactory
) -> None:
    """A 429 carries Retry-After to the caller and drains our bucket so the next request waits that long."""
    now = [0.0]
    waits: list[float] = []

    async def record_wait(seconds: float) -> None:
        waits.append(seconds)

    paced = RateLimiter("broker", TokenBucket(10.0, 10, lambda: now[0]), sleep=record_wait)
    broker = make_broker(limiter=paced)
    venue.script(Route.SUBMIT_ORDER, Fault.RATE_LIMITED, retry_after=2.5)
    with pytest.raises(TemporaryBrokerError) as caught:
        await broker.submit_order(order())
    assert caught.value.kind == "rate_limited" and caught.value.retry_after == 2.5
    await broker.submit_order(order())
    (wait,) = waits
    assert 2.5 <= wait <= 2.5 + 1 / 10  # the pause, plus at most one token's spacing at 10/s
    assert len(venue.orders) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_temporary_and_place_nothing(
    broker: AlpacaBroker, venue: FakeAlpaca, status: int
) -> None:
    """5xx other than 504 means the venue answered without accepting: temporary, nothing stored."""
    venue.script(Route.SUBMIT_ORDER, Fault.SERVER_ERROR, status=status)
    with pytest.raises(TemporaryBrokerError) as caught:
        await broker.submit_order(order())
    assert caught.value.kind == "server_error" and venue.orders == []


@pytest.mark.parametrize("fault", [Fault.HANG, Fault.COMMIT_THEN_DROP, Fault.COMMIT_THEN_GARBLE])
async def test_unknowable_post_outcomes_are_ambiguous(broker: AlpacaBroker, venue: FakeAlpaca, fault: Fault) -> None:
    """A timeout, a dropped connection and an unreadable 200 all leave the order's fate unknown."""
    venue.script(Route.SUBMIT_ORDER, fault)
    with pytest.raises(AmbiguousOrderOutcome, match="may have acted on it"):
        await broker.submit_order(order())


async def test_504_is_ambiguous_for_an_order_and_temporary_for_a_read(broker: AlpacaBroker, venue: FakeAlpaca) -> None:
    """A gateway timeout may hide an accepted order, but a read it interrupted changed nothing."""
    venue.script(Route.SUBMIT_ORDER, Fault.SERVER_ERROR, status=504)
    with pytest.raises(AmbiguousOrderOutcome):
        await broker.submit_order(order())
    venue.script(Route.ACCOUNT, Fault.SERVER_ERROR, status=504)
    with pytest.raises(TemporaryBrokerError) as caught:
        await broker.account()
    assert caught.value.kind == "timeout"


async def test_connection_refused_is_temporary_because_nothing_was_sent(
    make_broker: BrokerFactory, venue: FakeAlpaca
) -> None:
    """When no connection could be made the venue cannot have the order: a plain temporary error."""
    closed = make_broker(base_url="http://127.0.0.1:9")  # the discard port: nothing listens there
    with pytest.raises(TemporaryBrokerError) as caught:
        await closed.submit_order(order())
    assert caught.value.kind == "network"


async def test_get_order_is_none_only_when_alpaca_says_404(broker: AlpacaBroker, venue: FakeAlpaca) -> None:
    """Absence is the venue's 404; a hung, failed or garbled look-up raises instead of looking like absence."""
    assert await broker.get_order("tc-nothing") is None
    venue.script(Route.ORDER_BY_CLIENT_ID, Fault.HANG)
    with pytest.raises(TemporaryBrokerError, match="timeout"):
        await broker.get_order("tc-nothing")
    venue.script(Route.ORDER_BY_CLIENT_ID, Fault.SERVER_ERROR)
    with pytest.raises(TemporaryBrokerError, match="500"):
        await broker.get_order("tc-nothing")
    venue.script(Route.ORDER_BY_CLIENT_ID, Fault.COMMIT_THEN_GARBLE)
    with pytest.raises(TemporaryBrokerError, match="not JSON"):
        await broker.get_order("tc-nothing")
    first_look_up = venue.requests_for(Route.ORDER_BY_CLIENT_ID)[0]
    assert first_look_up.query == {"client_order_id": "tc-nothing"}


async def test_404_that_is_not_alpacas_is_not_taken_for_absence(make_broker: BrokerFactory, venue: FakeAlpaca) -> None:
    """A base URL that answers a bare 404 (a proxy, a wrong path) must not confirm that an order is absent."""
    wrong_root = make_broker(base_url=venue.base_url + "/not-alpaca")
    with pytest.raises(BrokerRequestRefused, match=r"check broker\.base_url"):
        await wrong_root.get_order("tc-1")


async def test_wrong_keys_reject_orders_and_refuse_reads_and_never_leak(
    make_broker: BrokerFactory, venue: FakeAlpaca
) -> None:
    """403 for bad keys: an order is rejected, a read refused, and neither message nor repr holds the secret."""
    secret = "s3cr3t-that-must-not-leak"
    wrong = make_broker(secret_key=secret)
    with pytest.raises(OrderRejected, match="403") as rejected:
        await wrong.submit_order(order())
    with pytest.raises(BrokerRequestRefused, match="403") as refused:
        await wrong.positions()
    for text in (str(rejected.value), str(refused.value), repr(wrong)):
        assert secret not in text and DEFAULT_KEY_ID not in text


async def test_missing_keys_get_401_from_the_fake(venue: FakeAlpaca, http: aiohttp.ClientSession) -> None:
    """The fake itself checks authentication, so a test cannot pass with headers the adapter forgot."""
    async with http.get(venue.base_url + "/v2/account") as response:
        assert response.status == 401
        assert (await response.json())["code"] == 40110000


def test_live_host_needs_live_true(http: aiohttp.ClientSession, limiter: RateLimiter) -> None:
    """Alpaca's real-money host is refused unless `broker.live = true`, with the key named."""
    options: dict[str, Any] = {"key_id": "k", "secret_key": "s", "limiter": limiter}
    with pytest.raises(ConfigError, match=r"^broker\.live: "):
        AlpacaBroker(http, base_url="https://api.alpaca.markets", **options)
    assert AlpacaBroker(http, base_url="https://api.alpaca.markets", live=True, **options).name == "alpaca"


# ------------------------------------------------------------------------------------ shorts and reads


async def test_sell_without_a_position_is_refused_unless_shorts_are_allowed(
    make_broker: BrokerFactory, venue: FakeAlpaca
) -> None:
    """A SELL open with nothing held would be a short: refused before any POST unless allow_short."""
    with pytest.raises(OrderRejected, match=r"would open a short; set broker\.allow_short = true"):
        await make_broker().submit_order(order("tc-short", side=Side.SELL))
    assert posted_bodies(venue) == [] and len(venue.requests_for(Route.POSITION)) == 1
    await make_broker(allow_short=True).submit_order(order("tc-short", side=Side.SELL))
    assert venue.positions == {"AAPL": Decimal(-10)}


async def test_sell_of_a_held_position_is_not_a_short(broker: AlpacaBroker, venue: FakeAlpaca) -> None:
    """Selling what is held passes the short check."""
    await broker.submit_order(order("tc-buy", quantity=Decimal(20)))
    ack = await broker.submit_order(order("tc-sell", side=Side.SELL))
    assert ack.status is OrderStatus.FILLED and venue.positions == {"AAPL": Decimal(10)}


async def test_positions_account_and_prices(make_broker: BrokerFactory, venue: FakeAlpaca) -> None:
    """Positions are signed, the account has cash and equity (realized PnL 0), prices come as exact decimals."""
    broker = make_broker(allow_short=True)
    await broker.submit_order(order("tc-buy"))
    await broker.submit_order(order("tc-tsla", symbol="TSLA", side=Side.SELL, quantity=Decimal(2)))
    positions = sorted(await broker.positions(), key=lambda p: p.symbol)
    assert [(p.symbol, p.quantity, p.average_price) for p in positions] == [
        ("AAPL", Decimal(10), Decimal(150)),
        ("TSLA", Decimal(-2), Decimal(250)),
    ]
    account = await broker.account()
    assert account.cash == Decimal(100_000 - 1500 + 500) and account.equity == Decimal(100_000)
    assert account.realized_pnl == 0 and account.currency == "USD"
    venue.set_price("AAPL", "151.37")
    assert await broker.last_price("AAPL") == Decimal("151.37")
    assert await broker.last_price("BTC/USD") == Decimal(60000)
    assert await broker.last_price("NOPE") is None
    assert await broker.last_price("ETH/USD") is None


async def test_unsupported_asset_classes_are_refused_locally(broker: AlpacaBroker, venue: FakeAlpaca) -> None:
    """Forex and option legs cannot be placed at Alpaca by this adapter: refused without a request."""
    for asset_class in (AssetClass.FOREX, AssetClass.OPTION):
        with pytest.raises(OrderRejected):
            await broker.submit_order(order(symbol="EUR/USD", asset_class=asset_class))
    assert venue.requests == []


# --------------------------------------------------------------------------------- cancel and exits


async def test_cancel_a_resting_bracket_cancels_its_legs(broker: AlpacaBroker, venue: FakeAlpaca) -> None:
    """DELETE by the venue id found from our client id; the re-read says canceled, legs canceled too."""
    await broker.submit_order(resting_bracket())
    ack = await broker.cancel_order("tc-rest")
    (placed,) = venue.orders
    assert ack.status is OrderStatus.CANCELED
    assert venue.requests_for(Route.CANCEL_ORDER)[0].path == f"/v2/orders/{placed.id}"
    assert [leg.status for leg in placed.legs] == ["canceled", "canceled"]


async def test_cancel_of_a_filled_order_says_filled_and_sends_no_delete(
    broker: AlpacaBroker, venue: FakeAlpaca
) -> None:
    """An order that already filled comes back filled; an unknown client id is a rejection."""
    await broker.submit_order(order())
    assert (await broker.cancel_order("tc-1")).status is OrderStatus.FILLED
    assert venue.requests_for(Route.CANCEL_ORDER) == []
    with pytest.raises(OrderRejected, match="no order with client id tc-missing"):
        await broker.cancel_order("tc-missing")


async def test_replace_exits_patches_the_stop_and_target_legs(broker: AlpacaBroker, venue: FakeAlpaca) -> None:
    """Moving exits PATCHes each leg (stop_price, limit_price); the venue's legs then carry the new prices."""
    await broker.submit_order(resting_bracket())
    ack = await broker.replace_exits("tc-rest", stop_loss=Decimal("135.5"), take_profit=Decimal(175))
    assert ack.status is OrderStatus.ACCEPTED
    assert [r.body for r in venue.requests_for(Route.REPLACE_ORDER)] == [
        {"stop_price": "135.5"},
        {"limit_price": "175"},
    ]
    assert venue.requests_for(Route.GET_ORDER)[0].query == {"nested": "true"}
    (placed,) = venue.orders
    assert [(leg.type, leg.limit_price, leg.stop_price) for leg in placed.legs] == [
        ("limit", Decimal(175), None),
        ("stop", None, Decimal("135.5")),
    ]


async def test_replace_exits_refuses_a_missing_leg_or_a_closed_order(broker: AlpacaBroker, venue: FakeAlpaca) -> None:
    """No stop leg to move, or a canceled order: a rejection, and nothing is patched."""
    await broker.submit_order(order("tc-tp", type=OrderType.LIMIT, limit_price=Decimal(140), take_profit=Decimal(170)))
    with pytest.raises(OrderRejected, match="no open stop-loss leg"):
        await broker.replace_exits("tc-tp", stop_loss=Decimal(130))
    await broker.cancel_order("tc-tp")
    with pytest.raises(OrderRejected, match="is canceled"):
        await broker.replace_exits("tc-tp", take_profit=Decimal(180))
    assert venue.requests_for(Route.REPLACE_ORDER) == []


# ----------------------------------------------------------------------------------- bucket and health


async def test_every_request_passes_the_token_bucket(
    broker: AlpacaBroker, venue: FakeAlpaca, limiter: RateLimiter
) -> None:
    """Orders, look-ups, positions, prices and cancels each take one token: tokens taken == requests sent."""
    await broker.submit_order(order())
    await broker.submit_order(order())  # duplicate: POST + look-up
    await broker.submit_order(resting_bracket())
    await broker.replace_exits("tc-rest", stop_loss=Decimal(131))
    await broker.cancel_order("tc-rest")
    await broker.get_order("tc-1")
    await broker.positions()
    await broker.account()
    await broker.last_price("AAPL")
    await broker.market_open()
    assert limiter.stats.acquired == len(venue.requests) == 15


async def test_health_probe_reuses_recent_contact_and_reports_failures(
    make_broker: BrokerFactory, venue: FakeAlpaca
) -> None:
    """The probe asks /v2/clock only when nothing was heard recently, and reports 429 and 5xx honestly."""
    now = [1000.0]
    broker = make_broker(clock=lambda: now[0])
    probe = venue_probe(broker, fresh_seconds=30, clock=lambda: now[0])
    first = await probe()
    assert first.status is Status.OK and "alpaca reachable" in first.detail and "market open" in first.detail
    await broker.positions()
    await probe()
    assert len(venue.requests_for(Route.CLOCK)) == 1  # the positions read was recent enough
    venue.script(Route.ACCOUNT, Fault.RATE_LIMITED, retry_after=0.01)
    with pytest.raises(TemporaryBrokerError):
        await broker.account()
    assert (await probe()).status is Status.WARNING
    now[0] += 3600
    venue.script(Route.CLOCK, Fault.SERVER_ERROR, status=503)
    report = await probe()
    assert report.status is Status.CRITICAL and "503" in report.detail


# ------------------------------------------------------------------------------ through the submitter


async def test_submitter_retries_429_and_5xx_with_the_same_client_id(broker: AlpacaBroker, venue: FakeAlpaca) -> None:
    """Nothing accepted means a retry with the same client id; the venue ends with one order."""
    venue.script(Route.SUBMIT_ORDER, Fault.RATE_LIMITED, retry_after=0.01)
    venue.script(Route.SUBMIT_ORDER, Fault.SERVER_ERROR, status=503)
    submission = await submitter(broker).submit(order("tc-retry"))
    assert submission.ack.status is OrderStatus.FILLED and submission.attempts == 3
    assert [body["client_order_id"] for body in posted_bodies(venue)] == ["tc-retry"] * 3
    assert len(venue.orders) == 1


@pytest.mark.parametrize("fault", [Fault.COMMIT_THEN_DROP, Fault.COMMIT_THEN_HANG, Fault.COMMIT_THEN_GARBLE])
async def test_submitter_finds_an_order_the_venue_took_before_losing_the_answer(
    broker: AlpacaBroker, venue: FakeAlpaca, fault: Fault
) -> None:
    """After an ambiguous outcome the order is looked up by client id and found: no second POST."""
    venue.script(Route.SUBMIT_ORDER, fault)
    submission = await submitter(broker).submit(order("tc-lost"))
    assert submission.ack.status is OrderStatus.FILLED and submission.attempts == 1
    assert len(posted_bodies(venue)) == 1 and len(venue.orders) == 1
    assert len(venue.requests_for(Route.ORDER_BY_CLIENT_ID)) == 1


async def test_submitter_resends_after_a_hang_only_once_absence_is_confirmed(
    broker: AlpacaBroker, venue: FakeAlpaca
) -> None:
    """A hung POST that stored nothing is confirmed absent by look-up, then re-sent with the same id."""
    venue.script(Route.SUBMIT_ORDER, Fault.HANG)
    submission = await submitter(broker).submit(order("tc-hang"))
    assert submission.ack.status is OrderStatus.FILLED and submission.attempts == 2
    assert [r.route for r in venue.requests] == [Route.SUBMIT_ORDER, Route.ORDER_BY_CLIENT_ID, Route.SUBMIT_ORDER]
    assert [body["client_order_id"] for body in posted_bodies(venue)] == ["tc-hang", "tc-hang"]
    assert len(venue.orders) == 1


async def test_submitter_leaves_the_order_unknown_when_the_look_up_fails_too(
    broker: AlpacaBroker, venue: FakeAlpaca
) -> None:
    """Ambiguous and then unanswered: the leg stays `unknown` for recovery; no second POST."""
    venue.script(Route.SUBMIT_ORDER, Fault.COMMIT_THEN_DROP)
    venue.script(Route.ORDER_BY_CLIENT_ID, Fault.HANG)
    submission = await submitter(broker).submit(order("tc-dark"))
    assert submission.ack.status is OrderStatus.UNKNOWN
    assert len(posted_bodies(venue)) == 1 and len(venue.orders) == 1


async def test_submitter_does_not_retry_a_definite_rejection(broker: AlpacaBroker, venue: FakeAlpaca) -> None:
    """A 403 is final: one POST, status rejected with Alpaca's reason."""
    submission = await submitter(broker).submit(order("tc-big", quantity=Decimal(1_000_000)))
    assert submission.ack.status is OrderStatus.REJECTED and submission.attempts == 1
    assert "insufficient buying power" in (submission.ack.reason or "")
    assert len(posted_bodies(venue)) == 1


async def test_submitter_gives_up_after_bounded_server_errors(broker: AlpacaBroker, venue: FakeAlpaca) -> None:
    """Four 5xx in a row end the leg `failed` after four POSTs of the same id, with nothing at the venue."""
    venue.script(Route.SUBMIT_ORDER, Fault.SERVER_ERROR, times=4)
    submission = await submitter(broker, attempts=4).submit(order("tc-down"))
    assert submission.ack.status is OrderStatus.FAILED and submission.attempts == 4
    assert [body["client_order_id"] for body in posted_bodies(venue)] == ["tc-down"] * 4
    assert venue.orders == []

"""A fake Alpaca (Trading API v2 + the market-data routes we use) on 127.0.0.1, for the real adapter.

See the package docstring (`tests/fake_broker/__init__.py`) for the API. Every request is recorded, then
checked in this order: API keys (401 when missing, 403 when wrong), the venue's own rate limit (429 with
`Retry-After`, counted in `throttled_count`), a scripted fault for its route, and finally the route itself.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any

from aiohttp import web

from .alpaca_book import AlpacaBook
from .alpaca_model import FakeOrder, VenueRefusal, not_found, timestamp, unprocessable

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
DEFAULT_KEY_ID = "fake-key-id"
DEFAULT_SECRET_KEY = "fake-secret-key"


class Route(StrEnum):
    """`METHOD path-pattern` of every route the fake serves; the keys of `script` and `requests_for`."""

    SUBMIT_ORDER = "POST /v2/orders"
    ORDER_BY_CLIENT_ID = "GET /v2/orders:by_client_order_id"
    GET_ORDER = "GET /v2/orders/{order_id}"
    CANCEL_ORDER = "DELETE /v2/orders/{order_id}"
    REPLACE_ORDER = "PATCH /v2/orders/{order_id}"
    POSITIONS = "GET /v2/positions"
    POSITION = "GET /v2/positions/{symbol}"
    ACCOUNT = "GET /v2/account"
    CLOCK = "GET /v2/clock"
    LATEST_STOCK_TRADE = "GET /v2/stocks/{symbol}/trades/latest"
    LATEST_CRYPTO_TRADES = "GET /v1beta3/crypto/us/latest/trades"


class Fault(Enum):
    """How a scripted call fails. "Commit" means the route does its work (e.g. stores the order) first."""

    NONE = "none"  # answer normally: lets a script interleave healthy calls with failing ones
    REJECT = "reject"  # a definite refusal (403 insufficient buying power): nothing done, final
    SERVER_ERROR = "server_error"  # answer `status` (500 unless given; 502, 503, 504 ...) and do nothing
    RATE_LIMITED = "rate_limited"  # answer 429 with `Retry-After: retry_after` and do nothing
    HANG = "hang"  # do nothing and never answer (until the fake closes): the client times out
    COMMIT_THEN_HANG = "commit_then_hang"  # do the work, then never answer
    DROP = "drop"  # close the connection without doing anything or answering
    COMMIT_THEN_DROP = "commit_then_drop"  # do the work, then close the connection without answering
    COMMIT_THEN_GARBLE = "commit_then_garble"  # do the work, then answer 200 with a body that is not JSON


@dataclass
class RecordedRequest:
    """One request as the fake received it; `status` is None when it was never answered (hang, drop)."""

    method: str
    path: str
    route: str | None  # a `Route` value, None for an unknown path
    query: dict[str, str]
    body: Any  # parsed JSON, or None
    at: float  # time.monotonic() on arrival
    status: int | None = None


@dataclass
class _Scripted:
    fault: Fault
    status: int
    retry_after: float


class _VenueBucket:
    """The venue's own limiter: a plain token bucket that refuses (rather than queues) when empty."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._tokens, self._updated = float(burst), time.monotonic()

    def take(self, now: float) -> float:
        """0 when a token was taken, else the seconds until one will be available."""
        self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate


def error(status: int, code: int, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status, headers=headers)


class FakeAlpaca:
    """A running fake Alpaca account; use as `async with FakeAlpaca(...) as venue:`."""

    def __init__(
        self,
        *,
        key_id: str = DEFAULT_KEY_ID,
        secret_key: str = DEFAULT_SECRET_KEY,
        prices: Mapping[str, Decimal | str | int] | None = None,
        cash: Decimal | str | int = Decimal(100_000),
        rate_per_second: float | None = None,
        burst: int | None = None,
        market_open: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.book = AlpacaBook(
            cash=Decimal(cash), prices={symbol.upper(): Decimal(p) for symbol, p in (prices or {}).items()}
        )
        self.market_open = market_open
        self.requests: list[RecordedRequest] = []
        self.throttled_count = 0
        self._keys = (key_id, secret_key)
        self._bucket = None if rate_per_second is None else _VenueBucket(rate_per_second, burst or 1)
        self._scripts: dict[str, deque[_Scripted]] = defaultdict(deque)
        self._closing = asyncio.Event()
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None

    # -------------------------------------------------------------------------------------- lifecycle

    async def start(self) -> FakeAlpaca:
        app = web.Application(middlewares=[self._middleware])
        self._add_routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.base_events.Server)
        self._port = server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        self._closing.set()  # hung requests return now, so the runner does not wait for them
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeAlpaca:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """The venue root without a version (what `broker.base_url` takes); also serves the data routes."""
        return f"http://{self._host}:{self._port}"

    @property
    def data_url(self) -> str:
        return self.base_url

    # ------------------------------------------------------------------------------------ test controls

    def script(
        self, route: Route | str, fault: Fault, *, times: int = 1, status: int = 500, retry_after: float = 1.0
    ) -> None:
        """Make the next `times` calls of `route` fail with `fault` (queued after faults already scripted)."""
        self._scripts[str(route)].extend(_Scripted(fault, status, retry_after) for _ in range(times))

    def set_price(self, symbol: str, price: Decimal | str | int) -> None:
        """Move the market; resting orders that became marketable fill."""
        self.book.set_price(symbol, Decimal(price))

    @property
    def orders(self) -> list[FakeOrder]:
        """Entry orders in the order they were placed (bracket legs are in each order's `legs`)."""
        return [order for order in self.book.orders.values() if order.parent is None]

    def order(self, client_order_id: str) -> FakeOrder | None:
        return self.book.by_client_id.get(client_order_id)

    @property
    def positions(self) -> dict[str, Decimal]:
        """Signed quantity held per symbol."""
        return {symbol: held.quantity for symbol, held in self.book.positions.items()}

    @property
    def cash(self) -> Decimal:
        return self.book.cash

    def requests_for(self, route: Route | str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.route == str(route)]

    # -------------------------------------------------------------------------------------- middleware

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        raw = await request.read()
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            route=_route_of(request),
            query=dict(request.query),
            body=_json_or_none(raw),
            at=time.monotonic(),
        )
        self.requests.append(record)
        response = await self._answer(request, handler, record)
        if response is not None:
            record.status = response.status
            return response
        assert request.transport is not None
        request.transport.close()  # dropped: the client sees the connection close without an answer
        return web.Response(status=499)

    async def _answer(
        self, request: web.Request, handler: Handler, record: RecordedRequest
    ) -> web.StreamResponse | None:
        refusal = self._refuse_credentials(request) or self._throttle(record.at)
        if refusal is not None:
            return refusal
        queued = self._scripts.get(record.route or "")
        scripted = queued.popleft() if queued else None
        if scripted is None or scripted.fault is Fault.NONE:
            return await self._handle(request, handler)
        if scripted.fault is Fault.REJECT:
            return error(403, 40310000, "insufficient buying power")
        if scripted.fault is Fault.SERVER_ERROR:
            return error(scripted.status, 50010000, "internal server error")
        if scripted.fault is Fault.RATE_LIMITED:
            return error(429, 42910000, "rate limit exceeded", {"Retry-After": f"{scripted.retry_after:g}"})
        if scripted.fault in (Fault.COMMIT_THEN_HANG, Fault.COMMIT_THEN_DROP, Fault.COMMIT_THEN_GARBLE):
            await self._handle(request, handler)
        if scripted.fault is Fault.COMMIT_THEN_GARBLE:
            return web.Response(status=200, text="<html>upstream glitch</html>", content_type="text/html")
        if scripted.fault in (Fault.HANG, Fault.COMMIT_THEN_HANG):
            await self._closing.wait()  # the fake is closing: drop the connection, still unanswered
        return None  # HANG, COMMIT_THEN_HANG, DROP, COMMIT_THEN_DROP

    async def _handle(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except VenueRefusal as refusal:
            return error(refusal.status, refusal.code, refusal.message)

    def _refuse_credentials(self, request: web.Request) -> web.Response | None:
        given = (request.headers.get("APCA-API-KEY-ID"), request.headers.get("APCA-API-SECRET-KEY"))
        if None in given:
            return error(401, 40110000, "request is not authorized")
        if given != self._keys:
            return error(403, 40310000, "forbidden")
        return None

    def _throttle(self, now: float) -> web.Response | None:
        if self._bucket is None:
            return None
        wait = self._bucket.take(now)
        if wait == 0:
            return None
        self.throttled_count += 1
        return error(429, 42910000, "rate limit exceeded", {"Retry-After": f"{wait:.4f}"})

    # ------------------------------------------------------------------------------------------ routes

    def _add_routes(self, app: web.Application) -> None:
        table: dict[Route, Handler] = {
            Route.SUBMIT_ORDER: self._submit,
            Route.ORDER_BY_CLIENT_ID: self._by_client_id,
            Route.GET_ORDER: self._get,
            Route.CANCEL_ORDER: self._cancel,
            Route.REPLACE_ORDER: self._replace,
            Route.POSITIONS: self._positions,
            Route.POSITION: self._position,
            Route.ACCOUNT: self._account,
            Route.CLOCK: self._clock,
            Route.LATEST_STOCK_TRADE: self._stock_trade,
            Route.LATEST_CRYPTO_TRADES: self._crypto_trades,
        }
        for route, handler in table.items():
            method, path = route.value.split(" ", 1)
            # Symbols may contain "/" (crypto pairs): let the last path parameter take it.
            app.router.add_route(method, path.replace("{symbol}", "{symbol:.+}"), handler, name=route.name)

    async def _submit(self, request: web.Request) -> web.Response:
        order = self.book.place(await _json_body(request))
        return web.json_response(order.to_json())

    async def _by_client_id(self, request: web.Request) -> web.Response:
        client_order_id = request.query.get("client_order_id")
        if not client_order_id:
            raise unprocessable("client_order_id is required")
        order = self.book.find_by_client_id(client_order_id)
        return web.json_response(order.to_json(nested=_nested(request)))

    async def _get(self, request: web.Request) -> web.Response:
        order = self.book.find(request.match_info["order_id"])
        return web.json_response(order.to_json(nested=_nested(request)))

    async def _cancel(self, request: web.Request) -> web.Response:
        self.book.cancel(request.match_info["order_id"])
        return web.Response(status=204)

    async def _replace(self, request: web.Request) -> web.Response:
        order = self.book.replace(request.match_info["order_id"], await _json_body(request))
        return web.json_response(order.to_json())

    async def _positions(self, request: web.Request) -> web.Response:
        return web.json_response([self.book.position_json(s, held) for s, held in self.book.positions.items()])

    async def _position(self, request: web.Request) -> web.Response:
        symbol = request.match_info["symbol"].upper()
        held = self.book.positions.get(symbol)
        if held is None:
            raise not_found("position does not exist")
        return web.json_response(self.book.position_json(symbol, held))

    async def _account(self, request: web.Request) -> web.Response:
        return web.json_response(self.book.account_json())

    async def _clock(self, request: web.Request) -> web.Response:
        now = datetime.now(UTC)
        return web.json_response(
            {
                "timestamp": timestamp(now),
                "is_open": self.market_open,
                "next_open": timestamp(now + timedelta(hours=16)),
                "next_close": timestamp(now + timedelta(hours=6)),
            }
        )

    async def _stock_trade(self, request: web.Request) -> web.Response:
        symbol = request.match_info["symbol"].upper()
        price = self.book.prices.get(symbol)
        if price is None:
            raise not_found(f"no trade for {symbol}")
        return web.json_response({"symbol": symbol, "trade": _trade(price)})

    async def _crypto_trades(self, request: web.Request) -> web.Response:
        symbols = [s.upper() for s in request.query.get("symbols", "").split(",") if s]
        if not symbols:
            raise VenueRefusal(400, 40010001, "symbols is required")
        trades = {s: _trade(self.book.prices[s]) for s in symbols if s in self.book.prices}
        return web.json_response({"trades": trades})


def _trade(price: Decimal) -> dict[str, Any]:
    """The data API sends prices as JSON numbers (the adapter reads them as exact decimals)."""
    return {"t": timestamp(datetime.now(UTC)), "x": "V", "p": float(price), "s": 100, "c": ["@"], "i": 1, "z": "C"}


def _route_of(request: web.Request) -> str | None:
    resource = request.match_info.route.resource
    if resource is None or request.match_info.http_exception is not None:
        return None
    return f"{request.method} {resource.canonical.replace('{symbol:.+}', '{symbol}')}"


def _nested(request: web.Request) -> bool:
    return request.query.get("nested", "").lower() == "true"


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw.strip() else None
    except ValueError:
        return None


async def _json_body(request: web.Request) -> Any:
    try:
        return json.loads(await request.read())
    except ValueError as exc:
        raise VenueRefusal(400, 40010000, "request body format is invalid") from exc

"""A fake Binance spot REST API on 127.0.0.1 that the real ccxt library talks to.

Why: the CCXT adapter's promises (one order per client id, look-ups before any re-send, rejections that
are final, 429s honoured) are only worth something if the real ccxt code runs against something that
answers like Binance does: its paths, its signed query strings, its JSON shapes and its error codes.

API::

    async with FakeExchange(api_key="fake-key", secret="fake-secret") as venue:
        venue.url                                   # "http://127.0.0.1:<port>": broker.base_url
        venue.set_price("BTC/USDT", Decimal("60000"))   # market orders fill here; resting orders re-match
        venue.set_balance("USDT", Decimal("10000"))
        venue.script("POST", "/api/v3/order", hang(), times=1)   # the next N matching calls misbehave
        venue.script("POST", "/api/v3/order", commit_then_drop())
        venue.script("POST", "/api/v3/order", rate_limited(retry_after=1))   # 429 + Retry-After
        venue.script("GET", "/api/v3/account", server_error(503))
        venue.script("POST", "/api/v3/order", venue_error(503, 1, "System is under maintenance."))
        venue.orders                 # every order the venue stored (FakeOrder), oldest first
        venue.orders_with("tc-...")  # those carrying one client id
        venue.requests               # RecordedRequest(method, path, params, api_key, status), in order
        venue.calls("POST", "/api/v3/order")
        venue.book                   # the SpotBook itself (prices, free/locked balances), for anything else

Routes: `GET /api/v3/ping|time|exchangeInfo|ticker/price|ticker/24hr|ticker/bookTicker` (public),
`POST|GET|DELETE /api/v3/order`, `GET /api/v3/openOrders|allOrders|account` (signed: `X-MBX-APIKEY`
header and an HMAC-SHA256 `signature` of the query string, as Binance checks them). Anything else is
404 `{"code": -1000}` and listed in `venue.unknown_routes`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from .exchange_book import JSON, FakeOrder, SpotBook, VenueError, fmt, now_ms

__all__ = [
    "FakeExchange",
    "Fault",
    "RecordedRequest",
    "commit_then_drop",
    "hang",
    "rate_limited",
    "server_error",
    "venue_error",
]

Handler = Callable[[dict[str, str]], Awaitable[Any]]
PARAMS = web.RequestKey("params", dict[str, str])


@dataclass
class RecordedRequest:
    """One call, recorded when it arrives (so a hung call keeps its place); `status` is set when answered."""

    method: str
    path: str
    params: dict[str, str]  # query and form fields, signature and timestamp included
    api_key: str | None
    status: int = 0  # 0 while unanswered, and for a dropped connection


@dataclass(frozen=True)
class Fault:
    """How a scripted call misbehaves; build one with the functions below."""

    kind: str  # "status" | "hang" | "drop"
    status: int = 0
    body: JSON | str | None = None
    retry_after: float | None = None
    commit: bool = False  # hang/drop: let the venue act on the request first


def server_error(status: int = 503, body: JSON | str | None = None) -> Fault:
    """A 5xx before the venue did anything (plain text body unless one is given)."""
    return Fault("status", status, body if body is not None else f"{status} Service Unavailable")


def rate_limited(retry_after: float = 1.0, status: int = 429) -> Fault:
    """429 (or 418, an IP ban) with Retry-After, Binance's -1003 body; nothing is done."""
    msg = "Too much request weight used; current limit is 6000 request weight per 1 MINUTE."
    return Fault("status", status, {"code": -1003, "msg": msg}, retry_after)


def venue_error(status: int, code: int, msg: str) -> Fault:
    """Any Binance error answer `{"code", "msg"}` before the venue did anything."""
    return Fault("status", status, {"code": code, "msg": msg})


def hang(*, commit: bool = False) -> Fault:
    """Never answer (until the fake stops); with `commit=True` the order is stored first."""
    return Fault("hang", commit=commit)


def commit_then_drop() -> Fault:
    """Act on the request (store the order), then close the connection without answering."""
    return Fault("drop", commit=True)


@dataclass
class _Script:
    method: str
    path: str
    fault: Fault
    remaining: int


class FakeExchange:
    def __init__(self, *, api_key: str = "fake-key", secret: str = "fake-secret") -> None:
        self.api_key, self._secret = api_key, secret
        self.book = SpotBook()
        self.requests: list[RecordedRequest] = []
        self.unknown_routes: list[str] = []
        self._scripts: list[_Script] = []
        self._released = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    # ------------------------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> FakeExchange:
        app = web.Application(middlewares=[self._middleware])
        for method, path, handler, signed in self._routes():
            app.router.add_route(method, path, self._endpoint(handler, signed=signed))
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._released.set()  # hung handlers return so the runner can stop
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------------------------------ test API

    @property
    def orders(self) -> list[FakeOrder]:
        return list(self.book.orders)

    def orders_with(self, client_order_id: str) -> list[FakeOrder]:
        return [order for order in self.book.orders if order.client_order_id == client_order_id]

    def set_price(self, symbol: str, price: Decimal) -> None:
        self.book.set_price(symbol.replace("/", ""), price)

    def set_balance(self, asset: str, amount: Decimal) -> None:
        self.book.free[asset] = amount

    def script(self, method: str, path: str, fault: Fault, *, times: int = 1) -> None:
        self._scripts.append(_Script(method.upper(), path, fault, times))

    def calls(self, method: str, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method.upper() and r.path == path]

    # ------------------------------------------------------------------------------------ plumbing

    def _next_fault(self, method: str, path: str) -> Fault | None:
        for script in self._scripts:
            if script.remaining > 0 and script.method == method and script.path == path:
                script.remaining -= 1
                return script.fault
        return None

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        params = dict(request.query)
        if request.can_read_body:
            params.update(parse_qsl(await request.text(), keep_blank_values=True))
        request[PARAMS] = params
        record = RecordedRequest(request.method, request.path, params, request.headers.get("X-MBX-APIKEY"))
        self.requests.append(record)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            record.status = exc.status
            raise
        dropped = request.transport is None or request.transport.is_closing()
        record.status = 0 if dropped else response.status
        return response

    def _endpoint(self, handler: Handler, *, signed: bool) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def endpoint(request: web.Request) -> web.StreamResponse:
            params = request[PARAMS]
            fault = self._next_fault(request.method, request.path)
            if fault is not None and fault.kind == "status":
                return _fault_response(fault)
            try:
                if signed:
                    await self._authenticate(request, params)
                if fault is not None and not fault.commit:
                    return await self._misbehave(request, fault)
                payload = await handler(params)
            except VenueError as exc:
                return _json(exc.body(), exc.status)
            if fault is not None:
                return await self._misbehave(request, fault)
            return _json(payload)

        return endpoint

    async def _misbehave(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        if fault.kind == "hang":
            await self._released.wait()
        elif request.transport is not None:
            request.transport.close()  # the client sees the connection drop with no answer
        return web.Response(status=499)  # never reaches the client

    async def _authenticate(self, request: web.Request, params: dict[str, str]) -> None:
        key = request.headers.get("X-MBX-APIKEY")
        if not key:
            raise VenueError(401, -2014, "API-key format invalid.")
        if key != self.api_key:
            raise VenueError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        raw = request.query_string if request.method in ("GET", "DELETE") else await request.text()
        payload, _, signature = raw.rpartition("&signature=")
        expected = hmac.new(self._secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, expected):
            raise VenueError(400, -1022, "Signature for this request is not valid.")
        if "timestamp" not in params:
            raise VenueError(400, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.")

    # ------------------------------------------------------------------------------------ routes

    def _routes(self) -> list[tuple[str, str, Handler, bool]]:
        """(method, path, handler, signed)."""
        return [
            ("GET", "/api/v3/ping", self._ping, False),
            ("GET", "/api/v3/time", self._time, False),
            ("GET", "/api/v3/exchangeInfo", self._exchange_info, False),
            ("GET", "/api/v3/ticker/price", self._ticker_price, False),
            ("GET", "/api/v3/ticker/24hr", self._ticker_24hr, False),
            ("GET", "/api/v3/ticker/bookTicker", self._book_ticker, False),
            ("POST", "/api/v3/order", self._new_order, True),
            ("GET", "/api/v3/order", self._query_order, True),
            ("DELETE", "/api/v3/order", self._cancel_order, True),
            ("GET", "/api/v3/openOrders", self._open_orders, True),
            ("GET", "/api/v3/allOrders", self._all_orders, True),
            ("GET", "/api/v3/account", self._account, True),
        ]

    async def _unknown(self, request: web.Request) -> web.StreamResponse:
        self.unknown_routes.append(f"{request.method} {request.path}")
        return _json({"code": -1000, "msg": "An unknown error occurred while processing the request."}, 404)

    async def _ping(self, params: dict[str, str]) -> Any:
        return {}

    async def _time(self, params: dict[str, str]) -> Any:
        return {"serverTime": now_ms()}

    async def _exchange_info(self, params: dict[str, str]) -> Any:
        return {
            "timezone": "UTC",
            "serverTime": now_ms(),
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            ],
            "exchangeFilters": [],
            "symbols": [market.info() for market in self.book.markets.values()],
        }

    def _symbols(self, params: dict[str, str]) -> list[str]:
        if "symbol" in params:
            return [self.book.market(params["symbol"]).symbol]
        if "symbols" in params:
            return [self.book.market(s).symbol for s in json.loads(params["symbols"])]
        return list(self.book.markets)

    async def _ticker_price(self, params: dict[str, str]) -> Any:
        prices = [{"symbol": s, "price": fmt(self.book.price(s))} for s in self._symbols(params)]
        return prices[0] if "symbol" in params else prices

    async def _ticker_24hr(self, params: dict[str, str]) -> Any:
        tickers = [_ticker_24hr(s, self.book.price(s)) for s in self._symbols(params)]
        return tickers[0] if "symbol" in params else tickers

    async def _book_ticker(self, params: dict[str, str]) -> Any:
        tickers = [
            {"symbol": s, "bidPrice": fmt(p), "bidQty": "1.00000000", "askPrice": fmt(p), "askQty": "1.00000000"}
            for s in self._symbols(params)
            for p in [self.book.price(s)]
        ]
        return tickers[0] if "symbol" in params else tickers

    async def _new_order(self, params: dict[str, str]) -> Any:
        order = self.book.place(params)
        shape = order.full_shape()
        if params.get("newOrderRespType") == "ACK":
            return {k: shape[k] for k in ("symbol", "orderId", "orderListId", "clientOrderId", "transactTime")}
        return shape

    async def _query_order(self, params: dict[str, str]) -> Any:
        market = self.book.market(params.get("symbol"))
        return self.book.find(market.symbol, params.get("origClientOrderId"), params.get("orderId")).query_shape()

    async def _cancel_order(self, params: dict[str, str]) -> Any:
        market = self.book.market(params.get("symbol"))
        order = self.book.cancel(market.symbol, params.get("origClientOrderId"), params.get("orderId"))
        return {**order.query_shape(), "origClientOrderId": order.client_order_id, "transactTime": now_ms()}

    async def _open_orders(self, params: dict[str, str]) -> Any:
        symbol = self.book.market(params["symbol"]).symbol if "symbol" in params else None
        return [o.query_shape() for o in self.book.orders if o.is_open and symbol in (None, o.symbol)]

    async def _all_orders(self, params: dict[str, str]) -> Any:
        symbol = self.book.market(params.get("symbol")).symbol
        limit = int(params.get("limit", "500"))
        return [o.query_shape() for o in self.book.orders if o.symbol == symbol][-limit:]

    async def _account(self, params: dict[str, str]) -> Any:
        return self.book.account_shape()


def _json(payload: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(payload), content_type="application/json")


def _fault_response(fault: Fault) -> web.Response:
    headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
    if isinstance(fault.body, dict):
        return web.Response(
            status=fault.status, text=json.dumps(fault.body), content_type="application/json", headers=headers
        )
    return web.Response(status=fault.status, text=fault.body or "", headers=headers)


def _ticker_24hr(symbol: str, price: Decimal) -> JSON:
    now = now_ms()
    last = fmt(price)
    return {
        "symbol": symbol,
        "priceChange": "0.00000000",
        "priceChangePercent": "0.000",
        "weightedAvgPrice": last,
        "prevClosePrice": last,
        "lastPrice": last,
        "lastQty": "0.00100000",
        "bidPrice": last,
        "bidQty": "1.00000000",
        "askPrice": last,
        "askQty": "1.00000000",
        "openPrice": last,
        "highPrice": last,
        "lowPrice": last,
        "volume": "0.00000000",
        "quoteVolume": "0.00000000",
        "openTime": now - 86_400_000,
        "closeTime": now,
        "firstId": -1,
        "lastId": -1,
        "count": 0,
    }

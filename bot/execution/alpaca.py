"""The Alpaca adapter: the Broker protocol over Alpaca's Trading API v2, prices from its market-data API.

Not alpaca-py: it is synchronous and retries order POSTs blindly. Here each venue request is one aiohttp
request on the shared session, behind the account's token bucket (look-ups included), and each failure
becomes one of our broker errors (`alpaca_http` has the table), so the submitter alone decides about
retries with the same client id and look-ups before a re-send.

Two answers are not errors for us: a 422 "client_order_id must be unique" means the venue already has the
order (an earlier attempt whose answer we lost), so its record is looked up and returned; and a 404 from
the client-id look-up is a confirmed absence (`None`), the only thing that allows the submitter a re-send.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp

from bot.domain import Account, AssetClass, OrderAck, OrderRequest, OrderStatus, Position, Side
from bot.errors import BrokerRequestRefused, ConfigError, ExitsClosed, OrderRejected
from bot.execution.alpaca_codec import (
    AlpacaOrder,
    is_duplicate_client_id,
    number,
    order_body,
    read_account,
    read_crypto_trade_price,
    read_held_quantity,
    read_market_open,
    read_order,
    read_positions,
    read_stock_trade_price,
)
from bot.execution.alpaca_http import AlpacaHttp, Clock, Reply, VenueContact, decode
from bot.execution.token_bucket import RateLimiter
from bot.settings import ALPACA_LIVE_HOST

DEFAULT_DATA_URL = "https://data.alpaca.markets"
_CLOSED_FOR_EXITS = (OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED)


def refuse_live_host_unless_live(base_url: str, live: bool) -> None:
    """Alpaca's live host trades real money: only with `broker.live = true`."""
    host = (urlsplit(base_url).hostname or "").rstrip(".").lower()
    if host == ALPACA_LIVE_HOST and not live:
        raise ConfigError(
            [
                f"broker.live: base_url is Alpaca's live host {ALPACA_LIVE_HOST} (real money) but live = false; "
                "set broker.live = true to trade real money, or use https://paper-api.alpaca.markets"
            ]
        )


class AlpacaBroker:
    """One Alpaca account. `base_url` is the venue root without a version; the adapter appends `/v2/...`."""

    name = "alpaca"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        key_id: str,
        secret_key: str,
        limiter: RateLimiter,
        timeout_seconds: float = 10.0,
        time_in_force: str = "gtc",
        allow_short: bool = False,
        live: bool = False,
        data_url: str = DEFAULT_DATA_URL,
        clock: Clock = time.monotonic,
    ) -> None:
        refuse_live_host_unless_live(base_url, live)
        self._base_url = base_url.rstrip("/")
        self._data_url = data_url.rstrip("/")
        self._time_in_force = time_in_force
        self._allow_short = allow_short
        self._http = AlpacaHttp(
            session,
            key_id=key_id,
            secret_key=secret_key,
            limiter=limiter,
            timeout_seconds=timeout_seconds,
            clock=clock,
        )

    def __repr__(self) -> str:
        return f"AlpacaBroker(base_url={self._base_url!r})"  # never the keys

    @property
    def last_contact(self) -> VenueContact | None:
        """How the most recent request went (any request), for the health probe."""
        return self._http.last_contact

    async def open(self) -> None:
        """Nothing to prepare: the venue keeps the account. Reachability is the health probe's job."""

    async def close(self) -> None:
        """Nothing to release: the HTTP session is shared, and closed by whoever opened it."""

    def _trading(self, path: str) -> str:
        return self._base_url + path

    # ------------------------------------------------------------------------------------------ orders

    async def submit_order(self, request: OrderRequest) -> OrderAck:
        _refuse_what_alpaca_cannot_place(request)
        if self._opens_short(request):
            await self._refuse_short(request)
        url = self._trading("/v2/orders")
        body = order_body(request, request.time_in_force or self._time_in_force)
        reply = await self._http.send("POST", url, body=body, accept=(422,), subject="the order")
        if reply.status == 422:
            return await self._already_placed(request.client_order_id, reply)
        return decode("POST", url, reply, read_order).ack()

    async def _already_placed(self, client_order_id: str, reply: Reply) -> OrderAck:
        """A 422: the venue's record when it says the client id is taken, else a final rejection."""
        if is_duplicate_client_id(reply.message):
            existing = await self._find(client_order_id)
            if existing is not None:
                return existing.ack()
        raise OrderRejected(f"Alpaca refused the order (422): {reply.message}")

    def _opens_short(self, request: OrderRequest) -> bool:
        return (
            request.side is Side.SELL
            and not request.reduce_only
            and request.asset_class is AssetClass.EQUITY
            and not self._allow_short
        )

    async def _refuse_short(self, request: OrderRequest) -> None:
        """A SELL of more shares than are held would open (or grow) a short."""
        url = self._trading(f"/v2/positions/{quote(request.symbol, safe='')}")
        reply = await self._http.send("GET", url, accept=(404,))
        held = Decimal(0) if reply.status == 404 else decode("GET", url, reply, read_held_quantity)
        if held < request.quantity:
            raise OrderRejected(
                f"selling {number(request.quantity)} {request.symbol} with {number(held)} held would open a short; "
                "set broker.allow_short = true to allow it"
            )

    async def get_order(self, client_order_id: str) -> OrderAck | None:
        found = await self._find(client_order_id)
        return None if found is None else found.ack()

    async def _find(self, client_order_id: str) -> AlpacaOrder | None:
        url = self._trading("/v2/orders:by_client_order_id")
        reply = await self._http.send("GET", url, params={"client_order_id": client_order_id}, accept=(404,))
        if reply.status == 404:
            if not isinstance(reply.payload, dict):
                # Absence must come from Alpaca itself, not from a proxy or a wrong base_url.
                raise BrokerRequestRefused(f"GET {url} answered 404 without Alpaca's error body: check broker.base_url")
            return None
        return decode("GET", url, reply, read_order)

    async def _require(self, client_order_id: str) -> AlpacaOrder:
        found = await self._find(client_order_id)
        if found is None:
            raise OrderRejected(f"Alpaca has no order with client id {client_order_id}")
        return found

    async def cancel_order(self, client_order_id: str) -> OrderAck:
        """Cancel the entry (Alpaca cancels its bracket legs with it), then read back what it became."""
        order = await self._require(client_order_id)
        if order.ack().status.is_terminal:
            return order.ack()
        # 422: no longer cancelable (it filled meanwhile); 404: gone. Either way the re-read says what it is.
        await self._http.send(
            "DELETE", self._trading(f"/v2/orders/{order.id}"), accept=(404, 422), subject="the cancel"
        )
        return (await self._require(client_order_id)).ack()

    async def replace_exits(
        self, client_order_id: str, *, stop_loss: Decimal | None = None, take_profit: Decimal | None = None
    ) -> OrderAck:
        """PATCH the bracket's stop-loss leg (`stop_price`) and/or take-profit leg (`limit_price`)."""
        found = await self._require(client_order_id)
        if stop_loss is None and take_profit is None:
            return found.ack()
        url = self._trading(f"/v2/orders/{found.id}")
        parent = decode("GET", url, await self._http.send("GET", url, params={"nested": "true"}), read_order)
        ack = parent.ack()
        if ack.status in _CLOSED_FOR_EXITS:
            raise OrderRejected(f"order {client_order_id} is {ack.status.value}: its exits cannot move")
        moves: list[tuple[str, AlpacaOrder, dict[str, Any]]] = []
        if stop_loss is not None:
            leg = _exit_leg(parent, client_order_id, "stop-loss", ("stop", "stop_limit"))
            moves.append(("stop-loss", leg, {"stop_price": number(stop_loss)}))
        if take_profit is not None:
            leg = _exit_leg(parent, client_order_id, "take-profit", ("limit",))
            moves.append(("take-profit", leg, {"limit_price": number(take_profit)}))
        for what, leg, body in moves:
            leg_url = self._trading(f"/v2/orders/{leg.id}")
            reply = await self._http.send("PATCH", leg_url, body=body, subject=f"moving the {what}")
            decode("PATCH", leg_url, reply, read_order)
        return ack

    # ------------------------------------------------------------------------------------ account data

    async def positions(self) -> list[Position]:
        url = self._trading("/v2/positions")
        return decode("GET", url, await self._http.send("GET", url), read_positions)

    async def account(self) -> Account:
        url = self._trading("/v2/account")
        return decode("GET", url, await self._http.send("GET", url), read_account)

    async def market_open(self) -> bool:
        """`GET /v2/clock`: the cheapest authenticated request, used by the health probe."""
        url = self._trading("/v2/clock")
        return decode("GET", url, await self._http.send("GET", url), read_market_open)

    async def last_price(self, symbol: str) -> Decimal | None:
        """The latest trade from Alpaca's data API (crypto pairs such as BTC/USD from its crypto feed)."""
        if "/" in symbol:
            url = f"{self._data_url}/v1beta3/crypto/us/latest/trades"
            reply = await self._http.send("GET", url, params={"symbols": symbol}, accept=(400, 404, 422))
            if reply.status >= 400:
                return None
            return decode("GET", url, reply, lambda payload: read_crypto_trade_price(payload, symbol))
        url = f"{self._data_url}/v2/stocks/{quote(symbol, safe='')}/trades/latest"
        reply = await self._http.send("GET", url, accept=(400, 404, 422))
        return None if reply.status >= 400 else decode("GET", url, reply, read_stock_trade_price)


def _refuse_what_alpaca_cannot_place(request: OrderRequest) -> None:
    if request.asset_class is AssetClass.FOREX:
        raise OrderRejected(f"Alpaca does not trade forex ({request.symbol})")
    if request.asset_class is AssetClass.OPTION:
        raise OrderRejected(
            f"option orders for {request.symbol} are not placed through Alpaca by this version "
            "(the order carries no contract symbol)"
        )
    if request.quantity <= 0:
        raise OrderRejected(f"quantity must be positive (got {request.quantity})")


def _exit_leg(parent: AlpacaOrder, client_order_id: str, what: str, types: tuple[str, ...]) -> AlpacaOrder:
    leg = parent.open_leg(*types)
    if leg is None and parent.legs:
        raise ExitsClosed(f"order {client_order_id} is already closed by its exits: no open {what} leg to move")
    if leg is None:
        raise OrderRejected(f"order {client_order_id} has no {what} leg to move")
    return leg

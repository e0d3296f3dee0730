"""One HTTP exchange with Alpaca: a bucket token first, one bounded timeout, vendor failures translated.

How a failure is translated depends on whether the request could have changed anything at the venue:

what happened                                 POST / PATCH / DELETE           GET
429                                           TemporaryBrokerError(rate_limited); the bucket pauses for Retry-After
5xx other than 504 (the venue answered)       TemporaryBrokerError(server_error)
504, timeout, dropped connection              AmbiguousOrderOutcome           TemporaryBrokerError(timeout, network)
connection never established                  TemporaryBrokerError(network): not a byte was sent
other 4xx                                     OrderRejected (final)           BrokerRequestRefused
2xx whose body is not the JSON we expect      AmbiguousOrderOutcome           TemporaryBrokerError(server_error)

A malformed 2xx reply to an order-changing request is *ambiguous*, not temporary: the venue said yes but we
cannot read to what, so the order must be looked up by client id before anything is sent again. The same
reply to a read changed nothing, so reading again later is safe. The API keys travel only in the request
headers: they are never logged, never part of an error message, and not kept in a printable attribute.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

import aiohttp
import structlog
from yarl import URL

from bot.errors import (
    AmbiguousOrderOutcome,
    BrokerError,
    BrokerRequestRefused,
    OrderRejected,
    TemporaryBrokerError,
)
from bot.execution.token_bucket import RateLimiter

log = structlog.get_logger(__name__)
T = TypeVar("T")
Clock = Callable[[], float]

# Alpaca's window is a minute; without a Retry-After we pause for a second and let further 429s extend it.
DEFAULT_RATE_LIMIT_PAUSE_SECONDS = 1.0
_READ_METHODS = frozenset({"GET", "HEAD"})
_MESSAGE_LIMIT = 200


class ContactState(StrEnum):
    """How the venue's last answer went, for the health probe."""

    ANSWERED = "answered"  # any answer a working venue gives, rejections and 404s included
    RATE_LIMITED = "rate_limited"
    CREDENTIALS_REFUSED = "credentials_refused"
    SERVER_ERROR = "server_error"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True, slots=True)
class VenueContact:
    """The outcome of the most recent request: when (monotonic seconds), how, and how long it took."""

    at: float
    state: ContactState
    detail: str
    seconds: float


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    payload: Any  # parsed JSON (floats as Decimal); None for an empty body (or a non-JSON accepted error)
    message: str = ""  # for an accepted error status: Alpaca's error message


class UnreadableReply(ValueError):
    """A reply body that is not the JSON shape the caller expected."""


class AlpacaHttp:
    """Sends requests for one Alpaca account over a shared session; every request passes `limiter` first."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        key_id: str,
        secret_key: str,
        limiter: RateLimiter,
        timeout_seconds: float,
        clock: Clock = time.monotonic,
    ) -> None:
        self._session = session
        self._auth = {"APCA-API-KEY-ID": key_id, "APCA-API-SECRET-KEY": secret_key}
        self._limiter = limiter
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._clock = clock
        self.last_contact: VenueContact | None = None

    def __repr__(self) -> str:
        return f"AlpacaHttp(timeout={self._timeout.total}s)"  # never the keys

    async def send(
        self,
        method: str,
        url: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        accept: Collection[int] = (),
        subject: str | None = None,
    ) -> Reply:
        """2xx and the statuses in `accept` come back as a Reply; anything else raises a BrokerError.

        `subject` names what a definite refusal refused ("the order"), for the reason users are shown.
        """
        await self._limiter.acquire()
        started = self._clock()
        try:
            status, headers, raw = await self._exchange(method, url, body, params)
        except (TimeoutError, aiohttp.ClientError) as exc:
            error = _transport_error(method, url, exc)
            self._note(started, ContactState.UNREACHABLE, str(error))
            raise error from exc
        if 200 <= status < 300:
            self._note(started, ContactState.ANSWERED, f"HTTP {status}")
            return Reply(status, _parse_or_raise(method, url, raw, status))
        if status in accept:
            self._note(started, ContactState.ANSWERED, f"HTTP {status}")
            return Reply(status, _parse_leniently(raw), error_message(raw))
        error = self._status_error(method, url, status, headers, raw, subject)
        self._note(started, _contact_state(method, status), str(error))
        raise error

    async def _exchange(
        self, method: str, url: str, body: Mapping[str, Any] | None, params: Mapping[str, str] | None
    ) -> tuple[int, Mapping[str, str], bytes]:
        async with self._session.request(
            method, url, json=body, params=params, headers=self._auth, timeout=self._timeout
        ) as response:
            return response.status, response.headers, await response.read()

    def _status_error(
        self, method: str, url: str, status: int, headers: Mapping[str, str], raw: bytes, subject: str | None
    ) -> BrokerError:
        message = error_message(raw)
        where = f"Alpaca {method} {_path(url)}"
        if status == 429:
            retry_after = retry_after_seconds(headers)
            self._limiter.penalize(retry_after if retry_after is not None else DEFAULT_RATE_LIMIT_PAUSE_SECONDS)
            log.warning("alpaca.rate_limited", method=method, path=_path(url), retry_after=retry_after)
            return TemporaryBrokerError(
                f"{where}: rate limited (429): {message}", retry_after=retry_after, kind="rate_limited"
            )
        if status == 504:
            if method in _READ_METHODS:
                return TemporaryBrokerError(f"{where}: gateway timeout (504)", kind="timeout")
            return AmbiguousOrderOutcome(f"{where}: gateway timeout (504); the venue may have acted on it")
        if status >= 500:
            return TemporaryBrokerError(f"{where}: server error ({status}): {message}", kind="server_error")
        refused = f"Alpaca refused {subject or f'{method} {_path(url)}'} ({status}): {message}"
        return BrokerRequestRefused(refused) if method in _READ_METHODS else OrderRejected(refused)

    def _note(self, started: float, state: ContactState, detail: str) -> None:
        now = self._clock()
        self.last_contact = VenueContact(now, state, detail, now - started)


def decode(method: str, url: str, reply: Reply, read: Callable[[Any], T]) -> T:
    """`read(payload)`, with a shape error translated like any other unreadable reply."""
    try:
        return read(reply.payload)
    except (UnreadableReply, KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise _unreadable(method, url, f"unexpected reply shape ({type(exc).__name__}: {exc})") from exc


def _parse_or_raise(method: str, url: str, raw: bytes, status: int) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw, parse_float=Decimal)
    except ValueError as exc:
        raise _unreadable(method, url, f"HTTP {status} with a body that is not JSON") from exc


def _parse_leniently(raw: bytes) -> Any:
    try:
        return json.loads(raw, parse_float=Decimal) if raw.strip() else None
    except ValueError:
        return None


def _unreadable(method: str, url: str, what: str) -> BrokerError:
    where = f"Alpaca {method} {_path(url)}"
    if method in _READ_METHODS:
        return TemporaryBrokerError(f"{where}: {what}", kind="server_error")
    return AmbiguousOrderOutcome(f"{where}: {what}; the venue may have acted on it")


def _transport_error(method: str, url: str, exc: BaseException) -> BrokerError:
    where = f"Alpaca {method} {_path(url)}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        # The connection was never established, so not a byte of the request reached the venue.
        return TemporaryBrokerError(f"{where}: cannot connect ({type(exc).__name__})", kind="network")
    timed_out = isinstance(exc, TimeoutError | asyncio.TimeoutError)
    reason = "no answer within the timeout" if timed_out else f"connection lost ({type(exc).__name__})"
    if method in _READ_METHODS:
        return TemporaryBrokerError(f"{where}: {reason}", kind="timeout" if timed_out else "network")
    return AmbiguousOrderOutcome(f"{where}: {reason}; the venue may have acted on it")


def _contact_state(method: str, status: int) -> ContactState:
    if status == 429:
        return ContactState.RATE_LIMITED
    # A 403 on an order is a refusal of that order (e.g. insufficient buying power); on a read, of our keys.
    if status == 401 or (status == 403 and method in _READ_METHODS):
        return ContactState.CREDENTIALS_REFUSED
    if status >= 500:
        return ContactState.SERVER_ERROR
    return ContactState.ANSWERED


def error_message(raw: bytes) -> str:
    """Alpaca's `{"code": ..., "message": ...}` message, else the start of the body as text."""
    text = raw.decode("utf-8", errors="replace").strip()
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("message"), str):
        return str(payload["message"])[:_MESSAGE_LIMIT]
    return text[:_MESSAGE_LIMIT] or "no message"


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """`Retry-After` in seconds (Alpaca sends a number; fractions are accepted), None when absent or odd."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _path(url: str) -> str:
    """The path only: enough to tell requests apart in messages, nothing from the query string."""
    return URL(url).path

"""ccxt's exceptions translated into Tradecord's broker errors, at the adapter boundary.

ccxt's hierarchy decides the order of the checks: `RateLimitExceeded` and `DDoSProtection` are
`NetworkError`s, `OnMaintenance` is an `ExchangeNotAvailable` (a `NetworkError` too), `OrderNotFound` and
`DuplicateOrderId` are `InvalidOrder`s, and a dropped connection surfaces as `ExchangeNotAvailable`. So
the definite answers are picked out before the broad classes that contain them.

Placing an order is stricter than everything else: any failure that could have happened after the
exchange accepted the order (timeout, dropped connection, any 5xx, which Binance documents as "execution
status unknown") is an `AmbiguousOrderOutcome`, so the order is looked up by client id before a re-send.
"""

from __future__ import annotations

import re

import aiohttp
import ccxt

from bot.errors import AmbiguousOrderOutcome, BrokerError, OrderRejected, TemporaryBrokerError

DEFAULT_RATE_LIMIT_PAUSE_SECONDS = 1.0
_QUERY_STRING = re.compile(r"(https?://[^\s?]+)\?\S*")


class ExchangeCredentialsRejected(OrderRejected):
    """The exchange refused our API key, secret or permissions: final, nothing is retried.

    The operator fixes `broker.key_id` / `broker.secret_key` (or the key's permissions at the exchange).
    """


def clean_message(exc: BaseException) -> str:
    """ccxt's message without the signed query strings it puts in URLs (they end up in replies and logs)."""
    return _QUERY_STRING.sub(r"\1", str(exc)).strip() or type(exc).__name__


def retry_after_of(headers: object) -> float | None:
    """Seconds from a `Retry-After` header (ccxt keeps the last response's headers), if it has one."""
    if not isinstance(headers, dict):
        return None
    for name, value in headers.items():
        if str(name).lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except (TypeError, ValueError):
                return None
    return None


def is_rate_limit(exc: BaseException) -> bool:
    return isinstance(exc, ccxt.RateLimitExceeded | ccxt.DDoSProtection)


def is_duplicate_client_id(exc: BaseException) -> bool:
    """The exchange already has an open order with this client id (Binance: -2010 "Duplicate order sent.")."""
    return isinstance(exc, ccxt.DuplicateOrderId) or (
        isinstance(exc, ccxt.InvalidOrder) and "duplicate order" in str(exc).lower()
    )


def is_order_absent(exc: BaseException) -> bool:
    """The exchange said it has no such order (Binance: -2013 "Order does not exist.")."""
    return isinstance(exc, ccxt.OrderNotFound)


def rate_limited(exc: BaseException, retry_after: float | None) -> TemporaryBrokerError:
    return TemporaryBrokerError(
        f"rate limited by the exchange: {clean_message(exc)}", retry_after=retry_after, kind="rate_limited"
    )


def _temporary(exc: BaseException) -> TemporaryBrokerError | None:
    """Failures after which nothing was done, whatever the call: retrying later is safe."""
    if isinstance(exc, ccxt.OnMaintenance):
        return TemporaryBrokerError(f"exchange under maintenance: {clean_message(exc)}", kind="temporary")
    if isinstance(exc, ccxt.InvalidNonce):  # the request's timestamp was refused before anything was done
        return TemporaryBrokerError(f"exchange refused the request time: {clean_message(exc)}", kind="temporary")
    return None


def _credentials(exc: BaseException) -> ExchangeCredentialsRejected | None:
    if isinstance(exc, ccxt.AuthenticationError):
        return ExchangeCredentialsRejected(
            f"the exchange refused our credentials ({clean_message(exc)}): check broker.key_id, "
            "broker.secret_key and the key's permissions"
        )
    return None


def _lost_in_transit(exc: BaseException) -> bool:
    """ccxt wraps some transport failures (a truncated body) as a plain ExchangeError."""
    return type(exc) is ccxt.ExchangeError and isinstance(exc.__cause__, aiohttp.ClientError)


def order_placement_error(exc: BaseException) -> BrokerError:
    """The error `submit_order` raises for a failed create-order call (rate limits are handled before)."""
    if (definite := _temporary(exc) or _credentials(exc)) is not None:
        return definite
    if isinstance(exc, ccxt.NetworkError | ccxt.OperationFailed | TimeoutError) or _lost_in_transit(exc):
        return AmbiguousOrderOutcome(f"order outcome unknown: {clean_message(exc)}")
    if isinstance(exc, ccxt.ExchangeError):  # InsufficientFunds, InvalidOrder, BadSymbol, BadRequest, ...
        return OrderRejected(clean_message(exc))
    return AmbiguousOrderOutcome(f"order outcome unknown: {clean_message(exc)}")


def request_error(exc: BaseException) -> BrokerError:
    """The error any other call (look-ups, cancels, balances, tickers) raises; rate limits handled before."""
    if (definite := _temporary(exc) or _credentials(exc)) is not None:
        return definite
    if isinstance(exc, ccxt.RequestTimeout | TimeoutError):
        return TemporaryBrokerError(f"exchange timed out: {clean_message(exc)}", kind="timeout")
    if isinstance(exc, ccxt.NetworkError):
        return TemporaryBrokerError(f"exchange unreachable: {clean_message(exc)}", kind="network")
    if isinstance(exc, ccxt.OperationFailed) or _lost_in_transit(exc):
        return TemporaryBrokerError(f"exchange failed: {clean_message(exc)}", kind="server_error")
    if isinstance(exc, ccxt.ExchangeError):
        return OrderRejected(clean_message(exc))
    return BrokerError(clean_message(exc))

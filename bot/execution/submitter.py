"""Sending one order leg: bounded retries with the same client id, and look-ups before any re-send.

Only two things allow a re-send: the venue said it accepted nothing (429, 5xx before acceptance), or a
look-up by client id confirmed it has no such order. Everything else ends the leg with a status.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import TypeVar

import structlog

from bot.domain import OrderAck, OrderRequest, OrderStatus
from bot.errors import AmbiguousOrderOutcome, BrokerError, ExitsClosed, OrderRejected, TemporaryBrokerError
from bot.execution.broker import Broker, LocalVenue, PlaceOrder
from bot.metrics import Metrics

log = structlog.get_logger(__name__)
T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


class Lookup(Enum):
    ABSENT = "absent"  # the venue confirmed it has no order with this client id: a re-send is safe
    UNANSWERED = "unanswered"  # we still do not know: the order stays `unknown` until reconciled


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 4
    backoff_base_seconds: float = 0.25
    backoff_max_seconds: float = 5.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        backoff = min(self.backoff_max_seconds, self.backoff_base_seconds * 2 ** (attempt - 1))
        return float(max(backoff, retry_after or 0.0))


@dataclass(frozen=True, slots=True)
class Submission:
    ack: OrderAck
    attempts: int


class OrderSubmitter:
    def __init__(self, broker: Broker, metrics: Metrics, policy: RetryPolicy, *, sleep: Sleep = asyncio.sleep) -> None:
        self._broker = broker
        self._metrics = metrics
        self._policy = policy
        self._sleep = sleep

    async def _timed(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        started = time.perf_counter()
        try:
            return await call()
        except BrokerError as exc:
            kind = exc.kind if isinstance(exc, TemporaryBrokerError) else type(exc).__name__
            self._metrics.broker_errors.labels(self._broker.name, _error_kind(kind)).inc()
            raise
        finally:
            self._metrics.broker_request_seconds.labels(self._broker.name, operation).observe(
                time.perf_counter() - started
            )

    async def submit(self, request: OrderRequest) -> Submission:
        """Send until the venue gives a definite answer or the attempts run out; never raises BrokerError."""
        cid = request.client_order_id
        for attempt in range(1, self._policy.max_attempts + 1):
            try:
                ack = await self._timed("submit_order", lambda: self._broker.submit_order(request))
                return Submission(ack, attempt)
            except OrderRejected as exc:
                return Submission(OrderAck(cid, OrderStatus.REJECTED, reason=str(exc)), attempt)
            except TemporaryBrokerError as exc:
                last_reason = str(exc)
                retry_after = exc.retry_after
            except AmbiguousOrderOutcome as exc:
                found = await self.look_up(cid)
                if isinstance(found, OrderAck):
                    return Submission(found, attempt)
                if found is Lookup.UNANSWERED:
                    return Submission(OrderAck(cid, OrderStatus.UNKNOWN, reason=str(exc)), attempt)
                last_reason, retry_after = str(exc), None
            if attempt < self._policy.max_attempts:
                delay = self._policy.delay(attempt, retry_after)
                log.warning("order.retry", client_order_id=cid, attempt=attempt, delay=delay, reason=last_reason)
                await self._sleep(delay)
        return Submission(OrderAck(cid, OrderStatus.FAILED, reason=f"gave up: {last_reason}"), attempt)

    async def prepare(self, venue: LocalVenue, request: OrderRequest) -> PlaceOrder | OrderAck:
        """A local venue's order up to its placement (`LocalVenue`); a refusal is the leg's final answer."""
        try:
            return await self._timed("submit_order", lambda: venue.prepare_order(request))
        except OrderRejected as exc:
            return OrderAck(request.client_order_id, OrderStatus.REJECTED, reason=str(exc))
        except BrokerError as exc:  # a local venue has no network to fail; kept final all the same
            return OrderAck(request.client_order_id, OrderStatus.FAILED, reason=str(exc))

    async def modify(self, operation: str, client_order_id: str, call: Callable[[], Awaitable[OrderAck]]) -> OrderAck:
        """Cancel or move exits: setting a state is idempotent, so any failure short of a rejection is retried.

        ExitsClosed is raised to the caller: a leg with nothing left to move is not a failed move.
        """
        last_reason = ""
        for attempt in range(1, self._policy.max_attempts + 1):
            retry_after: float | None = None
            try:
                return await self._timed(operation, call)
            except ExitsClosed:
                raise
            except OrderRejected as exc:
                return OrderAck(client_order_id, OrderStatus.REJECTED, reason=str(exc))
            except TemporaryBrokerError as exc:
                last_reason, retry_after = str(exc), exc.retry_after
            except AmbiguousOrderOutcome as exc:
                last_reason = str(exc)
            if attempt < self._policy.max_attempts:
                await self._sleep(self._policy.delay(attempt, retry_after))
        return OrderAck(client_order_id, OrderStatus.FAILED, reason=f"gave up: {last_reason}")

    async def look_up(self, client_order_id: str) -> OrderAck | Lookup:
        """The venue's record of the order, `Lookup.ABSENT` only when the venue said it has none."""
        try:
            found = await self._timed("get_order", lambda: self._broker.get_order(client_order_id))
        except BrokerError as exc:
            log.warning("order.lookup_failed", client_order_id=client_order_id, reason=str(exc))
            return Lookup.UNANSWERED
        return Lookup.ABSENT if found is None else found


def _error_kind(name: str) -> str:
    """Bound the label's values to a handful of words (contract: low cardinality)."""
    known = {"rate_limited", "server_error", "timeout", "network", "temporary"}
    if name in known:
        return name
    return {
        "OrderRejected": "rejected",
        "InsufficientQuote": "rejected",
        "AmbiguousOrderOutcome": "ambiguous",
    }.get(name, "other")

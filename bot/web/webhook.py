"""`POST /webhook/tradingview`: TradingView alerts into the same pipeline as Discord signals.

Checks run cheapest first, and everything that protects the bot runs before the secret is even looked at:
client address, deny/allow lists, bans, rate limits, media type, body size; then authentication; then the
secret is stripped and the body goes to the intake as a `webhook` message. Every request is counted once in
`tradecord_webhook_requests_total{outcome}`.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import structlog
from aiohttp import web

from bot.domain import ExecutionResult, Outcome, Signal, SignalEnvelope, SignalSource
from bot.metrics import Metrics
from bot.services.intake import ChannelPolicy, Reader, SignalIntake, read_text
from bot.settings import ServerSettings
from bot.signals.tradingview import parse_tradingview
from bot.web.abuse import AbuseGuard, AbuseLimits, Admission, IPAddress, IPNetwork, Verdict, client_key
from bot.web.app import envelope
from bot.web.client_address import client_address
from bot.web.webhook_auth import authenticate
from bot.web.webhook_body import (
    BodyTooLarge,
    DecodedBody,
    alert_id,
    body_kind,
    decode,
    read_limited,
    redact,
    stored_text,
    without_secret,
)

log = structlog.get_logger(__name__)
Clock = Callable[[], datetime]
MonotonicClock = Callable[[], float]

ROUTE = "/webhook/tradingview"
CHANNEL_ID = "tradingview"
AUTHOR_ID = "tradingview"
ALERT_ID_HEADER = "X-Tradecord-Alert-Id"
# A body trickled in slowly would hold a connection open indefinitely; a real alert arrives at once.
BODY_READ_TIMEOUT_SECONDS = 10.0


class WebhookOutcome(StrEnum):
    """The label values of `tradecord_webhook_requests_total{outcome}`."""

    ACCEPTED = "accepted"  # authenticated signal, whatever the pipeline made of it
    DUPLICATE = "duplicate"
    NOT_A_SIGNAL = "not_a_signal"
    INVALID = "invalid"
    BAD_REQUEST = "bad_request"
    UNAUTHORIZED = "unauthorized"
    RATE_LIMITED = "rate_limited"
    BANNED = "banned"
    FORBIDDEN = "forbidden"
    TOO_LARGE = "too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    NOT_CONFIGURED = "not_configured"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    secret: str | None
    max_body_bytes: int = 65536
    max_skew_seconds: float = 300.0
    trusted_proxies: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_settings(cls, server: ServerSettings) -> WebhookConfig:
        secret = server.webhook_secret
        return cls(
            secret=None if secret is None else secret.get_secret_value(),
            max_body_bytes=server.webhook_max_body_bytes,
            max_skew_seconds=float(server.webhook_max_skew_seconds),
            trusted_proxies=server.trusted_proxies,
        )


class Refusal(Exception):
    """A request the webhook answers with an error status; `code` goes into the JSON body."""

    def __init__(
        self,
        status: int,
        outcome: WebhookOutcome,
        message: str,
        *,
        code: str | None = None,
        retry_after: float | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.outcome = outcome
        self.message = message
        self.code = code or outcome.value
        self.retry_after = retry_after
        self.data = data

    def response(self) -> web.Response:
        body = {
            "success": False,
            "timestamp": datetime.now(UTC).isoformat(),
            "data": self.data,
            "error": self.message,
            "code": self.code,
        }
        headers = {} if self.retry_after is None else {"Retry-After": str(max(1, math.ceil(self.retry_after)))}
        return web.json_response(body, status=self.status, headers=headers)


class WebhookEndpoint:
    """The route handler; one instance per application, holding the abuse guard's state."""

    def __init__(
        self, config: WebhookConfig, guard: AbuseGuard, intake: SignalIntake, metrics: Metrics, clock: Clock
    ) -> None:
        self.config = config
        self.guard = guard
        self._intake = intake
        self._metrics = metrics
        self._clock = clock

    async def handle(self, request: web.Request) -> web.Response:
        """The route handler (a bound coroutine method, so aiohttp takes it as an async handler)."""
        received_monotonic = time.perf_counter()
        try:
            response, outcome = await self._handle(request, received_monotonic)
        except Refusal as refusal:
            response, outcome = refusal.response(), refusal.outcome
        except Exception:
            # Only a bug gets here: everything a client can send is refused above with a 4xx.
            log.exception("webhook.failed")
            failure = Refusal(500, WebhookOutcome.ERROR, "internal error: the alert may not have been processed")
            response, outcome = failure.response(), failure.outcome
        self._metrics.webhook_requests.labels(outcome.value).inc()
        return response

    async def _handle(self, request: web.Request, received_monotonic: float) -> tuple[web.Response, WebhookOutcome]:
        address = client_address(
            request.remote, request.headers.getall("X-Forwarded-For", ()), self.config.trusted_proxies
        )
        if address is None:
            raise Refusal(403, WebhookOutcome.FORBIDDEN, "the client address is unknown")
        self._admit(self.guard.admit(address), address)
        secret = self.config.secret
        if secret is None:
            raise Refusal(
                503,
                WebhookOutcome.NOT_CONFIGURED,
                "server.webhook_secret is not set: the webhook refuses every call until it is",
            )
        received_at = self._clock()
        body = await self._authenticated_body(request, secret, received_at, address)
        try:
            message_id = alert_id(body.payload, request.headers.get(ALERT_ID_HEADER))
        except ValueError as exc:
            raise Refusal(400, WebhookOutcome.BAD_REQUEST, str(exc)) from None
        text, reader = _prepared(body, secret)
        signal_envelope = SignalEnvelope(
            source=SignalSource.WEBHOOK,
            channel_id=CHANNEL_ID,
            message_id=message_id or f"auto-{uuid.uuid4().hex}",
            author_id=AUTHOR_ID,
            text=text,
            received_at=received_at,
            received_monotonic=received_monotonic,
            authorized=True,
        )
        return _answer(await self._intake.handle(signal_envelope, reader=reader))

    async def _authenticated_body(
        self, request: web.Request, secret: str, received_at: datetime, address: IPAddress
    ) -> DecodedBody:
        """The decoded body of a caller that proved it knows the secret; media type and size checked first."""
        kind = body_kind(request.content_type)
        if kind is None:
            raise Refusal(
                415,
                WebhookOutcome.UNSUPPORTED_MEDIA_TYPE,
                f"Content-Type {request.content_type!r} is not taken: send application/json or text/plain",
            )
        raw = await self._read(request)
        body = decode(raw, kind, request.charset or None)
        failure = authenticate(
            request.headers,
            raw,
            body.field_secret,
            secret,
            now=received_at.timestamp(),
            max_skew_seconds=self.config.max_skew_seconds,
        )
        if failure is not None:
            log.info("webhook.unauthorized", client=str(address), reason=failure)
            raise Refusal(401, WebhookOutcome.UNAUTHORIZED, failure)
        if body.problem is not None:
            raise Refusal(400, WebhookOutcome.BAD_REQUEST, body.problem)
        return body

    def _admit(self, admission: Admission, address: IPAddress) -> None:
        """Raise the refusal an admission that is not `allowed` calls for."""
        retry_after = admission.retry_after
        match admission.verdict:
            case Verdict.ALLOWED:
                return
            case Verdict.DENIED | Verdict.NOT_ALLOWLISTED:
                log.info("webhook.forbidden", client=str(address), verdict=admission.verdict.value)
                raise Refusal(403, WebhookOutcome.FORBIDDEN, "this address may not call the webhook")
            case Verdict.BANNED:
                raise Refusal(429, WebhookOutcome.BANNED, "this address is banned for a while", retry_after=retry_after)
            case Verdict.GLOBAL_RATE_LIMITED:
                self._metrics.webhook_rate_limited.labels("global").inc()
                raise Refusal(
                    429, WebhookOutcome.RATE_LIMITED, "the webhook is over its global rate", retry_after=retry_after
                )
        self._metrics.webhook_rate_limited.labels("ip").inc()
        message = "too many requests from this address"
        if admission.ban_seconds is not None:
            self._metrics.webhook_bans.inc()
            log.warning("webhook.client_banned", client=client_key(address), seconds=admission.ban_seconds)
            message += f": banned for {admission.ban_seconds:g} seconds"
        raise Refusal(429, WebhookOutcome.RATE_LIMITED, message, retry_after=retry_after)

    async def _read(self, request: web.Request) -> bytes:
        limit = self.config.max_body_bytes
        try:
            async with asyncio.timeout(BODY_READ_TIMEOUT_SECONDS):
                return await read_limited(request.content, request.content_length, limit)
        except BodyTooLarge:
            raise Refusal(413, WebhookOutcome.TOO_LARGE, f"the body is over {limit} bytes") from None
        except TimeoutError:
            reason = f"the body did not arrive within {BODY_READ_TIMEOUT_SECONDS:g} seconds"
            raise Refusal(408, WebhookOutcome.BAD_REQUEST, reason) from None
        except Exception as exc:  # a truncated or malformed transfer: the client's doing, not ours
            reason = f"the body could not be read ({type(exc).__name__})"
            raise Refusal(400, WebhookOutcome.BAD_REQUEST, reason) from None


def _prepared(body: DecodedBody, secret: str) -> tuple[str, Reader]:
    """The text to store (without the secret) and how to read the signal from the body."""
    if body.payload is None:
        return redact(body.text or "", secret), read_text
    payload = without_secret(body.payload, secret)

    def read_alert(envelope: SignalEnvelope, _policy: ChannelPolicy) -> Signal:
        return parse_tradingview(payload, now=envelope.received_at)

    return stored_text(payload, secret), read_alert


def _answer(result: ExecutionResult) -> tuple[web.Response, WebhookOutcome]:
    """200 for every signal the pipeline took, whatever became of it; 400 for what was not a usable signal."""
    data: dict[str, Any] = {"signal_id": result.signal_id, "outcome": result.outcome.value, "reason": result.reason}
    if result.outcome is Outcome.NOT_A_SIGNAL:
        raise Refusal(400, WebhookOutcome.NOT_A_SIGNAL, result.reason or "not a signal", code="not_a_signal")
    if result.outcome is Outcome.INVALID:
        reason = result.reason or "invalid signal"
        raise Refusal(400, WebhookOutcome.INVALID, reason, code="invalid_signal", data=data)
    if result.replayed:
        data |= {"outcome": Outcome.DUPLICATE.value, "first_outcome": result.outcome.value}
        return envelope(data), WebhookOutcome.DUPLICATE
    if result.outcome is Outcome.DUPLICATE:
        return envelope(data), WebhookOutcome.DUPLICATE
    return envelope(data), WebhookOutcome.ACCEPTED


def register_webhook_metrics(metrics: Metrics, guard: AbuseGuard) -> None:
    """Zero series for every outcome and scope, and the scrape-time ban gauges (never an address as a label)."""
    for outcome in WebhookOutcome:
        metrics.webhook_requests.labels(outcome.value)
    for scope in ("ip", "global"):
        metrics.webhook_rate_limited.labels(scope)
    metrics.scrape_time.add(
        "tradecord_webhook_bans_active", "Webhook clients banned right now.", (), lambda: [((), guard.active_bans())]
    )
    metrics.scrape_time.add(
        "tradecord_webhook_clients_tracked",
        "Webhook clients whose rate-limit state is held in memory.",
        (),
        lambda: [((), float(guard.tracked_clients))],
    )


def build_webhook(
    server: ServerSettings,
    intake: SignalIntake,
    metrics: Metrics,
    clock: Clock,
    monotonic: MonotonicClock = time.monotonic,
) -> WebhookEndpoint:
    """The endpoint as configured in `[server]`, its metrics registered."""
    guard = AbuseGuard(AbuseLimits.from_settings(server), monotonic)
    register_webhook_metrics(metrics, guard)
    if server.webhook_secret is None:
        log.warning("webhook.no_secret", detail="server.webhook_secret is not set: every webhook call is refused")
    return WebhookEndpoint(WebhookConfig.from_settings(server), guard, intake, metrics, clock)

"""`GET /api/signals`, `GET /api/orders` (newest first, keyset pages) and `GET /api/trace/{signal_id}`.

They sit behind the same optional bearer token as every `/api/*` route. Webhook bodies are never echoed:
a webhook signal's `text` is null here (its parsed form is shown), so nothing a caller sent as a secret
can come back out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aiohttp import web

from bot.domain import OrderStatus, Outcome, SignalSource
from bot.services.records import (
    DEFAULT_PAGE,
    MAX_PAGE,
    PENDING,
    InvalidQuery,
    RecordsService,
    SignalTraceReport,
    parse_signal_id,
)
from bot.signals.schema import signal_to_dict
from bot.web.app import envelope
from storage.orders import OrderRecord
from storage.signals import SignalRecord
from storage.trace import FillRecord

RECORDS = web.AppKey("records", RecordsService)
T = TypeVar("T")
_MAX_ID_LENGTH = 64
OUTCOME_FILTERS = [*(o.value for o in Outcome), PENDING]


def _dec(value: Any) -> str | None:
    return None if value is None else format(value, "f")


def signal_json(record: SignalRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "source": record.source.value,
        "channel_id": record.channel_id,
        "message_id": record.message_id,
        "author_id": record.author_id,
        "received_at": record.received_at.isoformat(),
        "kind": None if record.signal is None else record.signal.kind.value,
        "symbol": None if record.signal is None else record.signal.symbol,
        "signal": None if record.signal is None else signal_to_dict(record.signal),
        "text": record.text if record.source is SignalSource.DISCORD else None,
        "outcome": PENDING if record.outcome is None else record.outcome.value,
        "reason": record.reason,
        "latency_ms": None if record.latency_seconds is None else round(record.latency_seconds * 1000, 3),
    }


def order_json(order: OrderRecord) -> dict[str, Any]:
    request = order.request
    return {
        "client_order_id": request.client_order_id,
        "signal_id": order.signal_id,
        "leg": order.leg,
        "broker": order.broker,
        "symbol": request.symbol,
        "asset_class": request.asset_class.value,
        "side": request.side.value,
        "type": request.type.value,
        "quantity": _dec(request.quantity),
        "limit_price": _dec(request.limit_price),
        "stop_price": _dec(request.stop_price),
        "stop_loss": _dec(request.stop_loss),
        "take_profit": _dec(request.take_profit),
        "time_in_force": request.time_in_force,
        "reduce_only": request.reduce_only,
        "status": order.status.value,
        "broker_order_id": order.broker_order_id,
        "filled_quantity": _dec(order.filled_quantity),
        "average_fill_price": _dec(order.average_fill_price),
        "reason": order.reason,
        "attempts": order.attempts,
        "created_at": order.created_at.isoformat(),
        "updated_at": order.updated_at.isoformat(),
    }


def fill_json(fill: FillRecord) -> dict[str, Any]:
    return {
        "client_order_id": fill.client_order_id,
        "kind": fill.kind,
        "symbol": fill.symbol,
        "side": fill.side.value,
        "quantity": _dec(fill.quantity),
        "price": _dec(fill.price),
        "realized_pnl": _dec(fill.realized_pnl),
        "at": fill.at.isoformat(),
    }


def trace_json(report: SignalTraceReport) -> dict[str, Any]:
    return {
        "signal": signal_json(report.signal),
        "orders": [order_json(order) for order in report.orders],
        "fills": [fill_json(fill) for fill in report.fills],
        "steps": [
            {"step": s.step, "at": s.at.isoformat(), "ms_since_received": s.ms_since_received, "detail": s.detail}
            for s in report.steps
        ],
    }


def _check_params(query: Mapping[str, str], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(query) - set(allowed))
    if unknown:
        raise InvalidQuery(f"unknown parameter {unknown[0]!r}; this route takes {', '.join(allowed)}")


def _limit(query: Mapping[str, str]) -> int:
    raw = query.get("limit")
    if raw is None:
        return DEFAULT_PAGE
    if not raw.strip().isdigit() or int(raw) < 1:
        raise InvalidQuery(f"limit must be a whole number from 1 (at most {MAX_PAGE} are returned), got {raw!r}")
    return int(raw)


def _choice(query: Mapping[str, str], name: str, parse: Callable[[str], T], allowed: list[str]) -> T | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse(raw.strip().lower())
    except ValueError:
        raise InvalidQuery(f"{name} must be one of {', '.join(allowed)} (got {raw[:40]!r})") from None


def _outcome_filter(value: str) -> str:
    if value not in OUTCOME_FILTERS:
        raise ValueError(value)
    return value


async def api_signals_route(request: web.Request) -> web.Response:
    query = request.query
    try:
        _check_params(query, ("limit", "outcome", "before"))
        limit = _limit(query)
        wanted = _choice(query, "outcome", _outcome_filter, OUTCOME_FILTERS)
        before = (query.get("before") or "").strip() or None
        page = await request.app[RECORDS].signals(
            limit=limit,
            outcome=None if wanted in (None, PENDING) else Outcome(wanted),
            pending=wanted == PENDING,
            before=None if before is None else parse_signal_id(before, "before"),
        )
    except InvalidQuery as exc:
        return envelope(None, success=False, status=400, error=str(exc))
    return envelope({"signals": [signal_json(s) for s in page.items], "next_before": page.next_before})


async def api_orders_route(request: web.Request) -> web.Response:
    query = request.query
    try:
        _check_params(query, ("limit", "status", "before"))
        limit = _limit(query)
        status = _choice(query, "status", OrderStatus, [s.value for s in OrderStatus])
        before = (query.get("before") or "").strip() or None
        if before is not None and len(before) > _MAX_ID_LENGTH:
            raise InvalidQuery(f"before must be a client order id (at most {_MAX_ID_LENGTH} characters)")
        page = await request.app[RECORDS].orders(limit=limit, status=status, before=before)
    except InvalidQuery as exc:
        return envelope(None, success=False, status=400, error=str(exc))
    return envelope({"orders": [order_json(o) for o in page.items], "next_before": page.next_before})


async def api_trace_route(request: web.Request) -> web.Response:
    try:
        signal_id = parse_signal_id(request.match_info["signal_id"])
    except InvalidQuery as exc:
        return envelope(None, success=False, status=400, error=str(exc))
    report = await request.app[RECORDS].trace(signal_id)
    if report is None:
        return envelope(None, success=False, status=404, error=f"no signal {signal_id} is recorded")
    return envelope(trace_json(report))


def with_records_api(app: web.Application, records: RecordsService) -> web.Application:
    """`app` also serving the record routes (the composition root adds them before the server starts)."""
    app[RECORDS] = records
    app.router.add_get("/api/signals", api_signals_route)
    app.router.add_get("/api/orders", api_orders_route)
    app.router.add_get("/api/trace/{signal_id}", api_trace_route)
    return app

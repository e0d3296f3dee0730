"""The fake Alpaca's records: an order (with its legs) and a position, as Alpaca's JSON shows them.

Decimals are strings, timestamps RFC 3339 UTC, errors `{"code": ..., "message": ...}` (`VenueRefusal`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

OPEN_STATUSES = frozenset({"new", "accepted", "pending_new", "partially_filled", "held", "done_for_day"})
FINAL_STATUSES = frozenset({"filled", "canceled", "expired", "rejected", "replaced"})
TIME_IN_FORCE = frozenset({"day", "gtc", "opg", "cls", "ioc", "fok"})
ORDER_TYPES = frozenset({"market", "limit", "stop", "stop_limit"})
MAX_CLIENT_ORDER_ID = 48


class VenueRefusal(Exception):
    """An answer other than 2xx, with Alpaca's error body."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def unprocessable(message: str) -> VenueRefusal:
    return VenueRefusal(422, 40010001, message)


def not_found(message: str) -> VenueRefusal:
    return VenueRefusal(404, 40410000, message)


def timestamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def as_decimal(body: dict[str, Any], key: str, *, required: bool = False) -> Decimal | None:
    """A decimal field as Alpaca accepts it (a string or a JSON number); 422 when it is malformed."""
    value = body.get(key)
    if value is None:
        if required:
            raise unprocessable(f"{key} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise unprocessable(f"invalid {key}")
    try:
        parsed = Decimal(str(value))
    except InvalidOperation as exc:
        raise unprocessable(f"invalid {key}") from exc
    if not parsed.is_finite() or parsed <= 0:
        raise unprocessable(f"{key} must be > 0")
    return parsed


@dataclass(eq=False)
class FakeOrder:
    """One order at the fake venue; `legs` are a bracket's (or oto's) exits, `parent` their entry."""

    symbol: str
    side: str
    type: str
    qty: Decimal
    time_in_force: str
    client_order_id: str
    order_class: str = "simple"
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    status: str = "new"
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    filled_qty: Decimal = Decimal(0)
    filled_avg_price: Decimal | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    filled_at: datetime | None = None
    canceled_at: datetime | None = None
    replaced_at: datetime | None = None
    replaced_by: str | None = None
    replaces: str | None = None
    legs: list[FakeOrder] = field(default_factory=list)
    parent: FakeOrder | None = field(default=None, repr=False)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def asset_class(self) -> str:
        return "crypto" if "/" in self.symbol else "us_equity"

    def touch(self, status: str) -> None:
        self.status = status
        self.updated_at = datetime.now(UTC)

    def to_json(self, *, nested: bool = True) -> dict[str, Any]:
        """Alpaca's order object; `legs` is null unless nested (as with `nested=true`) and there are legs."""
        return {
            "id": self.id,
            "client_order_id": self.client_order_id,
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.updated_at),
            "submitted_at": timestamp(self.created_at),
            "filled_at": timestamp(self.filled_at),
            "expired_at": None,
            "canceled_at": timestamp(self.canceled_at),
            "failed_at": None,
            "replaced_at": timestamp(self.replaced_at),
            "replaced_by": self.replaced_by,
            "replaces": self.replaces,
            "asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, self.symbol)),
            "symbol": self.symbol,
            "asset_class": self.asset_class,
            "notional": None,
            "qty": text(self.qty),
            "filled_qty": text(self.filled_qty),
            "filled_avg_price": text(self.filled_avg_price),
            "order_class": self.order_class,
            "order_type": self.type,
            "type": self.type,
            "side": self.side,
            "time_in_force": self.time_in_force,
            "limit_price": text(self.limit_price),
            "stop_price": text(self.stop_price),
            "status": self.status,
            "extended_hours": False,
            "legs": [leg.to_json(nested=False) for leg in self.legs] if nested and self.legs else None,
            "trail_percent": None,
            "trail_price": None,
            "hwm": None,
        }


@dataclass
class FakePosition:
    quantity: Decimal  # signed: negative for a short
    average_price: Decimal

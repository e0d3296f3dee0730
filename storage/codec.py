"""Conversions between domain values and SQLite columns: Decimals as exact text, times as UTC epoch seconds."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal


def dec_to_db(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def dec_from_db(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def time_to_db(value: datetime) -> float:
    return value.timestamp()


def time_from_db(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)

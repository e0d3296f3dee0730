"""Consistency rules every open signal must satisfy, whether it came from text or a webhook.

A signal whose stop sits on the wrong side of the entry would lose money the moment it fills, so it is
refused with a message that names the numbers, never silently repaired.
"""

from __future__ import annotations

from decimal import Decimal

from bot.domain import Entry, EntryType, OpenSignal, Side
from bot.errors import InvalidSignal
from bot.signals._numbers import show

# A target or stop more than this many times away from the entry is a misread number ("160,165,170" read
# as one), not a plan.
_PLAUSIBLE_RATIO = Decimal(100)
_ZERO = Decimal(0)  # Decimals compare faster with a Decimal than with an int

Reference = tuple[Decimal, Decimal]  # (low, high) of the entry the stop and targets are checked against


def reference_of(entry: Entry) -> Reference | None:
    """The price band an entry stands for: its price, its range, or nothing for a market order."""
    if entry.type is EntryType.RANGE and entry.low is not None and entry.high is not None:
        return entry.low, entry.high
    if entry.price is not None:
        return entry.price, entry.price
    return None


def describe_reference(reference: Reference) -> str:
    low, high = reference
    return show(low) if low == high else f"{show(low)}-{show(high)}"


def check_positive(value: Decimal | None, name: str) -> None:
    if value is not None and value <= _ZERO:
        raise InvalidSignal(f"{name} {show(value)} must be positive")


def check_open(signal: OpenSignal, reference: Reference | None = None) -> None:
    """Raise InvalidSignal if the signal is inconsistent; `reference` overrides the entry's own prices."""
    check_positive(signal.quantity, "quantity")
    check_positive(signal.leverage, "leverage")
    check_positive(signal.stop_loss, "stop loss")
    for target in signal.take_profits:
        check_positive(target, "take profit")
    for price in (signal.entry.price, signal.entry.low, signal.entry.high):
        check_positive(price, "entry price")
    if signal.option is not None:
        check_positive(signal.option.strike, "option strike")
    band = reference if reference is not None else reference_of(signal.entry)
    if band is None:
        _check_without_entry(signal)
        return
    _check_stop(signal, band)
    _check_targets(signal, band)


def _check_stop(signal: OpenSignal, band: Reference) -> None:
    stop = signal.stop_loss
    if stop is None:
        return
    low, high = band
    buy = signal.side is Side.BUY
    wrong = stop >= low if buy else stop <= high
    if wrong:
        where = "at" if stop in (low, high) else ("above" if buy else "below")
        raise InvalidSignal(
            f"stop loss {show(stop)} is {where} the entry {describe_reference(band)} for a {signal.side.value}"
        )
    _check_plausible(stop, band, "stop loss")


def _check_targets(signal: OpenSignal, band: Reference) -> None:
    low, high = band
    buy = signal.side is Side.BUY
    for target in signal.take_profits:
        wrong = target <= high if buy else target >= low
        if wrong:
            where = "at" if target in (low, high) else ("below" if buy else "above")
            raise InvalidSignal(
                f"take profit {show(target)} is {where} the entry {describe_reference(band)} for a {signal.side.value}"
            )
        _check_plausible(target, band, "take profit")


def _check_without_entry(signal: OpenSignal) -> None:
    """A market order has no price to compare with, but its stop must still sit beyond every target."""
    stop = signal.stop_loss
    if stop is None:
        return
    buy = signal.side is Side.BUY
    for target in signal.take_profits:
        if (buy and stop >= target) or (not buy and stop <= target):
            where = "above" if buy else "below"
            raise InvalidSignal(
                f"stop loss {show(stop)} is {where} the take profit {show(target)} for a {signal.side.value}"
            )


def _check_plausible(value: Decimal, band: Reference, name: str) -> None:
    low, high = band
    if value > high * _PLAUSIBLE_RATIO or value * _PLAUSIBLE_RATIO < low:
        raise InvalidSignal(
            f"{name} {show(value)} is implausibly far from the entry {describe_reference(band)}: check the number"
        )

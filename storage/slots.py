"""Which per-minute and per-hour history rows cover a time window.

History is written at two resolutions at once (a row per minute and a row per hour), and per-minute rows
are pruned after `storage.minute_history_days`. A window is read from hourly rows for the whole hours it
contains and from minute rows only at its ragged edges, so even a 30-day window reads a few hundred rows
per series. Windows longer than a day start at the top of their first hour (they may include up to 59
minutes more than asked, under 1 % of a 7-day window), so they never need pruned minute rows.
"""

from __future__ import annotations

from dataclasses import dataclass

MINUTE = 60
HOUR = 3600
EXACT_UP_TO_SECONDS = 24 * HOUR


@dataclass(frozen=True, slots=True)
class SlotSpan:
    """Slots `first..last` (inclusive) of `period` seconds; slot n covers [n * period, (n + 1) * period)."""

    period: int
    first: int
    last: int


def window_spans(start: float, end: float) -> list[SlotSpan]:
    """The spans covering [start, end] (epoch seconds): exact to the minute up to a day, hour-aligned beyond."""
    first_minute, last_minute = int(start // MINUTE), int(end // MINUTE)
    if last_minute < first_minute:
        return []
    if end - start > EXACT_UP_TO_SECONDS:
        return [SlotSpan(HOUR, first_minute // 60, last_minute // 60)]
    first_hour = -(-first_minute // 60)  # the first hour that starts inside the window
    last_hour = (last_minute + 1) // 60 - 1  # the last hour that ends inside it
    if first_hour > last_hour:
        return [SlotSpan(MINUTE, first_minute, last_minute)]
    spans = [SlotSpan(HOUR, first_hour, last_hour)]
    if first_minute < first_hour * 60:
        spans.insert(0, SlotSpan(MINUTE, first_minute, first_hour * 60 - 1))
    if (last_hour + 1) * 60 <= last_minute:
        spans.append(SlotSpan(MINUTE, (last_hour + 1) * 60, last_minute))
    return spans

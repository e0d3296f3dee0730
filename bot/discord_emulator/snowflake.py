"""Snowflake ids and timestamps, generated the way Discord does.

discord.py derives ``created_at`` from an id and compares ids numerically (``history(after=...)``,
catch-up logic), so the fake must hand out real, time-ordered snowflakes rather than counters.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

DISCORD_EPOCH_MS = 1_420_070_400_000
_WORKER_ID = 1
_PROCESS_ID = 0


def snowflake_time(snowflake: int) -> datetime:
    """The UTC creation time encoded in ``snowflake`` (what discord.py's ``created_at`` returns)."""
    ms = (snowflake >> 22) + DISCORD_EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def iso(moment: datetime) -> str:
    """``moment`` in Discord's ISO 8601 wire format (microseconds and an explicit ``+00:00``)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class SnowflakeFactory:
    """Hands out strictly increasing snowflakes derived from the current wall-clock time.

    Two ids minted in the same millisecond differ in the increment bits; if the clock ever steps back
    the factory keeps counting up from the last id, so ordering by id always matches creation order.
    """

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        """A fresh snowflake, greater than every snowflake this factory returned before."""
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        candidate = (ms << 22) | (_WORKER_ID << 17) | (_PROCESS_ID << 12)
        self._last = max(candidate, self._last + 1)
        return self._last

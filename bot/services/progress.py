"""How far each signal channel has been handled, for the catch-up that follows a restart.

The mark must never pass a message that is still being handled: if the process dies then, the restart
reads the channel's history after the mark and must see that message again. Messages are handled
concurrently and can finish out of order, so the mark is the newest message below every one in flight.
Snowflakes grow with time, so "below" is numeric order.
"""

from __future__ import annotations


class ProgressMarks:
    def __init__(self) -> None:
        self._in_flight: dict[str, set[int]] = {}
        self._newest_done: dict[str, int] = {}

    def begin(self, channel_id: str, message_id: int) -> None:
        self._in_flight.setdefault(channel_id, set()).add(message_id)

    def finish(self, channel_id: str, message_id: int) -> int:
        """Mark `message_id` handled; returns the channel's safe mark (re-reading from it is idempotent)."""
        in_flight = self._in_flight.get(channel_id, set())
        in_flight.discard(message_id)
        newest = max(self._newest_done.get(channel_id, 0), message_id)
        self._newest_done[channel_id] = newest
        if not in_flight:
            self._in_flight.pop(channel_id, None)
            return newest
        return min(min(in_flight) - 1, newest)

"""How far each signal channel has been handled, for the catch-up that follows a restart.

The mark must never pass a message that is still being handled: if the process dies then, the restart
reads the channel's history after the mark and must see that message again. Messages are handled
concurrently and can finish out of order, so the mark is the newest message below every one in flight.
Snowflakes grow with time, so "below" is numeric order.
"""

from __future__ import annotations

import heapq


class ProgressMarks:
    def __init__(self) -> None:
        self._in_flight: dict[str, set[int]] = {}
        # The same ids as a heap, so the oldest in flight is found in O(log n) when a burst has thousands
        # in flight; ids already finished are dropped from its top lazily.
        self._oldest: dict[str, list[int]] = {}
        self._newest_done: dict[str, int] = {}

    def begin(self, channel_id: str, message_id: int) -> None:
        self._in_flight.setdefault(channel_id, set()).add(message_id)
        heapq.heappush(self._oldest.setdefault(channel_id, []), message_id)

    def finish(self, channel_id: str, message_id: int) -> int:
        """Mark `message_id` handled; returns the channel's safe mark (re-reading from it is idempotent)."""
        in_flight = self._in_flight.get(channel_id)
        if in_flight is not None:
            in_flight.discard(message_id)
        return self._mark(channel_id, message_id)

    def _mark(self, channel_id: str, message_id: int) -> int:
        newest = max(self._newest_done.get(channel_id, 0), message_id)
        self._newest_done[channel_id] = newest
        in_flight = self._in_flight.get(channel_id)
        if not in_flight:
            self._in_flight.pop(channel_id, None)
            self._oldest.pop(channel_id, None)
            return newest
        oldest = self._oldest[channel_id]
        while oldest[0] not in in_flight:
            heapq.heappop(oldest)
        return min(oldest[0] - 1, newest)

    def handled(self, channel_id: str, message_id: int) -> int:
        """A message handled the moment it arrived (never in flight); returns the channel's safe mark."""
        return self._mark(channel_id, message_id)

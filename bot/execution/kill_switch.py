"""The kill switch: while engaged no new entry is placed. Survives restarts.

Closes still go through (a provider's CLOSE or an admin's `/close`): pausing must never trap a position.
"""

from __future__ import annotations

from storage.state import KILL_SWITCH, StateRepository


class KillSwitch:
    def __init__(self, state: StateRepository) -> None:
        self._state = state
        self.engaged = False

    async def load(self, initial: bool) -> None:
        """The persisted state wins; `risk.kill_switch` only sets the state of a fresh database."""
        stored = await self._state.get(KILL_SWITCH)
        self.engaged = initial if stored is None else stored == "1"

    async def set(self, engaged: bool) -> None:
        await self._state.set(KILL_SWITCH, "1" if engaged else "0")
        self.engaged = engaged

"""The kill switch: while engaged no new position is opened or closed by a signal. Survives restarts."""

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

"""Small durable key/value facts: the kill switch, the last message seen per channel for catch-up."""

from __future__ import annotations

from storage.database import Database

KILL_SWITCH = "risk.kill_switch"
_LAST_MESSAGE_PREFIX = "discord.last_message."


def last_message_key(channel_id: str) -> str:
    return _LAST_MESSAGE_PREFIX + channel_id


class StateRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, key: str) -> str | None:
        row = await self._db.fetchone("SELECT value FROM bot_state WHERE key = ?", (key,))
        return None if row is None else str(row[0])

    async def set(self, key: str, value: str) -> None:
        await self._db.execute(
            "INSERT INTO bot_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    async def last_message_id(self, channel_id: str) -> int | None:
        value = await self.get(last_message_key(channel_id))
        return None if value is None else int(value)

"""Who may cause orders: trusted users or roles, in signal channels; bots only when explicitly allowed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Author:
    id: int
    role_ids: frozenset[int]
    is_bot: bool = False
    webhook_id: int | None = None


class SignalAuthority:
    def __init__(
        self,
        *,
        signal_channel_ids: Iterable[int],
        trusted_user_ids: Iterable[int],
        trusted_role_ids: Iterable[int],
        allowed_bot_ids: Iterable[int] = (),
    ) -> None:
        self.signal_channel_ids = frozenset(signal_channel_ids)
        self._users = frozenset(trusted_user_ids)
        self._roles = frozenset(trusted_role_ids)
        self._bots = frozenset(allowed_bot_ids)

    def is_signal_channel(self, channel_id: int) -> bool:
        return channel_id in self.signal_channel_ids

    def refusal(self, channel_id: int, author: Author) -> str | None:
        """None when this author may trade from this channel, else the reason (for logs and stats)."""
        if channel_id not in self.signal_channel_ids:
            return f"channel {channel_id} is not a signal channel"
        if author.webhook_id is not None and author.webhook_id not in self._bots:
            return f"webhook {author.webhook_id} is not in discord.allowed_bot_ids"
        if author.is_bot and author.id not in self._bots:
            return f"bot {author.id} is not in discord.allowed_bot_ids"
        if author.id in self._users or author.id in self._bots or not self._roles.isdisjoint(author.role_ids):
            return None
        return f"user {author.id} is not a trusted user and has no trusted role"

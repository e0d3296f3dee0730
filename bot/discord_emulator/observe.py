"""The read side of ``FakeDiscord``: what the bot sent, reacted, registered and requested.

A mixin so ``fake.py`` stays about building the world and driving the bot; both halves share one
``Core``.
"""

from __future__ import annotations

from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import Any

from .core import Core, RecordedRequest
from .gateway import GatewayEvent
from .state import FakeMessage


class BotObservations:
    """Queries and waits over what the bot did. Waits re-check on every change and time out with a
    description of the state they found."""

    _core: Core

    @property
    def bot_user_id(self) -> int:
        """The bot's user id."""
        return self._core.world.bot_user.id

    def messages(self, channel_id: int, *, include_ephemeral: bool = False) -> list[FakeMessage]:
        """Live messages in a channel, oldest first (bot messages included)."""
        return [
            m
            for m in self._core.world.channel_messages.get(channel_id, [])
            if not m.deleted and (include_ephemeral or not m.ephemeral)
        ]

    def bot_messages(self, channel_id: int) -> list[FakeMessage]:
        """Messages the bot sent in a channel (including interaction replies visible to all)."""
        return [m for m in self.messages(channel_id) if m.author_id == self.bot_user_id]

    def message(self, message_id: int) -> FakeMessage:
        """Any stored message by id (deleted ones too)."""
        return self._core.world.messages[message_id]

    def reactions(self, channel_id: int, message_id: int) -> list[str]:
        """Emoji the bot has on a message, in the order it added them."""
        msg = self._core.world.message(channel_id, message_id)
        return [r.emoji for r in msg.reactions if r.user_id == self.bot_user_id]

    async def wait_for_reaction(
        self,
        channel_id: int,
        message_id: int,
        *,
        emoji: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> str:
        """The first emoji the bot added to a message (or ``emoji`` once added)."""

        def probe() -> str | None:
            found = self.reactions(channel_id, message_id)
            return next((e for e in found if emoji is None or e == emoji), None)

        return await self._core.wait_for(
            probe, within=timeout, what=lambda: f"a bot reaction {emoji or ''} on message {message_id}"
        )

    async def wait_for_bot_message(
        self,
        channel_id: int,
        predicate: Callable[[FakeMessage], bool] | None = None,
        *,
        after: int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> FakeMessage:
        """The oldest bot message in a channel matching ``predicate`` with an id above ``after``
        (pass the triggering message's id to ignore earlier bot messages)."""

        def probe() -> FakeMessage | None:
            return next(
                (
                    m
                    for m in self.bot_messages(channel_id)
                    if (after is None or m.id > after) and (predicate is None or predicate(m))
                ),
                None,
            )

        def what() -> str:
            seen = [m.content[:60] for m in self.bot_messages(channel_id)]
            return f"a bot message in channel {channel_id} after {after}; bot messages there: {seen}"

        return await self._core.wait_for(probe, within=timeout, what=what)

    async def wait_for_request(self, method: str, path_glob: str, *, timeout: float = 5.0) -> RecordedRequest:  # noqa: ASYNC109
        """The first logged REST call matching ``method`` and an ``fnmatch`` pattern on the path."""

        def probe() -> RecordedRequest | None:
            return next(
                (r for r in self._core.request_log if r.method == method and fnmatchcase(r.path, path_glob)), None
            )

        return await self._core.wait_for(probe, within=timeout, what=lambda: f"a REST call {method} {path_glob}")

    def registered_commands(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        """Commands as registered (Discord's JSON, with ids) in a guild, or globally for None."""
        return [c.data for c in self._core.world.commands_in(guild_id)]

    @property
    def requests(self) -> list[tuple[str, str]]:
        """Every REST call as ``(method, path)``, path relative to ``/api/v10``."""
        return [(r.method, r.path) for r in self._core.request_log]

    @property
    def request_log(self) -> list[RecordedRequest]:
        """Every REST call with query, body and answered status."""
        return list(self._core.request_log)

    @property
    def unknown_routes(self) -> list[tuple[str, str]]:
        """REST calls to paths the fake does not implement (answered 404)."""
        return list(self._core.unknown_routes)

    @property
    def internal_errors(self) -> list[str]:
        """Requests the fake itself failed on (answered 400); should stay empty."""
        return list(self._core.internal_errors)

    @property
    def dispatched_events(self) -> list[GatewayEvent]:
        """Every gateway dispatch sent or buffered for the bot, in sequence order."""
        return list(self._core.gateway.events)

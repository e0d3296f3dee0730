"""The fake's shared engine: the world, the gateway, logs, and the mutations both sides perform.

A message can be created by the test ("a user posts") or by the bot over REST; either way it must be
stored, dispatched on the gateway and wake up tests waiting for it. Keeping those mutations here means
the REST handlers and the test-facing ``FakeDiscord`` cannot drift apart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any, TypeVar

from . import payloads
from .gateway import Gateway
from .protocol import INTENT_MESSAGE_CONTENT, PRIVILEGED_INTENTS
from .snowflake import SnowflakeFactory
from .state import DEFAULT_BOT_PERMISSIONS, FakeMessage, FakeReaction, FakeUser, World

if TYPE_CHECKING:
    from .interactions import InteractionHandle

T = TypeVar("T")
JSON = dict[str, Any]


@dataclass(frozen=True)
class RecordedRequest:
    """One REST call the bot made: path is relative to ``/api/v10`` and already percent-decoded."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int


@dataclass
class ScriptedFailure:
    """A planned error answer for matching REST calls (``path_glob`` uses ``fnmatch`` syntax)."""

    method: str
    path_glob: str
    status: int
    remaining: int
    retry_after: float
    body: JSON | None = None
    hits: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FakeConfig:
    """Construction options of ``FakeDiscord`` (see its docstring)."""

    bot_user_id: int | None = None
    application_id: int | None = None
    bot_token: str = "fake-bot-token"
    bot_name: str = "Tradecord"
    approved_intents: int = PRIVILEGED_INTENTS
    heartbeat_interval_ms: int = 41_250
    interaction_deadline: float = 3.0
    bot_permissions: int = DEFAULT_BOT_PERMISSIONS
    reaction_interval: float | None = None


class Core:
    """State plus the operations shared by the REST routes and the test API."""

    def __init__(self, config: FakeConfig) -> None:
        self.config = config
        self.ids = SnowflakeFactory()
        bot = FakeUser(config.bot_user_id or self.ids.next(), config.bot_name, bot=True)
        owner = FakeUser(self.ids.next(), "owner")
        self.world = World(self.ids, bot_user=bot, owner=owner)
        self.application_id = config.application_id or bot.id
        self.token = config.bot_token
        self.gateway_url = ""  # set by FakeDiscord.start() once the port is known
        self.interaction_deadline = config.interaction_deadline
        self.approved_intents = config.approved_intents
        self.gateway = Gateway(
            self.world,
            token=config.bot_token,
            application_id=self.application_id,
            approved_intents=config.approved_intents,
            heartbeat_interval_ms=config.heartbeat_interval_ms,
            on_change=self.notify,
        )
        self.request_log: list[RecordedRequest] = []
        self.unknown_routes: list[tuple[str, str]] = []
        self.internal_errors: list[str] = []
        self.failures: list[ScriptedFailure] = []
        self.interactions: dict[int, InteractionHandle] = {}
        self._changed = asyncio.Event()

    # --- waiting -----------------------------------------------------------------------------------
    def notify(self) -> None:
        """Wake every ``wait_for`` so it re-checks its condition."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait_for(self, probe: Callable[[], T | None], *, within: float, what: Callable[[], str]) -> T:
        """Return ``probe()``'s first non-None result, re-checking after every change; TimeoutError names
        what was awaited (``what()`` is evaluated at the deadline, so it can describe the final state)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            result = probe()
            if result is not None:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"fake Discord: timed out after {within}s waiting for {what()}")
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                continue

    # --- messages ----------------------------------------------------------------------------------
    def new_message(self, channel_id: int, author_id: int, content: str, **fields: Any) -> FakeMessage:
        """Build (not store) a message in ``channel_id`` with a fresh snowflake."""
        channel = self.world.channel(channel_id)
        return FakeMessage(
            id=self.ids.next(),
            channel_id=channel_id,
            guild_id=channel.guild_id,
            author_id=author_id,
            content=content,
            **fields,
        )

    def create_message(self, msg: FakeMessage) -> FakeMessage:
        """Store ``msg`` and dispatch MESSAGE_CREATE (ephemeral messages are never dispatched)."""
        self.world.store_message(msg)
        if not msg.ephemeral:
            self.gateway.dispatch("MESSAGE_CREATE", payloads.message(self.world, msg, gateway=True))
        self.notify()
        return msg

    def update_message(self, msg: FakeMessage, changes: JSON, *, mark_edited: bool = True) -> FakeMessage:
        """Apply body fields (content, embeds, components, flags...) and dispatch MESSAGE_UPDATE."""
        if "content" in changes:
            msg.content = changes["content"] or ""
        if "embeds" in changes:
            msg.embeds = list(changes["embeds"] or [])
        if "components" in changes:
            msg.components = list(changes["components"] or [])
        if "attachments" in changes and changes["attachments"] is not None:
            msg.attachments = list(changes["attachments"])
        if mark_edited:
            msg.edited_at = datetime.now(UTC)
        if not msg.ephemeral:
            self.gateway.dispatch("MESSAGE_UPDATE", payloads.message(self.world, msg, gateway=True))
        self.notify()
        return msg

    def delete_message(self, msg: FakeMessage) -> None:
        """Mark ``msg`` deleted and dispatch MESSAGE_DELETE."""
        msg.deleted = True
        if not msg.ephemeral:
            data: JSON = {"id": str(msg.id), "channel_id": str(msg.channel_id)}
            if msg.guild_id is not None:
                data["guild_id"] = str(msg.guild_id)
            self.gateway.dispatch("MESSAGE_DELETE", data)
        self.notify()

    def rest_message(self, msg: FakeMessage) -> JSON:
        """A message as REST returns it; without an approved content intent, others' content is empty."""
        data = payloads.message(self.world, msg, gateway=False)
        if self.approved_intents & INTENT_MESSAGE_CONTENT or msg.guild_id is None:
            return data
        if msg.author_id == self.world.bot_user.id or f"<@{self.world.bot_user.id}>" in msg.content:
            return data
        return payloads.strip_content(data)

    # --- reactions ---------------------------------------------------------------------------------
    def add_reaction(self, msg: FakeMessage, emoji: str, user_id: int) -> None:
        """Record a reaction (idempotent, like Discord) and dispatch MESSAGE_REACTION_ADD."""
        if any(r.emoji == emoji and r.user_id == user_id for r in msg.reactions):
            return
        msg.reactions.append(FakeReaction(emoji, user_id))
        data = self._reaction_event(msg, emoji, user_id)
        data["message_author_id"] = str(msg.author_id)
        if msg.guild_id is not None and user_id in self.world.guild(msg.guild_id).members:
            data["member"] = payloads.member(
                self.world.member(msg.guild_id, user_id), with_user=self.world.user(user_id)
            )
        self.gateway.dispatch("MESSAGE_REACTION_ADD", data)
        self.notify()

    def remove_reaction(self, msg: FakeMessage, emoji: str, user_id: int) -> None:
        """Remove a reaction if present and dispatch MESSAGE_REACTION_REMOVE."""
        before = len(msg.reactions)
        msg.reactions = [r for r in msg.reactions if not (r.emoji == emoji and r.user_id == user_id)]
        if len(msg.reactions) != before:
            self.gateway.dispatch("MESSAGE_REACTION_REMOVE", self._reaction_event(msg, emoji, user_id))
            self.notify()

    def _reaction_event(self, msg: FakeMessage, emoji: str, user_id: int) -> JSON:
        data: JSON = {
            "user_id": str(user_id),
            "channel_id": str(msg.channel_id),
            "message_id": str(msg.id),
            "emoji": payloads.emoji(emoji),
            "burst": False,
            "burst_colors": [],
            "type": 0,
        }
        if msg.guild_id is not None:
            data["guild_id"] = str(msg.guild_id)
        return data

    # --- REST bookkeeping --------------------------------------------------------------------------
    def take_failure(self, method: str, path: str) -> ScriptedFailure | None:
        """The scripted failure matching this call, consuming one of its uses."""
        for failure in self.failures:
            if failure.remaining > 0 and failure.method in (method, "*") and fnmatchcase(path, failure.path_glob):
                failure.remaining -= 1
                failure.hits.append(path)
                return failure
        return None

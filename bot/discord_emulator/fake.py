"""``FakeDiscord``: the test-facing API over the fake's server, world and gateway.

Tests build a world (guilds, channels, roles, users), act as Discord users (post, edit, react, invoke
slash commands), control the connection (drop, resume, invalidate) and then read back what the real
discord.py bot did. Every id is an int; every wait has a timeout and fails with a description.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from . import payloads
from .core import Core, FakeConfig, ScriptedFailure
from .interactions import InteractionHandle, build_interaction, find_command
from .observe import BotObservations
from .protocol import PRIVILEGED_INTENTS
from .server import make_app
from .state import DEFAULT_BOT_PERMISSIONS, MESSAGE_REPLY, World


class FakeDiscord(BotObservations):
    """A local Discord (REST under ``/api/v10`` + gateway websocket) for the real discord.py client.

    ``approved_intents`` are the privileged intents "enabled in the developer portal" (default: all);
    identifying with others closes the socket with 4014. ``interaction_deadline`` is Discord's 3 s
    window for the first interaction callback. Every route's rate-limit bucket is roomy (discord.py never
    waits) unless ``reaction_interval`` is set: then the bot's own reactions get Discord's bucket for them,
    one every ``reaction_interval`` seconds per channel (0.25 at Discord), and discord.py waits between them.
    """

    def __init__(
        self,
        *,
        bot_user_id: int | None = None,
        application_id: int | None = None,
        bot_token: str = "fake-bot-token",
        bot_name: str = "Tradecord",
        approved_intents: int = PRIVILEGED_INTENTS,
        heartbeat_interval_ms: int = 41_250,
        interaction_deadline: float = 3.0,
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
        reaction_interval: float | None = None,
    ) -> None:
        config = FakeConfig(
            bot_user_id=bot_user_id,
            application_id=application_id,
            bot_token=bot_token,
            bot_name=bot_name,
            approved_intents=approved_intents,
            heartbeat_interval_ms=heartbeat_interval_ms,
            interaction_deadline=interaction_deadline,
            bot_permissions=bot_permissions,
            reaction_interval=reaction_interval,
        )
        self._core = Core(config)
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # --- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        """Listen on 127.0.0.1 on a free port."""
        runner = web.AppRunner(make_app(self._core), handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self._core.gateway_url = self.gateway_url
        self._core.gateway.resume_url = self.resume_gateway_url

    async def stop(self) -> None:
        """Close the bot's sockets (1001), stop writer tasks and the server."""
        if self._runner is None:
            return
        await self._core.gateway.close_all()
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The TCP port the fake listens on (after ``start``)."""
        if self._port is None:
            raise RuntimeError("FakeDiscord.start() has not been awaited")
        return self._port

    @property
    def api_base_url(self) -> str:
        """Value for ``discord.http.Route.BASE``."""
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        """Value for ``DiscordWebSocket.DEFAULT_GATEWAY`` (wrap in ``yarl.URL``)."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        """The ``resume_gateway_url`` sent in READY (a distinct path, so tests can see it was used)."""
        return f"ws://127.0.0.1:{self.port}/gateway-resume"

    # --- identities --------------------------------------------------------------------------------
    @property
    def application_id(self) -> int:
        """The application id (defaults to the bot's user id, as for most bots)."""
        return self._core.application_id

    @property
    def bot_token(self) -> str:
        """The token REST and IDENTIFY accept."""
        return self._core.token

    @property
    def owner_id(self) -> int:
        """The application owner (``bot.is_owner``) and default guild owner."""
        return self._core.world.owner.id

    @property
    def interaction_deadline(self) -> float:
        """Seconds the bot has for its first interaction callback (Discord: 3); settable."""
        return self._core.interaction_deadline

    @interaction_deadline.setter
    def interaction_deadline(self, seconds: float) -> None:
        self._core.interaction_deadline = seconds

    @property
    def approved_intents(self) -> int:
        """Privileged intents enabled "in the developer portal"; settable before the bot connects."""
        return self._core.approved_intents

    @approved_intents.setter
    def approved_intents(self, intents: int) -> None:
        self._core.approved_intents = intents
        self._core.gateway.approved_intents = intents

    @property
    def world(self) -> World:
        """The underlying model, for assertions the helpers below don't cover."""
        return self._core.world

    # --- building the world ------------------------------------------------------------------------
    def add_user(self, name: str, *, bot: bool = False) -> int:
        """Create a user; returns its id."""
        return self._core.world.add_user(name, bot=bot).id

    def add_guild(self, name: str, *, owner_id: int | None = None) -> int:
        """Create a guild (the bot and the owner are members); dispatched as GUILD_CREATE if connected."""
        world = self._core.world
        guild = world.add_guild(
            name, owner_id=owner_id or world.owner.id, bot_permissions=self._core.config.bot_permissions
        )
        self._core.gateway.dispatch("GUILD_CREATE", payloads.guild_create(world, guild, initial=False))
        return guild.id

    def add_channel(self, guild_id: int, name: str, *, topic: str | None = None) -> int:
        """Create a text channel; dispatched as CHANNEL_CREATE if connected."""
        channel = self._core.world.add_channel(guild_id, name, topic=topic)
        self._core.gateway.dispatch("CHANNEL_CREATE", payloads.channel(self._core.world, channel))
        return channel.id

    def add_role(self, guild_id: int, name: str, *, permissions: int = 0) -> int:
        """Create a role; dispatched as GUILD_ROLE_CREATE if connected."""
        role = self._core.world.add_role(guild_id, name, permissions=permissions)
        self._core.gateway.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(guild_id), "role": payloads.role(role)})
        return role.id

    def add_member(self, guild_id: int, user_id: int, roles: Sequence[int] = ()) -> None:
        """Add a user to a guild; dispatched as GUILD_MEMBER_ADD (members intent) if connected."""
        world = self._core.world
        member = world.add_member(guild_id, user_id, list(roles))
        data = {**payloads.member(member, with_user=world.user(user_id)), "guild_id": str(guild_id)}
        self._core.gateway.dispatch("GUILD_MEMBER_ADD", data)

    def add_webhook(self, channel_id: int, name: str) -> int:
        """Create a channel webhook (for ``post_webhook_message``); returns its id."""
        return self._core.world.add_webhook(channel_id, name, secrets.token_urlsafe(24)).id

    def dm_channel(self, user_id: int) -> int:
        """The DM channel between the bot and a user (created on first use)."""
        return self._core.world.dm_channel(user_id).id

    # --- acting as users ---------------------------------------------------------------------------
    async def post_message(
        self,
        channel_id: int,
        author_id: int,
        content: str,
        *,
        reply_to: int | None = None,
        embeds: Sequence[Mapping[str, Any]] = (),
    ) -> int:
        """A user posts: stored, and MESSAGE_CREATE sent (or buffered for a resumable session).

        Returns once the frame is on the bot's socket. Without a session the message is only stored, so
        the bot can find it in history later.
        """
        core = self._core
        channel = core.world.channel(channel_id)
        core.world.user(author_id)
        if channel.guild_id is not None and author_id not in core.world.guild(channel.guild_id).members:
            raise ValueError(f"user {author_id} is not a member of guild {channel.guild_id}")
        if reply_to is not None:
            core.world.message(channel_id, reply_to)
        msg = core.new_message(
            channel_id,
            author_id,
            content,
            embeds=[dict(e) for e in embeds],
            reference_id=reply_to,
            type=MESSAGE_REPLY if reply_to is not None else 0,
        )
        core.create_message(msg)
        await core.gateway.flush()
        return msg.id

    async def post_webhook_message(
        self, webhook_id: int, content: str, *, embeds: Sequence[Mapping[str, Any]] = ()
    ) -> int:
        """A channel webhook posts (author is the webhook, ``webhook_id`` set, no member)."""
        core = self._core
        hook = core.world.webhooks[webhook_id]
        msg = core.new_message(hook.channel_id, hook.id, content, webhook_id=hook.id, embeds=[dict(e) for e in embeds])
        core.create_message(msg)
        await core.gateway.flush()
        return msg.id

    async def edit_message(self, channel_id: int, message_id: int, new_content: str) -> None:
        """Edit a message's content (MESSAGE_UPDATE with ``edited_timestamp``)."""
        core = self._core
        core.update_message(core.world.message(channel_id, message_id), {"content": new_content})
        await core.gateway.flush()

    async def delete_message(self, channel_id: int, message_id: int) -> None:
        """Delete a message (MESSAGE_DELETE)."""
        core = self._core
        core.delete_message(core.world.message(channel_id, message_id))
        await core.gateway.flush()

    async def add_reaction(self, channel_id: int, message_id: int, user_id: int, emoji: str) -> None:
        """A user reacts (MESSAGE_REACTION_ADD)."""
        core = self._core
        core.add_reaction(core.world.message(channel_id, message_id), emoji, user_id)
        await core.gateway.flush()

    async def replay_dispatch(self, message_id: int) -> None:
        """Send the same MESSAGE_CREATE again (a duplicate delivery), as the message is stored now."""
        core = self._core
        msg = core.world.messages[message_id]
        if core.gateway.dispatch("MESSAGE_CREATE", payloads.message(core.world, msg, gateway=True)) is None:
            raise RuntimeError("the bot has no gateway session to replay into")
        await core.gateway.flush()

    async def invoke_command(
        self,
        name: str,
        *,
        user_id: int,
        channel_id: int,
        guild_id: int | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> InteractionHandle:
        """A user runs ``/name`` (``"group sub"`` for subcommands): INTERACTION_CREATE is dispatched.

        ``options`` maps option names to Python values (ids for user/role/channel options); they are
        typed and checked against what the bot registered. Raises LookupError if it never registered it.
        """
        core = self._core
        channel_guild = core.world.channel(channel_id).guild_id
        if guild_id is not None and guild_id != channel_guild:
            raise ValueError(f"channel {channel_id} belongs to guild {channel_guild}, not {guild_id}")
        command = find_command(core, name, channel_guild)
        handle = InteractionHandle(
            core,
            name=" ".join(name.split()),
            guild_id=channel_guild,
            channel_id=channel_id,
            user_id=user_id,
            command_id=command.id,
        )
        payload = build_interaction(core, handle, command, options or {})
        core.interactions[handle.id] = handle
        if core.gateway.dispatch("INTERACTION_CREATE", payload) is None:
            raise RuntimeError("the bot has no gateway session; Discord would show 'application did not respond'")
        await core.gateway.flush()
        return handle

    # --- connection control ------------------------------------------------------------------------
    async def wait_until_connected(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until the bot has identified (READY + GUILD_CREATEs written) or resumed."""
        await self._core.wait_for(
            lambda: True if self._core.gateway.is_connected else None,
            within=timeout,
            what=lambda: f"the bot to connect (close codes so far: {self._core.gateway.close_codes})",
        )

    @property
    def is_connected(self) -> bool:
        """Whether the bot currently has a live, identified or resumed gateway connection."""
        return self._core.gateway.is_connected

    async def disconnect(self, resume: bool = True, *, code: int = 4000) -> None:
        """Drop the bot's connection. ``resume=True``: close with a resumable ``code``; the session and
        events dispatched meanwhile are kept for RESUME. ``resume=False``: op 9 INVALID_SESSION
        (``d: false``); discord.py then re-IDENTIFYs after its ``before_identify_hook`` (5 s by default)."""
        await self._core.gateway.disconnect(resume=resume, code=code)

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT (discord.py closes the socket and resumes)."""
        await self._core.gateway.request_reconnect()

    @property
    def identify_count(self) -> int:
        """How many IDENTIFYs were accepted."""
        return self._core.gateway.identify_count

    @property
    def resume_count(self) -> int:
        """How many RESUMEs were accepted."""
        return self._core.gateway.resume_count

    @property
    def heartbeat_count(self) -> int:
        """How many heartbeats the bot sent (each is ACKed a network-like 25 ms later)."""
        return self._core.gateway.heartbeat_count

    @property
    def session_intents(self) -> int | None:
        """The intents bitfield of the current session (None without a session)."""
        return self._core.gateway.session_intents

    @property
    def gateway_paths(self) -> list[str]:
        """The path of every websocket connection (``/gateway`` or ``/gateway-resume``)."""
        return list(self._core.gateway.connection_paths)

    # --- failure scripting -------------------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        path_glob: str,
        *,
        status: int = 500,
        times: int = 1,
        retry_after: float = 0.05,
        body: dict[str, Any] | None = None,
    ) -> ScriptedFailure:
        """Answer the next ``times`` matching REST calls with ``status`` (``method`` may be ``"*"``).

        A 429 carries ``Via`` and ``retry_after`` so discord.py sleeps and retries; note discord.py also
        retries 500/502/504 itself, after sleeping 1 s, 3 s, ...
        """
        failure = ScriptedFailure(method, path_glob, status, times, retry_after, body)
        self._core.failures.append(failure)
        return failure

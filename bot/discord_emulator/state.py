"""The fake's model of Discord: users, guilds, channels, roles, members, messages, webhooks, commands.

Plain mutable dataclasses held by one ``World``. Nothing here does I/O or knows the wire format (that
is ``payloads.py``), so tests can read these objects directly to see what the bot did.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .snowflake import SnowflakeFactory, snowflake_time

# Permission bits the fake needs (https://discord.com/developers/docs/topics/permissions).
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_APPLICATION_COMMANDS = 1 << 31
ADMINISTRATOR = 1 << 3
ALL_PERMISSIONS = (1 << 51) - 1
DEFAULT_EVERYONE_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | READ_MESSAGE_HISTORY
    | ADD_REACTIONS
    | EMBED_LINKS
    | ATTACH_FILES
    | USE_APPLICATION_COMMANDS
)
DEFAULT_BOT_PERMISSIONS = DEFAULT_EVERYONE_PERMISSIONS | MANAGE_MESSAGES

# Channel and message types used by the fake.
GUILD_TEXT = 0
DM = 1
MESSAGE_DEFAULT = 0
MESSAGE_REPLY = 19
MESSAGE_CHAT_INPUT_COMMAND = 20

# Message flags.
EPHEMERAL = 1 << 6
LOADING = 1 << 7


class UnknownEntityError(LookupError):
    """A REST path or test call named something that does not exist; carries Discord's error code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class FakeUser:
    """A Discord user (or bot account, or the author identity of a webhook)."""

    id: int
    username: str
    bot: bool = False
    global_name: str | None = None


@dataclass
class FakeRole:
    """A guild role; the ``@everyone`` role has the guild's id, as on Discord."""

    id: int
    guild_id: int
    name: str
    permissions: int
    position: int
    managed_bot_id: int | None = None


@dataclass
class FakeChannel:
    """A guild text channel or a DM channel (``guild_id`` None, ``recipient_id`` set)."""

    id: int
    name: str
    guild_id: int | None
    type: int = GUILD_TEXT
    position: int = 0
    topic: str | None = None
    recipient_id: int | None = None
    last_message_id: int | None = None


@dataclass
class FakeMember:
    """A user's membership in a guild: role ids exclude ``@everyone``, as on the wire."""

    guild_id: int
    user_id: int
    role_ids: list[int]
    joined_at: datetime
    nick: str | None = None


@dataclass
class FakeGuild:
    """A guild with its roles, channels and members, in creation order."""

    id: int
    name: str
    owner_id: int
    roles: dict[int, FakeRole] = field(default_factory=dict)
    channel_ids: list[int] = field(default_factory=list)
    members: dict[int, FakeMember] = field(default_factory=dict)


@dataclass
class FakeReaction:
    """One user's reaction on a message; ``emoji`` is the string the REST path carried."""

    emoji: str
    user_id: int


@dataclass
class FakeMessage:
    """A message as Discord stores it. Tests read ``content``, ``embeds``, ``reactions`` etc. directly."""

    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    content: str
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    type: int = MESSAGE_DEFAULT
    flags: int = 0
    reference_id: int | None = None
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_id: int | None = None
    interaction_name: str | None = None
    interaction_user_id: int | None = None
    nonce: int | str | None = None
    tts: bool = False
    edited_at: datetime | None = None
    deleted: bool = False
    reactions: list[FakeReaction] = field(default_factory=list)

    @property
    def created_at(self) -> datetime:
        """Creation time, read from the snowflake exactly as discord.py does."""
        return snowflake_time(self.id)

    @property
    def ephemeral(self) -> bool:
        """Whether only the invoking user can see it (interaction replies with flag 64)."""
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        """Whether this is a deferred interaction's "thinking..." placeholder not yet edited."""
        return bool(self.flags & LOADING)


@dataclass
class FakeWebhook:
    """A channel webhook (e.g. an alerting service posting into a signal channel)."""

    id: int
    channel_id: int
    guild_id: int | None
    name: str
    token: str


@dataclass
class RegisteredCommand:
    """An application command as the bot registered it; ``data`` is the JSON it sent, plus ids."""

    id: int
    guild_id: int | None
    data: dict[str, Any]

    @property
    def name(self) -> str:
        """The command's name (top level; subcommands live in ``data["options"]``)."""
        return str(self.data["name"])

    @property
    def type(self) -> int:
        """1 = slash command, 2 = user context menu, 3 = message context menu."""
        return int(self.data.get("type", 1))


class World:
    """Everything the fake Discord knows, with lookups that raise Discord's "Unknown X" errors."""

    def __init__(self, ids: SnowflakeFactory, *, bot_user: FakeUser, owner: FakeUser) -> None:
        self.ids = ids
        self.bot_user = bot_user
        self.owner = owner
        self.users: dict[int, FakeUser] = {bot_user.id: bot_user, owner.id: owner}
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, FakeChannel] = {}
        self.webhooks: dict[int, FakeWebhook] = {}
        self.messages: dict[int, FakeMessage] = {}
        self.channel_messages: dict[int, list[FakeMessage]] = {}
        # Keyed by (guild id or None for global, command type, name) so re-registration keeps the id.
        self.commands: dict[tuple[int | None, int, str], RegisteredCommand] = {}

    # --- lookups ---------------------------------------------------------------------------------
    def user(self, user_id: int) -> FakeUser:
        """The user with ``user_id`` (Discord error 10013 otherwise)."""
        try:
            return self.users[user_id]
        except KeyError:
            raise UnknownEntityError(10013, "Unknown User") from None

    def guild(self, guild_id: int) -> FakeGuild:
        """The guild with ``guild_id`` (Discord error 10004 otherwise)."""
        try:
            return self.guilds[guild_id]
        except KeyError:
            raise UnknownEntityError(10004, "Unknown Guild") from None

    def channel(self, channel_id: int) -> FakeChannel:
        """The channel with ``channel_id`` (Discord error 10003 otherwise)."""
        try:
            return self.channels[channel_id]
        except KeyError:
            raise UnknownEntityError(10003, "Unknown Channel") from None

    def member(self, guild_id: int, user_id: int) -> FakeMember:
        """The membership of ``user_id`` in ``guild_id`` (Discord error 10007 otherwise)."""
        try:
            return self.guild(guild_id).members[user_id]
        except KeyError:
            raise UnknownEntityError(10007, "Unknown Member") from None

    def message(self, channel_id: int, message_id: int) -> FakeMessage:
        """A live (not deleted) message in ``channel_id`` (Discord error 10008 otherwise)."""
        msg = self.messages.get(message_id)
        if msg is None or msg.deleted or msg.channel_id != channel_id:
            raise UnknownEntityError(10008, "Unknown Message")
        return msg

    def visible_messages(self, channel_id: int) -> Iterator[FakeMessage]:
        """Messages in ``channel_id`` that everyone can see (not deleted, not ephemeral), oldest first."""
        for msg in self.channel_messages.get(channel_id, []):
            if not msg.deleted and not msg.ephemeral:
                yield msg

    def member_permissions(self, guild_id: int, user_id: int) -> int:
        """Guild-level permissions of a member: owner and administrators get everything."""
        guild = self.guild(guild_id)
        if user_id == guild.owner_id:
            return ALL_PERMISSIONS
        perms = guild.roles[guild.id].permissions
        for role_id in self.member(guild_id, user_id).role_ids:
            perms |= guild.roles[role_id].permissions
        return ALL_PERMISSIONS if perms & ADMINISTRATOR else perms

    # --- building --------------------------------------------------------------------------------
    def add_user(self, username: str, *, bot: bool = False) -> FakeUser:
        """Create a user."""
        user = FakeUser(id=self.ids.next(), username=username, bot=bot)
        self.users[user.id] = user
        return user

    def add_guild(self, name: str, *, owner_id: int, bot_permissions: int) -> FakeGuild:
        """Create a guild with ``@everyone``, the bot's managed role, and the bot and owner as members."""
        guild = FakeGuild(id=self.ids.next(), name=name, owner_id=owner_id)
        self.guilds[guild.id] = guild
        guild.roles[guild.id] = FakeRole(guild.id, guild.id, "@everyone", DEFAULT_EVERYONE_PERMISSIONS, 0)
        bot_role = self.add_role(guild.id, self.bot_user.username, permissions=bot_permissions)
        bot_role.managed_bot_id = self.bot_user.id
        self.add_member(guild.id, self.bot_user.id, [bot_role.id])
        if owner_id != self.bot_user.id:
            self.add_member(guild.id, owner_id, [])
        return guild

    def add_role(self, guild_id: int, name: str, *, permissions: int = 0) -> FakeRole:
        """Create a role at the top of the guild's role list."""
        guild = self.guild(guild_id)
        role = FakeRole(self.ids.next(), guild_id, name, permissions, position=len(guild.roles))
        guild.roles[role.id] = role
        return role

    def add_channel(self, guild_id: int, name: str, *, topic: str | None = None) -> FakeChannel:
        """Create a text channel in a guild."""
        guild = self.guild(guild_id)
        channel = FakeChannel(
            id=self.ids.next(), name=name, guild_id=guild_id, position=len(guild.channel_ids), topic=topic
        )
        guild.channel_ids.append(channel.id)
        self.channels[channel.id] = channel
        return channel

    def dm_channel(self, user_id: int) -> FakeChannel:
        """The DM channel between the bot and ``user_id``, created on first use (like Discord)."""
        self.user(user_id)
        for channel in self.channels.values():
            if channel.type == DM and channel.recipient_id == user_id:
                return channel
        channel = FakeChannel(id=self.ids.next(), name="", guild_id=None, type=DM, recipient_id=user_id)
        self.channels[channel.id] = channel
        return channel

    def add_member(self, guild_id: int, user_id: int, role_ids: list[int]) -> FakeMember:
        """Add ``user_id`` to a guild with the given roles (all must belong to that guild)."""
        guild = self.guild(guild_id)
        self.user(user_id)
        for role_id in role_ids:
            if role_id not in guild.roles or role_id == guild.id:
                raise UnknownEntityError(10011, f"Unknown Role {role_id} in guild {guild_id}")
        member = FakeMember(guild_id, user_id, list(role_ids), joined_at=datetime.now(UTC))
        guild.members[user_id] = member
        return member

    def add_webhook(self, channel_id: int, name: str, token: str) -> FakeWebhook:
        """Create a channel webhook; its messages are authored by a bot user with the webhook's id."""
        channel = self.channel(channel_id)
        hook = FakeWebhook(self.ids.next(), channel_id, channel.guild_id, name, token)
        self.webhooks[hook.id] = hook
        self.users[hook.id] = FakeUser(id=hook.id, username=name, bot=True)
        return hook

    def store_message(self, msg: FakeMessage) -> None:
        """Record a new message and move the channel's ``last_message_id``."""
        self.messages[msg.id] = msg
        self.channel_messages.setdefault(msg.channel_id, []).append(msg)
        if not msg.ephemeral:
            self.channel(msg.channel_id).last_message_id = msg.id

    def commands_in(self, guild_id: int | None) -> list[RegisteredCommand]:
        """Commands registered in one scope (``None`` = global), in registration order."""
        return [cmd for cmd in self.commands.values() if cmd.guild_id == guild_id]

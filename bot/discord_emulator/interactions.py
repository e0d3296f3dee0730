"""Slash-command invocations: building INTERACTION_CREATE and tracking how the bot answered.

Why the handle records times: Discord discards an interaction that is not answered or deferred within
3 seconds, and the design requires commands touching storage to defer first. The handle lets a test
assert on what the user finally saw *and* on when the first callback arrived.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from . import payloads
from .state import DM, FakeMessage, RegisteredCommand

if TYPE_CHECKING:
    from .core import Core

JSON = dict[str, Any]

CALLBACK_PONG = 1
CALLBACK_MESSAGE = 4
CALLBACK_DEFERRED_MESSAGE = 5
CALLBACK_MODAL = 9
ATTACHMENT_SIZE_LIMIT = 25 * 1024 * 1024

_SUBCOMMAND, _SUBCOMMAND_GROUP = 1, 2
_STRING, _INTEGER, _BOOLEAN, _USER, _CHANNEL, _ROLE, _MENTIONABLE, _NUMBER = 3, 4, 5, 6, 7, 8, 9, 10


@dataclass(frozen=True)
class CallbackRecord:
    """One ``POST /interactions/{id}/{token}/callback``: type, seconds after dispatch, and the verdict."""

    type: int
    after: float
    accepted: bool
    error: str | None = None


@dataclass(frozen=True)
class InteractionReply:
    """What the invoking user finally sees.

    ``via`` says how it got there: the type-4 ``response``, an ``edit_original`` of a deferred reply, or a
    ``followup`` (which, after a defer, replaces the "thinking..." message). ``ack_latency`` is seconds
    from dispatch to the first accepted callback; ``deferred_after`` is the same when that was a defer.
    """

    message_id: int
    content: str
    embeds: list[JSON]
    components: list[JSON]
    flags: int
    ephemeral: bool
    deferred: bool
    ack_latency: float
    deferred_after: float | None
    replied_after: float
    via: Literal["response", "edit_original", "followup"]


class InteractionHandle:
    """A dispatched application-command interaction and everything the bot did with it."""

    def __init__(
        self, core: Core, *, name: str, guild_id: int | None, channel_id: int, user_id: int, command_id: int
    ) -> None:
        self._core = core
        self.id = core.ids.next()
        self.token = "fake-interaction-" + secrets.token_urlsafe(32)
        self.name = name
        self.guild_id = guild_id
        self.channel_id = channel_id
        self.user_id = user_id
        self.command_id = command_id
        self.dispatched_at = asyncio.get_running_loop().time()
        self.callbacks: list[CallbackRecord] = []
        self.original_message_id: int | None = None
        self.followup_ids: list[int] = []
        self.completed_via: Literal["response", "edit_original", "followup"] | None = None
        self.completed_at: float | None = None

    # --- state ------------------------------------------------------------------------------------
    @property
    def first_callback(self) -> CallbackRecord | None:
        """The accepted callback (an interaction takes exactly one), if any."""
        return next((c for c in self.callbacks if c.accepted), None)

    @property
    def acknowledged(self) -> bool:
        """Whether Discord accepted a callback for this interaction."""
        return self.first_callback is not None

    @property
    def deferred(self) -> bool:
        """Whether the bot answered with a type-5 defer ("Bot is thinking...")."""
        first = self.first_callback
        return first is not None and first.type == CALLBACK_DEFERRED_MESSAGE

    @property
    def ack_latency(self) -> float | None:
        """Seconds from dispatch to the accepted callback, or None if not acknowledged."""
        first = self.first_callback
        return None if first is None else first.after

    @property
    def original_message(self) -> FakeMessage | None:
        """The interaction's response message (the loading placeholder while deferred)."""
        if self.original_message_id is None:
            return None
        return self._core.world.messages.get(self.original_message_id)

    def elapsed(self) -> float:
        """Seconds since dispatch on the event loop's clock."""
        return asyncio.get_running_loop().time() - self.dispatched_at

    def mark_completed(self, via: Literal["response", "edit_original", "followup"]) -> None:
        """Remember the first moment the user saw a real answer."""
        if self.completed_via is None:
            self.completed_via, self.completed_at = via, self.elapsed()

    # --- waiting ----------------------------------------------------------------------------------
    async def wait_for_ack(self, timeout: float = 5.0) -> CallbackRecord:  # noqa: ASYNC109
        """Wait for the accepted callback (response or defer)."""
        return await self._core.wait_for(lambda: self.first_callback, within=timeout, what=self.describe)

    async def wait_for_response(self, timeout: float = 5.0) -> InteractionReply:  # noqa: ASYNC109
        """Wait for the final visible reply: the type-4 message, or after a defer the edited original
        or first followup. Raises TimeoutError describing what the bot did do."""
        return await self._core.wait_for(self._reply, within=timeout, what=self.describe)

    def _reply(self) -> InteractionReply | None:
        first = self.first_callback
        if first is None or self.completed_via is None or self.completed_at is None:
            return None
        # The first followup after a defer replaces the "thinking..." message, so the answer the user
        # sees is always the original response message.
        msg = self.original_message
        if msg is None:
            return None
        return InteractionReply(
            message_id=msg.id,
            content=msg.content,
            embeds=list(msg.embeds),
            components=list(msg.components),
            flags=msg.flags,
            ephemeral=msg.ephemeral,
            deferred=self.deferred,
            ack_latency=first.after,
            deferred_after=first.after if self.deferred else None,
            replied_after=self.completed_at,
            via=self.completed_via,
        )

    def describe(self) -> str:
        """A one-line account of the interaction for failure messages."""
        calls = ", ".join(
            f"type {c.type} at {c.after:.3f}s" + ("" if c.accepted else f" REJECTED ({c.error})")
            for c in self.callbacks
        )
        original = self.original_message
        state = "none" if original is None else ("loading" if original.loading else "sent")
        return (
            f"a reply to /{self.name} (interaction {self.id}): callbacks [{calls or 'none'}], "
            f"original message {state}, {len(self.followup_ids)} followup(s)"
        )


def find_command(core: Core, name: str, guild_id: int | None) -> RegisteredCommand:
    """The registered slash command ``name`` (top-level word), guild scope first, then global."""
    top = name.split(maxsplit=1)[0]
    for scope in ([guild_id] if guild_id is not None else []) + [None]:
        for command in core.world.commands_in(scope):
            if command.name == top and command.type == 1:
                return command
    registered = {
        "global" if gid is None else f"guild {gid}": sorted(c.name for c in core.world.commands_in(gid))
        for gid in {c.guild_id for c in core.world.commands.values()}
    }
    raise LookupError(f"the bot never registered /{top} for guild {guild_id} or globally; registered: {registered}")


def build_interaction(
    core: Core, handle: InteractionHandle, command: RegisteredCommand, options: Mapping[str, Any]
) -> JSON:
    """The INTERACTION_CREATE payload for ``handle``, with options typed per the registered definition."""
    world = core.world
    resolved: JSON = {}
    data: JSON = {"id": str(command.id), "name": command.name, "type": 1}
    data["options"] = _nest(core, command.data, handle.name.split()[1:], options, handle.guild_id, resolved)
    if resolved:
        data["resolved"] = resolved
    if command.guild_id is not None:
        data["guild_id"] = str(command.guild_id)
    channel = world.channel(handle.channel_id)
    payload: JSON = {
        "id": str(handle.id),
        "application_id": str(core.application_id),
        "type": 2,
        "token": handle.token,
        "version": 1,
        "data": data,
        "channel_id": str(channel.id),
        "channel": payloads.channel(world, channel),
        "locale": "en-US",
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
    }
    invoker = world.user(handle.user_id)
    if handle.guild_id is None:
        payload.update({"user": payloads.user(invoker), "context": 1, "app_permissions": "0"})
        payload["authorizing_integration_owners"] = {"0": "0"}
        return payload
    perms = world.member_permissions(handle.guild_id, handle.user_id)
    payload["channel"]["permissions"] = str(perms)
    payload.update(
        {
            "guild_id": str(handle.guild_id),
            "guild": {"id": str(handle.guild_id), "locale": "en-US", "features": []},
            "guild_locale": "en-US",
            "member": payloads.member(
                world.member(handle.guild_id, handle.user_id), with_user=invoker, permissions=perms
            ),
            "app_permissions": str(world.member_permissions(handle.guild_id, world.bot_user.id)),
            "authorizing_integration_owners": {"0": str(handle.guild_id)},
            "context": 0,
        }
    )
    return payload


def _nest(
    core: Core, spec: JSON, path: list[str], given: Mapping[str, Any], guild_id: int | None, resolved: JSON
) -> list[JSON]:
    """Options for ``spec``: walk subcommand groups/subcommands named in ``path``, then type the leaves."""
    specs: list[JSON] = spec.get("options") or []
    if not path:
        if any(s["type"] in (_SUBCOMMAND, _SUBCOMMAND_GROUP) for s in specs):
            names = [s["name"] for s in specs]
            raise ValueError(f"/{spec['name']} has subcommands {names}; invoke e.g. '{spec['name']} {names[0]}'")
        return _typed_options(core, spec["name"], specs, given, guild_id, resolved)
    sub = next((s for s in specs if s["name"] == path[0] and s["type"] in (_SUBCOMMAND, _SUBCOMMAND_GROUP)), None)
    if sub is None:
        raise LookupError(f"/{spec['name']} has no subcommand {path[0]!r}")
    return [
        {"name": sub["name"], "type": sub["type"], "options": _nest(core, sub, path[1:], given, guild_id, resolved)}
    ]


def _typed_options(
    core: Core, command: str, specs: list[JSON], given: Mapping[str, Any], guild_id: int | None, resolved: JSON
) -> list[JSON]:
    by_name = {s["name"]: s for s in specs}
    unknown = set(given) - set(by_name)
    if unknown:
        raise ValueError(f"/{command} has no option(s) {sorted(unknown)}; it has {sorted(by_name)}")
    out: list[JSON] = []
    for spec in specs:
        if spec["name"] not in given:
            if spec.get("required"):
                raise ValueError(f"/{command} requires option {spec['name']!r} (Discord's client enforces it)")
            continue
        value = _coerce(core, spec, given[spec["name"]], guild_id, resolved)
        out.append({"name": spec["name"], "type": spec["type"], "value": value})
    return out


def _coerce(core: Core, spec: JSON, value: Any, guild_id: int | None, resolved: JSON) -> Any:
    """A Python value as Discord sends it for the option's type, filling ``resolved`` for snowflakes."""
    kind, name = spec["type"], spec["name"]
    checks = {_STRING: str, _INTEGER: int, _BOOLEAN: bool, _NUMBER: (int, float)}
    if kind in checks:
        bad_bool = kind != _BOOLEAN and isinstance(value, bool)
        if not isinstance(value, checks[kind]) or bad_bool:  # type: ignore[arg-type]
            raise TypeError(f"option {name!r} has type {kind}; got {value!r}")
        choices = [c["value"] for c in spec.get("choices") or []]
        if choices and value not in choices:
            raise ValueError(f"option {name!r} must be one of {choices}; got {value!r}")
        return value
    if kind not in (_USER, _CHANNEL, _ROLE, _MENTIONABLE):
        raise TypeError(f"option {name!r}: option type {kind} is not supported by the fake")
    snowflake = int(value)
    world = core.world
    if kind in (_USER, _MENTIONABLE) and snowflake in world.users:
        resolved.setdefault("users", {})[str(snowflake)] = payloads.user(world.users[snowflake])
        if guild_id is not None and snowflake in world.guild(guild_id).members:
            perms = world.member_permissions(guild_id, snowflake)
            member = payloads.member(world.member(guild_id, snowflake), permissions=perms)
            resolved.setdefault("members", {})[str(snowflake)] = member
    elif kind in (_ROLE, _MENTIONABLE) and guild_id is not None and snowflake in world.guild(guild_id).roles:
        role = world.guild(guild_id).roles[snowflake]
        resolved.setdefault("roles", {})[str(snowflake)] = payloads.role(role)
    elif kind == _CHANNEL and snowflake in world.channels:
        channel = world.channels[snowflake]
        data = payloads.channel(world, channel)
        user_id = world.bot_user.id
        perms = 0 if channel.type == DM or guild_id is None else world.member_permissions(guild_id, user_id)
        resolved.setdefault("channels", {})[str(snowflake)] = {**data, "name": channel.name, "permissions": str(perms)}
    else:
        raise LookupError(f"option {name!r}: no user/role/channel with id {snowflake} in the fake")
    return str(snowflake)

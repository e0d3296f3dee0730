"""Rendering the fake's model as Discord API v10 JSON.

Every field discord.py 2.7.1 reads with ``data[...]`` (rather than ``.get``) is present here; leaving one
out makes the real client raise ``KeyError`` deep inside its parsers. Ids go out as strings, like Discord.
"""

from __future__ import annotations

import re
from typing import Any

from .snowflake import iso, snowflake_time
from .state import (
    DM,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    World,
)

JSON = dict[str, Any]

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


def user(u: FakeUser) -> JSON:
    """A user object (``avatar`` and ``discriminator`` are required by discord.py)."""
    return {
        "id": str(u.id),
        "username": u.username,
        "discriminator": "0",
        "global_name": u.global_name,
        "avatar": None,
        "bot": u.bot,
        "system": False,
        "public_flags": 0,
    }


def bot_user(u: FakeUser) -> JSON:
    """The bot's own user as ``GET /users/@me`` and READY return it."""
    return {**user(u), "verified": True, "mfa_enabled": False, "flags": 0, "email": None, "locale": "en-US"}


def member(m: FakeMember, *, with_user: FakeUser | None = None, permissions: int | None = None) -> JSON:
    """A guild member; ``flags`` is required by discord.py, ``user`` only where Discord nests it."""
    data: JSON = {
        "roles": [str(r) for r in m.role_ids],
        "joined_at": iso(m.joined_at),
        "nick": m.nick,
        "avatar": None,
        "banner": None,
        "premium_since": None,
        "communication_disabled_until": None,
        "deaf": False,
        "mute": False,
        "pending": False,
        "flags": 0,
    }
    if with_user is not None:
        data["user"] = user(with_user)
    if permissions is not None:
        data["permissions"] = str(permissions)
    return data


def role(r: FakeRole) -> JSON:
    """A role object; a bot's managed role carries ``tags.bot_id`` like on Discord."""
    data: JSON = {
        "id": str(r.id),
        "name": r.name,
        "permissions": str(r.permissions),
        "position": r.position,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "managed": r.managed_bot_id is not None,
        "mentionable": False,
        "icon": None,
        "unicode_emoji": None,
        "flags": 0,
    }
    if r.managed_bot_id is not None:
        data["tags"] = {"bot_id": str(r.managed_bot_id)}
    return data


def channel(world: World, c: FakeChannel) -> JSON:
    """A channel object: guild text channels need ``position``, DMs need ``recipients``."""
    data: JSON = {
        "id": str(c.id),
        "type": c.type,
        "last_message_id": None if c.last_message_id is None else str(c.last_message_id),
        "flags": 0,
    }
    if c.type == DM and c.recipient_id is not None:
        data["recipients"] = [user(world.user(c.recipient_id))]
        return data
    data.update(
        {
            "guild_id": str(c.guild_id),
            "name": c.name,
            "position": c.position,
            "permission_overwrites": [],
            "nsfw": False,
            "topic": c.topic,
            "rate_limit_per_user": 0,
            "parent_id": None,
        }
    )
    return data


def guild_base(g: FakeGuild) -> JSON:
    """The guild fields shared by GUILD_CREATE and ``GET /guilds/{id}``."""
    return {
        "id": str(g.id),
        "name": g.name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": None,
        "owner_id": str(g.owner_id),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "premium_progress_bar_enabled": False,
        "preferred_locale": "en-US",
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "public_updates_channel_id": None,
        "safety_alerts_channel_id": None,
        "vanity_url_code": None,
        "application_id": None,
        "features": [],
        "emojis": [],
        "stickers": [],
        "roles": [role(r) for r in g.roles.values()],
    }


def guild_create(world: World, g: FakeGuild, *, initial: bool) -> JSON:
    """GUILD_CREATE: the whole guild with channels and members (the fake's guilds are all "small").

    ``unavailable: false`` marks the lazy load after READY (discord.py then updates the guild it got in
    READY); a guild joined later omits it, which discord.py reports as ``on_guild_join``.
    """
    data = guild_base(g)
    bot_member = g.members[world.bot_user.id]
    data.update(
        {
            "joined_at": iso(bot_member.joined_at),
            "large": False,
            "lazy": True,
            "member_count": len(g.members),
            "channels": [channel(world, world.channels[cid]) for cid in g.channel_ids],
            "members": [member(m, with_user=world.user(m.user_id)) for m in g.members.values()],
            "threads": [],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }
    )
    if initial:
        data["unavailable"] = False
    return data


def ready(world: World, *, session_id: str, resume_gateway_url: str, application_id: int) -> JSON:
    """READY: the bot user, its guilds as unavailable stubs (GUILD_CREATE follows), resume details."""
    return {
        "v": 10,
        "user": bot_user(world.bot_user),
        "guilds": [{"id": str(gid), "unavailable": True} for gid in world.guilds],
        "session_id": session_id,
        "session_type": "normal",
        "resume_gateway_url": resume_gateway_url,
        "application": {"id": str(application_id), "flags": 0},
        "private_channels": [],
        "relationships": [],
        "presences": [],
        "guild_join_requests": [],
        "geo_ordered_rtc_regions": [],
        "user_settings": {},
        "auth": {},
        "_trace": ['["fake-discord-gateway",{"micros":0}]'],
    }


def application(world: World, application_id: int) -> JSON:
    """``GET /oauth2/applications/@me``: discord.py's ``AppInfo`` needs all the non-``get`` keys."""
    return {
        "id": str(application_id),
        "name": world.bot_user.username,
        "icon": None,
        "description": "Fake Discord application",
        "summary": "",
        "type": None,
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": user(world.owner),
        "team": None,
        "verify_key": "0" * 64,
        "flags": 0,
        "tags": [],
        "redirect_uris": [],
        "interactions_endpoint_url": None,
        "approximate_guild_count": len(world.guilds),
        "bot": bot_user(world.bot_user),
    }


def emoji(raw: str) -> JSON:
    """A partial emoji from a REST path segment: ``name:id`` for custom emoji, else unicode."""
    name, sep, emoji_id = raw.rpartition(":")
    if sep and emoji_id.isdigit():
        return {"id": emoji_id, "name": name.removeprefix("a:") or None, "animated": name.startswith("a:")}
    return {"id": None, "name": raw}


def mentions(world: World, msg: FakeMessage) -> tuple[list[JSON], list[str]]:
    """User mentions (with ``member`` in guilds) and role mention ids parsed from the content."""
    users: list[JSON] = []
    for match in _USER_MENTION.finditer(msg.content):
        mentioned = world.users.get(int(match.group(1)))
        if mentioned is None:
            continue
        data = user(mentioned)
        if msg.guild_id is not None and mentioned.id in world.guild(msg.guild_id).members:
            data["member"] = member(world.member(msg.guild_id, mentioned.id))
        users.append(data)
    roles = [m.group(1) for m in _ROLE_MENTION.finditer(msg.content)]
    return users, roles


def message(world: World, msg: FakeMessage, *, gateway: bool, nested: bool = False) -> JSON:
    """A message; gateway copies carry ``guild_id`` and the author's ``member`` (with roles) in guilds."""
    author = world.user(msg.author_id)
    mentioned_users, mentioned_roles = mentions(world, msg)
    data: JSON = {
        "id": str(msg.id),
        "channel_id": str(msg.channel_id),
        "author": user(author),
        "content": msg.content,
        "timestamp": iso(snowflake_time(msg.id)),
        "edited_timestamp": None if msg.edited_at is None else iso(msg.edited_at),
        "tts": msg.tts,
        "mention_everyone": "@everyone" in msg.content,
        "mentions": mentioned_users,
        "mention_roles": mentioned_roles,
        "attachments": list(msg.attachments),
        "embeds": list(msg.embeds),
        "components": list(msg.components),
        "pinned": False,
        "type": msg.type,
        "flags": msg.flags,
    }
    if msg.nonce is not None:
        data["nonce"] = msg.nonce
    if msg.webhook_id is not None:
        data["webhook_id"] = str(msg.webhook_id)
    if msg.application_id is not None:
        data["application_id"] = str(msg.application_id)
    if gateway and msg.guild_id is not None:
        data["guild_id"] = str(msg.guild_id)
        is_member = msg.webhook_id is None and author.id in world.guild(msg.guild_id).members
        if is_member:
            data["member"] = member(world.member(msg.guild_id, author.id))
    if msg.reference_id is not None:
        data["message_reference"] = _reference(msg)
        if not nested:
            referenced = world.messages.get(msg.reference_id)
            data["referenced_message"] = (
                None
                if referenced is None or referenced.deleted
                else message(world, referenced, gateway=gateway, nested=True)
            )
    if msg.reactions:
        data["reactions"] = _reaction_counts(world, msg)
    if msg.interaction_id is not None and msg.interaction_user_id is not None:
        data.update(_interaction_metadata(world, msg, msg.interaction_name or "", msg.interaction_user_id))
    return data


def _interaction_metadata(world: World, msg: FakeMessage, name: str, invoker_id: int) -> JSON:
    invoker = user(world.user(invoker_id))
    owners = {"0": str(msg.guild_id)} if msg.guild_id is not None else {"1": str(invoker_id)}
    return {
        "interaction_metadata": {
            "id": str(msg.interaction_id),
            "type": 2,
            "user": invoker,
            "authorizing_integration_owners": owners,
            "name": name,
            "command_type": 1,
        },
        "interaction": {"id": str(msg.interaction_id), "type": 2, "name": name, "user": invoker},
    }


def _reference(msg: FakeMessage) -> JSON:
    ref: JSON = {"type": 0, "message_id": str(msg.reference_id), "channel_id": str(msg.channel_id)}
    if msg.guild_id is not None:
        ref["guild_id"] = str(msg.guild_id)
    return ref


def _reaction_counts(world: World, msg: FakeMessage) -> list[JSON]:
    counts: dict[str, list[int]] = {}
    for reaction in msg.reactions:
        counts.setdefault(reaction.emoji, []).append(reaction.user_id)
    return [
        {
            "emoji": emoji(raw),
            "count": len(users),
            "count_details": {"burst": 0, "normal": len(users)},
            "me": world.bot_user.id in users,
            "me_burst": False,
            "burst_colors": [],
        }
        for raw, users in counts.items()
    ]


def strip_content(data: JSON) -> JSON:
    """What a client without the MESSAGE_CONTENT intent sees: no content, embeds, attachments, components."""
    stripped = {**data, "content": "", "embeds": [], "attachments": [], "components": []}
    stripped.pop("poll", None)
    return stripped

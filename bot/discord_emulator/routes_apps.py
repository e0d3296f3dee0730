"""REST routes for the bot's identity, the gateway URL, guilds/members, and application commands.

Command registration mirrors Discord's bulk-overwrite semantics: ``PUT`` replaces a scope's whole set,
and a command keeps its id while its (type, name) stays registered, so interactions built from an old
sync still match.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import payloads
from .core import Core
from .protocol import INTENT_GUILD_MEMBERS
from .state import RegisteredCommand
from .validation import command_errors, commands_errors
from .web_util import (
    API_PREFIX,
    DiscordHTTPError,
    core_of,
    invalid_form,
    json_response,
    no_content,
    query_snowflake,
    read_body,
    read_json_list,
    snowflake_arg,
)

routes = web.RouteTableDef()
JSON = dict[str, Any]
_GLOBAL = API_PREFIX + "/applications/{application_id}/commands"
_GUILD = API_PREFIX + "/applications/{application_id}/guilds/{guild_id}/commands"


@routes.get(API_PREFIX + "/users/@me")
async def get_me(request: web.Request) -> web.StreamResponse:
    """``GET /users/@me``: the first call of ``login()``; a 401 here becomes ``LoginFailure``."""
    return json_response(payloads.bot_user(core_of(request).world.bot_user))


@routes.get(API_PREFIX + "/users/{user_id}")
async def get_user(request: web.Request) -> web.StreamResponse:
    """``GET /users/{id}`` (``fetch_user``)."""
    return json_response(payloads.user(core_of(request).world.user(snowflake_arg(request, "user_id"))))


@routes.get(API_PREFIX + "/oauth2/applications/@me")
@routes.get(API_PREFIX + "/applications/@me")
async def get_application(request: web.Request) -> web.StreamResponse:
    """``GET /oauth2/applications/@me``: called by ``login()`` right after ``/users/@me``."""
    core = core_of(request)
    return json_response(payloads.application(core.world, core.application_id))


@routes.get(API_PREFIX + "/gateway")
async def get_gateway(request: web.Request) -> web.StreamResponse:
    """``GET /gateway``."""
    return json_response({"url": core_of(request).gateway_url})


@routes.get(API_PREFIX + "/gateway/bot")
async def get_gateway_bot(request: web.Request) -> web.StreamResponse:
    """``GET /gateway/bot``: URL, recommended shards, identify budget."""
    limit = {"total": 1000, "remaining": 999, "reset_after": 86_400_000, "max_concurrency": 1}
    return json_response({"url": core_of(request).gateway_url, "shards": 1, "session_start_limit": limit})


@routes.get(API_PREFIX + "/guilds/{guild_id}")
async def get_guild(request: web.Request) -> web.StreamResponse:
    """``GET /guilds/{id}``."""
    guild = core_of(request).world.guild(snowflake_arg(request, "guild_id"))
    return json_response({**payloads.guild_base(guild), "approximate_member_count": len(guild.members)})


@routes.get(API_PREFIX + "/guilds/{guild_id}/channels")
async def get_guild_channels(request: web.Request) -> web.StreamResponse:
    """``GET /guilds/{id}/channels``."""
    world = core_of(request).world
    guild = world.guild(snowflake_arg(request, "guild_id"))
    return json_response([payloads.channel(world, world.channels[cid]) for cid in guild.channel_ids])


@routes.get(API_PREFIX + "/guilds/{guild_id}/roles")
async def get_guild_roles(request: web.Request) -> web.StreamResponse:
    """``GET /guilds/{id}/roles``."""
    guild = core_of(request).world.guild(snowflake_arg(request, "guild_id"))
    return json_response([payloads.role(r) for r in guild.roles.values()])


@routes.get(API_PREFIX + "/guilds/{guild_id}/members/{user_id}")
async def get_member(request: web.Request) -> web.StreamResponse:
    """``GET /guilds/{id}/members/{id}`` (``fetch_member``)."""
    world = core_of(request).world
    member = world.member(snowflake_arg(request, "guild_id"), snowflake_arg(request, "user_id"))
    return json_response(payloads.member(member, with_user=world.user(member.user_id)))


@routes.get(API_PREFIX + "/guilds/{guild_id}/members")
async def list_members(request: web.Request) -> web.StreamResponse:
    """``GET /guilds/{id}/members``: needs the privileged members intent approved, like Discord."""
    core = core_of(request)
    if not core.approved_intents & INTENT_GUILD_MEMBERS:
        raise DiscordHTTPError(403, 50001, "Missing Access")
    guild = core.world.guild(snowflake_arg(request, "guild_id"))
    after = query_snowflake(request, "after") or 0
    limit = int(request.query.get("limit", "1"))
    members = sorted((m for m in guild.members.values() if m.user_id > after), key=lambda m: m.user_id)[:limit]
    return json_response([payloads.member(m, with_user=core.world.user(m.user_id)) for m in members])


# --- application commands --------------------------------------------------------------------------
def _scope(request: web.Request) -> tuple[Core, int | None]:
    core = core_of(request)
    if snowflake_arg(request, "application_id") != core.application_id:
        raise DiscordHTTPError(403, 50001, "Missing Access")
    if "guild_id" not in request.match_info:
        return core, None
    return core, core.world.guild(snowflake_arg(request, "guild_id")).id


def _register(core: Core, guild_id: int | None, data: JSON, *, command_id: int | None = None) -> RegisteredCommand:
    kind, name = int(data.get("type", 1)), str(data["name"])
    existing = core.world.commands.get((guild_id, kind, name))
    if command_id is None:
        command_id = existing.id if existing is not None else core.ids.next()
    full: JSON = {
        "description": "",
        "options": [],
        "default_member_permissions": None,
        "nsfw": False,
        "integration_types": [0],
        "contexts": None,
        **data,
        "id": str(command_id),
        "application_id": str(core.application_id),
        "version": str(core.ids.next()),
        "type": kind,
    }
    if guild_id is not None:
        full["guild_id"] = str(guild_id)
    command = RegisteredCommand(command_id, guild_id, full)
    core.world.commands[(guild_id, kind, name)] = command
    core.notify()
    return command


def _find(core: Core, guild_id: int | None, command_id: int) -> RegisteredCommand:
    for command in core.world.commands_in(guild_id):
        if command.id == command_id:
            return command
    raise DiscordHTTPError(404, 10063, "Unknown application command")


@routes.get(_GLOBAL)
@routes.get(_GUILD)
async def list_commands(request: web.Request) -> web.StreamResponse:
    """``GET`` a scope's commands (``tree.fetch_commands``)."""
    core, guild_id = _scope(request)
    return json_response([c.data for c in core.world.commands_in(guild_id)])


@routes.put(_GLOBAL)
@routes.put(_GUILD)
async def overwrite_commands(request: web.Request) -> web.StreamResponse:
    """``PUT`` a scope's commands (``tree.sync``): validate, replace the set, keep ids of survivors."""
    core, guild_id = _scope(request)
    commands = await read_json_list(request)
    errors = commands_errors(commands)
    if errors:
        raise invalid_form(errors)
    old = {key: cmd for key, cmd in core.world.commands.items() if cmd.guild_id == guild_id}
    for key in old:
        del core.world.commands[key]
    registered = []
    for data in commands:
        survivor = old.get((guild_id, int(data.get("type", 1)), str(data["name"])))
        command_id = None if survivor is None else survivor.id
        registered.append(_register(core, guild_id, data, command_id=command_id).data)
    return json_response(registered)


@routes.post(_GLOBAL)
@routes.post(_GUILD)
async def upsert_command(request: web.Request) -> web.StreamResponse:
    """``POST`` one command (create or replace by name)."""
    core, guild_id = _scope(request)
    body, _ = await read_body(request)
    errors = command_errors(body)
    if errors:
        raise invalid_form(errors)
    return json_response(_register(core, guild_id, body).data, status=201)


@routes.get(_GLOBAL + "/{command_id}")
@routes.get(_GUILD + "/{command_id}")
async def get_command(request: web.Request) -> web.StreamResponse:
    """``GET`` one command."""
    core, guild_id = _scope(request)
    return json_response(_find(core, guild_id, snowflake_arg(request, "command_id")).data)


@routes.patch(_GLOBAL + "/{command_id}")
@routes.patch(_GUILD + "/{command_id}")
async def edit_command(request: web.Request) -> web.StreamResponse:
    """``PATCH`` one command."""
    core, guild_id = _scope(request)
    command = _find(core, guild_id, snowflake_arg(request, "command_id"))
    body, _ = await read_body(request)
    merged = {**command.data, **body}
    errors = command_errors(merged)
    if errors:
        raise invalid_form(errors)
    del core.world.commands[(guild_id, command.type, command.name)]
    return json_response(_register(core, guild_id, merged, command_id=command.id).data)


@routes.delete(_GLOBAL + "/{command_id}")
@routes.delete(_GUILD + "/{command_id}")
async def delete_command(request: web.Request) -> web.StreamResponse:
    """``DELETE`` one command."""
    core, guild_id = _scope(request)
    command = _find(core, guild_id, snowflake_arg(request, "command_id"))
    del core.world.commands[(guild_id, command.type, command.name)]
    core.notify()
    return no_content()

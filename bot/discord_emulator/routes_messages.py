"""REST routes for channels, messages, history, reactions, typing and DMs.

History follows Discord's ordering rules exactly because catch-up code depends on them: every query
answers newest first; ``after=X`` returns the ``limit`` messages *immediately after* X (not the newest
ones), ``before=X`` the ones immediately before X.
"""

from __future__ import annotations

from aiohttp import web

from . import payloads
from .state import MESSAGE_REPLY, FakeMessage
from .validation import message_errors
from .web_util import (
    API_PREFIX,
    DiscordHTTPError,
    core_of,
    invalid_form,
    json_response,
    no_content,
    query_snowflake,
    read_body,
    snowflake_arg,
)

routes = web.RouteTableDef()
_MESSAGE = API_PREFIX + "/channels/{channel_id}/messages/{message_id}"
_REACTION = _MESSAGE + "/reactions/{emoji}"
OWN_REACTION = _REACTION + "/@me"  # the bot's own; the edge may give it Discord's rate limit (server.py)
_ALLOWED_SEND_FLAGS = (1 << 2) | (1 << 12)  # SUPPRESS_EMBEDS, SUPPRESS_NOTIFICATIONS


@routes.get(API_PREFIX + "/channels/{channel_id}")
async def get_channel(request: web.Request) -> web.StreamResponse:
    """``GET /channels/{id}``."""
    core = core_of(request)
    return json_response(payloads.channel(core.world, core.world.channel(snowflake_arg(request, "channel_id"))))


@routes.get(API_PREFIX + "/channels/{channel_id}/messages")
async def list_messages(request: web.Request) -> web.StreamResponse:
    """``GET /channels/{id}/messages?before|after|around=&limit=``: newest first, like Discord."""
    core = core_of(request)
    channel = core.world.channel(snowflake_arg(request, "channel_id"))
    raw_limit = request.query.get("limit", "50")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
        raise invalid_form({"limit": {"_errors": [{"code": "NUMBER_TYPE_MAX", "message": "1-100"}]}})
    limit = int(raw_limit)
    before, after, around = (query_snowflake(request, k) for k in ("before", "after", "around"))
    messages = list(core.world.visible_messages(channel.id))
    if around is not None:
        older = [m for m in messages if m.id < around][-(limit // 2) :] if limit > 1 else []
        newer = [m for m in messages if m.id >= around][: limit - len(older)]
        page = older + newer
    elif after is not None:
        page = [m for m in messages if m.id > after and (before is None or m.id < before)][:limit]
    else:
        page = [m for m in messages if before is None or m.id < before][-limit:]
    return json_response([core.rest_message(m) for m in reversed(page)])


@routes.get(_MESSAGE)
async def get_message(request: web.Request) -> web.StreamResponse:
    """``GET /channels/{id}/messages/{id}``."""
    core = core_of(request)
    return json_response(core.rest_message(_message(request)))


@routes.post(API_PREFIX + "/channels/{channel_id}/messages")
async def create_message(request: web.Request) -> web.StreamResponse:
    """``POST /channels/{id}/messages``: validates like Discord, stores, dispatches MESSAGE_CREATE."""
    core = core_of(request)
    channel = core.world.channel(snowflake_arg(request, "channel_id"))
    body, files = await read_body(request)
    attachments = files or list(body.get("attachments") or [])
    _check_message_body({**body, "attachments": attachments})
    reference_id = _reference(request, channel.id, body.get("message_reference"))
    msg = core.new_message(
        channel.id,
        core.world.bot_user.id,
        str(body.get("content") or ""),
        embeds=list(body.get("embeds") or []),
        components=list(body.get("components") or []),
        attachments=[a for a in attachments if "url" in a],
        type=MESSAGE_REPLY if reference_id is not None else 0,
        flags=int(body.get("flags") or 0) & _ALLOWED_SEND_FLAGS,
        reference_id=reference_id,
        nonce=body.get("nonce"),
        tts=bool(body.get("tts")),
    )
    core.create_message(msg)
    return json_response(core.rest_message(msg))


@routes.patch(_MESSAGE)
async def edit_message(request: web.Request) -> web.StreamResponse:
    """``PATCH /channels/{id}/messages/{id}``: only the bot's own messages, like Discord."""
    core = core_of(request)
    msg = _message(request)
    body, files = await read_body(request)
    if msg.author_id != core.world.bot_user.id:
        raise DiscordHTTPError(403, 50005, "Cannot edit a message authored by another user")
    if files:
        body["attachments"] = [*msg.attachments, *files]
    merged = {"content": msg.content, "embeds": msg.embeds, "components": msg.components, **body}
    _check_message_body(merged)
    core.update_message(msg, body)
    return json_response(core.rest_message(msg))


@routes.delete(_MESSAGE)
async def delete_message(request: web.Request) -> web.StreamResponse:
    """``DELETE /channels/{id}/messages/{id}`` (the fake grants the bot Manage Messages)."""
    core_of(request).delete_message(_message(request))
    return no_content()


@routes.put(OWN_REACTION)
async def add_own_reaction(request: web.Request) -> web.StreamResponse:
    """``PUT .../reactions/{emoji}/@me``."""
    core = core_of(request)
    core.add_reaction(_message(request), request.match_info["emoji"], core.world.bot_user.id)
    return no_content()


@routes.delete(_REACTION + "/@me")
async def remove_own_reaction(request: web.Request) -> web.StreamResponse:
    """``DELETE .../reactions/{emoji}/@me``."""
    core = core_of(request)
    core.remove_reaction(_message(request), request.match_info["emoji"], core.world.bot_user.id)
    return no_content()


@routes.delete(_REACTION + "/{user_id}")
async def remove_user_reaction(request: web.Request) -> web.StreamResponse:
    """``DELETE .../reactions/{emoji}/{user_id}``."""
    core = core_of(request)
    core.remove_reaction(_message(request), request.match_info["emoji"], snowflake_arg(request, "user_id"))
    return no_content()


@routes.get(_REACTION)
async def reaction_users(request: web.Request) -> web.StreamResponse:
    """``GET .../reactions/{emoji}``: the users who reacted with that emoji."""
    core = core_of(request)
    emoji = request.match_info["emoji"]
    users = [core.world.user(r.user_id) for r in _message(request).reactions if r.emoji == emoji]
    return json_response([payloads.user(u) for u in users])


@routes.post(API_PREFIX + "/channels/{channel_id}/typing")
async def trigger_typing(request: web.Request) -> web.StreamResponse:
    """``POST /channels/{id}/typing``."""
    core_of(request).world.channel(snowflake_arg(request, "channel_id"))
    return no_content()


@routes.post(API_PREFIX + "/users/@me/channels")
async def open_dm(request: web.Request) -> web.StreamResponse:
    """``POST /users/@me/channels``: the bot opens (or gets) a DM channel with a user."""
    core = core_of(request)
    body, _ = await read_body(request)
    channel = core.world.dm_channel(int(body.get("recipient_id") or 0))
    return json_response(payloads.channel(core.world, channel))


def _message(request: web.Request) -> FakeMessage:
    core = core_of(request)
    return core.world.message(snowflake_arg(request, "channel_id"), snowflake_arg(request, "message_id"))


def _check_message_body(body: dict[str, object]) -> None:
    problems = message_errors(body)
    if problems is None:
        return
    code, errors = problems
    if code == 50006:
        raise DiscordHTTPError(400, 50006, "Cannot send an empty message")
    raise invalid_form(errors)


def _reference(request: web.Request, channel_id: int, ref: object) -> int | None:
    """The replied-to message id; unknown targets fail unless ``fail_if_not_exists`` is false."""
    if not isinstance(ref, dict) or ref.get("message_id") is None:
        return None
    core = core_of(request)
    target = core.world.messages.get(int(ref["message_id"]))
    if target is not None and not target.deleted and target.channel_id == int(ref.get("channel_id") or channel_id):
        return target.id
    if ref.get("fail_if_not_exists", True):
        error = {"_errors": [{"code": "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "message": "Unknown message"}]}
        raise invalid_form({"message_reference": error})
    return None

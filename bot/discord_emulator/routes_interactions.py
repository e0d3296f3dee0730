"""REST routes for interaction callbacks and the interaction (and channel) webhooks.

Rules enforced because they are what bots get wrong: one callback per interaction (a second one gets
400/40060), the first callback must arrive within the deadline (3 s; afterwards 404/10062 "Unknown
interaction"), and the first followup after a defer replaces the "thinking..." message. discord.py 2.7
always sends ``?with_response=1`` and reads ``interaction``/``resource`` from the answer.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .core import Core
from .interactions import (
    CALLBACK_DEFERRED_MESSAGE,
    CALLBACK_MESSAGE,
    CALLBACK_MODAL,
    CallbackRecord,
    InteractionHandle,
)
from .state import EPHEMERAL, LOADING, MESSAGE_CHAT_INPUT_COMMAND, FakeMessage, FakeWebhook
from .validation import message_errors
from .web_util import API_PREFIX, DiscordHTTPError, core_of, invalid_form, json_response, no_content, read_body

routes = web.RouteTableDef()
JSON = dict[str, Any]
_WEBHOOK = API_PREFIX + "/webhooks/{webhook_id}/{token}"
_REPLY_FLAGS = EPHEMERAL | (1 << 2) | (1 << 12)  # EPHEMERAL, SUPPRESS_EMBEDS, SUPPRESS_NOTIFICATIONS


def _unknown_interaction() -> DiscordHTTPError:
    return DiscordHTTPError(404, 10062, "Unknown interaction")


@routes.post(API_PREFIX + "/interactions/{interaction_id}/{token}/callback")
async def interaction_callback(request: web.Request) -> web.StreamResponse:
    """The initial response: type 4 (message), 5 (defer) or 9 (modal) for slash commands."""
    core = core_of(request)
    raw_id = request.match_info["interaction_id"]
    handle = core.interactions.get(int(raw_id)) if raw_id.isdigit() else None
    if handle is None or handle.token != request.match_info["token"]:
        raise _unknown_interaction()
    body, files = await read_body(request)
    cb_type, elapsed = int(body.get("type") or 0), handle.elapsed()
    if handle.acknowledged:
        _reject(core, handle, cb_type, elapsed, "already acknowledged")
        raise DiscordHTTPError(400, 40060, "Interaction has already been acknowledged.")
    if elapsed > core.interaction_deadline:
        _reject(core, handle, cb_type, elapsed, f"after the {core.interaction_deadline}s deadline")
        raise _unknown_interaction()
    data: JSON = body.get("data") or {}
    msg = None
    if cb_type == CALLBACK_MESSAGE:
        _check({**data, "attachments": files or data.get("attachments")})
        msg = _reply_message(core, handle, data, flags=int(data.get("flags") or 0) & _REPLY_FLAGS)
        handle.original_message_id = msg.id
        handle.mark_completed("response")
    elif cb_type == CALLBACK_DEFERRED_MESSAGE:
        flags = LOADING | (int(data.get("flags") or 0) & EPHEMERAL)
        msg = _reply_message(core, handle, {"content": ""}, flags=flags)
        handle.original_message_id = msg.id
    elif cb_type != CALLBACK_MODAL:
        _reject(core, handle, cb_type, elapsed, "callback type not valid for an application command")
        raise invalid_form({"type": {"_errors": [{"code": "INTERACTION_CALLBACK_TYPE_INVALID", "message": "bad"}]}})
    handle.callbacks.append(CallbackRecord(cb_type, elapsed, accepted=True))
    if msg is not None:
        core.create_message(msg)
    core.notify()
    if request.query.get("with_response", "").lower() not in ("1", "true"):
        return no_content()
    return json_response(_callback_answer(core, handle, cb_type, msg))


@routes.post(_WEBHOOK)
async def execute_webhook(request: web.Request) -> web.StreamResponse:
    """Interaction followup (``/webhooks/{app_id}/{token}``) or a channel webhook post."""
    core = core_of(request)
    body, files = await read_body(request)
    if files:
        body["attachments"] = files
    _check(body)
    target = _webhook_target(request)
    if isinstance(target, FakeWebhook):
        msg = core.new_message(
            target.channel_id,
            target.id,
            str(body.get("content") or ""),
            webhook_id=target.id,
            embeds=list(body.get("embeds") or []),
        )
        core.create_message(msg)
    else:
        msg = _followup(core, target, body)
    if request.query.get("wait", "").lower() not in ("1", "true"):
        return no_content()
    return json_response(core.rest_message(msg))


@routes.get(_WEBHOOK + "/messages/{message_id}")
async def get_webhook_message(request: web.Request) -> web.StreamResponse:
    """``GET .../messages/@original`` or ``.../messages/{id}``."""
    core = core_of(request)
    return json_response(core.rest_message(_webhook_message(request)))


@routes.patch(_WEBHOOK + "/messages/{message_id}")
async def edit_webhook_message(request: web.Request) -> web.StreamResponse:
    """Edit the original response (finishing a defer) or a followup."""
    core = core_of(request)
    msg = _webhook_message(request)
    body, files = await read_body(request)
    if files:
        body["attachments"] = [*msg.attachments, *files]
    _check({"content": msg.content, "embeds": msg.embeds, "components": msg.components, **body})
    was_loading = msg.loading
    msg.flags &= ~LOADING
    core.update_message(msg, body, mark_edited=not was_loading)
    target = _webhook_target(request)
    if isinstance(target, InteractionHandle) and msg.id == target.original_message_id:
        target.mark_completed("edit_original")
        core.notify()
    return json_response(core.rest_message(msg))


@routes.delete(_WEBHOOK + "/messages/{message_id}")
async def delete_webhook_message(request: web.Request) -> web.StreamResponse:
    """Delete the original response or a followup."""
    core_of(request).delete_message(_webhook_message(request))
    return no_content()


def _reject(core: Core, handle: InteractionHandle, cb_type: int, elapsed: float, why: str) -> None:
    handle.callbacks.append(CallbackRecord(cb_type, elapsed, accepted=False, error=why))
    core.notify()


def _check(body: JSON) -> None:
    problems = message_errors(body)
    if problems is None:
        return
    code, errors = problems
    if code == 50006:
        raise DiscordHTTPError(400, 50006, "Cannot send an empty message")
    raise invalid_form(errors)


def _reply_message(core: Core, handle: InteractionHandle, data: JSON, *, flags: int) -> FakeMessage:
    """A message authored by the bot through the interaction webhook (type 20, interaction metadata)."""
    return core.new_message(
        handle.channel_id,
        core.world.bot_user.id,
        str(data.get("content") or ""),
        embeds=list(data.get("embeds") or []),
        components=list(data.get("components") or []),
        attachments=[a for a in data.get("attachments") or [] if "url" in a],
        type=MESSAGE_CHAT_INPUT_COMMAND,
        flags=flags,
        webhook_id=core.application_id,
        application_id=core.application_id,
        interaction_id=handle.id,
        interaction_name=handle.name,
        interaction_user_id=handle.user_id,
        tts=bool(data.get("tts")),
    )


def _callback_answer(core: Core, handle: InteractionHandle, cb_type: int, msg: FakeMessage | None) -> JSON:
    """The ``with_response`` body: an ``interaction`` summary and the created ``resource``."""
    interaction: JSON = {"id": str(handle.id), "type": 2}
    resource: JSON = {"type": cb_type}
    if msg is not None:
        interaction.update(
            response_message_id=str(msg.id),
            response_message_loading=msg.loading,
            response_message_ephemeral=msg.ephemeral,
        )
        resource["message"] = core.rest_message(msg)
    return {"interaction": interaction, "resource": resource}


def _webhook_target(request: web.Request) -> InteractionHandle | FakeWebhook:
    core = core_of(request)
    token, raw_id = request.match_info["token"], request.match_info["webhook_id"]
    webhook_id = int(raw_id) if raw_id.isdigit() else -1
    if webhook_id == core.application_id:
        for handle in core.interactions.values():
            if handle.token == token:
                if not handle.acknowledged:
                    raise DiscordHTTPError(404, 10015, "Unknown Webhook")
                return handle
    hook = core.world.webhooks.get(webhook_id)
    if hook is not None and hook.token == token:
        return hook
    raise DiscordHTTPError(401, 50027, "Invalid Webhook Token")


def _webhook_message(request: web.Request) -> FakeMessage:
    core = core_of(request)
    target = _webhook_target(request)
    raw = request.match_info["message_id"]
    if isinstance(target, InteractionHandle):
        message_id = target.original_message_id if raw == "@original" else int(raw) if raw.isdigit() else None
        allowed = {target.original_message_id, *target.followup_ids}
    else:
        message_id = int(raw) if raw.isdigit() else None
        allowed = {m.id for m in core.world.messages.values() if m.webhook_id == target.id}
    msg = None if message_id is None else core.world.messages.get(message_id)
    if msg is None or msg.deleted or msg.id not in allowed:
        raise DiscordHTTPError(404, 10008, "Unknown Message")
    return msg


def _followup(core: Core, handle: InteractionHandle, body: JSON) -> FakeMessage:
    """A followup; the first one after a defer fills in the "thinking..." message instead."""
    original = handle.original_message
    if handle.deferred and original is not None and original.loading and not original.deleted:
        original.flags &= ~LOADING
        core.update_message(original, body, mark_edited=False)
        handle.mark_completed("followup")
        core.notify()
        return original
    msg = _reply_message(core, handle, body, flags=int(body.get("flags") or 0) & _REPLY_FLAGS)
    handle.followup_ids.append(msg.id)
    core.create_message(msg)
    return msg

"""`GET /demo` and its JSON routes, added to the side server only in demo mode.

- `GET /demo`: the page (self-contained HTML, inline CSS and JS, a CSP that admits nothing else).
- `GET /demo/state`: the emulated #signals channel (messages, the bot's reactions, replies and embeds),
  the market's quotes and the feed's progress; the page polls it.
- `POST /demo/messages` `{"text", "reply_to"?}`: post in #signals as the visitor, a trusted provider.
- `POST /demo/commands` `{"command", "options"?}`: run a read-only slash command through the emulator
  and answer with what the bot replied (its embeds).

Everything is answered in the side server's JSON envelope; bad input is a 400 naming the problem.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from aiohttp import web

from bot.demo.feed import FeedProgress
from bot.demo.market import Market
from bot.demo.world import VISITOR, DemoWorld
from bot.discord_emulator import FakeDiscord, FakeMessage
from bot.web.app import envelope

MAX_MESSAGE_CHARS = 2000  # Discord's limit for a message
HISTORY = 150  # messages the page shows
RESPONSE_TIMEOUT_SECONDS = 10.0
WINDOWS = frozenset({"1h", "24h", "7d", "30d"})
# The commands a visitor may run, with their options: a set of allowed values, or None for free text.
COMMANDS: dict[str, dict[str, frozenset[str] | None]] = {
    "stats": {"window": WINDOWS},
    "health": {},
    "positions": {},
    "signal parse": {"text": None},
}
_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)


@dataclass(frozen=True, slots=True)
class DemoRoom:
    """What the page reads and drives: the emulator, the community in it, the market and the feed."""

    fake: FakeDiscord
    world: DemoWorld
    market: Market
    progress: FeedProgress


ROOM = web.AppKey("demo_room", DemoRoom)


class BadRequest(ValueError):
    """A request the page (or a curious visitor) got wrong; answered 400 with this message."""


def add_demo_routes(app: web.Application, room: DemoRoom) -> None:
    """The `extend_web` hook of `open_runtime`: adds the demo's routes to the side server."""
    app[ROOM] = room
    app.router.add_get("/demo", demo_page_route)
    app.router.add_get("/demo/state", state_route)
    app.router.add_post("/demo/messages", post_message_route)
    app.router.add_post("/demo/commands", command_route)


# ------------------------------------------------------------------------------------------------ page


def _content_security_policy(page: str) -> str:
    """Only this page's own inline script and style (by hash) and requests to this server."""
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for tag, body in _INLINE.findall(page):
        hashes[tag].append("'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'")
    return "; ".join(
        [
            "default-src 'none'",
            "script-src " + " ".join(hashes["script"]),
            "style-src " + " ".join(hashes["style"]),
            "connect-src 'self'",
            "img-src data:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


PAGE = files("bot.demo").joinpath("demo.html").read_text(encoding="utf-8")  # read once, at import
HEADERS = {
    "Content-Security-Policy": _content_security_policy(PAGE),
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


async def demo_page_route(_request: web.Request) -> web.Response:
    return web.Response(text=PAGE, content_type="text/html", charset="utf-8", headers=HEADERS)


# ----------------------------------------------------------------------------------------------- state


def _embed_json(embed: dict[str, Any]) -> dict[str, Any]:
    fields = embed.get("fields") or []
    return {
        "title": embed.get("title"),
        "description": embed.get("description"),
        "color": embed.get("color"),
        "fields": [{"name": f.get("name"), "value": f.get("value"), "inline": bool(f.get("inline"))} for f in fields],
        "footer": (embed.get("footer") or {}).get("text"),
    }


def message_json(world: DemoWorld, message: FakeMessage) -> dict[str, Any]:
    """A message for the page; ids are strings because snowflakes do not fit a JavaScript number."""
    return {
        "id": str(message.id),
        "author": world.name_of(message.author_id),
        "role": world.role_of(message.author_id).value,
        "content": message.content,
        "reply_to": None if message.reference_id is None else str(message.reference_id),
        "reactions": [r.emoji for r in message.reactions if r.user_id == world.bot_user_id],
        "embeds": [_embed_json(embed) for embed in message.embeds],
        "command": message.interaction_name,
        "edited": message.edited_at is not None,
        "loading": message.loading,
        "at": message.created_at.isoformat(),
    }


async def state_route(request: web.Request) -> web.Response:
    room = request.app[ROOM]
    messages = room.fake.messages(room.world.channel_id)[-HISTORY:]
    progress = room.progress
    return envelope(
        {
            "channel": "signals",
            "bot_connected": room.fake.is_connected,
            "messages": [message_json(room.world, message) for message in messages],
            "quotes": {symbol: format(price, "f") for symbol, price in room.market.quotes().items()},
            "feed": {"posts": progress.posts, "edits": progress.edits, "quote_updates": progress.quote_updates},
        }
    )


# -------------------------------------------------------------------------------------------- visitor


async def _json_object(request: web.Request) -> dict[str, Any]:
    # Demanding the JSON content type makes a cross-site page's plain form or fetch (which cannot set it without
    # a CORS preflight this server never grants) unable to post or run commands as the visitor.
    if request.content_type != "application/json":
        raise BadRequest("send the body as JSON (Content-Type: application/json)")
    try:
        body = json.loads(await request.text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequest("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def _text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{name} must be a non-empty string")
    if len(value) > MAX_MESSAGE_CHARS:
        raise BadRequest(f"{name} is {len(value)} characters; Discord allows {MAX_MESSAGE_CHARS}")
    return value


def _reply_target(room: DemoRoom, value: object) -> int | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.isdigit():
        raise BadRequest("reply_to must be a message id (a string of digits) or null")
    message_id = int(value)
    if message_id not in {m.id for m in room.fake.messages(room.world.channel_id)}:
        raise BadRequest(f"reply_to: no message {value} in #signals")
    return message_id


async def post_message_route(request: web.Request) -> web.Response:
    room = request.app[ROOM]
    try:
        body = await _json_object(request)
        text = _text(body.get("text"), "text")
        reply_to = _reply_target(room, body.get("reply_to"))
    except BadRequest as exc:
        return envelope(None, success=False, status=400, error=str(exc))
    message_id = await room.fake.post_message(
        room.world.channel_id, room.world.user_id(VISITOR), text, reply_to=reply_to
    )
    return envelope({"id": str(message_id)})


def _command_options(name: str, raw: object) -> dict[str, str]:
    allowed = COMMANDS[name]
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise BadRequest("options must be an object")
    options: dict[str, str] = {}
    for key, value in raw.items():
        if key not in allowed:
            raise BadRequest(f"/{name} has no option {key!r} (options: {', '.join(allowed) or 'none'})")
        values = allowed[key]
        text = _text(value, key)
        if values is not None and text not in values:
            raise BadRequest(f"{key} must be one of {', '.join(sorted(values))} (got {text!r})")
        options[key] = text
    return options


def _command(body: dict[str, Any]) -> tuple[str, dict[str, str]]:
    name = body.get("command")
    if not isinstance(name, str) or name not in COMMANDS:
        raise BadRequest(f"command must be one of {', '.join(COMMANDS)}")
    return name, _command_options(name, body.get("options"))


async def command_route(request: web.Request) -> web.Response:
    room = request.app[ROOM]
    try:
        name, options = _command(await _json_object(request))
    except BadRequest as exc:
        return envelope(None, success=False, status=400, error=str(exc))
    try:
        handle = await room.fake.invoke_command(
            name, user_id=room.world.user_id(VISITOR), channel_id=room.world.channel_id, options=options
        )
    except (LookupError, RuntimeError) as exc:
        # Not registered yet, or no gateway session: the bot is still connecting (or gone).
        return envelope(None, success=False, status=503, error=f"the bot cannot take /{name} right now: {exc}")
    try:
        reply = await handle.wait_for_response(timeout=RESPONSE_TIMEOUT_SECONDS)
    except TimeoutError:
        return envelope(None, success=False, status=504, error=f"the bot did not answer /{name} in time")
    return envelope(
        {
            "command": name,
            "content": reply.content,
            "embeds": [_embed_json(embed) for embed in reply.embeds],
            "ephemeral": reply.ephemeral,
            "ack_ms": round(reply.ack_latency * 1000, 1),
        }
    )

"""Chatter read from the gateway's raw MESSAGE_CREATE payload, before discord.py builds a Message for it.

Most messages in a signal channel are chatter. discord.py turns every MESSAGE_CREATE into a `Message` (with a
`Member`, parsed timestamps and mentions) and a task per listener, which costs several times what deciding
"chatter" costs. A screen sees the payload first; a message it has fully handled is dropped there, and
every other message goes on to discord.py as before. Consequence: no `on_message` listener, and no message
cache, sees what a screen handles (in Tradecord: chatter, the bot's own messages coming back to it, and
signals whose payload carries the author's member or a webhook, which the signal listener handles itself).

discord.py has no public hook before its parsers run: this replaces the MESSAGE_CREATE entry of the
connection state's parser table (`Client._connection.parsers`, unchanged through discord.py 2.x). If the
table is not there, nothing is installed and every message takes the ordinary path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import discord
import structlog

log = structlog.get_logger(__name__)

# True when the screen has fully handled the message (discord.py then never sees it).
RawScreen = Callable[[dict[str, Any]], bool]


def install(client: discord.Client, screen: RawScreen) -> Callable[[], None]:
    """Put `screen` in front of discord.py's MESSAGE_CREATE parser; returns the function that removes it."""
    parsers = getattr(getattr(client, "_connection", None), "parsers", None)
    parse = parsers.get("MESSAGE_CREATE") if isinstance(parsers, dict) else None
    if parsers is None or parse is None:
        log.warning("discord.screen_unavailable", reason="discord.py has no MESSAGE_CREATE parser table")
        return lambda: None

    def parse_message_create(data: dict[str, Any]) -> None:
        try:
            handled = screen(data)
        except Exception:
            log.exception("discord.screen_failed", message_id=data.get("id"))
            handled = False  # the ordinary path reads it again, with its own error handling
        if not handled:
            parse(data)

    parsers["MESSAGE_CREATE"] = parse_message_create

    def uninstall() -> None:
        if parsers.get("MESSAGE_CREATE") is parse_message_create:
            parsers["MESSAGE_CREATE"] = parse

    return uninstall

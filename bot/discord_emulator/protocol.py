"""Gateway protocol constants: opcodes, intents, and which intent each dispatched event needs.

Kept apart from the gateway logic so the REST side and tests can name intents without importing the
websocket machinery.
"""

from __future__ import annotations

from typing import Any

OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE_UPDATE = 3
OP_VOICE_STATE_UPDATE = 4
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_GUILD_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11

INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_GUILD_MESSAGE_REACTIONS = 1 << 10
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_DIRECT_MESSAGE_REACTIONS = 1 << 13
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT

# Which intent a guild event needs; message and reaction events need the DM variant outside guilds.
_GUILD_EVENT_INTENTS = {
    "CHANNEL_CREATE": INTENT_GUILDS,
    "GUILD_ROLE_CREATE": INTENT_GUILDS,
    "GUILD_MEMBER_ADD": INTENT_GUILD_MEMBERS,
    "MESSAGE_CREATE": INTENT_GUILD_MESSAGES,
    "MESSAGE_UPDATE": INTENT_GUILD_MESSAGES,
    "MESSAGE_DELETE": INTENT_GUILD_MESSAGES,
    "MESSAGE_REACTION_ADD": INTENT_GUILD_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE": INTENT_GUILD_MESSAGE_REACTIONS,
}
_DM_EVENT_INTENTS = {
    "MESSAGE_CREATE": INTENT_DIRECT_MESSAGES,
    "MESSAGE_UPDATE": INTENT_DIRECT_MESSAGES,
    "MESSAGE_DELETE": INTENT_DIRECT_MESSAGES,
    "MESSAGE_REACTION_ADD": INTENT_DIRECT_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE": INTENT_DIRECT_MESSAGE_REACTIONS,
}


def event_wanted(intents: int, event: str, data: dict[str, Any]) -> bool:
    """Whether a session with ``intents`` receives ``event`` (guild vs DM decided by ``guild_id``)."""
    table = _GUILD_EVENT_INTENTS if "guild_id" in data else _DM_EVENT_INTENTS
    needed = table.get(event)
    return needed is None or bool(intents & needed)

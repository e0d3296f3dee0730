"""Pytest fixtures over the Discord emulator (``fixtures.py``); the emulator itself is ``bot.discord_emulator``.

The names below are re-exported so a test written against the old location keeps importing; new code
imports from ``bot.discord_emulator``.
"""

from __future__ import annotations

from bot.discord_emulator import (
    INTENT_MESSAGE_CONTENT,
    CallbackRecord,
    FakeDiscord,
    FakeMessage,
    FakeReaction,
    GatewayEvent,
    InteractionHandle,
    InteractionReply,
    RecordedRequest,
    ScriptedFailure,
)

__all__ = [
    "INTENT_MESSAGE_CONTENT",
    "CallbackRecord",
    "FakeDiscord",
    "FakeMessage",
    "FakeReaction",
    "GatewayEvent",
    "InteractionHandle",
    "InteractionReply",
    "RecordedRequest",
    "ScriptedFailure",
]

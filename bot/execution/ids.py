"""Deterministic identifiers: the same message always yields the same signal id and client order ids,
even after the database is reset, so a venue can recognise a re-send."""

from __future__ import annotations

import base64
import functools
import hashlib

from bot.domain import SignalSource


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("\x1f".join(parts).encode()).digest()


@functools.lru_cache(maxsize=4096)
def signal_id(source: SignalSource, channel_id: str, message_id: str) -> str:
    """A short id a person can type into `/trace`: `s-` and 13 base32 characters (65 bits).

    Base32 turns each 5 bytes into 8 characters on their own, so the first 10 bytes of the digest give the
    same 13 characters as the whole of it. Cached: a signal's id is asked for several times on its way.
    """
    token = base64.b32encode(_digest("signal", source.value, channel_id, message_id)[:10]).decode()
    return "s-" + token[:13].lower()


def client_order_id(source: SignalSource, channel_id: str, message_id: str, leg: int) -> str:
    """`tc-` and 32 hex characters (35 in all, under every venue's 48-character limit)."""
    return "tc-" + _digest("order", source.value, channel_id, message_id, str(leg)).hex()[:32]

"""Webhook bodies: which media types are taken, reading at most the configured size, decoding, and removing
the shared secret before anything is stored or logged."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import StreamReader

BodyKind = Literal["json", "text"]

REDACTED = "[redacted]"
MAX_ALERT_ID_LENGTH = 128
# Deep enough for any TradingView alert; shallow enough that re-serializing can never exhaust the stack.
MAX_JSON_DEPTH = 32
_CHUNK_BYTES = 16 * 1024
_JSON_MEDIA_RE = re.compile(r"application/(?:[a-z0-9.+-]+\+)?json")


class BodyTooLarge(Exception):
    """The body is over the configured limit (413); raised before more than the limit is read."""


def body_kind(content_type: str) -> BodyKind | None:
    """`json` or `text` for the media types the webhook takes (TradingView sends `text/plain`), else None."""
    media = content_type.strip().lower()
    if _JSON_MEDIA_RE.fullmatch(media):
        return "json"
    return "text" if media == "text/plain" else None


async def read_limited(stream: StreamReader, declared_length: int | None, limit: int) -> bytes:
    """The whole body, refusing (BodyTooLarge) as soon as it is declared or seen to exceed `limit` bytes."""
    if declared_length is not None and declared_length > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while chunk := await stream.read(_CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass(frozen=True, slots=True)
class DecodedBody:
    """The body as text, and as a JSON object when it is one; `problem` says why it is unusable (400)."""

    kind: BodyKind
    text: str | None = None
    payload: dict[str, Any] | None = None
    problem: str | None = None

    @property
    def field_secret(self) -> object:
        return None if self.payload is None else _secret_field(self.payload)


def decode(raw: bytes, kind: BodyKind, charset: str | None) -> DecodedBody:
    """JSON when the media type says so or the text starts with `{` (TradingView's JSON is text/plain)."""
    try:
        text = raw.decode(charset or "utf-8")
    except (LookupError, ValueError) as exc:  # unknown charset, undecodable bytes
        return DecodedBody(kind, problem=f"the body is not valid {charset or 'utf-8'} text ({type(exc).__name__})")
    if not text.strip():
        return DecodedBody(kind, text, problem="the body is empty")
    if kind == "text" and not text.lstrip().startswith("{"):
        return DecodedBody("text", text)
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "too large or too deeply nested"
        return DecodedBody("json", text, problem=f"the body is not valid JSON: {reason}")
    if not isinstance(payload, dict):
        return DecodedBody("json", text, problem=f"the body must be a JSON object, not {_json_type(payload)}")
    if _depth(payload) > MAX_JSON_DEPTH:
        return DecodedBody("json", text, problem=f"the JSON body is nested more than {MAX_JSON_DEPTH} levels deep")
    try:
        json.dumps(payload, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return DecodedBody("json", text, problem="the JSON body holds a lone surrogate (an invalid \\u escape)")
    return DecodedBody("json", text, payload)


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    return "null" if value is None else "a number" if isinstance(value, int | float) else "a boolean"


def _depth(payload: object) -> int:
    """How deeply objects and arrays nest, counted without recursion (the input is untrusted)."""
    deepest = 0
    stack: list[tuple[object, int]] = [(payload, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if depth <= MAX_JSON_DEPTH:
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _secret_field(payload: dict[str, Any]) -> object:
    return next((value for key, value in payload.items() if key.lower() == "secret"), None)


def without_secret(payload: dict[str, Any], secret: str) -> dict[str, Any]:
    """A copy with every `secret` key removed and any string holding the secret redacted, at any depth."""

    def clean(value: object) -> object:
        if isinstance(value, dict):
            return without_secret(value, secret)
        if isinstance(value, list):
            return [clean(item) for item in value]
        return redact(value, secret) if isinstance(value, str) else value

    return {key: clean(item) for key, item in payload.items() if key.lower() != "secret"}


def redact(text: str, secret: str) -> str:
    return text.replace(secret, REDACTED) if secret else text


def stored_text(payload: dict[str, Any], secret: str) -> str:
    """The JSON kept with the signal: the caller's fields without the secret."""
    return redact(json.dumps(payload, ensure_ascii=False), secret)


def alert_id(payload: dict[str, Any] | None, header: str | None) -> str | None:
    """The alert's own id (JSON `id`, else the `X-Tradecord-Alert-Id` header); ValueError when unusable."""
    value: object = None if payload is None else payload.get("id")
    if value is None or value == "":
        value = header
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("the alert id must be a string or an integer")
    text = str(value).strip()
    if not 1 <= len(text) <= MAX_ALERT_ID_LENGTH or not text.isprintable():
        raise ValueError(f"the alert id must be 1 to {MAX_ALERT_ID_LENGTH} printable characters")
    return text

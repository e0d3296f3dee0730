"""Discord's input limits for messages, embeds and application commands.

Real Discord answers 400 (code 50035 "Invalid Form Body", or 50006 for an empty message) when a bot
exceeds these limits; a fake that accepted anything would let a 4097-character embed description pass
every test and fail in production. Each function returns Discord-style ``errors`` or None when valid.
"""

from __future__ import annotations

import re
from typing import Any

JSON = dict[str, Any]

_COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")

_EMBED_LIMITS = {"title": 256, "description": 4096}
_FIELD_LIMITS = {"name": 256, "value": 1024}
_EMBED_TOTAL = 6000


def _error(code: str, message: str) -> JSON:
    return {"_errors": [{"code": code, "message": message}]}


def _length(code: str, limit: int) -> JSON:
    return _error(code, f"Must be {limit} or fewer in length.")


def _embed_errors(embed: JSON) -> JSON:
    errors: JSON = {}
    for key, limit in _EMBED_LIMITS.items():
        if len(str(embed.get(key) or "")) > limit:
            errors[key] = _length("BASE_TYPE_MAX_LENGTH", limit)
    fields = embed.get("fields") or []
    if len(fields) > 25:
        errors["fields"] = _length("BASE_TYPE_MAX_LENGTH", 25)
    for index, field in enumerate(fields):
        field_errors = {
            key: _length("BASE_TYPE_MAX_LENGTH", limit)
            for key, limit in _FIELD_LIMITS.items()
            if len(str(field.get(key) or "")) > limit
        }
        field_errors.update(
            {key: _error("BASE_TYPE_REQUIRED", "This field is required") for key in _FIELD_LIMITS if not field.get(key)}
        )
        if field_errors:
            errors.setdefault("fields", {})[str(index)] = field_errors
    footer = (embed.get("footer") or {}).get("text") or ""
    author = (embed.get("author") or {}).get("name") or ""
    if len(footer) > 2048:
        errors["footer"] = {"text": _length("BASE_TYPE_MAX_LENGTH", 2048)}
    if len(author) > 256:
        errors["author"] = {"name": _length("BASE_TYPE_MAX_LENGTH", 256)}
    total = len(str(embed.get("title") or "")) + len(str(embed.get("description") or "")) + len(footer)
    total += len(author) + sum(len(str(f.get("name") or "")) + len(str(f.get("value") or "")) for f in fields)
    if total > _EMBED_TOTAL and not errors:
        errors["_errors"] = [{"code": "MAX_EMBED_SIZE_EXCEEDED", "message": "Embed size exceeds maximum size of 6000"}]
    return errors


def message_errors(body: JSON, *, require_content: bool = True) -> tuple[int, JSON] | None:
    """Problems with a message create/edit body as ``(discord_code, errors)``, or None."""
    content = body.get("content")
    embeds = body.get("embeds") or []
    has_payload = bool(content) or bool(embeds) or bool(body.get("attachments")) or bool(body.get("components"))
    has_payload = has_payload or bool(body.get("sticker_ids")) or bool(body.get("poll"))
    if require_content and not has_payload:
        return 50006, {}
    errors: JSON = {}
    if content is not None and len(str(content)) > 2000:
        errors["content"] = _length("BASE_TYPE_MAX_LENGTH", 2000)
    if len(embeds) > 10:
        errors["embeds"] = _length("BASE_TYPE_MAX_LENGTH", 10)
    for index, embed in enumerate(embeds):
        embed_errors = _embed_errors(embed)
        if embed_errors:
            errors.setdefault("embeds", {})[str(index)] = embed_errors
    return (50035, errors) if errors else None


def _option_errors(option: JSON) -> JSON:
    errors: JSON = {}
    if not _COMMAND_NAME.match(str(option.get("name", ""))) or str(option.get("name", "")).lower() != option.get(
        "name"
    ):
        errors["name"] = _error("APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    if not 1 <= len(str(option.get("description") or "")) <= 100:
        errors["description"] = _error("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
    sub_options = option.get("options") or []
    if len(sub_options) > 25:
        errors["options"] = _length("BASE_TYPE_MAX_LENGTH", 25)
    for index, sub in enumerate(sub_options):
        sub_errors = _option_errors(sub)
        if sub_errors:
            errors.setdefault("options", {})[str(index)] = sub_errors
    return errors


def command_errors(command: JSON) -> JSON | None:
    """Problems with one application command definition, or None."""
    if int(command.get("type", 1)) != 1:
        ok = 1 <= len(str(command.get("name") or "")) <= 32
        return None if ok else {"name": _error("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")}
    errors = _option_errors(command)
    return errors or None


def commands_errors(commands: list[JSON]) -> JSON | None:
    """Problems with a bulk overwrite: each command, and no duplicate (type, name) pairs."""
    errors: JSON = {}
    seen: set[tuple[int, str]] = set()
    for index, command in enumerate(commands):
        key = (int(command.get("type", 1)), str(command.get("name")))
        command_problems = command_errors(command) or {}
        if key in seen:
            command_problems["name"] = _error("APPLICATION_COMMANDS_DUPLICATE_NAME", "Duplicate command name")
        seen.add(key)
        if command_problems:
            errors[str(index)] = command_problems
    return errors or None

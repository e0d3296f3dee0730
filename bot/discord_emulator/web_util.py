"""HTTP plumbing shared by the REST route modules: responses, errors, request bodies.

Why not ``web.json_response``: it sends ``Content-Type: application/json; charset=utf-8`` and discord.py
compares the header to ``application/json`` exactly, silently treating anything else as text.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import BodyPartReader, web

from .core import Core

JSON = dict[str, Any]
API_PREFIX = "/api/v10"
CORE: web.AppKey[Core] = web.AppKey("fake_discord_core", Core)
BODY_KEY: web.RequestKey[Any] = web.RequestKey("fake_discord_body", object)


class DiscordHTTPError(Exception):
    """Raised by a handler to answer with a Discord-style error body."""

    def __init__(self, status: int, code: int, message: str, errors: JSON | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors

    def response(self) -> web.Response:
        """The error as Discord would send it."""
        body: JSON = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        return json_response(body, status=self.status)


def json_response(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON answer with the exact ``Content-Type`` discord.py requires."""
    return web.Response(
        status=status,
        body=json.dumps(data).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def no_content() -> web.Response:
    """The 204 Discord answers for reactions, typing, deletes."""
    return web.Response(status=204)


def core_of(request: web.Request) -> Core:
    """The fake's engine behind this request."""
    return request.app[CORE]


def snowflake_arg(request: web.Request, name: str) -> int:
    """A snowflake path segment; Discord answers 404 for ones that are not numbers."""
    raw = request.match_info[name]
    if not raw.isdigit():
        raise DiscordHTTPError(404, 0, "404: Not Found")
    return int(raw)


def query_snowflake(request: web.Request, name: str) -> int | None:
    """An optional snowflake query parameter (``before``, ``after``, ``around``)."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise invalid_form({name: {"_errors": [{"code": "NUMBER_TYPE_COERCE", "message": "Not a snowflake"}]}})
    return int(raw)


def invalid_form(errors: JSON) -> DiscordHTTPError:
    """Discord's 400 "Invalid Form Body" (code 50035) with field errors."""
    return DiscordHTTPError(400, 50035, "Invalid Form Body", errors)


async def read_body(request: web.Request) -> tuple[JSON, list[JSON]]:
    """The JSON body, from a plain JSON request or a multipart ``payload_json`` part, plus uploaded files
    described as attachment objects. Stored on the request so the request log can show it."""
    attachments: list[JSON] = []
    body: Any = {}
    if request.content_type == "multipart/form-data":
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            if part.name == "payload_json":
                body = json.loads(await part.text())
            elif part.filename is not None:
                data = await part.read()
                attachments.append(_attachment(request, part, len(data), len(attachments)))
    elif request.can_read_body:
        text = await request.text()
        if text:
            try:
                body = json.loads(text)
            except ValueError:
                raise DiscordHTTPError(400, 50109, "The request body contains invalid JSON.") from None
    if not isinstance(body, dict):
        body = {"__list__": body} if isinstance(body, list) else {}
    request[BODY_KEY] = body
    return body, attachments


async def read_json_list(request: web.Request) -> list[JSON]:
    """A JSON array body (bulk command overwrite)."""
    text = await request.text()
    try:
        body = json.loads(text or "[]")
    except ValueError:
        raise DiscordHTTPError(400, 50109, "The request body contains invalid JSON.") from None
    request[BODY_KEY] = body
    if not isinstance(body, list):
        raise invalid_form({"_errors": [{"code": "BASE_TYPE_ARRAY", "message": "Must be an array."}]})
    return body


def _attachment(request: web.Request, part: BodyPartReader, size: int, index: int) -> JSON:
    core = core_of(request)
    attachment_id = core.ids.next()
    filename = part.filename or f"file{index}"
    url = f"https://cdn.fake-discord.invalid/attachments/{attachment_id}/{filename}"
    return {
        "id": str(attachment_id),
        "filename": filename,
        "size": size,
        "url": url,
        "proxy_url": url,
        "content_type": part.headers.get("Content-Type", "application/octet-stream"),
    }

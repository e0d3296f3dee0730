"""Pointing discord.py at another Discord: a REST proxy or a local emulator.

discord.py has no setting for its endpoints: `Route.BASE` (read on every request) and
`DiscordWebSocket.DEFAULT_GATEWAY` are class attributes that must be set before `login()`.
"""

from __future__ import annotations

import aiohttp
import discord.gateway
import discord.http
import yarl

DISCORD_API_BASE = "https://discord.com/api/v10"
DISCORD_GATEWAY = "wss://gateway.discord.gg/"


class GatewayLookupError(RuntimeError):
    """`GET /gateway/bot` on the configured REST base did not give a gateway URL."""


async def discover_gateway(http: aiohttp.ClientSession, api_base_url: str, token: str) -> str:
    """Ask the configured REST base where its gateway is, as Discord's own clients do."""
    url = api_base_url.rstrip("/") + "/gateway/bot"
    try:
        async with http.get(url, headers={"Authorization": f"Bot {token}"}) as response:
            if response.status != 200:
                raise GatewayLookupError(f"GET {url} answered {response.status}")
            body = await response.json(content_type=None)
    except aiohttp.ClientError as exc:
        raise GatewayLookupError(f"GET {url} failed: {exc}") from exc
    gateway = body.get("url") if isinstance(body, dict) else None
    if not isinstance(gateway, str) or not gateway.startswith(("ws://", "wss://")):
        raise GatewayLookupError(f"GET {url} gave no ws:// or wss:// url")
    return gateway


def set_endpoints(api_base_url: str, gateway_url: str) -> None:
    discord.http.Route.BASE = api_base_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


async def configure_endpoints(
    http: aiohttp.ClientSession, api_base_url: str | None, gateway_url: str | None, token: str
) -> tuple[str, str]:
    """Apply the configured endpoints (Discord's own when none are set); returns (REST base, gateway)."""
    rest = api_base_url or DISCORD_API_BASE
    if gateway_url is None:
        gateway_url = await discover_gateway(http, rest, token) if api_base_url else DISCORD_GATEWAY
    set_endpoints(rest, gateway_url)
    return rest, gateway_url

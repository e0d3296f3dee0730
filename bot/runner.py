"""Running the bot until SIGTERM/SIGINT, then shutting down in reverse order of start-up."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable

import discord
import structlog

from bot.app import open_runtime
from bot.discord_endpoints import GatewayLookupError, configure_endpoints
from bot.errors import ConfigError
from bot.heap import freeze_after_start_up
from bot.settings import Settings

log = structlog.get_logger(__name__)


async def run(
    settings: Settings, *, master_key: str | None = None, register_secret: Callable[[str], None] = lambda _v: None
) -> int:
    """Run until stopped; problems a user can fix in the configuration are raised as ConfigError.

    `master_key` and `register_secret` go to `open_runtime` (broker credentials from the encrypted store).
    """
    try:
        return await _run(settings, master_key, register_secret)
    except discord.LoginFailure as exc:
        raise ConfigError([f"discord.token: Discord refused the token ({exc})"]) from None
    except discord.PrivilegedIntentsRequired:
        raise ConfigError(
            ["discord: enable the Message Content intent for this bot in the Discord developer portal"]
        ) from None
    except GatewayLookupError as exc:
        raise ConfigError([f"discord.api_base_url: {exc}; set discord.gateway_url"]) from None


async def _run(settings: Settings, master_key: str | None, register_secret: Callable[[str], None]) -> int:
    token = settings.discord.token
    if token is None or not token.get_secret_value():
        raise ConfigError(["discord.token: not set (config file, TRADECORD_DISCORD__TOKEN or DISCORD_TOKEN)"])
    async with open_runtime(settings, master_key=master_key, register_secret=register_secret) as runtime:
        rest, gateway = await configure_endpoints(
            runtime.http,
            settings.discord.api_base_url,
            settings.discord.gateway_url,
            token.get_secret_value(),
        )
        log.info(
            "tradecord.starting",
            api_base_url=rest,
            gateway_url=gateway,
            side_server=None if runtime.server is None else f"{settings.server.host}:{runtime.server.port}",
            event_loop=type(asyncio.get_running_loop()).__module__.split(".")[0],  # uvloop with the speed extra
        )
        loop = asyncio.get_running_loop()
        closing: set[asyncio.Task[None]] = set()

        def request_stop(signum: signal.Signals) -> None:
            log.info("tradecord.stopping", signal=signum.name)
            task = loop.create_task(runtime.bot.close())
            closing.add(task)
            task.add_done_callback(closing.discard)

        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, request_stop, signum)
        freeze_after_start_up(runtime.bot)
        await runtime.bot.start(token.get_secret_value())
        await asyncio.gather(*closing)
    log.info("tradecord.stopped")
    return 0

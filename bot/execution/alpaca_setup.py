"""From `[broker]` settings to an `AlpacaBroker` on the application's shared HTTP session."""

from __future__ import annotations

import aiohttp

from bot.errors import ConfigError
from bot.execution.alpaca import AlpacaBroker
from bot.execution.token_bucket import RateLimiter
from bot.settings import BrokerSettings

_CREDENTIALS = {"key_id": "API key id", "secret_key": "API secret key"}


def open_alpaca_broker(settings: BrokerSettings, session: aiohttp.ClientSession, limiter: RateLimiter) -> AlpacaBroker:
    """The adapter, or a ConfigError naming each missing credential (and `broker.live` for the live host)."""
    missing = [
        f'broker.{field}: kind = "alpaca" needs the {what} '
        f"(TRADECORD_BROKER__{field.upper()}, or `python -m bot secrets set broker.{field}`)"
        for field, what in _CREDENTIALS.items()
        if getattr(settings, field) is None
    ]
    if missing:
        raise ConfigError(missing)
    assert settings.key_id is not None and settings.secret_key is not None
    return AlpacaBroker(
        session,
        base_url=settings.base_url,
        data_url=settings.data_url,
        key_id=settings.key_id.get_secret_value(),
        secret_key=settings.secret_key.get_secret_value(),
        limiter=limiter,
        timeout_seconds=settings.timeout_seconds,
        time_in_force=settings.time_in_force,
        allow_short=settings.allow_short,
        live=settings.live,
    )

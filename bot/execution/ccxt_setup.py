"""From `[broker]` settings to a ccxt exchange and its `CcxtBroker`; ccxt is an optional extra.

Nothing here imports ccxt at module level, so the bot runs without it; only `kind = "ccxt"` needs it.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bot.errors import ConfigError
from bot.execution.token_bucket import RateLimiter
from bot.settings import BrokerSettings
from storage.orders import OrderRepository

if TYPE_CHECKING:
    from bot.execution.ccxt_broker import CcxtBroker

INSTALL_HINT = 'broker.kind: "ccxt" needs the ccxt package, which is not installed: pip install -e .[ccxt]'
SymbolLookup = Callable[[str], Awaitable[str | None]]


def load_ccxt() -> ModuleType:
    """ccxt's asyncio flavour, or a ConfigError saying how to install it."""
    try:
        return importlib.import_module("ccxt.async_support")
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.split(".")[0] == "ccxt":
            raise ConfigError([INSTALL_HINT]) from exc
        raise


def api_root_override(settings: BrokerSettings) -> str | None:
    """`broker.base_url` when it was changed from the (Alpaca) default: every ccxt API URL is moved there."""
    default = BrokerSettings.model_fields["base_url"].default
    return None if settings.base_url == default else settings.base_url


def rewrite_api_urls(urls: Any, root: str) -> Any:
    """Each URL in ccxt's `urls['api']` (a string or nested dicts) with its scheme and host replaced by `root`.

    The path is kept: Binance's `https://api.binance.com/api/v3` becomes `<root>/api/v3`, so one root
    serves every API family of the exchange, as a proxy or a local fake would.
    """
    if isinstance(urls, str):
        parts = urlsplit(urls)
        return root.rstrip("/") + parts.path if parts.scheme in ("http", "https") else urls
    if isinstance(urls, dict):
        return {name: rewrite_api_urls(url, root) for name, url in urls.items()}
    return urls


def exchange_config(settings: BrokerSettings) -> dict[str, Any]:
    """The constructor options: our own token bucket paces requests, ccxt neither throttles nor retries."""
    config: dict[str, Any] = {
        "enableRateLimit": False,
        "timeout": int(settings.timeout_seconds * 1000),
        "options": {
            "defaultType": "spot",
            "maxRetriesOnFailure": 0,
            # Currency metadata is a private call on some venues (Binance's capital/config/getall) and
            # spot trading needs only the markets.
            "fetchCurrencies": False,
        },
    }
    if settings.key_id is not None:
        config["apiKey"] = settings.key_id.get_secret_value()
    if settings.secret_key is not None:
        config["secret"] = settings.secret_key.get_secret_value()
    return config


def create_exchange(settings: BrokerSettings) -> Any:
    """A ccxt exchange instance for `broker.exchange`, in sandbox mode and re-rooted as configured."""
    ccxt = load_ccxt()
    exchange_id = settings.exchange or ""
    if exchange_id not in ccxt.exchanges:
        raise ConfigError([f"broker.exchange: {exchange_id!r} is not a ccxt exchange id (see ccxt.exchanges)"])
    exchange = getattr(ccxt, exchange_id)(exchange_config(settings))
    if settings.sandbox:
        try:
            exchange.set_sandbox_mode(True)
        except Exception as exc:  # ccxt raises NotSupported for venues without a testnet
            raise ConfigError([f"broker.sandbox: {exchange_id} has no sandbox in ccxt ({exc})"]) from exc
    markets_option = exchange.options.get("fetchMarkets")
    if isinstance(markets_option, dict) and "types" in markets_option:
        # this adapter trades spot: skip the futures and options catalogues
        exchange.options["fetchMarkets"] = {**markets_option, "types": ["spot"]}
    if (root := api_root_override(settings)) is not None:
        exchange.urls["api"] = rewrite_api_urls(exchange.urls["api"], root)
        if urlsplit(root).scheme == "http":
            exchange.timeout_on_exit = 0  # ccxt's pause at close lets TLS connections shut down; none here
    return exchange


def stored_order_symbols(orders: OrderRepository) -> SymbolLookup:
    """Our orders' symbols by client id, from storage: every intent is recorded before it is sent, so a
    look-up after a restart still knows which market to ask (exchanges want the symbol with the id)."""

    async def symbol_of(client_order_id: str) -> str | None:
        record = await orders.get(client_order_id)
        return None if record is None else record.request.symbol

    return symbol_of


def open_ccxt_broker(settings: BrokerSettings, limiter: RateLimiter, *, symbol_of: SymbolLookup) -> CcxtBroker:
    """The broker for `kind = "ccxt"`; `symbol_of` finds the symbol of one of our orders by client id."""
    exchange = create_exchange(settings)
    from bot.execution.ccxt_broker import CcxtBroker  # imports ccxt: only after load_ccxt() succeeded

    return CcxtBroker(exchange, limiter, quote_currency=settings.quote_currency, symbol_of=symbol_of)

"""The settings models: `Settings`, its sections, their field types and cross-field validators.

Configuration is a TOML file overridden by `TRADECORD_<SECTION>__<KEY>` environment variables. Only
`load_settings` (in `bot.config_loading`) reads the file and the (injected) environment; `Settings()` alone
gives the defaults, so nothing reads the process environment behind a test's back. Display helpers live in
`bot.config_display`. Both modules' public names are re-exported here, so `from bot.settings import ...`
stays the one import for configuration.
"""

from __future__ import annotations

import ipaddress
import re
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

# Re-exported at import time, before the models below exist: neither module imports `bot.settings` at module
# level (the loader imports `Settings` when called, the display helpers only for type checking), so there is
# no cycle whichever module is imported first, and mypy still sees every re-exported name with its type. A
# lazy module `__getattr__` would also avoid the cycle but makes mypy accept any name imported from here.
from bot.config_display import redacted_dict, render_toml, secret_values
from bot.config_loading import (
    CONFIG_ENV_VAR,
    DEFAULT_CONFIG_PATH,
    ENV_PREFIX,
    RESERVED_ENV_VARS,
    load_settings,
    resolve_config_path,
)
from bot.domain import AssetClass

__all__ = [
    "ALPACA_LIVE_HOST",
    "CONFIG_ENV_VAR",
    "DEFAULT_CONFIG_PATH",
    "DISCORD_API_BASE",
    "ENV_PREFIX",
    "REDACTED",
    "RESERVED_ENV_VARS",
    "AlertSettings",
    "BrokerKind",
    "BrokerSettings",
    "ChannelSettings",
    "DiscordSettings",
    "LogLevel",
    "LoggingSettings",
    "Network",
    "OptionalSecret",
    "PositiveDecimal",
    "Ratio",
    "RiskSettings",
    "Seconds",
    "ServerSettings",
    "Settings",
    "SignalSettings",
    "Sizing",
    "Snowflake",
    "Snowflakes",
    "StorageSettings",
    "Symbol",
    "TimeInForce",
    "load_settings",
    "redacted_dict",
    "render_toml",
    "resolve_config_path",
    "secret_values",
]

DISCORD_API_BASE = "https://discord.com/api/v10"
ALPACA_LIVE_HOST = "api.alpaca.markets"
REDACTED = "**********"

# ---------------------------------------------------------------------------------------------- types


def _snowflake(value: object) -> int:
    if isinstance(value, str) and re.fullmatch(r"\s*[0-9]+\s*", value):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**64:
        return value
    raise PydanticCustomError("snowflake", "must be a Discord id (a positive integer)")


def _symbol(value: str) -> str:
    symbol = value.strip().upper()
    if not symbol or any(char.isspace() for char in symbol):
        raise ValueError("must be a symbol such as AAPL or BTC/USDT")
    return symbol


def _network(value: object) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("ip_network", "must be an IP address or CIDR network as a string")
    try:
        return ipaddress.ip_network(value.strip())
    except ValueError as exc:
        raise PydanticCustomError(
            "ip_network", "must be an IP address or CIDR network ({reason})", {"reason": str(exc)}
        ) from exc


def _blank_to_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


def _folded(case: Literal["lower", "upper"]) -> BeforeValidator:
    return BeforeValidator(
        lambda v: (v.strip().lower() if case == "lower" else v.strip().upper()) if isinstance(v, str) else v
    )


Snowflake = Annotated[int, PlainValidator(_snowflake)]
Snowflakes = tuple[Snowflake, ...]
Symbol = Annotated[str, AfterValidator(_symbol)]
Network = Annotated[
    ipaddress.IPv4Network | ipaddress.IPv6Network,
    PlainValidator(_network),
    PlainSerializer(str, return_type=str, when_used="json"),
]
OptionalSecret = Annotated[SecretStr | None, BeforeValidator(_blank_to_none)]
PositiveDecimal = Annotated[Decimal, Field(gt=0)]
Seconds = Annotated[float, Field(ge=0)]
Ratio = Annotated[float, Field(ge=0, le=1)]


class BrokerKind(StrEnum):
    PAPER = "paper"
    ALPACA = "alpaca"
    CCXT = "ccxt"


class Sizing(StrEnum):
    FIXED_QUANTITY = "fixed_quantity"
    FIXED_NOTIONAL = "fixed_notional"
    EQUITY_PERCENT = "equity_percent"
    RISK_PERCENT = "risk_percent"


TimeInForce = Literal["gtc", "day", "ioc", "fok", "opg", "cls"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


def _conflict(keys: str, message: str) -> PydanticCustomError:
    """A cross-field problem; `keys` (comma-separated, relative to the model) are named in the error line."""
    return PydanticCustomError("cross_field", "{message}", {"keys": keys, "message": message})


def _url(value: str, schemes: tuple[str, ...]) -> str:
    url = value.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"must be a {' or '.join(schemes)} URL without query or fragment")
    return url


def _check_sizing(sizing: Sizing | None, value: Decimal | None) -> None:
    """`sizing_value` is required unless sizing is fixed_quantity, and a percentage is at most 100."""
    if sizing in (None, Sizing.FIXED_QUANTITY):
        return
    if value is None:
        raise _conflict("sizing,sizing_value", f"sizing = {sizing.value!r} needs a sizing_value")
    if sizing in (Sizing.EQUITY_PERCENT, Sizing.RISK_PERCENT) and value > 100:
        raise _conflict("sizing_value", f"is a percentage for {sizing.value}: at most 100 (got {value})")


# ------------------------------------------------------------------------------------------- sections


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DiscordSettings(_Section):
    token: OptionalSecret = None
    api_base_url: str | None = None
    gateway_url: str | None = None
    guild_ids: Snowflakes = ()
    signal_channel_ids: Snowflakes = ()
    trusted_user_ids: Snowflakes = ()
    trusted_role_ids: Snowflakes = ()
    admin_user_ids: Snowflakes = ()
    admin_role_ids: Snowflakes = ()
    alert_channel_id: Snowflake | None = None
    allowed_bot_ids: Snowflakes = ()

    @field_validator("api_base_url")
    @classmethod
    def _versioned_api_base(cls, value: str | None) -> str | None:
        """A REST base without `/v<n>` gets Discord's `/v10`, so `http://127.0.0.1:5005/api` works too."""
        if value is None:
            return None
        url = _url(value, ("http", "https"))
        return url if re.search(r"/v[0-9]+$", url) else f"{url}/v10"

    @field_validator("gateway_url")
    @classmethod
    def _websocket_gateway(cls, value: str | None) -> str | None:
        """The gateway is a ws:// or wss:// URL."""
        return None if value is None else _url(value, ("ws", "wss"))

    @property
    def rest_base_url(self) -> str:
        """The REST base discord.py's `Route.BASE` should be set to."""
        return self.api_base_url or DISCORD_API_BASE


class ChannelSettings(_Section):
    default_asset_class: Annotated[AssetClass | None, _folded("lower")] = None
    quote_currency: Annotated[str | None, _folded("upper"), Field(pattern=r"^[A-Z0-9]{2,10}$")] = None
    aliases: dict[
        Annotated[str, _folded("lower"), Field(min_length=1)], Annotated[str, _folded("lower"), Field(min_length=1)]
    ] = Field(default_factory=dict)
    management_applies_to_last_signal: bool | None = None
    default_quantity: PositiveDecimal | None = None
    default_notional: PositiveDecimal | None = None
    sizing: Annotated[Sizing | None, _folded("lower")] = None
    sizing_value: PositiveDecimal | None = None

    @model_validator(mode="after")
    def _sizing_value_present(self) -> Self:
        """A channel that overrides sizing with a non-fixed_quantity mode gives its own sizing_value."""
        _check_sizing(self.sizing, self.sizing_value)
        return self


_NO_OVERRIDES = ChannelSettings()


class SignalSettings(_Section):
    default_quantity: PositiveDecimal | None = None
    default_notional: PositiveDecimal | None = None
    duplicate_window_seconds: Seconds = 30.0
    edits_update_signals: bool = True
    management_applies_to_last_signal: bool = True
    channels: dict[Snowflake, ChannelSettings] = Field(default_factory=dict)

    def channel(self, channel_id: int) -> ChannelSettings:
        """The per-channel overrides of `channel_id` (all None/empty when it has none)."""
        return self.channels.get(channel_id, _NO_OVERRIDES)


# Alpaca allows 200 requests a minute; ccxt venues vary, so stay near the strictest common limit; the paper
# broker is local, so its bucket only guards against runaway loops.
_DEFAULT_RATE_LIMITS = {
    BrokerKind.PAPER: (1000.0, 1000),
    BrokerKind.ALPACA: (200 / 60, 10),
    BrokerKind.CCXT: (5.0, 10),
}


class BrokerSettings(_Section):
    kind: Annotated[BrokerKind, _folded("lower")] = BrokerKind.PAPER
    base_url: str = "https://paper-api.alpaca.markets"
    # Alpaca's market-data API root (latest trades for sizing and risk); without a version, like base_url.
    data_url: str = "https://data.alpaca.markets"
    key_id: OptionalSecret = None
    secret_key: OptionalSecret = None
    exchange: Annotated[str | None, _folded("lower"), Field(min_length=1)] = None
    sandbox: bool = False
    # ccxt: the currency cash and equity are counted in; balances of other assets are positions against it.
    quote_currency: Annotated[str, _folded("upper"), Field(pattern=r"^[A-Z0-9]{2,10}$")] = "USDT"
    rate_per_second: float | None = Field(None, gt=0)
    burst: int | None = Field(None, ge=1)
    timeout_seconds: float = Field(10.0, gt=0)
    max_retries: int = Field(3, ge=0)
    time_in_force: Annotated[TimeInForce, _folded("lower")] = "gtc"
    allow_short: bool = False
    live: bool = False
    paper_starting_cash: PositiveDecimal = Decimal("100000")
    # How often resting orders are checked at the venue (and the paper market replays its quotes).
    order_poll_seconds: float = Field(1.0, gt=0)
    quotes: dict[Symbol, PositiveDecimal] = Field(default_factory=dict)

    @property
    def rate_limit(self) -> tuple[float, int]:
        """(rate per second, burst): the configured values, else the venue's published limit for `kind`."""
        rate, burst = _DEFAULT_RATE_LIMITS[self.kind]
        return self.rate_per_second or rate, self.burst or burst

    @field_validator("base_url", "data_url")
    @classmethod
    def _unversioned_base_url(cls, value: str) -> str:
        """The venue root comes without a version: the adapter appends `/v2/...` itself."""
        url = _url(value, ("http", "https"))
        if re.search(r"/v[0-9]+$", url):
            raise ValueError("must be the API root without a version (the adapter appends /v2/...)")
        return url

    @model_validator(mode="after")
    def _ccxt_needs_exchange(self) -> Self:
        """`kind = "ccxt"` names the ccxt exchange id."""
        if self.kind is BrokerKind.CCXT and self.exchange is None:
            raise _conflict("kind,exchange", 'kind = "ccxt" needs exchange (a ccxt id such as "binance")')
        return self

    @model_validator(mode="after")
    def _real_money_needs_live(self) -> Self:
        """A real-money account (Alpaca's live host, ccxt without sandbox) needs `live = true`."""
        host = (urlsplit(self.base_url).hostname or "").rstrip(".")
        if self.kind is BrokerKind.ALPACA and not self.live and host == ALPACA_LIVE_HOST:
            raise _conflict(
                "live,base_url",
                f"base_url is Alpaca's live host {ALPACA_LIVE_HOST} but "
                "live = false: set live = true to trade real money",
            )
        if self.kind is BrokerKind.CCXT and not self.live and not self.sandbox:
            raise _conflict(
                "live,sandbox",
                "ccxt without sandbox trades real money: set sandbox = true, or live = true to trade real money",
            )
        return self


class RiskSettings(_Section):
    max_order_notional: PositiveDecimal | None = None
    max_position_notional: PositiveDecimal | None = None
    max_daily_loss: PositiveDecimal | None = None
    max_open_positions: int | None = Field(None, ge=1)
    max_leverage: PositiveDecimal | None = None
    symbol_allowlist: tuple[Symbol, ...] = ()
    symbol_denylist: tuple[Symbol, ...] = ()
    cooldown_seconds: Seconds = 0.0
    max_signal_age_seconds: float = Field(300.0, gt=0)
    kill_switch: bool = False
    sizing: Annotated[Sizing, _folded("lower")] = Sizing.FIXED_QUANTITY
    sizing_value: PositiveDecimal | None = None

    @model_validator(mode="after")
    def _sizing_value_present(self) -> Self:
        """`sizing_value` is required unless sizing is fixed_quantity."""
        _check_sizing(self.sizing, self.sizing_value)
        return self

    @model_validator(mode="after")
    def _lists_disjoint(self) -> Self:
        """No symbol is both allowed and denied."""
        if both := sorted(set(self.symbol_allowlist) & set(self.symbol_denylist)):
            raise _conflict("symbol_allowlist,symbol_denylist", f"{', '.join(both)} in both lists")
        return self


class StorageSettings(_Section):
    path: Path = Path("data/tradecord.db")
    batch_flush_seconds: float = Field(1.0, gt=0)
    # History (README "Monitoring"): settled signal/order rows are deleted after retention_days; per-minute
    # history is kept minute_history_days (2 at least: /stats 24h reads it), hourly history hourly_history_days.
    retention_days: float = Field(90.0, ge=1)
    minute_history_days: float = Field(7.0, ge=2)
    hourly_history_days: float = Field(400.0, ge=31)
    system_sample_seconds: float = Field(15.0, gt=0)
    # "loop": the event loop and the database writer's thread share one CPU (Linux, 2+ CPUs; `bot.cpu_affinity`);
    # "any": the kernel places them, as every other thread.
    writer_cpu: Literal["any", "loop"] = "loop"


class ServerSettings(_Section):
    enabled: bool = True
    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(8080, ge=0, le=65535)
    metrics_token: OptionalSecret = None
    webhook_enabled: bool = True
    webhook_secret: OptionalSecret = None
    webhook_max_body_bytes: int = Field(65536, ge=1)
    webhook_max_skew_seconds: int = Field(300, ge=1)
    webhook_rate_per_ip_per_minute: int = Field(60, ge=1)
    webhook_burst_per_ip: int = Field(10, ge=1)
    webhook_rate_global_per_minute: int = Field(1000, ge=1)
    ban_after_violations: int = Field(5, ge=1)
    ban_base_seconds: int = Field(900, ge=1)
    ban_max_seconds: int = Field(86400, ge=1)
    ip_allowlist: tuple[Network, ...] = ()
    ip_denylist: tuple[Network, ...] = ()
    trusted_proxies: tuple[Network, ...] = ()

    @model_validator(mode="after")
    def _ban_base_within_max(self) -> Self:
        """The first ban is not longer than the longest one."""
        if self.ban_base_seconds > self.ban_max_seconds:
            raise _conflict("ban_base_seconds,ban_max_seconds", "ban_base_seconds exceeds ban_max_seconds")
        return self


class AlertSettings(_Section):
    signal_latency_warning_seconds: float = Field(1.0, gt=0)
    signal_latency_critical_seconds: float = Field(5.0, gt=0)
    order_success_rate_warning: Ratio = 0.95
    order_success_rate_critical: Ratio = 0.90
    memory_warning_mb: int = Field(512, ge=1)
    memory_critical_mb: int = Field(1024, ge=1)
    event_loop_lag_warning_seconds: float = Field(0.1, gt=0)
    event_loop_lag_critical_seconds: float = Field(1.0, gt=0)
    ratelimit_block_rate_warning: Ratio = 0.10
    ratelimit_block_rate_critical: Ratio = 0.50
    evaluation_interval_seconds: float = Field(15.0, gt=0)
    # Hysteresis: evaluations in a row a change must last before it is announced, and how far back past a
    # threshold (a fraction of it) a value must come before it counts as recovered.
    consecutive_evaluations: int = Field(2, ge=1)
    recovery_margin: float = Field(0.1, ge=0, lt=1)

    @model_validator(mode="after")
    def _warning_not_beyond_critical(self) -> Self:
        """Each warning threshold is reached before (or with) its critical one."""
        for warning, critical, lower_is_worse in _THRESHOLD_PAIRS:
            warn, crit = getattr(self, warning), getattr(self, critical)
            if (warn < crit) if lower_is_worse else (warn > crit):
                side = "below" if lower_is_worse else "above"
                raise _conflict(f"{warning},{critical}", f"the warning threshold is {side} the critical one")
        return self


_THRESHOLD_PAIRS = (  # (warning, critical, lower_is_worse)
    ("signal_latency_warning_seconds", "signal_latency_critical_seconds", False),
    ("order_success_rate_warning", "order_success_rate_critical", True),
    ("memory_warning_mb", "memory_critical_mb", False),
    ("event_loop_lag_warning_seconds", "event_loop_lag_critical_seconds", False),
    ("ratelimit_block_rate_warning", "ratelimit_block_rate_critical", False),
)


class LoggingSettings(_Section):
    level: Annotated[LogLevel, _folded("upper")] = "INFO"
    # The key is `json`; the attribute is renamed because `json` would shadow a BaseModel method.
    json_output: bool | None = Field(None, alias="json")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="forbid", frozen=True)

    discord: DiscordSettings = Field(default_factory=DiscordSettings)
    signals: SignalSettings = Field(default_factory=SignalSettings)
    broker: BrokerSettings = Field(default_factory=BrokerSettings)
    risk: RiskSettings = Field(default_factory=RiskSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only explicit values: `load_settings` is the one place that reads the file and the environment."""
        return (init_settings,)

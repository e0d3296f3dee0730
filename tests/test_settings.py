"""Configuration loading: sources and precedence, validation messages, redaction and rendering."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from decimal import Decimal
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from bot.errors import ConfigError
from bot.settings import (
    DISCORD_API_BASE,
    BrokerKind,
    Settings,
    Sizing,
    load_settings,
    redacted_dict,
    render_toml,
    resolve_config_path,
    secret_values,
)

EXAMPLE = Path(__file__).resolve().parent.parent / "config.toml.example"
TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA.GaBcDe.abcdefghijklmnopqrstuvwxyz1234"

WriteConfig = Callable[[str], Path]


@pytest.fixture
def write_config(tmp_path: Path) -> WriteConfig:
    """Write TOML text to a config file in a temporary directory and return its path."""

    def write(text: str) -> Path:
        path = tmp_path / "config.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def problems_of(path: Path | None = None, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as excinfo:
        load_settings(path, environ=environ or {})
    return excinfo.value.problems


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A missing ./config.toml (not named explicitly) means every default applies."""
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings == Settings()
    assert settings.broker.kind is BrokerKind.PAPER
    assert settings.broker.base_url == "https://paper-api.alpaca.markets"
    assert settings.server.host == "127.0.0.1" and settings.server.port == 8080
    assert settings.storage.path == Path("data/tradecord.db")
    assert settings.signals.duplicate_window_seconds == 30
    assert settings.discord.token is None and settings.discord.rest_base_url == DISCORD_API_BASE
    assert settings.logging.level == "INFO" and settings.logging.json_output is None


def test_config_path_resolution() -> None:
    """--config beats TRADECORD_CONFIG, which beats the implicit ./config.toml."""
    assert resolve_config_path(Path("a.toml"), {"TRADECORD_CONFIG": "b.toml"}) == (Path("a.toml"), True)
    assert resolve_config_path(None, {"TRADECORD_CONFIG": "b.toml"}) == (Path("b.toml"), True)
    assert resolve_config_path(None, {}) == (Path("config.toml"), False)


def test_file_then_environment_precedence(write_config: WriteConfig) -> None:
    """Environment variables override the file key by key, and the file overrides the defaults."""
    path = write_config(
        '[risk]\nmax_order_notional = "100"\nmax_daily_loss = 50\n'
        "[broker]\nrate_per_second = 5\n[discord]\nguild_ids = [1]\n"
    )
    env = {
        "TRADECORD_RISK__MAX_ORDER_NOTIONAL": "250.5",
        "TRADECORD_DISCORD__GUILD_IDS": "11, 22",
        "TRADECORD_DISCORD__SIGNAL_CHANNEL_IDS": "[33, 44]",
        "tradecord_logging__level": "debug",
        "TRADECORD_BROKER__QUOTES": '{"aapl": 150.1}',
        "TRADECORD_STORAGE__PATH": "",  # empty variables are ignored
    }
    settings = load_settings(path, environ=env)
    assert settings.risk.max_order_notional == Decimal("250.5")
    assert settings.risk.max_daily_loss == Decimal(50)
    assert settings.broker.rate_per_second == 5.0
    assert settings.discord.guild_ids == (11, 22)
    assert settings.discord.signal_channel_ids == (33, 44)
    assert settings.logging.level == "DEBUG"
    assert settings.broker.quotes == {"AAPL": Decimal("150.1")}
    assert settings.storage.path == Path("data/tradecord.db")


def test_config_file_named_by_environment(write_config: WriteConfig) -> None:
    """TRADECORD_CONFIG names the file when --config is not given."""
    path = write_config("[server]\nport = 9000\n")
    assert load_settings(environ={"TRADECORD_CONFIG": str(path)}).server.port == 9000


def test_discord_token_alias(write_config: WriteConfig) -> None:
    """DISCORD_TOKEN sets the token over the file, and TRADECORD_DISCORD__TOKEN wins over it."""
    path = write_config('[discord]\ntoken = "from-file"\n')
    only_alias = load_settings(path, environ={"DISCORD_TOKEN": "alias-token"})
    assert only_alias.discord.token is not None
    assert only_alias.discord.token.get_secret_value() == "alias-token"
    both = load_settings(path, environ={"DISCORD_TOKEN": "alias-token", "TRADECORD_DISCORD__TOKEN": "main"})
    assert both.discord.token is not None and both.discord.token.get_secret_value() == "main"


def test_port_variable(write_config: WriteConfig) -> None:
    """$PORT sets server.port (over the file) unless TRADECORD_SERVER__PORT is set."""
    path = write_config("[server]\nport = 9000\n")
    assert load_settings(path, environ={"PORT": "5000"}).server.port == 5000
    assert load_settings(path, environ={"PORT": "5000", "TRADECORD_SERVER__PORT": "6000"}).server.port == 6000


def test_unknown_key_in_file(write_config: WriteConfig) -> None:
    """Unknown keys and sections in the file are errors naming the dotted key."""
    path = write_config('[broker]\nkindd = "paper"\n[signals.channels."42"]\nfoo = 1\n[brokr]\nx = 1\n')
    problems = problems_of(path)
    assert "broker.kindd: unknown key" in problems
    assert "signals.channels.42.foo: unknown key" in problems
    assert "brokr: unknown key" in problems


def test_unknown_key_in_environment() -> None:
    """TRADECORD_ variables that name no key are errors, with the variable's name; TRADECORD_CONFIG is not."""
    problems = problems_of(
        environ={
            "TRADECORD_BROKER__KINDD": "x",
            "TRADECORD_DISCORD_TOKEN": "one-underscore",
            "TRADECORD_CONFIG": "",
        }
    )
    assert problems == [
        "broker.kindd: unknown key (from TRADECORD_BROKER__KINDD)",
        "discord_token: unknown section (settings are TRADECORD_<SECTION>__<KEY>) (from TRADECORD_DISCORD_TOKEN)",
    ]


def test_bad_values_name_the_dotted_key(write_config: WriteConfig) -> None:
    """Each bad value is one line naming its dotted key, the rule and the value given."""
    path = write_config(
        '[risk]\nmax_order_notional = -5\nsizing = "martingale"\n'
        '[discord]\nguild_ids = ["123", 0]\n[server]\nport = "http"\nip_allowlist = ["10.0.0.1/8"]\n'
    )
    problems = problems_of(path, {"TRADECORD_BROKER__BURST": "0"})
    assert "risk.max_order_notional: must be greater than 0 (got -5)" in problems
    assert any(p.startswith("risk.sizing: must be 'fixed_quantity'") for p in problems)
    assert "discord.guild_ids[1]: must be a Discord id (a positive integer) (got 0)" in problems
    assert any(p.startswith("server.port: must be a valid integer") for p in problems)
    assert any(p.startswith("server.ip_allowlist[0]:") and "host bits set" in p for p in problems)
    assert 'broker.burst: must be greater than or equal to 1 (got "0")' in problems
    assert len(problems) == 6


def test_secret_values_never_in_errors(write_config: WriteConfig) -> None:
    """A bad or misplaced secret is reported by key only, never by value."""
    path = write_config(f'[discord]\ntokn = "{TOKEN}"\n[server]\nmetrics_token = 12345678\n')
    problems = problems_of(path)
    assert "discord.tokn: unknown key" in problems
    assert any(p.startswith("server.metrics_token: must be a valid string") for p in problems)
    assert not any(TOKEN in p or "12345678" in p for p in problems)


def test_decimals_are_exact(write_config: WriteConfig) -> None:
    """TOML floats, integers and strings become exact Decimals (150.1 is not its binary expansion)."""
    path = write_config(
        '[broker.quotes]\nAAPL = 150.1\n"btc/usdt" = "60000.25"\nMSFT = 300\n[signals]\ndefault_quantity = 0.1\n'
    )
    settings = load_settings(path, environ={})
    assert settings.broker.quotes == {"AAPL": Decimal("150.1"), "BTC/USDT": Decimal("60000.25"), "MSFT": Decimal(300)}
    assert str(settings.broker.quotes["AAPL"]) == "150.1"
    assert settings.signals.default_quantity == Decimal("0.1")


def test_toml_syntax_error_has_position(write_config: WriteConfig) -> None:
    """A TOML syntax error is one ConfigError line with the file, line and column."""
    path = write_config("[risk]\nmax_order_notional = = 5\n")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}: invalid TOML:")
    assert re.search(r"line 2, column \d+", problem)


def test_explicit_missing_path(tmp_path: Path) -> None:
    """A config file named by --config or TRADECORD_CONFIG must exist."""
    missing = tmp_path / "nope.toml"
    assert problems_of(missing) == [f"{missing}: config file not found"]
    assert problems_of(environ={"TRADECORD_CONFIG": str(missing)}) == [f"{missing}: config file not found"]


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (
            "[alerts]\nmemory_warning_mb = 2000\n",
            "alerts.memory_warning_mb, alerts.memory_critical_mb: the warning threshold is above the critical one",
        ),
        (
            "[alerts]\norder_success_rate_warning = 0.5\n",
            "alerts.order_success_rate_warning, alerts.order_success_rate_critical: "
            "the warning threshold is below the critical one",
        ),
        (
            '[risk]\nsizing = "fixed_notional"\n',
            "risk.sizing, risk.sizing_value: sizing = 'fixed_notional' needs a sizing_value",
        ),
        (
            '[risk]\nsizing = "equity_percent"\nsizing_value = 150\n',
            "risk.sizing_value: is a percentage for equity_percent: at most 100 (got 150)",
        ),
        (
            '[signals.channels."42"]\nsizing = "risk_percent"\n',
            "signals.channels.42.sizing, signals.channels.42.sizing_value: "
            "sizing = 'risk_percent' needs a sizing_value",
        ),
        (
            '[broker]\nkind = "ccxt"\nsandbox = true\n',
            'broker.kind, broker.exchange: kind = "ccxt" needs exchange (a ccxt id such as "binance")',
        ),
        (
            '[broker]\nkind = "ccxt"\nexchange = "binance"\n',
            "broker.live, broker.sandbox: ccxt without sandbox trades real money: "
            "set sandbox = true, or live = true to trade real money",
        ),
        (
            '[broker]\nkind = "alpaca"\nbase_url = "https://api.alpaca.markets"\n',
            "broker.live, broker.base_url: base_url is Alpaca's live host api.alpaca.markets but live = false: "
            "set live = true to trade real money",
        ),
        (
            '[risk]\nsymbol_allowlist = ["aapl"]\nsymbol_denylist = ["AAPL"]\n',
            "risk.symbol_allowlist, risk.symbol_denylist: AAPL in both lists",
        ),
        (
            "[server]\nban_base_seconds = 100000\n",
            "server.ban_base_seconds, server.ban_max_seconds: ban_base_seconds exceeds ban_max_seconds",
        ),
    ],
)
def test_cross_field_validators(write_config: WriteConfig, toml: str, expected: str) -> None:
    """Each cross-field rule reports one line naming every key involved."""
    assert problems_of(write_config(toml)) == [expected]


def test_cross_field_rules_accept_consistent_configs(write_config: WriteConfig) -> None:
    """Live Alpaca with live = true, ccxt sandbox, and equal thresholds are all valid."""
    path = write_config(
        '[broker]\nkind = "alpaca"\nbase_url = "https://api.alpaca.markets/"\nlive = true\n'
        "[alerts]\nmemory_warning_mb = 1024\n"
        '[risk]\nsizing = "Equity_Percent"\nsizing_value = "2.5"\n'
    )
    settings = load_settings(path, environ={})
    assert settings.broker.base_url == "https://api.alpaca.markets"
    assert settings.risk.sizing is Sizing.EQUITY_PERCENT
    ccxt = write_config('[broker]\nkind = "ccxt"\nexchange = "Binance"\nsandbox = true\n')
    assert load_settings(ccxt, environ={}).broker.exchange == "binance"


def test_discord_urls_and_ids_are_normalized(write_config: WriteConfig) -> None:
    """An API base without a version gets /v10, string snowflakes become ints, and channel keys are ints."""
    path = write_config(
        '[discord]\napi_base_url = "http://127.0.0.1:5005/api/"\nguild_ids = ["123", 456]\n'
        'alert_channel_id = "789"\n[signals.channels."42"]\nquote_currency = "usdt"\n'
        'aliases = { TGT = "TP" }\n'
    )
    settings = load_settings(path, environ={})
    assert settings.discord.api_base_url == "http://127.0.0.1:5005/api/v10"
    assert settings.discord.guild_ids == (123, 456) and settings.discord.alert_channel_id == 789
    assert settings.signals.channel(42).quote_currency == "USDT"
    assert settings.signals.channel(42).aliases == {"tgt": "tp"}
    assert settings.signals.channel(7).quote_currency is None
    versioned = write_config('[discord]\napi_base_url = "https://example.test/api/v9"\n')
    assert load_settings(versioned, environ={}).discord.api_base_url == "https://example.test/api/v9"
    assert problems_of(write_config('[broker]\nbase_url = "https://paper-api.alpaca.markets/v2"\n')) == [
        "broker.base_url: must be the API root without a version (the adapter appends /v2/...) "
        '(got "https://paper-api.alpaca.markets/v2")'
    ]


def test_networks_are_parsed(write_config: WriteConfig) -> None:
    """IP lists accept addresses and CIDR networks, IPv4 and IPv6."""
    path = write_config('[server]\ntrusted_proxies = ["10.0.0.0/8", "::1"]\nip_denylist = ["192.0.2.7"]\n')
    server = load_settings(path, environ={}).server
    assert server.trusted_proxies == (ip_network("10.0.0.0/8"), ip_network("::1"))
    assert server.ip_denylist == (ip_network("192.0.2.7/32"),)


def test_redacted_dict_hides_every_secret(write_config: WriteConfig) -> None:
    """redacted_dict shows set secrets as asterisks and unset ones as null, and never a clear value."""
    path = write_config('[broker]\nkey_id = "AKIDEXAMPLE1"\nquotes = { AAPL = "150.00" }\n')
    env = {"DISCORD_TOKEN": TOKEN, "TRADECORD_SERVER__WEBHOOK_SECRET": "hook-secret-123"}
    settings = load_settings(path, environ=env)
    data = redacted_dict(settings)
    dumped = json.dumps(data)
    assert sorted(secret_values(settings)) == sorted([TOKEN, "AKIDEXAMPLE1", "hook-secret-123"])
    for secret in secret_values(settings):
        assert secret not in dumped
    assert data["discord"]["token"] == "**********"
    assert data["broker"]["secret_key"] is None
    assert data["broker"]["quotes"] == {"AAPL": "150.00"}
    assert data["logging"]["json"] is None


def test_render_toml_round_trips(write_config: WriteConfig) -> None:
    """render_toml output parses back with tomllib to the same data, nulls left out."""
    path = write_config(
        '[signals.channels."42"]\naliases = { "tp 1" = "tp" }\nsizing = "fixed_notional"\nsizing_value = 5\n'
        '[broker.quotes]\n"BTC/USDT" = "60000"\n[server]\nip_allowlist = ["10.0.0.0/8"]\n'
        '[storage]\npath = "data/weird \\"name\\"\\t.db"\n'
    )
    data = redacted_dict(load_settings(path, environ={"DISCORD_TOKEN": TOKEN}))

    def without_nulls(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: without_nulls(v) for k, v in value.items() if v is not None}
        return value

    assert tomllib.loads(render_toml(data)) == without_nulls(data)
    assert tomllib.loads(render_toml({"a": [1.5, float("inf")], "b": {"c": {"d": True}}})) == {
        "a": [1.5, float("inf")],
        "b": {"c": {"d": True}},
    }


def _uncommented(text: str) -> str:
    """The example with every commented-out key line and table header turned on."""
    return re.sub(r'(?m)^# ((?:[A-Za-z0-9_]+|"[^"]*") = |\[)', r"\1", text)


def _keys(model: type[BaseModel]) -> set[str]:
    return {info.alias or name for name, info in model.model_fields.items()}


def test_example_config_loads(write_config: WriteConfig) -> None:
    """config.toml.example copied to config.toml is valid, and so is it with every commented line enabled."""
    text = EXAMPLE.read_text(encoding="utf-8")
    assert load_settings(write_config(text), environ={}).broker.quotes["BTC/USDT"] == Decimal(60000)
    enabled = _uncommented(text)
    settings = load_settings(write_config(enabled), environ={})
    assert settings.signals.channel(123456789012345678).sizing is Sizing.FIXED_NOTIONAL


def test_example_config_documents_every_key() -> None:
    """Every key of every section appears (commented or not) in config.toml.example."""
    data = tomllib.loads(_uncommented(EXAMPLE.read_text(encoding="utf-8")), parse_float=Decimal)
    for section, info in Settings.model_fields.items():
        model = info.annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        assert set(data[section]) == _keys(model), section
    channel = data["signals"]["channels"]["123456789012345678"]
    assert set(channel) == _keys(type(Settings().signals.channel(0)))

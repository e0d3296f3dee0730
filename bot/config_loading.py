"""Loading the settings: the TOML file, `TRADECORD_<SECTION>__<KEY>` overrides, and error lines.

`load_settings` is the one place that reads the file and the (injected) environment: defaults < TOML file <
environment. Every problem becomes one line of a `ConfigError` naming its dotted key; secret values never
appear in those lines.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from types import UnionType
from typing import TYPE_CHECKING, Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from bot.errors import ConfigError

if TYPE_CHECKING:
    from bot.settings import Settings

ENV_PREFIX = "TRADECORD_"
CONFIG_ENV_VAR = "TRADECORD_CONFIG"
# The encrypted secret store's master key, and the one `secrets rotate-key` moves every secret to.
MASTER_KEY_ENV_VAR = "TRADECORD_MASTER_KEY"
NEW_MASTER_KEY_ENV_VAR = "TRADECORD_NEW_MASTER_KEY"
# TRADECORD_* variables that are not settings (anything else with the prefix must name a key).
RESERVED_ENV_VARS = frozenset({CONFIG_ENV_VAR, MASTER_KEY_ENV_VAR, NEW_MASTER_KEY_ENV_VAR})
DEFAULT_CONFIG_PATH = Path("config.toml")

# -------------------------------------------------------------------------------------------- loading


def resolve_config_path(cli_path: Path | None, environ: Mapping[str, str]) -> tuple[Path, bool]:
    """The config file and whether it was named: `--config`, else `TRADECORD_CONFIG`, else ./config.toml."""
    if cli_path is not None:
        return cli_path, True
    if from_env := environ.get(CONFIG_ENV_VAR, "").strip():
        return Path(from_env), True
    return DEFAULT_CONFIG_PATH, False


def load_settings(path: Path | None = None, *, environ: Mapping[str, str] | None = None) -> Settings:
    """Defaults < TOML file < environment; raises ConfigError with one line per problem."""
    # Imported here, not at the top: `bot.settings` re-exports this module's public names with a plain
    # import, so a module-level import back would leave one of the two half-initialised whichever is imported
    # first. Call time is the only place the model is needed, and it is passed down from here.
    from bot.settings import Settings

    env = os.environ if environ is None else environ
    config_path, explicit = resolve_config_path(path, env)
    data = _read_toml(config_path, required=explicit)
    overrides, problems = _env_overrides(env, Settings)
    try:
        settings = Settings.model_validate(_merge(data, overrides))
    except ValidationError as exc:
        raise ConfigError(problems + [_describe(error) for error in exc.errors(include_url=False)]) from None
    if problems:
        raise ConfigError(problems)
    return settings


def _read_toml(path: Path, *, required: bool) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file, parse_float=Decimal)
    except FileNotFoundError:
        if required:
            raise ConfigError([f"{path}: config file not found"]) from None
        return {}
    except tomllib.TOMLDecodeError as exc:  # the message carries "(at line L, column C)"
        raise ConfigError([f"{path}: invalid TOML: {exc}"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read config file: {exc}"]) from None


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and key in merged:
            # A non-table in the file stays, so its own error is reported rather than silently replaced.
            if isinstance(merged[key], Mapping):
                merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _env_overrides(environ: Mapping[str, str], model: type[BaseModel]) -> tuple[dict[str, Any], list[str]]:
    """The nested values TRADECORD_* (plus DISCORD_TOKEN and PORT) set, and the problems found."""
    overrides: dict[str, Any] = {}
    problems: list[str] = []
    for name, raw in sorted(environ.items()):
        if not name.upper().startswith(ENV_PREFIX) or name.upper() in RESERVED_ENV_VARS or not raw.strip():
            continue
        try:
            path, value = _env_setting(model, name[len(ENV_PREFIX) :].split("__"), raw)
        except _EnvProblem as problem:
            problems.append(f"{problem.key or '(empty)'}: {problem.reason} (from {name})")
            continue
        for key in reversed(path):
            value = {key: value}
        overrides = _merge(overrides, value)
    for alias, section, key in (("DISCORD_TOKEN", "discord", "token"), ("PORT", "server", "port")):
        table = overrides.setdefault(section, {})
        if isinstance(table, dict) and key not in table and environ.get(alias, "").strip():
            table[key] = environ[alias].strip()
    return overrides, problems


class _EnvProblem(Exception):
    def __init__(self, key: str, reason: str) -> None:
        super().__init__(key)
        self.key, self.reason = key, reason


def _unwrap(annotation: Any) -> Any:
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
        elif get_origin(annotation) in (Union, UnionType):
            annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
        else:
            return annotation


def _env_setting(model: type[BaseModel], segments: list[str], raw: str) -> tuple[list[str], Any]:
    """Walk `model` along `segments` (section, key, dict keys) and parse `raw` for the field found."""
    path: list[str] = []
    target: Any = model
    for segment in segments:
        if isinstance(target, type) and issubclass(target, BaseModel):
            fields = {info.alias or name: info for name, info in target.model_fields.items()}
            field = fields.get(segment.lower())
            if field is None:
                raise _EnvProblem(
                    ".".join([*path, segment.lower()]),
                    "unknown key" if path else "unknown section (settings are TRADECORD_<SECTION>__<KEY>)",
                )
            path.append(segment.lower())
            target = _unwrap(field.annotation)
        elif get_origin(target) is dict and segment:
            path.append(segment)
            target = _unwrap(get_args(target)[1])
        else:
            raise _EnvProblem(".".join([*path, segment.lower()]), "unknown key")
    origin = get_origin(target)
    text = raw.strip()
    try:
        if origin in (tuple, list):
            if text.startswith("["):
                return path, json.loads(text, parse_float=Decimal)
            return path, [item.strip() for item in text.split(",") if item.strip()]
        if origin is dict or (isinstance(target, type) and issubclass(target, BaseModel)):
            return path, json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise _EnvProblem(".".join(path), f"invalid JSON: {exc.msg} at column {exc.colno}") from None
    return path, text


# --------------------------------------------------------------------------------------------- errors

_REWRITES = (
    ("Input should be", "must be"),
    ("Value error, ", ""),
    ("a valid tuple", "a list"),
    ("Extra inputs are not permitted", "unknown key"),
    ("Field required", "required"),
)
_SECRET_KEY = re.compile(r"token|secret|password|key_id|api_key|authorization", re.IGNORECASE)
_NO_VALUE_TYPES = frozenset({"extra_forbidden", "missing", "cross_field"})


def _dotted(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part != "[key]":
            text += f".{part}" if text else part
    return text


def _describe(error: ErrorDetails) -> str:
    """`<dotted.key>: <message> (got <value>)`, the value left out for secrets and unknown keys."""
    key = _dotted(error["loc"])
    message = error["msg"]
    for old, new in _REWRITES:
        message = message.replace(old, new)
    if "[key]" in error["loc"]:
        message = f"key {message}"
    if error["type"] == "cross_field":
        names = str(error.get("ctx", {}).get("keys", "")).split(",")
        return f"{', '.join(f'{key}.{name}' if key else name for name in names)}: {message}"
    value = error.get("input")
    if error["type"] in _NO_VALUE_TYPES or _SECRET_KEY.search(key) or not _is_scalar(value):
        return f"{key}: {message}"
    return f"{key}: {message} (got {_show(value)})"


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | Decimal)


def _show(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    text = json.dumps(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 80 else f"{text[:77]}..."

"""Showing the settings: the effective config with secrets redacted, as data or TOML, and the clear secrets.

Nothing here needs the settings models at import time, so `bot.settings` can re-export these helpers eagerly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

if TYPE_CHECKING:
    from bot.settings import Settings


def redacted_dict(settings: Settings) -> dict[str, Any]:
    """The effective config as plain data: secrets "**********" if set, null if not; Decimals as strings."""
    return settings.model_dump(mode="json", by_alias=True)


def secret_values(settings: Settings) -> list[str]:
    """Every secret's clear value that is set, for the log redactor."""
    values: list[str] = []
    for section_name in type(settings).model_fields:
        section = getattr(settings, section_name)
        for field_name in type(section).model_fields:
            value = getattr(section, field_name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                values.append(value.get_secret_value())
    return values


def render_toml(data: Mapping[str, Any]) -> str:
    """`data` as TOML that round-trips through tomllib (TOML has no null: None becomes a comment)."""
    lines: list[str] = []
    _render_table(lines, (), data)
    return "\n".join(lines).lstrip("\n") + "\n"


def _render_table(lines: list[str], path: tuple[str, ...], table: Mapping[str, Any]) -> None:
    if path:
        lines += ["", f"[{'.'.join(_toml_key(part) for part in path)}]"]
    for key, value in table.items():
        if value is None:
            lines.append(f"# {_toml_key(key)} is not set")
        elif not isinstance(value, Mapping):
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, value in table.items():
        if isinstance(value, Mapping):
            _render_table(lines, (*path, str(key)), value)


def _toml_key(key: object) -> str:
    text = str(key)
    return text if re.fullmatch(r"[A-Za-z0-9_-]+", text) else _toml_string(text)


def _toml_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\u{ord(m.group()):04x}", escaped) + '"'


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return {"inf": "inf", "-inf": "-inf", "nan": "nan"}.get(repr(value), repr(value))
    if isinstance(value, str | Decimal | Path):
        return _toml_string(str(value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        pairs = (f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items() if v is not None)
        return "{" + ", ".join(pairs) + "}"
    raise TypeError(f"cannot render {type(value).__name__} as TOML")

"""Broker credentials at start-up: configured values win, the encrypted store fills the gaps, all get redacted."""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from bot.app import open_runtime
from bot.credentials import load_stored_secrets, resolve_broker_credentials
from bot.errors import ConfigError
from bot.logs import REDACTED, SecretRedactor, configure_logging, get_logger
from bot.secret_store import SecretStore
from bot.settings import Settings, load_settings, redacted_dict, secret_values
from storage.database import Database

KEY = base64.b64encode(b"k" * 32).decode()
STORED_KEY_ID = "PKSTOREDKEYID0001"
STORED_SECRET = "stored-secret-key-0002"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    yield
    structlog.reset_defaults()
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def settings_with(tmp_path: Path, **broker: str) -> Settings:
    return Settings.model_validate(
        {"broker": broker, "storage": {"path": str(tmp_path / "tradecord.db")}, "server": {"enabled": False}}
    )


async def fill_store(db: Database) -> None:
    store = await SecretStore.open(db, KEY)
    await store.set("broker.key_id", STORED_KEY_ID)
    await store.set("broker.secret_key", STORED_SECRET)


async def test_store_fills_unset_credentials_and_configured_ones_win(db: Database, tmp_path: Path) -> None:
    """An unset broker.key_id comes from the store; a configured secret_key is kept; both stay SecretStr."""
    await fill_store(db)
    settings = settings_with(tmp_path, secret_key="from-env-secret")
    resolved = await resolve_broker_credentials(settings, await SecretStore.open(db, KEY))
    assert resolved.broker.key_id is not None and resolved.broker.secret_key is not None
    assert resolved.broker.key_id.get_secret_value() == STORED_KEY_ID
    assert resolved.broker.secret_key.get_secret_value() == "from-env-secret"
    assert redacted_dict(resolved)["broker"]["key_id"] == REDACTED
    assert STORED_KEY_ID in secret_values(resolved)
    assert settings.broker.key_id is None  # the original settings are untouched


async def test_load_stored_secrets_registers_each_loaded_value(db: Database, tmp_path: Path) -> None:
    """Every value read from the store is handed to the redactor before start-up goes on."""
    await fill_store(db)
    registered: list[str] = []
    resolved = await load_stored_secrets(settings_with(tmp_path), db, KEY, registered.append)
    assert sorted(registered) == sorted([STORED_KEY_ID, STORED_SECRET])
    assert resolved.broker.secret_key is not None
    assert resolved.broker.secret_key.get_secret_value() == STORED_SECRET


async def test_without_a_master_key_the_store_is_left_closed(db: Database, tmp_path: Path) -> None:
    """No TRADECORD_MASTER_KEY: settings come back unchanged and no key material is created."""
    settings = settings_with(tmp_path)
    assert await load_stored_secrets(settings, db, None, pytest.fail) is settings
    assert await load_stored_secrets(settings, db, "  ", pytest.fail) is settings
    assert await db.fetchone("SELECT * FROM secret_kdf") is None


async def test_wrong_master_key_at_start_up_is_a_config_error(db: Database, tmp_path: Path) -> None:
    """A store the given key cannot open stops start-up with a config error naming TRADECORD_MASTER_KEY."""
    await fill_store(db)
    other = base64.b64encode(b"o" * 32).decode()
    with pytest.raises(ConfigError) as caught:
        await load_stored_secrets(settings_with(tmp_path), db, other, pytest.fail)
    (problem,) = caught.value.problems
    assert problem.startswith("TRADECORD_MASTER_KEY: ") and "wrong master key" in problem
    assert STORED_KEY_ID not in problem


def test_config_loading_accepts_the_master_key_variables(tmp_path: Path) -> None:
    """TRADECORD_MASTER_KEY and TRADECORD_NEW_MASTER_KEY are not settings, and not unknown-key errors either."""
    (tmp_path / "config.toml").write_text("[risk]\nkill_switch = true\n")
    environ = {"TRADECORD_MASTER_KEY": KEY, "TRADECORD_NEW_MASTER_KEY": "a new passphrase"}
    settings = load_settings(tmp_path / "config.toml", environ=environ)
    assert settings.risk.kill_switch
    assert KEY not in json.dumps(redacted_dict(settings))
    with pytest.raises(ConfigError, match="unknown section"):
        load_settings(tmp_path / "config.toml", environ={"TRADECORD_MASTERKEY": KEY})


async def test_open_runtime_reads_the_store_and_the_redactor_learns_the_values(tmp_path: Path) -> None:
    """open_runtime with a master key starts with the stored credentials, which the log redactor then hides."""
    settings = settings_with(tmp_path)
    async with Database(settings.storage.path) as db:
        await fill_store(db)
    stream = io.StringIO()
    redactor = SecretRedactor()
    configure_logging("DEBUG", json=True, stream=stream, redactor=redactor)
    async with open_runtime(settings, master_key=KEY, register_secret=redactor.add_secret) as runtime:
        assert runtime.settings.broker.key_id is not None
        assert runtime.settings.broker.key_id.get_secret_value() == STORED_KEY_ID
        get_logger("test").error("broker.refused", detail=f"key {STORED_KEY_ID} / {STORED_SECRET} refused")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert any(line["event"] == "secrets.loaded" for line in lines)
    (refused,) = [line for line in lines if line["event"] == "broker.refused"]
    assert refused["detail"] == f"key {REDACTED} / {REDACTED} refused"
    assert STORED_KEY_ID not in stream.getvalue() and STORED_SECRET not in stream.getvalue()

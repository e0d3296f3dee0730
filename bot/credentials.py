"""Broker credentials at start-up: from the config file or environment, else from the encrypted secret store.

The store's names for them are `broker.key_id` and `broker.secret_key` (`python -m bot secrets set
broker.key_id`). Values read from the store become `SecretStr` like configured ones, so display stays
redacted, and each is handed to the log redactor before anything can log it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import structlog
from pydantic import SecretStr

from bot.config_loading import MASTER_KEY_ENV_VAR
from bot.errors import ConfigError, SecretStoreError
from bot.secret_store import SecretStore
from bot.settings import Settings
from storage.database import Database

log = structlog.get_logger(__name__)

# broker.<field> -> the secret store's name for it
STORED_BROKER_SECRETS: Mapping[str, str] = {"key_id": "broker.key_id", "secret_key": "broker.secret_key"}


def _unset_broker_fields(settings: Settings) -> list[str]:
    return [field for field in STORED_BROKER_SECRETS if getattr(settings.broker, field) is None]


async def resolve_broker_credentials(settings: Settings, store: SecretStore) -> Settings:
    """`settings` with broker.key_id / broker.secret_key read from `store` where config and env left them unset."""
    update: dict[str, SecretStr] = {}
    for field in _unset_broker_fields(settings):
        value = await store.get(STORED_BROKER_SECRETS[field])
        if value is not None:
            update[field] = SecretStr(value)
    if not update:
        return settings
    return settings.model_copy(update={"broker": settings.broker.model_copy(update=update)})


async def load_stored_secrets(
    settings: Settings, db: Database, master_key: str | None, register_secret: Callable[[str], None]
) -> Settings:
    """What start-up calls: the settings with stored credentials filled in, each registered for redaction.

    Without a master key, or with every credential already configured, the store is not opened. A store that
    cannot be read with the key given is a configuration error: the bot does not start half-credentialed.
    """
    if master_key is None or not master_key.strip() or not _unset_broker_fields(settings):
        return settings
    try:
        store = await SecretStore.open(db, master_key)
        resolved = await resolve_broker_credentials(settings, store)
    except SecretStoreError as exc:
        raise ConfigError([f"{MASTER_KEY_ENV_VAR}: {exc}"]) from None
    loaded = [field for field in _unset_broker_fields(settings) if getattr(resolved.broker, field) is not None]
    for field in loaded:
        register_secret(getattr(resolved.broker, field).get_secret_value())
    log.info("secrets.loaded", names=[STORED_BROKER_SECRETS[field] for field in loaded], sealed_under=store.key_id)
    return resolved

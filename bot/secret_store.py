"""The encrypted secret store: broker credentials sealed with AES-256-GCM under a master key.

Each value gets a fresh random 96-bit nonce and the secret's name as associated data, so any altered byte,
or a row copied to another name, fails authentication. The master key (`TRADECORD_MASTER_KEY`) is a base64
32-byte key, or else a passphrase stretched with scrypt under a random salt kept in the database. Every row
records the id of the key it is sealed under (a short hash of the key), which lets a wrong master key be
named as such and lets rotation prove that no row is left on the old key.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from bot.config_loading import MASTER_KEY_ENV_VAR, NEW_MASTER_KEY_ENV_VAR
from bot.errors import SecretStoreError
from storage.database import Database
from storage.secrets import EncryptedSecret, KdfParameters, SecretEntry, SecretRepository

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # the 96-bit nonce GCM is designed for
SALT_BYTES = 16
KEY_ID_CHARS = 16
MIN_PASSPHRASE_CHARS = 12
MAX_VALUE_BYTES = 65536
# OWASP Password Storage Cheat Sheet, scrypt section
# (https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html#scrypt): "a minimum CPU/memory
# cost parameter of (2^17), a minimum block size of 8 (1024 bytes), and a parallelization parameter of 1".
# That is 128 MiB and about a third of a second per derivation, paid once per process start or CLI call.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
_KEY_ID_CONTEXT = b"tradecord secret store key id\x00"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def fresh_kdf_parameters() -> KdfParameters:
    """A new random salt with the current scrypt cost (stored per database; changed by every rotation)."""
    return KdfParameters(salt=os.urandom(SALT_BYTES), n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)


def _base64_key(text: str) -> bytes | None:
    """The 32 bytes `text` encodes in standard or URL-safe base64, or None if it is anything else."""
    for altchars in (None, b"-_"):
        try:
            raw = base64.b64decode(text, altchars=altchars, validate=True)
        except (binascii.Error, ValueError):
            continue
        if len(raw) == KEY_BYTES:
            return raw
    return None


@dataclass(frozen=True, slots=True)
class MasterKey:
    """The AES-256 key and its public id. The repr shows only the id."""

    key: bytes = field(repr=False)
    key_id: str

    @classmethod
    def from_env(cls, value: str, kdf: KdfParameters, *, variable: str = MASTER_KEY_ENV_VAR) -> MasterKey:
        """The key `value` names: base64 of 32 bytes as is, anything else as a passphrase through scrypt.

        Blocks for scrypt's third of a second on a passphrase: call it through `asyncio.to_thread` in a loop.
        """
        text = value.strip()
        if not text:
            raise SecretStoreError(f"{variable} is not set")
        key = _base64_key(text)
        if key is None:
            if len(text) < MIN_PASSPHRASE_CHARS:
                raise SecretStoreError(
                    f"{variable}: a passphrase needs at least {MIN_PASSPHRASE_CHARS} characters "
                    "(or give a base64-encoded 32-byte key)"
                )
            key = Scrypt(salt=kdf.salt, length=KEY_BYTES, n=kdf.n, r=kdf.r, p=kdf.p).derive(text.encode("utf-8"))
        return cls(key, hashlib.sha256(_KEY_ID_CONTEXT + key).hexdigest()[:KEY_ID_CHARS])


def seal(key: MasterKey, name: str, value: str, now: datetime) -> EncryptedSecret:
    """`value` encrypted under `key` with a fresh nonce, bound to `name`."""
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(key.key).encrypt(nonce, value.encode("utf-8"), name.encode("utf-8"))
    return EncryptedSecret(name, key.key_id, nonce, ciphertext, now)


def unseal(key: MasterKey, secret: EncryptedSecret) -> str:
    """The clear value of `secret`; SecretStoreError naming it (never its value) if it cannot be trusted."""
    if secret.key_id != key.key_id:
        raise SecretStoreError(
            f"secret {secret.name!r} is sealed under key id {secret.key_id}, but the master key given has key id "
            f"{key.key_id}: wrong master key?"
        )
    try:
        plain = AESGCM(key.key).decrypt(secret.nonce, secret.ciphertext, secret.name.encode("utf-8"))
        return plain.decode("utf-8")
    except (InvalidTag, ValueError):  # ValueError: a nonce of an impossible length; UnicodeDecodeError too
        raise SecretStoreError(
            f"secret {secret.name!r} failed authentication: its ciphertext, nonce or name was altered, "
            "or it was sealed under another key"
        ) from None


def check_name(name: str) -> str:
    """A secret name: letters, digits, `.`, `_`, `-`, starting with a letter or digit (e.g. broker.key_id)."""
    if not _NAME.fullmatch(name):
        raise SecretStoreError(
            f"invalid secret name {name!r}: use letters, digits, '.', '_' and '-' (at most 128), e.g. broker.key_id"
        )
    return name


class SecretStore:
    """Set, get, list, delete and re-key secrets in the database, under one master key."""

    def __init__(
        self, repository: SecretRepository, key: MasterKey, kdf: KdfParameters, *, clock: Clock = _utc_now
    ) -> None:
        self._repository = repository
        self._key = key
        self._kdf = kdf
        self._clock = clock

    @classmethod
    async def open(cls, db: Database, master_key: str, *, clock: Clock = _utc_now) -> SecretStore:
        """The store of `db` under `master_key` (the value of TRADECORD_MASTER_KEY)."""
        repository = SecretRepository(db)
        kdf = await repository.kdf_parameters(fresh_kdf_parameters())
        key = await asyncio.to_thread(MasterKey.from_env, master_key, kdf)
        return cls(repository, key, kdf, clock=clock)

    @property
    def key_id(self) -> str:
        return self._key.key_id

    async def set(self, name: str, value: str) -> None:
        """Store `value` as `name`, replacing any previous value."""
        check_name(name)
        if not value:
            raise SecretStoreError(f"secret {name!r}: the value is empty")
        if len(value.encode("utf-8")) > MAX_VALUE_BYTES:
            raise SecretStoreError(f"secret {name!r}: the value is longer than {MAX_VALUE_BYTES} bytes")
        if others := sorted((await self._repository.key_ids()) - {self.key_id}):
            # Sealing under a second key would split the store; it almost always means a mistyped master key.
            raise SecretStoreError(
                f"the stored secrets are under key id {', '.join(others)}, but the master key given has key id "
                f"{self.key_id}: wrong master key? (secrets rotate-key moves them to a new key)"
            )
        await self._repository.put(seal(self._key, name, value, self._clock()))

    async def get(self, name: str) -> str | None:
        """The clear value of `name`, or None if there is no such secret."""
        secret = await self._repository.get(check_name(name))
        return None if secret is None else unseal(self._key, secret)

    async def entries(self) -> list[SecretEntry]:
        """Names, key ids and update times; never values."""
        return await self._repository.entries()

    async def delete(self, name: str) -> bool:
        """Remove `name`; False if there was no such secret."""
        return await self._repository.delete(check_name(name))

    async def rotate(self, new_master_key: str, *, variable: str = NEW_MASTER_KEY_ENV_VAR) -> int:
        """Re-seal every secret under `new_master_key` in one transaction; the number of secrets re-sealed.

        A passphrase gets a fresh salt. Nothing changes if any secret fails to open under the current key.
        """
        kdf = fresh_kdf_parameters()
        new_key = await asyncio.to_thread(MasterKey.from_env, new_master_key, kdf, variable=variable)
        if new_key.key_id == self.key_id:
            raise SecretStoreError(f"{variable} is the current master key; give a new one")
        now = self._clock()
        count = await self._repository.rewrite_all(
            lambda secret: seal(new_key, secret.name, unseal(self._key, secret), now),
            expected=self._kdf,
            replacement=kdf,
            key_id=new_key.key_id,
        )
        self._key, self._kdf = new_key, kdf
        return count

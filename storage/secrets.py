"""SQL for the encrypted secret store: the `secrets` rows and the database's key-derivation parameters.

Only ciphertext, nonces and key ids are stored here; encryption and decryption live in `bot.secret_store`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.errors import SecretStoreError
from storage.codec import time_from_db, time_to_db
from storage.database import Database


@dataclass(frozen=True, slots=True)
class EncryptedSecret:
    """One stored secret: AES-GCM ciphertext (tag included) under the master key `key_id`."""

    name: str
    key_id: str
    nonce: bytes
    ciphertext: bytes
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class SecretEntry:
    """What `secrets list` shows: never the value."""

    name: str
    key_id: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class KdfParameters:
    """The per-database scrypt salt and cost that turn a passphrase into the master key."""

    salt: bytes
    n: int
    r: int
    p: int


def _secret(row: sqlite3.Row) -> EncryptedSecret:
    return EncryptedSecret(
        name=row["name"],
        key_id=row["key_id"],
        nonce=bytes(row["nonce"]),
        ciphertext=bytes(row["ciphertext"]),
        updated_at=time_from_db(row["updated_at"]),
    )


def _kdf(row: sqlite3.Row) -> KdfParameters:
    return KdfParameters(salt=bytes(row["salt"]), n=row["scrypt_n"], r=row["scrypt_r"], p=row["scrypt_p"])


_SELECT_SECRET = "SELECT name, key_id, nonce, ciphertext, updated_at FROM secrets"
_SELECT_KDF = "SELECT salt, scrypt_n, scrypt_r, scrypt_p FROM secret_kdf WHERE id = 1"


class SecretRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def kdf_parameters(self, fresh: KdfParameters) -> KdfParameters:
        """The database's KDF parameters, storing `fresh` first if it has none (the first writer wins)."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO secret_kdf (id, salt, scrypt_n, scrypt_r, scrypt_p) VALUES (1, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO NOTHING",
                (fresh.salt, fresh.n, fresh.r, fresh.p),
            )
            async with conn.execute(_SELECT_KDF) as cursor:
                row = await cursor.fetchone()
        assert row is not None  # inserted just above if it was missing
        return _kdf(row)

    async def get(self, name: str) -> EncryptedSecret | None:
        row = await self._db.fetchone(f"{_SELECT_SECRET} WHERE name = ?", (name,))
        return None if row is None else _secret(row)

    async def put(self, secret: EncryptedSecret) -> None:
        await self._db.execute(
            "INSERT INTO secrets (name, key_id, nonce, ciphertext, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET key_id = excluded.key_id, nonce = excluded.nonce, "
            "ciphertext = excluded.ciphertext, updated_at = excluded.updated_at",
            (secret.name, secret.key_id, secret.nonce, secret.ciphertext, time_to_db(secret.updated_at)),
        )

    async def delete(self, name: str) -> bool:
        return await self._db.execute("DELETE FROM secrets WHERE name = ?", (name,)) > 0

    async def entries(self) -> list[SecretEntry]:
        rows = await self._db.fetchall("SELECT name, key_id, updated_at FROM secrets ORDER BY name")
        return [SecretEntry(row["name"], row["key_id"], time_from_db(row["updated_at"])) for row in rows]

    async def key_ids(self) -> set[str]:
        rows = await self._db.fetchall("SELECT DISTINCT key_id FROM secrets")
        return {str(row[0]) for row in rows}

    async def rewrite_all(
        self,
        rewrite: Callable[[EncryptedSecret], EncryptedSecret],
        *,
        expected: KdfParameters,
        replacement: KdfParameters,
        key_id: str,
    ) -> int:
        """Replace every row by `rewrite(row)` and the KDF parameters, in one transaction; the row count.

        Nothing changes if `rewrite` raises, if the KDF parameters are no longer `expected` (another rotation
        got there first), or if any row would be left on a key id other than `key_id`.
        """
        async with self._db.transaction() as conn:
            async with conn.execute(_SELECT_KDF) as cursor:
                current = await cursor.fetchone()
            if current is None or _kdf(current) != expected:
                raise SecretStoreError("the store's key parameters changed during the rotation; run it again")
            async with conn.execute(f"{_SELECT_SECRET} ORDER BY name") as cursor:
                rows = [_secret(row) for row in await cursor.fetchall()]
            for secret in map(rewrite, rows):
                await conn.execute(
                    "UPDATE secrets SET key_id = ?, nonce = ?, ciphertext = ?, updated_at = ? WHERE name = ?",
                    (secret.key_id, secret.nonce, secret.ciphertext, time_to_db(secret.updated_at), secret.name),
                )
            await conn.execute(
                "UPDATE secret_kdf SET salt = ?, scrypt_n = ?, scrypt_r = ?, scrypt_p = ? WHERE id = 1",
                (replacement.salt, replacement.n, replacement.r, replacement.p),
            )
            async with conn.execute("SELECT name FROM secrets WHERE key_id != ? ORDER BY name", (key_id,)) as cursor:
                left = [str(row[0]) for row in await cursor.fetchall()]
            if left:
                raise SecretStoreError(f"rotation would leave {', '.join(left)} on an old key; nothing was changed")
        return len(rows)

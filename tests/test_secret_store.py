"""The encrypted secret store: AES-GCM sealing, tamper detection, master keys, rotation, nothing in clear on disk."""

from __future__ import annotations

import asyncio
import base64
import os
from pathlib import Path

import pytest

from bot.errors import SecretStoreError
from bot.secret_store import MasterKey, SecretStore, fresh_kdf_parameters
from storage.database import Database
from storage.secrets import SecretRepository

KEY = base64.b64encode(bytes(range(32))).decode()
OTHER_KEY = base64.b64encode(bytes(range(32, 64))).decode()
PASSPHRASE = "correct horse battery staple"
VALUE = "PKCANARY0123456789"


def database_bytes(path: Path) -> bytes:
    """The main database file and its WAL, whichever exist, as one blob."""
    files = (path, Path(f"{path}-wal"))
    return b"".join(file.read_bytes() for file in files if file.exists())


async def stored_row(db: Database, name: str) -> tuple[str, bytes, bytes]:
    row = await db.fetchone("SELECT key_id, nonce, ciphertext FROM secrets WHERE name = ?", (name,))
    assert row is not None
    return row["key_id"], bytes(row["nonce"]), bytes(row["ciphertext"])


async def test_round_trip_overwrite_and_missing(db: Database) -> None:
    """A value set comes back equal, a second set replaces it, and an unknown name reads as None."""
    store = await SecretStore.open(db, KEY)
    await store.set("broker.key_id", VALUE)
    assert await store.get("broker.key_id") == VALUE
    await store.set("broker.key_id", "replaced ✓ value")
    assert await store.get("broker.key_id") == "replaced ✓ value"
    assert await store.get("broker.secret_key") is None
    assert [(e.name, e.key_id) for e in await store.entries()] == [("broker.key_id", store.key_id)]


async def test_each_encryption_uses_a_fresh_nonce(db: Database) -> None:
    """The same value sealed twice gives a different 96-bit nonce and different ciphertext."""
    store = await SecretStore.open(db, KEY)
    await store.set("broker.key_id", VALUE)
    first = await stored_row(db, "broker.key_id")
    await store.set("broker.key_id", VALUE)
    second = await stored_row(db, "broker.key_id")
    assert len(first[1]) == len(second[1]) == 12
    assert first[1] != second[1] and first[2] != second[2]
    assert VALUE.encode() not in first[2]


@pytest.mark.parametrize("column", ["ciphertext", "nonce"])
async def test_tampered_ciphertext_or_nonce_is_refused_by_name(db: Database, column: str) -> None:
    """One flipped bit in the ciphertext or the nonce raises SecretStoreError naming the secret, not InvalidTag."""
    store = await SecretStore.open(db, KEY)
    await store.set("broker.secret_key", VALUE)
    _, nonce, ciphertext = await stored_row(db, "broker.secret_key")
    original = ciphertext if column == "ciphertext" else nonce
    flipped = bytes([original[0] ^ 0x01]) + original[1:]
    await db.execute(f"UPDATE secrets SET {column} = ? WHERE name = 'broker.secret_key'", (flipped,))
    with pytest.raises(SecretStoreError, match=r"'broker.secret_key' failed authentication") as caught:
        await store.get("broker.secret_key")
    assert VALUE not in str(caught.value)
    assert caught.value.__suppress_context__  # no InvalidTag trace chained underneath


async def test_a_row_copied_to_another_name_is_refused(db: Database) -> None:
    """The name is associated data: a blob moved to another name does not decrypt there."""
    store = await SecretStore.open(db, KEY)
    await store.set("broker.secret_key", VALUE)
    await db.execute(
        "INSERT INTO secrets (name, key_id, nonce, ciphertext, updated_at) "
        "SELECT 'broker.key_id', key_id, nonce, ciphertext, updated_at FROM secrets WHERE name = 'broker.secret_key'"
    )
    with pytest.raises(SecretStoreError, match=r"'broker.key_id' failed authentication"):
        await store.get("broker.key_id")
    assert await store.get("broker.secret_key") == VALUE


async def test_wrong_master_key_is_named_even_with_a_forged_key_id(db: Database) -> None:
    """Another master key is refused by key id; with the key id column forged to match, by authentication."""
    await (await SecretStore.open(db, KEY)).set("broker.key_id", VALUE)
    wrong = await SecretStore.open(db, OTHER_KEY)
    with pytest.raises(SecretStoreError, match=r"'broker.key_id' is sealed under key id .*wrong master key"):
        await wrong.get("broker.key_id")
    await db.execute("UPDATE secrets SET key_id = ?", (wrong.key_id,))
    with pytest.raises(SecretStoreError, match=r"'broker.key_id' failed authentication"):
        await wrong.get("broker.key_id")


async def test_set_under_a_second_master_key_is_refused(db: Database) -> None:
    """Storing with a key other than the one the store is under (a typo, usually) changes nothing."""
    await (await SecretStore.open(db, KEY)).set("broker.key_id", VALUE)
    wrong = await SecretStore.open(db, OTHER_KEY)
    with pytest.raises(SecretStoreError, match="wrong master key"):
        await wrong.set("broker.secret_key", "other")
    assert [e.name for e in await wrong.entries()] == ["broker.key_id"]


async def test_passphrase_and_base64_keys(db: Database, tmp_path: Path) -> None:
    """A base64 32-byte key is used as is; a passphrase is stretched with the database's own salt."""
    kdf_a, kdf_b = fresh_kdf_parameters(), fresh_kdf_parameters()
    assert kdf_a.salt != kdf_b.salt and (kdf_a.n, kdf_a.r, kdf_a.p) == (2**17, 8, 1)
    raw = MasterKey.from_env(KEY, kdf_a)
    assert raw.key == bytes(range(32)) and raw.key_id == MasterKey.from_env(f" {KEY}\n", kdf_b).key_id
    url_safe = base64.urlsafe_b64encode(b"\xfb" * 32).decode()
    assert MasterKey.from_env(url_safe, kdf_a).key == b"\xfb" * 32
    assert "key=" not in repr(raw) and raw.key_id in repr(raw)
    with pytest.raises(SecretStoreError, match="at least 12 characters"):
        MasterKey.from_env("short", kdf_a)
    with pytest.raises(SecretStoreError, match="TRADECORD_MASTER_KEY is not set"):
        MasterKey.from_env("  ", kdf_a)

    store = await SecretStore.open(db, PASSPHRASE)
    await store.set("broker.key_id", VALUE)
    reopened = await SecretStore.open(db, PASSPHRASE)
    assert reopened.key_id == store.key_id and await reopened.get("broker.key_id") == VALUE
    async with Database(tmp_path / "other.db") as other_db:
        assert (await SecretStore.open(other_db, PASSPHRASE)).key_id != store.key_id  # another salt


async def test_rotation_reseals_every_row_and_retires_the_old_key(db: Database) -> None:
    """rotate() moves every row to the new key id in one go; the old key no longer opens anything."""
    store = await SecretStore.open(db, KEY)
    values = {"broker.key_id": VALUE, "broker.secret_key": "sk-2", "extra.token": "t-3"}
    for name, value in values.items():
        await store.set(name, value)
    old_id = store.key_id
    old_salt = (await SecretRepository(db).kdf_parameters(fresh_kdf_parameters())).salt
    assert await store.rotate(PASSPHRASE) == 3
    assert store.key_id != old_id
    rows = await db.fetchall("SELECT DISTINCT key_id FROM secrets")
    assert [row[0] for row in rows] == [store.key_id]
    assert (await SecretRepository(db).kdf_parameters(fresh_kdf_parameters())).salt != old_salt
    reopened = await SecretStore.open(db, PASSPHRASE)
    assert {name: await reopened.get(name) for name in values} == values
    old = await SecretStore.open(db, KEY)
    with pytest.raises(SecretStoreError, match="wrong master key"):
        await old.get("broker.key_id")


async def test_rotating_to_the_same_base64_key_is_refused(db: Database) -> None:
    """A rotation must leave no row on the old key id, so the same key cannot be the new one."""
    store = await SecretStore.open(db, KEY)
    await store.set("broker.key_id", VALUE)
    with pytest.raises(SecretStoreError, match="TRADECORD_NEW_MASTER_KEY is the current master key"):
        await store.rotate(KEY)


async def test_rotation_with_an_unreadable_row_changes_nothing(db: Database) -> None:
    """If one row fails to open, the transaction rolls back: every row and the salt stay as they were."""
    store = await SecretStore.open(db, KEY)
    await store.set("a.good", "one")
    await store.set("b.bad", "two")
    await db.execute("UPDATE secrets SET ciphertext = zeroblob(length(ciphertext)) WHERE name = 'b.bad'")
    before = await db.fetchall("SELECT * FROM secrets ORDER BY name")
    kdf_before = await db.fetchone("SELECT * FROM secret_kdf")
    with pytest.raises(SecretStoreError, match=r"'b.bad' failed authentication"):
        await store.rotate(OTHER_KEY)
    assert [tuple(r) for r in await db.fetchall("SELECT * FROM secrets ORDER BY name")] == [tuple(r) for r in before]
    after = await db.fetchone("SELECT * FROM secret_kdf")
    assert kdf_before is not None and after is not None and tuple(after) == tuple(kdf_before)
    assert await store.get("a.good") == "one"


@pytest.mark.parametrize("name", ["", "has space", ".hidden", "x" * 129, "name\n"])
async def test_invalid_names_are_refused(db: Database, name: str) -> None:
    """Secret names are short identifiers; anything else is a clear error, not a stored row."""
    store = await SecretStore.open(db, KEY)
    with pytest.raises(SecretStoreError, match="invalid secret name"):
        await store.set(name, VALUE)


async def test_empty_value_is_refused(db: Database) -> None:
    """An empty value is an error rather than a stored blank credential."""
    store = await SecretStore.open(db, KEY)
    with pytest.raises(SecretStoreError, match="the value is empty"):
        await store.set("broker.key_id", "")


async def test_database_files_never_hold_the_plaintext(tmp_path: Path) -> None:
    """Neither the database file nor its WAL contains a stored value, while open or after closing."""
    path = tmp_path / "secrets.db"
    canaries = [f"CANARY-{os.urandom(6).hex()}" for _ in range(3)]
    control = f"CONTROL-{os.urandom(6).hex()}"  # a plain column value, to show the byte search finds text
    async with Database(path) as db:
        await db.execute("INSERT INTO bot_state (key, value) VALUES ('test.control', ?)", (control,))
        store = await SecretStore.open(db, PASSPHRASE)
        for index, canary in enumerate(canaries):
            await store.set(f"canary.{index}", canary)
        await store.rotate(KEY)
        await store.set("canary.0", canaries[0] + "-again")
        open_bytes = await asyncio.to_thread(database_bytes, path)
        checkpoint = await db.fetchone("PRAGMA wal_checkpoint(TRUNCATE)")
        assert checkpoint is not None and checkpoint[0] == 0  # not busy: the WAL went into the main file
        checkpointed = await asyncio.to_thread(database_bytes, path)
    closed = await asyncio.to_thread(database_bytes, path)
    assert all(control.encode() in blob for blob in (open_bytes, checkpointed, closed))
    for canary in canaries:
        for blob in (open_bytes, checkpointed, closed):
            assert canary.encode() not in blob
            assert canary.encode("utf-16-le") not in blob

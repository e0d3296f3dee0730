"""`python -m bot secrets set NAME | list | delete NAME | rotate-key`: the encrypted secret store by hand.

Values come from standard input (typed without echo on a terminal), never from the command line, where they
would land in shell history and process listings. Errors print one line and exit 2.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from bot.config_loading import MASTER_KEY_ENV_VAR, NEW_MASTER_KEY_ENV_VAR
from bot.errors import SecretStoreError
from bot.secret_store import SecretStore, check_name
from storage.database import Database
from storage.secrets import SecretEntry, SecretRepository

EXIT_OK, EXIT_ERROR = 0, 2


def add_secrets_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `secrets` command and its subcommands, each taking `--config` like the other commands."""
    config = argparse.ArgumentParser(add_help=False)
    config.add_argument("--config", type=Path, help="TOML config file naming storage.path")
    secrets = commands.add_parser("secrets", help="manage broker credentials in the encrypted store")
    actions = secrets.add_subparsers(dest="secrets_command", required=True, metavar="{set,list,delete,rotate-key}")
    store = actions.add_parser(
        "set", parents=[config], help=f"store a secret read from standard input (needs {MASTER_KEY_ENV_VAR})"
    )
    store.add_argument("name", help="e.g. broker.key_id or broker.secret_key")
    listing = actions.add_parser("list", parents=[config], help="names, key ids and update times (never values)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    delete = actions.add_parser("delete", parents=[config], help="remove a secret")
    delete.add_argument("name")
    actions.add_parser(
        "rotate-key",
        parents=[config],
        help=f"re-encrypt every secret from {MASTER_KEY_ENV_VAR} to {NEW_MASTER_KEY_ENV_VAR}",
    )


def secrets_command(
    args: argparse.Namespace, db_path: Path, environ: Mapping[str, str], stdin: TextIO, out: TextIO, err: TextIO
) -> int:
    """Run one `secrets` subcommand against the database at `db_path`; the exit code."""
    try:
        if args.secrets_command == "list":
            return _list(db_path, as_json=args.json, out=out, err=err)
        if args.secrets_command == "delete":
            name = check_name(args.name)
            if not db_path.exists() or not asyncio.run(_delete(db_path, name)):
                raise SecretStoreError(f"no secret named {args.name!r}")
            out.write(f"deleted {args.name}\n")
            return EXIT_OK
        if args.secrets_command == "set":
            name = check_name(args.name)
            master_key = _required(environ, MASTER_KEY_ENV_VAR)
            key_id = asyncio.run(_set(db_path, master_key, name, _read_value(name, stdin)))
            out.write(f"stored {name} under key id {key_id}\n")
            return EXIT_OK
        master_key = _required(environ, MASTER_KEY_ENV_VAR)
        new_key = _required(environ, NEW_MASTER_KEY_ENV_VAR)
        count, old_id, new_id = asyncio.run(_rotate(db_path, master_key, new_key))
        out.write(
            f"re-encrypted {count} secret(s) from key id {old_id} to {new_id}; "
            f"now set {MASTER_KEY_ENV_VAR} to the new key and unset {NEW_MASTER_KEY_ENV_VAR}\n"
        )
        return EXIT_OK
    except SecretStoreError as exc:
        print(f"secrets: {exc}", file=err)
        return EXIT_ERROR


def _required(environ: Mapping[str, str], variable: str) -> str:
    value = environ.get(variable, "")
    if not value.strip():
        raise SecretStoreError(
            f"{variable} is not set (a base64 32-byte key or a passphrase; see the README's Secrets section)"
        )
    return value


def _read_value(name: str, stdin: TextIO) -> str:
    """The value from stdin without one trailing newline; typed without echo when stdin is a terminal."""
    if stdin.isatty():
        value = getpass.getpass(f"value for {name} (not echoed): ")
    else:
        value = stdin.read()
        value = value.removesuffix("\n").removesuffix("\r") if value.endswith("\n") else value
    if not value:
        raise SecretStoreError(f"secret {name!r}: no value on standard input")
    return value


async def _set(db_path: Path, master_key: str, name: str, value: str) -> str:
    async with Database(db_path) as db:
        store = await SecretStore.open(db, master_key)
        await store.set(name, value)
        return store.key_id


async def _delete(db_path: Path, name: str) -> bool:
    async with Database(db_path) as db:
        return await SecretRepository(db).delete(name)


async def _rotate(db_path: Path, master_key: str, new_master_key: str) -> tuple[int, str, str]:
    async with Database(db_path) as db:
        store = await SecretStore.open(db, master_key)
        old_id = store.key_id
        count = await store.rotate(new_master_key)
        return count, old_id, store.key_id


async def _entries(db_path: Path) -> list[SecretEntry]:
    async with Database(db_path) as db:
        return await SecretRepository(db).entries()


def _list(db_path: Path, *, as_json: bool, out: TextIO, err: TextIO) -> int:
    # Listing needs no key and must not create a database where there is none.
    entries = asyncio.run(_entries(db_path)) if db_path.exists() else []
    if as_json:
        rows = [{"name": e.name, "key_id": e.key_id, "updated_at": e.updated_at.isoformat()} for e in entries]
        out.write(json.dumps(rows, indent=2) + "\n")
    elif not entries:
        print(f"no secrets stored in {db_path}", file=err)
    else:
        width = max(len("NAME"), *(len(e.name) for e in entries))
        out.write(f"{'NAME':<{width}}  KEY ID            UPDATED (UTC)\n")
        for e in entries:
            out.write(f"{e.name:<{width}}  {e.key_id:<16}  {e.updated_at.isoformat(timespec='seconds')}\n")
    return EXIT_OK

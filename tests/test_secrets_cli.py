"""`python -m bot secrets ...` as a user runs it: values from stdin, listing without values, rotation, errors."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from bot.secret_store import SecretStore
from storage.database import Database
from tests.test_cli import run_cli

pytestmark = pytest.mark.slow

KEY = base64.b64encode(b"m" * 32).decode()
NEW_PASSPHRASE = "a fresh master passphrase"
VALUE = "PK-cli-canary-value-314159"


def configured(tmp_path: Path) -> Path:
    (tmp_path / "config.toml").write_text('[storage]\npath = "state/bot.db"\n')
    return tmp_path / "state" / "bot.db"


async def read_secret(db_path: Path, master_key: str, name: str) -> str | None:
    async with Database(db_path) as db:
        return await (await SecretStore.open(db, master_key)).get(name)


async def test_set_reads_stdin_and_list_shows_no_values(tmp_path: Path) -> None:
    """`set` stores stdin minus one trailing newline in storage.path; `list` names it with its key id only."""
    db_path = configured(tmp_path)
    env = {"TRADECORD_MASTER_KEY": KEY}
    result = run_cli("secrets", "set", "broker.key_id", cwd=tmp_path, env=env, stdin=VALUE + "\n")
    assert result.returncode == 0, result.stderr
    key_id = result.stdout.split()[-1]
    result = run_cli("secrets", "set", "broker.secret_key", cwd=tmp_path, env=env, stdin="two\nlines\r\n")
    assert result.returncode == 0, result.stderr
    assert await read_secret(db_path, KEY, "broker.key_id") == VALUE
    assert await read_secret(db_path, KEY, "broker.secret_key") == "two\nlines"

    listing = run_cli("secrets", "list", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].split() == ["NAME", "KEY", "ID", "UPDATED", "(UTC)"]
    assert [line.split()[:2] for line in lines[1:]] == [["broker.key_id", key_id], ["broker.secret_key", key_id]]
    as_json = run_cli("secrets", "list", "--json", cwd=tmp_path)
    assert [(row["name"], row["key_id"]) for row in json.loads(as_json.stdout)] == [
        ("broker.key_id", key_id),
        ("broker.secret_key", key_id),
    ]
    for output in (result, listing, as_json):
        assert VALUE not in output.stdout + output.stderr


async def test_rotate_key_moves_every_secret_to_the_new_key(tmp_path: Path) -> None:
    """rotate-key re-encrypts every row under TRADECORD_NEW_MASTER_KEY; the old key then opens nothing."""
    db_path = configured(tmp_path)
    for name in ("broker.key_id", "broker.secret_key"):
        run_cli("secrets", "set", name, cwd=tmp_path, env={"TRADECORD_MASTER_KEY": KEY}, stdin=f"{name}-{VALUE}")
    old_id = json.loads(run_cli("secrets", "list", "--json", cwd=tmp_path).stdout)[0]["key_id"]
    rotate_env = {"TRADECORD_MASTER_KEY": KEY, "TRADECORD_NEW_MASTER_KEY": NEW_PASSPHRASE}
    result = run_cli("secrets", "rotate-key", cwd=tmp_path, env=rotate_env)
    assert result.returncode == 0, result.stderr
    assert "re-encrypted 2 secret(s)" in result.stdout and old_id in result.stdout
    rows = json.loads(run_cli("secrets", "list", "--json", cwd=tmp_path).stdout)
    assert len({row["key_id"] for row in rows}) == 1 and rows[0]["key_id"] != old_id
    assert await read_secret(db_path, NEW_PASSPHRASE, "broker.secret_key") == f"broker.secret_key-{VALUE}"
    again = run_cli("secrets", "rotate-key", cwd=tmp_path, env=rotate_env)
    assert again.returncode == 2 and "wrong master key" in again.stderr
    stale = run_cli("secrets", "set", "broker.key_id", cwd=tmp_path, env={"TRADECORD_MASTER_KEY": KEY}, stdin="x1")
    assert stale.returncode == 2 and "wrong master key" in stale.stderr


def test_error_paths_exit_two_with_one_line(tmp_path: Path) -> None:
    """A missing key, empty stdin, a bad name, a value on argv, an unknown secret: exit 2, one line, no trace."""
    configured(tmp_path)
    key = {"TRADECORD_MASTER_KEY": KEY}
    cases = [
        (("secrets", "set", "broker.key_id"), {}, VALUE, "TRADECORD_MASTER_KEY is not set"),
        (("secrets", "set", "broker.key_id"), key, "", "no value on standard input"),
        (("secrets", "set", "bad name!"), key, VALUE, "invalid secret name"),
        (("secrets", "set", "broker.key_id", VALUE), key, "", "unrecognized arguments"),
        (("secrets", "set", "broker.key_id"), {"TRADECORD_MASTER_KEY": "short"}, VALUE, "at least 12 characters"),
        (("secrets", "rotate-key"), key, None, "TRADECORD_NEW_MASTER_KEY is not set"),
        (("secrets", "delete", "broker.nothing"), {}, None, "no secret named 'broker.nothing'"),
    ]
    for args, env, stdin, expected in cases:
        result = run_cli(*args, cwd=tmp_path, env=env, stdin=stdin)
        assert result.returncode == 2, (args, result.stderr)
        assert expected in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
        if "unrecognized" not in expected:
            assert len(result.stderr.strip().splitlines()) == 1, result.stderr
            assert VALUE not in result.stderr + result.stdout
    listing = run_cli("secrets", "list", cwd=tmp_path)
    assert listing.returncode == 0 and "no secrets stored" in listing.stderr


def test_list_and_delete_on_a_missing_database_create_nothing(tmp_path: Path) -> None:
    """Reading commands do not leave an empty database behind where there was none."""
    db_path = configured(tmp_path)
    assert run_cli("secrets", "list", "--json", cwd=tmp_path).stdout.strip() == "[]"
    assert run_cli("secrets", "delete", "broker.key_id", cwd=tmp_path).returncode == 2
    assert not db_path.exists()


def test_delete_removes_a_secret(tmp_path: Path) -> None:
    """`delete NAME` removes one secret and leaves the others."""
    configured(tmp_path)
    for name in ("broker.key_id", "broker.secret_key"):
        run_cli("secrets", "set", name, cwd=tmp_path, env={"TRADECORD_MASTER_KEY": KEY}, stdin=VALUE)
    result = run_cli("secrets", "delete", "broker.key_id", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [row["name"] for row in json.loads(run_cli("secrets", "list", "--json", cwd=tmp_path).stdout)] == [
        "broker.secret_key"
    ]


def test_run_with_the_wrong_master_key_is_a_config_error(tmp_path: Path) -> None:
    """The bot refuses to start when the store cannot be opened with TRADECORD_MASTER_KEY, naming it."""
    configured(tmp_path)
    run_cli("secrets", "set", "broker.key_id", cwd=tmp_path, env={"TRADECORD_MASTER_KEY": KEY}, stdin=VALUE)
    env = {
        "TRADECORD_MASTER_KEY": "not the key that sealed it",
        "DISCORD_TOKEN": "unused-token",
        "TRADECORD_SERVER__ENABLED": "false",
    }
    result = run_cli("run", cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stderr
    assert "config error: TRADECORD_MASTER_KEY:" in result.stderr and "wrong master key" in result.stderr
    assert "Traceback" not in result.stderr
    assert VALUE not in result.stderr and "not the key that sealed it" not in result.stderr


def test_a_crash_is_logged_through_the_redactor_not_printed_raw(tmp_path: Path) -> None:
    """An unexpected failure at start-up ends as one redacted JSON log line with its traceback, exit 1."""
    (tmp_path / "db-is-a-directory").mkdir()
    (tmp_path / "config.toml").write_text(
        '[storage]\npath = "db-is-a-directory"\n[server]\nenabled = false\n[logging]\njson = true\n'
    )
    env = {"DISCORD_TOKEN": "crash-test-token-value", "TRADECORD_MASTER_KEY": KEY}
    result = run_cli("run", cwd=tmp_path, env=env)
    assert result.returncode == 1, result.stderr
    events = [json.loads(line) for line in result.stderr.splitlines()]
    (crash,) = [event for event in events if event["event"] == "tradecord.crashed"]
    assert "Traceback" in crash["exception"] and crash["level"] == "error"
    assert KEY not in result.stderr and "crash-test-token-value" not in result.stderr

"""The command line as a user runs it: exit codes and output of `parse` and `check-config`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith("TRADECORD_") and k not in ("DISCORD_TOKEN", "PORT")
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_parse_prints_the_schema_and_exits_zero(tmp_path: Path) -> None:
    """`parse` prints the normalized signal JSON and exits 0."""
    result = run_cli("parse", "--json", "BUY AAPL 100 @ 150.25 SL 145 TP 160/165", cwd=tmp_path)
    assert result.returncode == 0
    assert json.loads(result.stdout) == {
        "kind": "open",
        "side": "buy",
        "symbol": "AAPL",
        "asset_class": "equity",
        "entry": {"type": "limit", "price": "150.25"},
        "stop_loss": "145",
        "take_profits": ["160", "165"],
        "leverage": None,
        "quantity": "100",
    }


def test_parse_chatter_exits_one_with_not_a_signal(tmp_path: Path) -> None:
    """Chatter read from stdin prints the not_a_signal error object and exits 1."""
    result = run_cli("parse", "-", cwd=tmp_path, stdin="gm everyone, what a day 🚀")
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"] == "not_a_signal"


def test_check_config_redacts_secrets_and_applies_env(tmp_path: Path) -> None:
    """`check-config --json` shows env overrides and never the token's value."""
    (tmp_path / "config.toml").write_text('[risk]\nmax_order_notional = "1000"\n')
    env = {"DISCORD_TOKEN": "canary-token-value-123", "TRADECORD_BROKER__ALLOW_SHORT": "true"}
    result = run_cli("check-config", "--json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert config["risk"]["max_order_notional"] == "1000"
    assert config["broker"]["allow_short"] is True
    assert "canary-token-value-123" not in result.stdout
    assert config["discord"]["token"] == "**********"


def test_check_config_names_each_bad_key_and_exits_two(tmp_path: Path) -> None:
    """An invalid file prints one line per problem naming the key, exits 2, and shows no traceback."""
    (tmp_path / "config.toml").write_text("[risk]\nmax_order_notional = -5\nmax_oder = 1\n")
    result = run_cli("check-config", cwd=tmp_path)
    assert result.returncode == 2
    assert "risk.max_order_notional" in result.stderr and "risk.max_oder: unknown key" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_without_token_exits_two_naming_the_key(tmp_path: Path) -> None:
    """Starting the bot with no token is a configuration error naming discord.token, not a crash."""
    result = run_cli("run", cwd=tmp_path, env={"TRADECORD_SERVER__ENABLED": "false"})
    assert result.returncode == 2
    assert "discord.token" in result.stderr
    assert "Traceback" not in result.stderr

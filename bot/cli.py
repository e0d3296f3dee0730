"""The command line (DESIGN.md "Commands"): run, check-config, parse, secrets, demo."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bot.config_loading import MASTER_KEY_ENV_VAR, NEW_MASTER_KEY_ENV_VAR
from bot.demo.command import add_demo_parser, demo_command
from bot.errors import ConfigError, SignalParseError
from bot.secrets_cli import add_secrets_parser, secrets_command
from bot.settings import Settings, load_settings, redacted_dict, render_toml
from bot.signals.parser import parse_signal
from bot.signals.schema import signal_to_dict

EXIT_OK, EXIT_PARSE_ERROR, EXIT_CONFIG_ERROR = 0, 1, 2
EXIT_CRASHED = 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Tradecord: Discord trade signals to orders.")
    commands = parser.add_subparsers(dest="command")
    run = commands.add_parser("run", help="run the bot (the default)")
    run.add_argument("--config", type=Path, help="TOML config file (default: $TRADECORD_CONFIG or ./config.toml)")
    check = commands.add_parser("check-config", help="validate and print the redacted effective configuration")
    check.add_argument("--config", type=Path)
    check.add_argument("--json", action="store_true", help="print JSON instead of TOML")
    parse = commands.add_parser("parse", help="parse one message and print the normalized signal")
    parse.add_argument("--json", action="store_true", help="print compact JSON (the output is always JSON)")
    parse.add_argument("text", help="the message, or - to read it from standard input")
    add_secrets_parser(commands)
    add_demo_parser(commands)
    return parser


def _load(path: Path | None, err: TextIO) -> Settings | None:
    try:
        return load_settings(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"config error: {problem}", file=err)
        return None


def check_config(path: Path | None, as_json: bool, out: TextIO, err: TextIO) -> int:
    settings = _load(path, err)
    if settings is None:
        return EXIT_CONFIG_ERROR
    data = redacted_dict(settings)
    out.write(json.dumps(data, indent=2) + "\n" if as_json else render_toml(data))
    return EXIT_OK


def parse_command(text: str, compact: bool, out: TextIO) -> int:
    if text == "-":
        text = sys.stdin.read()
    indent = None if compact else 2
    try:
        signal = parse_signal(text, now=datetime.now(UTC))
    except SignalParseError as exc:
        out.write(json.dumps({"error": exc.code, "message": exc.message}, indent=indent, ensure_ascii=False) + "\n")
        return EXIT_PARSE_ERROR
    out.write(json.dumps(signal_to_dict(signal), indent=indent, ensure_ascii=False) + "\n")
    return EXIT_OK


def run_command(path: Path | None, err: TextIO) -> int:
    settings = _load(path, err)
    if settings is None:
        return EXIT_CONFIG_ERROR
    from bot import event_loop
    from bot.logs import SecretRedactor, configure_logging, get_logger
    from bot.runner import run
    from bot.settings import secret_values

    # The master keys are secrets without being settings; credentials from the store are added at start-up.
    redactor = SecretRedactor([*secret_values(settings), *_master_keys(os.environ)])
    configure_logging(settings.logging.level, json=settings.logging.json_output, redactor=redactor)
    master_key = os.environ.get(MASTER_KEY_ENV_VAR)
    try:
        return event_loop.run(run(settings, master_key=master_key, register_secret=redactor.add_secret))
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"config error: {problem}", file=err)
        return EXIT_CONFIG_ERROR
    except KeyboardInterrupt:
        return EXIT_OK
    except Exception:
        # Left to Python, the traceback would reach stderr unredacted; logged, it passes the redactor.
        get_logger(__name__).exception("tradecord.crashed")
        return EXIT_CRASHED


def _master_keys(environ: Mapping[str, str]) -> list[str]:
    values = (environ.get(MASTER_KEY_ENV_VAR, ""), environ.get(NEW_MASTER_KEY_ENV_VAR, ""))
    return [value.strip() for value in values if value.strip()]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "check-config":
        return check_config(args.config, args.json, sys.stdout, sys.stderr)
    if args.command == "parse":
        return parse_command(args.text, args.json, sys.stdout)
    if args.command == "secrets":
        settings = _load(args.config, sys.stderr)
        if settings is None:
            return EXIT_CONFIG_ERROR
        return secrets_command(args, settings.storage.path, os.environ, sys.stdin, sys.stdout, sys.stderr)
    if args.command == "demo":
        return demo_command(args, sys.stdout, sys.stderr)
    return run_command(getattr(args, "config", None), sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

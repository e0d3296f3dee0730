"""`python -m bot demo` on the command line: registered like the other commands, with checked options."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import build_parser, main


def test_demo_is_a_command_with_help_naming_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    """`demo --help` explains what the demo is and lists --seed, --speed, --db and --port."""
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "no Discord account" in text
    for option in ("--seed", "--speed", "--db", "--port"):
        assert option in text
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "demo" in capsys.readouterr().out


def test_options_are_parsed_with_their_defaults() -> None:
    """Seed 7, speed 1, a temporary database and port 8080 unless told otherwise."""
    defaults = build_parser().parse_args(["demo"])
    assert (defaults.seed, defaults.speed, defaults.db, defaults.port) == (7, 1.0, None, 8080)
    given = build_parser().parse_args(["demo", "--seed", "42", "--speed", "2.5", "--db", "x.db", "--port", "0"])
    assert (given.seed, given.speed, given.db, given.port) == (42, 2.5, Path("x.db"), 0)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--speed", "0"], "must be more than 0"),
        (["--speed", "-1"], "must be more than 0"),
        (["--speed", "fast"], "not a number"),
        (["--speed", "5000"], "at most 1000"),
        (["--port", "70000"], "TCP port number"),
        (["--port", "http"], "TCP port number"),
        (["--seed", "x"], "invalid int value"),
    ],
)
def test_bad_options_exit_2_naming_the_problem(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """argparse's usage error (exit 2) with a reason a person can act on."""
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err

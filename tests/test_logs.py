"""Logging: one JSON-lines format for structlog and stdlib loggers, with secrets redacted everywhere."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from bot.logs import REDACTED, SecretRedactor, bound_log_context, configure_logging, get_logger, log_context

pytestmark = pytest.mark.usefixtures("restore_logging")

SECRET = "s3cr3t-broker-key"
TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA.GaBcDe.abcdefghijklmnopqrstuvwxyz1234"


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_with_the_bound_log_context() -> None:
    """Each event is one JSON object with timestamp, level, event, logger and the bound signal id."""
    stream = io.StringIO()
    configure_logging("INFO", json=True, stream=stream)
    with log_context(signal_id="sig-42"):
        get_logger("bot.executor").info("order.submitted", symbol="AAPL", quantity=3)
        logging.getLogger("discord.gateway").warning("gateway %s", "resumed")
        get_logger("bot.executor").debug("not shown at INFO")
    first, second = json_lines(stream)
    assert first["event"] == "order.submitted" and first["level"] == "info"
    assert first["logger"] == "bot.executor" and first["signal_id"] == "sig-42"
    assert first["symbol"] == "AAPL" and first["quantity"] == 3
    assert first["timestamp"].endswith("Z") and "T" in first["timestamp"]
    assert second["event"] == "gateway resumed" and second["logger"] == "discord.gateway"
    assert second["level"] == "warning" and second["signal_id"] == "sig-42"


async def test_a_log_context_nests_reaches_tasks_started_in_it_and_ends_with_its_block() -> None:
    stream = io.StringIO()
    configure_logging("INFO", json=True, stream=stream)
    log = get_logger("bot.intake")

    async def in_a_task() -> None:
        log.info("task")

    with log_context(message_id="m1", channel_id="c1"):
        with log_context(signal_id="s-1", channel_id="c2"):
            log.info("inner")
            started = asyncio.ensure_future(in_a_task())
        log.info("outer")
        await started
    log.info("after")
    assert bound_log_context() == {}
    lines = {line["event"]: line for line in json_lines(stream)}
    assert {k: lines["inner"].get(k) for k in ("message_id", "channel_id", "signal_id")} == {
        "message_id": "m1",
        "channel_id": "c2",
        "signal_id": "s-1",
    }
    assert lines["task"]["signal_id"] == "s-1" and lines["task"]["channel_id"] == "c2"
    assert lines["outer"]["channel_id"] == "c1" and "signal_id" not in lines["outer"]
    assert not {"message_id", "channel_id", "signal_id"} & lines["after"].keys()


def test_a_key_given_to_the_line_wins_over_the_bound_one() -> None:
    stream = io.StringIO()
    configure_logging("INFO", json=True, stream=stream)
    with log_context(symbol="AAPL"):
        get_logger("bot").info("order", symbol="TSLA")
    assert json_lines(stream)[0]["symbol"] == "TSLA"


def test_configure_logging_is_idempotent() -> None:
    """Configuring twice leaves one handler, so each event is written once."""
    first, second = io.StringIO(), io.StringIO()
    configure_logging(json=True, stream=first)
    configure_logging(json=True, stream=second)
    get_logger("bot").info("once")
    assert first.getvalue() == ""
    assert [line["event"] for line in json_lines(second)] == ["once"]


def test_console_renderer_when_not_json() -> None:
    """json=False renders console lines (not JSON), still redacted."""
    stream = io.StringIO()
    configure_logging(json=False, stream=stream, secrets=[SECRET])
    get_logger("bot").info("console.line", detail=f"key {SECRET}")
    output = stream.getvalue()
    assert "console.line" in output and not output.startswith("{")
    assert SECRET not in output and REDACTED in output


def test_redacts_secrets_tokens_bearer_and_named_keys() -> None:
    """Configured secrets, Discord-token shapes, bearer tokens and token-named keys are all replaced."""
    stream = io.StringIO()
    configure_logging(json=True, stream=stream, secrets=[SECRET])
    get_logger("bot.web").info(
        "request",
        note=f"using {SECRET} and {TOKEN}",
        header="Authorization: Bearer xyz",
        metrics_token="abc",
        nested={"headers": {"X-Tradecord-Secret": "hunter22", "Accept": "json"}, "items": [{"apiKey": "k"}]},
        tokens=5,
    )
    (line,) = json_lines(stream)
    assert line["note"] == f"using {REDACTED} and {REDACTED}"
    assert line["header"] == f"Authorization: Bearer {REDACTED}"
    assert line["metrics_token"] == REDACTED
    assert line["nested"] == {
        "headers": {"X-Tradecord-Secret": REDACTED, "Accept": "json"},
        "items": [{"apiKey": REDACTED}],
    }
    assert line["tokens"] == 5  # a count of rate-limit tokens is not a credential


def test_redacts_exception_tracebacks() -> None:
    """A secret in an exception message is removed from the formatted traceback."""
    stream = io.StringIO()
    configure_logging(json=True, stream=stream, secrets=[SECRET])
    try:
        raise RuntimeError(f"auth failed for {SECRET} with {TOKEN}")
    except RuntimeError:
        get_logger("bot").exception("broker.failed")
    (line,) = json_lines(stream)
    assert "RuntimeError: auth failed for" in line["exception"]
    assert SECRET not in stream.getvalue() and TOKEN not in stream.getvalue()


def test_redacts_stdlib_discord_records() -> None:
    """Records from logging.getLogger("discord") go through the redactor, including their tracebacks."""
    stream = io.StringIO()
    configure_logging(json=True, stream=stream, secrets=[SECRET])
    discord_log = logging.getLogger("discord.http")
    discord_log.info("login with Bot %s", TOKEN)
    try:
        raise ValueError(f"bad header Bearer {SECRET}")
    except ValueError:
        discord_log.exception("request failed")
    first, second = json_lines(stream)
    assert first["event"] == f"login with Bot {REDACTED}"
    assert second["logger"] == "discord.http"
    assert SECRET not in stream.getvalue() and TOKEN not in stream.getvalue()


def test_secret_added_later_is_redacted() -> None:
    """add_secret on the installed redactor takes effect for the following lines."""
    stream = io.StringIO()
    redactor = SecretRedactor()
    configure_logging(json=True, stream=stream, redactor=redactor)
    redactor.add_secret("late-loaded-secret")
    get_logger("bot").info("store.loaded", detail="value late-loaded-secret")
    (line,) = json_lines(stream)
    assert line["detail"] == f"value {REDACTED}"


def test_redactor_leaves_ordinary_events_alone() -> None:
    """An event with nothing secret comes out equal, and very short secrets are ignored."""
    redactor = SecretRedactor(["ab"])
    event = {"event": "signal.processed", "outcome": "executed", "latency_ms": 1.5, "about": "tabs"}
    assert redactor(None, "info", dict(event)) == event


@pytest.mark.parametrize(
    "text",
    [
        f"id-{SECRET}-42",  # a secret inside a short value without whitespace
        "Bearer\txyz",  # a bearer credential after a tab, not a space
        "Bearer\u00a0xyz",  # after a no-break space
        f"token={TOKEN}",  # a token shape, without whitespace
    ],
)
def test_short_values_without_spaces_are_still_redacted(text: str) -> None:
    """The shortcut for ids and names (no space, shorter than a token) still finds what is in them."""
    redacted = SecretRedactor([SECRET]).redact(text)
    assert SECRET not in redacted and TOKEN not in redacted and "xyz" not in redacted
    assert REDACTED in redacted


def test_json_lines_escape_non_ascii_and_take_any_integer() -> None:
    """A line is ASCII whatever the stream's encoding, and an integer past 64 bits is written whole."""
    stream = io.StringIO()
    configure_logging(json=True, stream=stream)
    get_logger("bot").info("message.read", text="BUY ÄPFEL 📈", big=2**70, price=Decimal("1.50"))
    (raw,) = stream.getvalue().splitlines()
    assert raw.isascii()
    line = json.loads(raw)
    assert line["text"] == "BUY ÄPFEL 📈" and line["big"] == 2**70 and line["price"] == "1.50"


def test_timestamps_are_utc_iso_with_microseconds() -> None:
    """`timestamp` is the time of the line in UTC, to the microsecond, with a "Z"."""
    stream = io.StringIO()
    configure_logging(json=True, stream=stream)
    before = datetime.now(UTC)
    get_logger("bot").info("first")
    get_logger("bot").info("second")
    after = datetime.now(UTC)
    stamps = [line["timestamp"] for line in json_lines(stream)]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", stamp) for stamp in stamps)
    times = [datetime.fromisoformat(stamp) for stamp in stamps]
    assert before - timedelta(milliseconds=1) <= times[0] <= times[1] <= after + timedelta(milliseconds=1)


def test_uncaught_thread_exceptions_are_logged_redacted() -> None:
    """An exception no thread caught becomes a redacted log line instead of a raw traceback on stderr."""
    stream = io.StringIO()
    configure_logging(json=True, stream=stream, secrets=[SECRET])

    def fail() -> None:
        raise RuntimeError(f"worker saw {SECRET}")

    worker = threading.Thread(target=fail, name="worker-1")
    worker.start()
    worker.join()
    (line,) = json_lines(stream)
    assert line["event"] == "thread.crashed" and line["thread_name"] == "worker-1"
    assert "RuntimeError: worker saw" in line["exception"] and SECRET not in stream.getvalue()

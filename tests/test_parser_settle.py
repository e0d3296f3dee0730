"""The early verdict (`_settle`) is only a shortcut: where it answers, the full reading agrees with it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.errors import NotASignal, SignalParseError
from bot.signals._build import Context, build
from bot.signals._options import extract_option
from bot.signals._reader import read
from bot.signals._settle import settle
from bot.signals._text import fold_unicode, screen, strip_disclaimer, strip_links, strip_markdown
from bot.signals._tokens import tokenize

DATA = Path(__file__).parent / "data"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
TEXTS = [
    json.loads(line)["text"]
    for name in ("signals.jsonl", "chatter.jsonl", "invalid.jsonl")
    for line in (DATA / name).read_text(encoding="utf-8").splitlines()
    if line.strip()
]
# Word salads built from the corpus's own words reach the shortcut's rules in combinations the files lack.
WORDS = sorted({word for text in TEXTS for word in text.split() if not any(ch.isdigit() for ch in word)})
SALADS = [" ".join(WORDS[(i * 7 + k * 13) % len(WORDS)] for k in range(2 + i % 6)) for i in range(600)]


def verdicts(text: str) -> tuple[str | None, str]:
    """(the shortcut's reason or None, what the full reading says) for one message."""
    cleaned = strip_disclaimer(strip_links(fold_unicode(text)))
    screened = screen(cleaned.lower(), {})
    cleaned = strip_markdown(cleaned)
    option = None
    if screened.option_hint:
        option, cleaned = extract_option(cleaned, NOW)
    tokens = tokenize(cleaned, {})
    shortcut = settle(tokens, option, screened.result)
    try:
        build(read(tokens), Context(None, None, option, screened.result))
    except SignalParseError as exc:
        return shortcut, f"{exc.code}: {exc.message}"
    return shortcut, "signal"


@pytest.mark.parametrize("text", TEXTS + SALADS)
def test_shortcut_agrees_with_the_full_reading(text: str) -> None:
    """Whenever the shortcut calls a message chatter, reading and building it fully says the same."""
    try:
        shortcut, full = verdicts(text)
    except NotASignal:
        return  # rejected before the shortcut is reached (screen or option extraction)
    if shortcut is not None:
        assert full == f"not_a_signal: {shortcut}"

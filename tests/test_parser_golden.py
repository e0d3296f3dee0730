"""Golden files: signals of every style, near-miss chatter and inconsistent signals, expectations written by hand.

- `tests/data/signals.jsonl`: `{"text", "now", "expected", "options"?}` - the exact DESIGN.md JSON.
- `tests/data/chatter.jsonl`: `{"text", "error": "not_a_signal"}`.
- `tests/data/invalid.jsonl`: `{"text", "now", "error": "invalid_signal", "message"}` - a substring of the reason.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.domain import AssetClass
from bot.errors import InvalidSignal, NotASignal
from bot.signals.parser import DEFAULT_OPTIONS, ParseOptions, parse_signal
from bot.signals.schema import signal_to_dict

DATA = Path(__file__).parent / "data"
DEFAULT_NOW = "2026-11-21T12:00:00+00:00"
MIN_SIGNALS = 150
MIN_CHATTER = 150


def load(name: str) -> list[dict[str, Any]]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def options_of(case: dict[str, Any]) -> ParseOptions:
    raw = case.get("options")
    if not raw:
        return DEFAULT_OPTIONS
    default = raw.get("default_asset_class")
    return ParseOptions(
        default_asset_class=None if default is None else AssetClass(default),
        quote_currency=raw.get("quote_currency"),
        aliases=raw.get("aliases", {}),
    )


def now_of(case: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(case.get("now", DEFAULT_NOW))


def case_id(case: dict[str, Any]) -> str:
    text: str = case["text"]
    return text.replace("\n", " | ")[:60]


SIGNALS = load("signals.jsonl")
CHATTER = load("chatter.jsonl")
INVALID = load("invalid.jsonl")


@pytest.mark.parametrize("case", SIGNALS, ids=case_id)
def test_golden_signal(case: dict[str, Any]) -> None:
    """Each golden signal parses to exactly its hand-written DESIGN.md JSON."""
    signal = parse_signal(case["text"], now=now_of(case), options=options_of(case))
    assert signal_to_dict(signal) == case["expected"]


@pytest.mark.parametrize("case", CHATTER, ids=case_id)
def test_golden_chatter(case: dict[str, Any]) -> None:
    """Each near-miss chatter message is rejected as not_a_signal, never traded and never called invalid."""
    with pytest.raises(NotASignal) as caught:
        parse_signal(case["text"], now=now_of(case))
    assert caught.value.code == case["error"] == "not_a_signal"
    assert caught.value.message


@pytest.mark.parametrize("case", INVALID, ids=case_id)
def test_golden_invalid(case: dict[str, Any]) -> None:
    """Each inconsistent signal is invalid_signal with a message naming the problem."""
    with pytest.raises(InvalidSignal) as caught:
        parse_signal(case["text"], now=now_of(case), options=options_of(case))
    assert caught.value.code == case["error"] == "invalid_signal"
    assert case["message"] in caught.value.message


def test_golden_corpus_size() -> None:
    """The corpus keeps at least 150 signals, 150 chatter messages and a set of invalid signals."""
    assert len(SIGNALS) >= MIN_SIGNALS
    assert len(CHATTER) >= MIN_CHATTER
    assert len(INVALID) >= 30


def test_golden_corpus_covers_every_kind_and_asset_class() -> None:
    """Every signal kind and asset class appears among the golden signals."""
    kinds = {case["expected"]["kind"] for case in SIGNALS}
    classes = {case["expected"].get("asset_class") for case in SIGNALS} - {None}
    assert kinds == {"open", "close", "update", "cancel"}
    assert classes == {"equity", "crypto", "forex", "option"}

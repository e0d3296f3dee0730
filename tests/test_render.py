"""The canonical text of signals, and that it parses back to the same signal."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bot.domain import (
    BREAKEVEN,
    AssetClass,
    CancelSignal,
    CloseSignal,
    Entry,
    EntryType,
    OpenSignal,
    OptionContract,
    OptionRight,
    Side,
    Signal,
    UpdateSignal,
)
from bot.signals.parser import parse_signal
from bot.signals.render import render_signal

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)
GOLDEN = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "signals.jsonl").read_text(encoding="utf-8").splitlines()
    if line.strip()
]

EXAMPLES: list[tuple[Signal, str]] = [
    (
        OpenSignal(
            Side.BUY,
            "AAPL",
            AssetClass.EQUITY,
            Entry(EntryType.LIMIT, price=Decimal("150.25")),
            Decimal(145),
            (Decimal(160), Decimal(165)),
            quantity=Decimal(100),
        ),
        "BUY 100 $AAPL @ 150.25 SL 145 TP 160/165",
    ),
    (
        OpenSignal(
            Side.BUY,
            "BTC/USDT",
            AssetClass.CRYPTO,
            Entry(EntryType.RANGE, low=Decimal(60000), high=Decimal(60500)),
            Decimal(59000),
            (Decimal(61000),),
            leverage=Decimal(10),
        ),
        "BUY BTC/USDT @ 60000-60500 SL 59000 TP 61000 LEVERAGE 10x",
    ),
    (
        OpenSignal(Side.SELL, "EUR/USD", AssetClass.FOREX, Entry(EntryType.BREAKOUT, price=Decimal("1.0850"))),
        "SELL EUR/USD BELOW 1.0850",
    ),
    (OpenSignal(Side.SELL, "TSLA", AssetClass.EQUITY), "SELL $TSLA @ MARKET"),
    (
        OpenSignal(
            Side.BUY,
            "SPY",
            AssetClass.OPTION,
            Entry(EntryType.LIMIT, price=Decimal("1.25")),
            quantity=Decimal(5),
            option=OptionContract(OptionRight.CALL, Decimal(450), date(2026, 12, 20)),
        ),
        "BTO 5 $SPY 450C 2026-12-20 @ 1.25",
    ),
    (OpenSignal(Side.BUY, "BTC", AssetClass.EQUITY), "BUY $BTC stock @ MARKET"),
    (CloseSignal("AAPL", Decimal("0.5")), "CLOSE 50% $AAPL"),
    (CloseSignal(None), "CLOSE"),
    (CloseSignal("BTC"), "CLOSE $BTC stock"),
    (UpdateSignal("ETH/USDT", BREAKEVEN), "UPDATE ETH/USDT SL BE"),
    (UpdateSignal(None, Decimal(61000), (Decimal(65000), Decimal(66000))), "UPDATE SL 61000 TP 65000/66000"),
    (CancelSignal("XAU/USD"), "CANCEL XAU/USD"),
    (CancelSignal(None), "CANCEL"),
]


@pytest.mark.parametrize(("signal", "text"), EXAMPLES, ids=[text for _, text in EXAMPLES])
def test_canonical_text(signal: Signal, text: str) -> None:
    """Each signal renders to its one canonical line."""
    assert render_signal(signal) == text


@pytest.mark.parametrize(("signal", "text"), EXAMPLES, ids=[text for _, text in EXAMPLES])
def test_canonical_text_parses_back(signal: Signal, text: str) -> None:
    """The canonical line parses back to the signal it came from."""
    assert parse_signal(render_signal(signal), now=NOW) == signal


@pytest.mark.parametrize("case", [c for c in GOLDEN if "options" not in c], ids=lambda c: c["text"][:50])
def test_every_golden_signal_round_trips(case: dict[str, object]) -> None:
    """Rendering any golden signal and parsing the text again gives the same signal."""
    text = case["text"]
    assert isinstance(text, str)
    signal = parse_signal(text, now=NOW)
    assert parse_signal(render_signal(signal), now=NOW) == signal


def test_channel_specific_symbols_are_spelled_out() -> None:
    """A coin from a USDC channel renders with its quote, so the default grammar reads it the same."""
    signal = OpenSignal(Side.BUY, "WOOF/USDC", AssetClass.CRYPTO)
    assert render_signal(signal) == "BUY WOOF/USDC @ MARKET"
    assert parse_signal(render_signal(signal), now=NOW) == signal

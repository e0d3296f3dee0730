"""Properties of the parser: no input makes it raise anything but the two parse errors, and rendering a signal
then parsing it gives the same signal back."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
from bot.errors import NotASignal, SignalParseError
from bot.signals.parser import MAX_MESSAGE_CHARS, parse_signal
from bot.signals.render import render_signal

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GOLDEN_TEXTS = [
    json.loads(line)["text"]
    for line in (Path(__file__).parent / "data" / "signals.jsonl").read_text(encoding="utf-8").splitlines()
    if line.strip() and "options" not in json.loads(line)
]

# Fragments of real signals: random sequences of them reach deep into the grammar, unlike random letters.
FRAGMENTS = [
    "BUY",
    "SELL",
    "LONG",
    "SHORT",
    "BTO",
    "STO",
    "STC",
    "BTC",
    "CLOSE",
    "cancel",
    "move",
    "SL",
    "TP",
    "TP1",
    "to",
    "Entry:",
    "@",
    "above",
    "below",
    "limit",
    "stop",
    "now",
    "mkt",
    "BE",
    "half",
    "50%",
    "+5%",
    "1/2",
    "x10",
    "10x",
    "Leverage",
    "qty",
    "shares",
    "AAPL",
    "$TSLA",
    "#BTC/USDT",
    "ETHUSDT",
    "EURUSD",
    "GOLD",
    "SPY",
    "450C",
    "12/20",
    "1/17/25",
    "0DTE",
    "60000",
    "60,000",
    "1,5",
    "0.000123",
    "30K",
    "-",
    "–",
    "/",
    ":",
    "1)",
    "\n",
    "?",
    "**",
    "`",
    "> ",
    "🎯",
    "🛑",
    "🚀",
    "\u200b",
    "\u00a0",
    "１００",
    "hit",
    "might",
    "pips",
    "000",
    "1.2.3",
    "calls",
    "Target 1:",
]


def _parses_or_refuses(text: str) -> None:
    with contextlib.suppress(SignalParseError):
        parse_signal(text, now=NOW)


@FAST
@given(st.text(max_size=300))
def test_arbitrary_text_raises_only_parse_errors(text: str) -> None:
    """Any Unicode text either parses or raises NotASignal/InvalidSignal."""
    _parses_or_refuses(text)


@FAST
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=25), st.sampled_from([" ", "", "\n", "  "]))
def test_signal_shaped_noise_raises_only_parse_errors(fragments: list[str], joiner: str) -> None:
    """Random sequences of signal fragments either parse or raise one of the two parse errors."""
    _parses_or_refuses(joiner.join(fragments))


@settings(max_examples=10, deadline=None)
@given(st.sampled_from(["BUY AAPL @ 150 ", "🚀", "\u200b", "1,000 ", "*" * 50, ">" * 50]), st.integers(25_000, 100_000))
def test_huge_messages_are_refused_as_not_a_signal(chunk: str, repeat: int) -> None:
    """Messages far beyond any chat limit (100 kB) are refused quickly as not a signal."""
    text = (chunk * repeat)[:100_000]
    if len(text) > MAX_MESSAGE_CHARS:
        try:
            parse_signal(text, now=NOW)
        except NotASignal as exc:
            assert "too long" in exc.message
        else:  # pragma: no cover - the assertion below explains the failure
            raise AssertionError("a 100 kB message parsed as a signal")


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(["*", "_", "`", "~", "|", ">", "#", "(", "-"]), st.integers(100, 1300))
def test_deeply_nested_markdown_is_handled(mark: str, depth: int) -> None:
    """Markdown nested hundreds deep around a signal neither crashes nor blows up the parser."""
    _parses_or_refuses(mark * depth + "BUY AAPL @ 150" + mark * depth)


@FAST
@given(st.sampled_from(GOLDEN_TEXTS), st.data())
def test_invisible_characters_do_not_change_a_signal(text: str, data: st.DataObject) -> None:
    """Zero-width characters inserted anywhere and spaces turned into NBSP leave the reading unchanged."""
    expected = parse_signal(text, now=NOW)
    positions = data.draw(st.lists(st.integers(0, len(text)), max_size=4))
    noisy = text.replace(" ", "\u00a0")
    for position in sorted(positions, reverse=True):
        invisible = data.draw(st.sampled_from(["\u200b", "\u200d", "\ufeff", "\u2060"]))
        noisy = noisy[:position] + invisible + noisy[position:]
    assert parse_signal(noisy, now=NOW) == expected


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


@FAST
@given(st.sampled_from(GOLDEN_TEXTS))
def test_fullwidth_forms_read_like_ascii(text: str) -> None:
    """Fullwidth letters and digits read exactly like their ASCII forms."""
    assert parse_signal(_fullwidth(text), now=NOW) == parse_signal(text, now=NOW)


# -- round trip --------------------------------------------------------------------------------------------------
EQUITIES = ["AAPL", "TSLA", "NVDA", "BRK.B", "F", "NOW", "COIN", "BTC", "ALL"]
CRYPTO = ["BTC/USDT", "ETH/USDC", "SOL/USDT", "1000PEPE/USDT", "OP/USDT", "ETH/BTC", "WOOF/USDT"]
FOREX = ["EUR/USD", "XAU/USD", "GBP/JPY", "US30"]


@st.composite
def prices(draw: st.DrawFn, low: int = 1, high: int = 10**7) -> tuple[int, int]:
    """An integer number of ticks and a number of decimal places: prices stay exact."""
    return draw(st.integers(low, high)), draw(st.integers(0, 4))


def _dec(ticks: int, places: int) -> Decimal:
    return Decimal(ticks).scaleb(-places)


@st.composite
def open_signals(draw: st.DrawFn) -> OpenSignal:
    """A consistent open signal: stop beyond the entry, targets on the profitable side."""
    asset_class = draw(st.sampled_from(list(AssetClass)))
    symbol = draw(
        st.sampled_from(
            {
                AssetClass.EQUITY: EQUITIES,
                AssetClass.CRYPTO: CRYPTO,
                AssetClass.FOREX: FOREX,
                AssetClass.OPTION: ["SPY", "AAPL", "BTC"],
            }[asset_class]
        )
    )
    side = draw(st.sampled_from(list(Side)))
    places = draw(st.integers(0, 4))
    low = draw(st.integers(200, 10**6))
    high = low + draw(st.integers(0, low // 10))
    kind = draw(st.sampled_from(list(EntryType)))
    entry = {
        EntryType.MARKET: Entry(EntryType.MARKET),
        EntryType.LIMIT: Entry(EntryType.LIMIT, price=_dec(low, places)),
        EntryType.BREAKOUT: Entry(EntryType.BREAKOUT, price=_dec(low, places)),
        EntryType.RANGE: Entry(EntryType.RANGE, low=_dec(low, places), high=_dec(low + max(high - low, 1), places)),
    }[kind]
    top = low + max(high - low, 1) if kind is EntryType.RANGE else low
    distances = draw(st.lists(st.integers(1, low // 2), max_size=4))
    stop_gap = draw(st.none() | st.integers(1, low // 2))
    if side is Side.BUY:
        targets = tuple(_dec(top + gap, places) for gap in distances)
        stop = None if stop_gap is None else _dec(low - stop_gap, places)
    else:
        targets = tuple(_dec(low - gap, places) for gap in distances)
        stop = None if stop_gap is None else _dec(top + stop_gap, places)
    quantity = draw(st.none() | prices().map(lambda p: _dec(*p)))
    option = None
    leverage = None
    if asset_class is AssetClass.OPTION:
        option = OptionContract(
            draw(st.sampled_from(list(OptionRight))),
            _dec(*draw(prices(1, 10**5))),
            draw(st.dates(date(2020, 1, 1), date(2035, 12, 31))),
        )
    else:
        leverage = draw(st.none() | st.integers(1, 125).map(Decimal))
    return OpenSignal(side, symbol, asset_class, entry, stop, targets, leverage, quantity, option)


def _management_symbols() -> st.SearchStrategy[str | None]:
    return st.none() | st.sampled_from(EQUITIES + CRYPTO + FOREX)


fractions = st.integers(1, 9999).map(lambda n: Decimal(n).scaleb(-4))
stops = st.sampled_from([BREAKEVEN]) | prices().map(lambda p: _dec(*p))
targets = st.lists(prices().map(lambda p: _dec(*p)), min_size=1, max_size=4).map(tuple)
update_signals = st.one_of(
    st.builds(UpdateSignal, _management_symbols(), stops, st.just(())),
    st.builds(UpdateSignal, _management_symbols(), st.none(), targets),
    st.builds(UpdateSignal, _management_symbols(), stops, targets),
)
signals: st.SearchStrategy[Signal] = st.one_of(
    open_signals(),
    st.builds(CloseSignal, _management_symbols(), st.none() | fractions),
    update_signals,
    st.builds(CancelSignal, _management_symbols()),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(signals)
def test_render_then_parse_is_the_identity(signal: Signal) -> None:
    """`parse_signal(render_signal(s)) == s` for every signal the grammar can express."""
    text = render_signal(signal)
    assert parse_signal(text, now=NOW) == signal, text

"""The canonical text of a signal in the grammar: `parse_signal(render_signal(s), now=...) == s`.

Used to echo a signal back to a channel and as the round-trip oracle of the parser's property tests. The
text is written for the default channel options, so it spells out whatever a channel default would
otherwise decide: equities get a `$`, and a word like `stock` where the symbol alone would read as crypto.
"""

from __future__ import annotations

from decimal import Decimal

from bot.domain import (
    BREAKEVEN,
    AssetClass,
    CancelSignal,
    CloseSignal,
    Entry,
    EntryType,
    OpenSignal,
    OptionContract,
    Side,
    Signal,
    UpdateSignal,
)
from bot.signals._numbers import show
from bot.signals._symbols import bare_reading

__all__ = ["render_signal"]

_HINT_WORDS = {AssetClass.EQUITY: "stock", AssetClass.CRYPTO: "crypto", AssetClass.FOREX: "forex"}


def render_signal(signal: Signal) -> str:
    """One line of text that parses back to `signal` (for any signal the parser itself can produce)."""
    match signal:
        case OpenSignal():
            return _open(signal)
        case CloseSignal():
            fraction = "" if signal.fraction is None else f" {_percent(signal.fraction)}"
            return f"CLOSE{fraction}{_management_symbol(signal.symbol)}"
        case UpdateSignal():
            parts = [f"UPDATE{_management_symbol(signal.symbol)}"]
            if signal.stop_loss == BREAKEVEN:
                parts.append("SL BE")
            elif signal.stop_loss is not None:
                assert isinstance(signal.stop_loss, Decimal)
                parts.append(f"SL {show(signal.stop_loss)}")
            if signal.take_profits:
                parts.append(f"TP {_list(signal.take_profits)}")
            return " ".join(parts)
        case CancelSignal():
            return f"CANCEL{_management_symbol(signal.symbol)}"


def _open(signal: OpenSignal) -> str:
    parts: list[str] = []
    if signal.option is not None:
        parts.append("BTO" if signal.side is Side.BUY else "STO")
    else:
        parts.append(signal.side.value.upper())
    if signal.quantity is not None:
        parts.append(show(signal.quantity))
    if signal.option is not None:
        parts.append(f"${signal.symbol} {_contract(signal.option)}")
    else:
        parts.append(_symbol(signal.symbol, signal.asset_class))
    parts.append(_entry(signal.entry, signal.side))
    if signal.stop_loss is not None:
        parts.append(f"SL {show(signal.stop_loss)}")
    if signal.take_profits:
        parts.append(f"TP {_list(signal.take_profits)}")
    if signal.leverage is not None:
        parts.append(f"LEVERAGE {show(signal.leverage)}x")
    return " ".join(parts)


def _entry(entry: Entry, side: Side) -> str:
    if entry.type is EntryType.LIMIT and entry.price is not None:
        return f"@ {show(entry.price)}"
    if entry.type is EntryType.RANGE and entry.low is not None and entry.high is not None:
        return f"@ {show(entry.low)}-{show(entry.high)}"
    if entry.type is EntryType.BREAKOUT and entry.price is not None:
        return f"{'ABOVE' if side is Side.BUY else 'BELOW'} {show(entry.price)}"
    return "@ MARKET"


def _contract(option: OptionContract) -> str:
    return f"{show(option.strike)}{option.right.value[0].upper()} {option.expiry.isoformat()}"


def _symbol(symbol: str, asset_class: AssetClass) -> str:
    """The symbol as written, plus the asset-class word when the symbol alone would read differently."""
    written = symbol if "/" in symbol else f"${symbol}"
    if bare_reading(written) == (symbol, asset_class):
        return written
    return f"{written} {_HINT_WORDS.get(asset_class, '')}".rstrip()


def _management_symbol(symbol: str | None) -> str:
    """Management signals carry no asset class: only the symbol's spelling has to survive the round trip."""
    if symbol is None:
        return ""
    written = symbol if "/" in symbol else f"${symbol}"
    reading = bare_reading(written)
    if reading is not None and reading[0] == symbol:
        return f" {written}"
    return f" {written} stock"


def _list(values: tuple[Decimal, ...]) -> str:
    return "/".join(show(value) for value in values)


def _percent(fraction: Decimal) -> str:
    return f"{show((fraction * 100).normalize())}%"

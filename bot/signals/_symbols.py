"""Symbols: recognising `BTC/USDT`, `BTCUSDT`, `#BTC`, `$TSLA`, `EURUSD`, `GOLD` and normalizing them.

Recognition (`symbol_ref`) looks at one word; resolution (`resolve`) decides the asset class once the whole
message is known, because `#SOL` alone is ambiguous until a crypto channel or "Leverage 10x" says more.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from bot.domain import AssetClass
from bot.signals._lexicon import (
    BARE_CRYPTO,
    CFD_SYMBOLS,
    ENGLISH_CAPS,
    FOREX_NAMES,
    ISO_CURRENCIES,
    KNOWN_CRYPTO,
    METALS,
    STRONG_QUOTES,
    WEAK_QUOTES,
)

DEFAULT_QUOTE = "USDT"
_EQUITY_RE = re.compile(r"[A-Z]{1,5}(?:\.[A-Z]{1,2})?")
_BASE_RE = re.compile(r"[A-Z0-9]{1,15}")
_PAIR_SPLIT_RE = re.compile(r"[/_-]")
_FOREX_SIDE = ISO_CURRENCIES | METALS
_QUOTES_BY_LENGTH = sorted(STRONG_QUOTES | WEAK_QUOTES, key=len, reverse=True)
_QUOTE_ENDINGS = frozenset(quote[-3:] for quote in _QUOTES_BY_LENGTH)
_MIN_GLUED = 5  # two letters of base and a three-letter quote
# Without a prefix and in lower or mixed case, a word names an instrument only if it is one of these names or
# ends like a glued pair ("btcusdt") or a forex pair ("eurusd").
_NAMED = FOREX_NAMES.keys() | CFD_SYMBOLS | BARE_CRYPTO
_SYMBOL_ENDINGS = _QUOTE_ENDINGS | ISO_CURRENCIES
_PLAIN_CAPS: frozenset[str] = frozenset()  # filled once `symbol_ref` exists, below
_new = tuple.__new__


class SymbolRef(NamedTuple):
    """A word that names an instrument. `strong` refs (prefixed, pairs, known coins) beat bare capitals."""

    base: str
    quote: str | None = None
    prefix: str = ""
    strong: bool = True
    forex: str | None = None  # the forex/CFD symbol when the word is one ("GOLD" -> "XAU/USD")


def pair_quote_ok(quote: str) -> bool:
    """Whether the part after a `/`, `-` or `_` is a quote currency (so `BTC-USDT` is a pair, `stop-loss` not)."""
    upper = quote.upper().removesuffix(".P")
    return upper in STRONG_QUOTES or upper in WEAK_QUOTES or upper in ISO_CURRENCIES


def symbol_ref(word: str) -> SymbolRef | None:
    """The instrument a single word names, or None. `word` keeps its original case."""
    prefix = word[0] if word[0] in "$#" else ""
    body = word[len(prefix) :]
    upper = body.upper()
    if "/" in body or "-" in body or "_" in body:
        return _pair_ref(upper, prefix)
    upper = upper.removesuffix(".P")
    if not prefix:
        if body in _PLAIN_CAPS:
            return None  # "THE", "LIVE": an English word in capitals
        if not body.isupper() and upper[-3:] not in _SYMBOL_ENDINGS and upper not in _NAMED:
            return None  # the usual word ("remember", "Musk"), decided without the checks below
    if len(upper) == 6 and upper[:3] in _FOREX_SIDE and upper[3:] in ISO_CURRENCIES:
        return SymbolRef(upper[:3], upper[3:], prefix, forex=f"{upper[:3]}/{upper[3:]}")
    if upper in FOREX_NAMES:
        return SymbolRef(upper, None, prefix, forex=FOREX_NAMES[upper])
    if upper in CFD_SYMBOLS:
        return SymbolRef(upper, None, prefix, forex=upper)
    glued = _glued_pair(upper)
    if glued is not None:
        return SymbolRef(glued[0], glued[1], prefix)
    if upper in BARE_CRYPTO:
        return SymbolRef(upper, None, prefix)
    if prefix == "#" and not body.isupper():
        return None  # "#crypto #signals": lower-case hashtags are tags, ticker hashtags are capitals ("#SOL")
    if prefix:
        named = (_BASE_RE.fullmatch(upper) or _EQUITY_RE.fullmatch(upper)) and upper[0].isalpha()
        return SymbolRef(upper, None, prefix) if named else None
    if body.isupper() and upper not in ENGLISH_CAPS and len(upper) >= 2 and _EQUITY_RE.fullmatch(upper):
        return _new(SymbolRef, (upper, None, "", False, None))  # a bare capitalised word: a weak reference
    return None


def _pair_ref(upper: str, prefix: str) -> SymbolRef | None:
    parts = _PAIR_SPLIT_RE.split(upper.removesuffix(".P"))
    if len(parts) != 2 or not parts[0] or not _BASE_RE.fullmatch(parts[0]):
        return None
    base, quote = parts
    if base in _FOREX_SIDE and quote in ISO_CURRENCIES:
        return SymbolRef(base, quote, prefix, forex=f"{base}/{quote}")
    if quote in STRONG_QUOTES or quote in WEAK_QUOTES or quote in ISO_CURRENCIES:
        return SymbolRef(base, quote, prefix)
    return None


def _glued_pair(upper: str) -> tuple[str, str] | None:
    """`BTCUSDT` -> (BTC, USDT); a weak quote (`ETHBTC`, `BTCUSD`) needs a known coin in front of it."""
    if len(upper) < _MIN_GLUED or upper[-3:] not in _QUOTE_ENDINGS:
        return None  # the common case (AAPL, TSLA) is decided without trying every quote
    for quote in _QUOTES_BY_LENGTH:
        if upper.endswith(quote) and len(upper) > len(quote) + 1:
            base = upper[: -len(quote)]
            if not _BASE_RE.fullmatch(base):
                return None
            if quote in STRONG_QUOTES or base in KNOWN_CRYPTO:
                return base, quote
            return None
    return None


# The capitalised English words that name no instrument written bare, found by the function itself so that
# its shortcut cannot change an answer ("GOLD" and "HYPE" stay symbols).
_PLAIN_CAPS = frozenset(word for word in ENGLISH_CAPS if symbol_ref(word) is None)


def resolve(
    ref: SymbolRef,
    *,
    hint: AssetClass | None,
    default: AssetClass | None,
    crypto_cue: bool,
    leverage: bool,
    quote_currency: str | None,
) -> tuple[str, AssetClass] | None:
    """The normalized symbol and its asset class; None when a bare word cannot be an instrument.

    `crypto_cue`: the message names a crypto venue or futures; `leverage`: it gives a leverage, which makes a
    `#COIN` hashtag crypto (but not a `$TSLA` cashtag: stock traders use margin too).
    """
    quote = (quote_currency or DEFAULT_QUOTE).upper()
    if ref.forex is not None:
        return ref.forex, AssetClass.FOREX
    if ref.quote is not None:
        return f"{ref.base}/{quote if ref.quote == 'PERP' else ref.quote}", AssetClass.CRYPTO
    stated = hint or (default if default in (AssetClass.EQUITY, AssetClass.CRYPTO) else None)
    if stated is AssetClass.CRYPTO:
        return f"{ref.base}/{quote}", AssetClass.CRYPTO
    if stated is AssetClass.EQUITY:
        return (ref.base, AssetClass.EQUITY) if _EQUITY_RE.fullmatch(ref.base) else None
    known = KNOWN_CRYPTO if ref.prefix == "#" else BARE_CRYPTO
    if ref.base in known or crypto_cue or (leverage and ref.prefix == "#"):
        return f"{ref.base}/{quote}", AssetClass.CRYPTO
    if _EQUITY_RE.fullmatch(ref.base):
        return ref.base, AssetClass.EQUITY
    return None


def bare_reading(written: str) -> tuple[str, AssetClass] | None:
    """How the default grammar (no channel options, no hints) reads one written symbol."""
    ref = symbol_ref(written)
    if ref is None:
        return None
    return resolve(ref, hint=None, default=None, crypto_cue=False, leverage=False, quote_currency=None)

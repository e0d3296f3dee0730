"""TradingView webhook bodies (already JSON-decoded) into signals.

Accepted shapes (DESIGN.md "Webhook"): `{ticker, action: buy|sell|long|short|close|exit, contracts|qty|quantity,
price, order_type: market|limit, limit_price, stop_loss|sl, take_profit|tp (number or list), leverage}`, and
the strategy-alert placeholders, flat (`"strategy.order.action"`) or nested (`{"strategy": {"order": ...}}`).
`id` and `secret` are the caller's business and ignored here. A bare `price` is the alert-time price: the
entry is market, and the price only serves to check the stop and targets.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.domain import (
    MARKET_ENTRY,
    AssetClass,
    CancelSignal,
    CloseSignal,
    Entry,
    EntryType,
    OpenSignal,
    Side,
    Signal,
)
from bot.errors import InvalidSignal, NotASignal
from bot.signals._checks import check_open, check_positive
from bot.signals._numbers import NumberError, read_number
from bot.signals._symbols import resolve, symbol_ref

__all__ = ["parse_tradingview"]

_ALIASES: dict[str, tuple[str, ...]] = {
    "ticker": ("ticker", "symbol", "syminfo.ticker", "strategy.order.ticker"),
    "exchange": ("exchange", "syminfo.prefix"),
    "action": ("action", "strategy.order.action", "side", "order_action", "signal"),
    "position": ("market_position", "strategy.market_position"),
    "quantity": ("contracts", "qty", "quantity", "strategy.order.contracts", "size"),
    "price": ("price", "strategy.order.price", "close"),
    "order_type": ("order_type", "type", "ordertype"),
    "limit_price": ("limit_price", "limit"),
    "stop_loss": ("stop_loss", "sl", "stoploss", "stop"),
    "take_profit": ("take_profit", "tp", "take_profits", "targets"),
    "leverage": ("leverage", "lev"),
}
_OPEN_ACTIONS = {"buy": Side.BUY, "long": Side.BUY, "sell": Side.SELL, "short": Side.SELL}
_CLOSE_ACTIONS = frozenset({"close", "exit", "flat", "close_all"})
_CANCEL_ACTIONS = frozenset({"cancel"})
_CRYPTO_VENUES = frozenset(
    {
        "BINANCE",
        "BINANCEUS",
        "BYBIT",
        "COINBASE",
        "KRAKEN",
        "BITSTAMP",
        "OKX",
        "BITGET",
        "KUCOIN",
        "MEXC",
        "GATEIO",
        "HTX",
        "BITFINEX",
        "DERIBIT",
        "BITMEX",
        "PHEMEX",
        "BINGX",
        "CRYPTO",
        "CRYPTOCAP",
        "GEMINI",
    }
)
_FOREX_VENUES = frozenset({"FX", "FX_IDC", "OANDA", "FOREXCOM", "FXCM", "PEPPERSTONE", "ICMARKETS", "SAXO", "TVC"})
_EQUITY_VENUES = frozenset({"NASDAQ", "NYSE", "AMEX", "ARCA", "NYSEARCA", "BATS", "CBOE", "OTC", "TSX", "LSE"})
_MAX_DEPTH = 3
_LIST_SPLIT_RE = re.compile(r"\s*[/;|]\s*|,\s+|\s+")  # "160/165", "160, 165"; "1,000" stays one number


def parse_tradingview(payload: Mapping[str, object], *, now: datetime) -> Signal:
    """The signal a TradingView alert body describes; InvalidSignal/NotASignal (with a reason) otherwise.

    `now` is accepted for symmetry with `parse_signal`; webhook signals carry no dates to infer.
    """
    del now
    if not isinstance(payload, Mapping):
        raise InvalidSignal("the webhook body must be a JSON object")
    fields = _fields(payload)
    action = _text(fields, "action")
    ticker = _text(fields, "ticker")
    if action is None and ticker is None:
        raise NotASignal("the webhook body has no ticker and no action")
    if action is None:
        raise InvalidSignal("the webhook body has no action (buy, sell, long, short, close, exit)")
    if ticker is None:
        raise InvalidSignal("the webhook body has no ticker")
    symbol, asset_class = _symbol(ticker, _text(fields, "exchange"))
    action = action.lower()
    position = (_text(fields, "position") or "").lower()
    if action in _CLOSE_ACTIONS or (position == "flat" and action in _OPEN_ACTIONS):
        return CloseSignal(symbol)
    if action in _CANCEL_ACTIONS:
        return CancelSignal(symbol)
    if action not in _OPEN_ACTIONS:
        raise InvalidSignal(f"unknown action '{action}': use buy, sell, long, short, close or exit")
    return _open(fields, _OPEN_ACTIONS[action], symbol, asset_class)


def _open(fields: Mapping[str, object], side: Side, symbol: str, asset_class: AssetClass) -> OpenSignal:
    price = _number(fields, "price")
    order_type = (_text(fields, "order_type") or "market").lower()
    if order_type not in ("market", "limit"):
        raise InvalidSignal(f"unknown order_type '{order_type}': use market or limit")
    entry = MARKET_ENTRY
    if order_type == "limit":
        limit = _number(fields, "limit_price") or price
        if limit is None:
            raise InvalidSignal("a limit order needs limit_price (or price)")
        entry = Entry(EntryType.LIMIT, price=limit)
    signal = OpenSignal(
        side=side,
        symbol=symbol,
        asset_class=asset_class,
        entry=entry,
        stop_loss=_number(fields, "stop_loss"),
        take_profits=_numbers(fields, "take_profit"),
        leverage=_number(fields, "leverage"),
        quantity=_number(fields, "quantity"),
    )
    check_positive(price, "price")
    reference = (price, price) if entry is MARKET_ENTRY and price is not None else None
    check_open(signal, reference)
    return signal


def _fields(payload: Mapping[str, object]) -> dict[str, object]:
    """Lower-cased keys, nested objects flattened to dotted keys (`strategy.order.action`)."""
    flat: dict[str, object] = {}

    def walk(mapping: Mapping[Any, object], prefix: str, depth: int) -> None:
        for key, value in mapping.items():
            name = f"{prefix}{str(key).lower()}"
            if isinstance(value, Mapping) and depth < _MAX_DEPTH:
                walk(value, f"{name}.", depth + 1)
            else:
                flat.setdefault(name, value)

    walk(payload, "", 0)
    return flat


def _raw(fields: Mapping[str, object], name: str) -> tuple[str, object] | None:
    for key in _ALIASES[name]:
        value = fields.get(key)
        if value is not None and value != "":
            return key, value
    return None


def _text(fields: Mapping[str, object], name: str) -> str | None:
    found = _raw(fields, name)
    if found is None:
        return None
    key, value = found
    if not isinstance(value, str):
        raise InvalidSignal(f"{key} must be a string, not {type(value).__name__}")
    return value.strip() or None


def _number(fields: Mapping[str, object], name: str) -> Decimal | None:
    found = _raw(fields, name)
    return None if found is None else _decimal(found[0], found[1])


def _numbers(fields: Mapping[str, object], name: str) -> tuple[Decimal, ...]:
    found = _raw(fields, name)
    if found is None:
        return ()
    key, value = found
    if isinstance(value, list | tuple):
        return tuple(_decimal(key, item) for item in value)
    if isinstance(value, str):
        return tuple(_decimal(key, part) for part in _LIST_SPLIT_RE.split(value.strip()) if part)
    return (_decimal(key, value),)


def _decimal(key: str, value: object) -> Decimal:
    """An exact Decimal from a JSON value; floats go through their shortest repr (150.2 stays 150.2)."""
    if isinstance(value, bool):
        raise InvalidSignal(f"{key} must be a number, not a boolean")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidSignal(f"{key} must be a finite number")
        return Decimal(repr(value))
    if isinstance(value, str):
        text = value.strip()
        if "{{" in text:
            raise InvalidSignal(f"{key} '{text}' is an unfilled TradingView placeholder")
        try:
            return read_number(text)
        except NumberError as exc:
            raise InvalidSignal(f"{key}: {exc}") from None
    raise InvalidSignal(f"{key} must be a number")


def _symbol(ticker: str, exchange: str | None) -> tuple[str, AssetClass]:
    """`NASDAQ:AAPL` -> AAPL, `BINANCE:BTCUSDT.P` -> BTC/USDT, `OANDA:XAUUSD` -> XAU/USD."""
    if "{{" in ticker:
        raise InvalidSignal(f"ticker '{ticker}' is an unfilled TradingView placeholder")
    venue, _, name = ticker.upper().rpartition(":")
    venue = venue or (exchange or "").upper()
    hint = _venue_class(venue)
    # A webhook's ticker is deliberate, so a word that would be English in chat ("NOW") is still a ticker.
    ref = (symbol_ref(name) or symbol_ref(f"${name}")) if name else None
    resolved = (
        None
        if ref is None
        else resolve(
            ref, hint=hint, default=None, crypto_cue=hint is AssetClass.CRYPTO, leverage=False, quote_currency=None
        )
    )
    if resolved is None:
        raise InvalidSignal(f"unknown ticker '{ticker}'")
    return resolved


def _venue_class(venue: str) -> AssetClass | None:
    if venue in _CRYPTO_VENUES:
        return AssetClass.CRYPTO
    if venue in _FOREX_VENUES:
        return AssetClass.FOREX
    if venue in _EQUITY_VENUES:
        return AssetClass.EQUITY
    return None

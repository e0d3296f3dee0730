"""TradingView webhook bodies: the DESIGN.md key spellings, strategy placeholders and exchange prefixes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from bot.domain import MARKET_ENTRY, AssetClass, CancelSignal, CloseSignal, Entry, EntryType, OpenSignal, Side
from bot.errors import InvalidSignal, NotASignal
from bot.signals.schema import signal_to_dict
from bot.signals.tradingview import parse_tradingview

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


def parse(payload: dict[str, Any]) -> Any:
    return parse_tradingview(payload, now=NOW)


def invalid(payload: dict[str, Any]) -> str:
    with pytest.raises(InvalidSignal) as caught:
        parse(payload)
    return caught.value.message


def test_basic_alert_is_a_market_order_with_contracts() -> None:
    """`{ticker, action, contracts, price}`: a bare price is the alert-time price, so the entry is market."""
    signal = parse({"ticker": "AAPL", "action": "buy", "contracts": 10, "price": 150.2, "id": "a1", "secret": "s"})
    assert signal == OpenSignal(Side.BUY, "AAPL", AssetClass.EQUITY, MARKET_ENTRY, quantity=Decimal(10))


def test_limit_order_uses_limit_price() -> None:
    """`order_type: limit` enters at `limit_price`."""
    signal = parse({"ticker": "AAPL", "action": "buy", "qty": "5", "order_type": "limit", "limit_price": "149.50"})
    assert signal.entry == Entry(EntryType.LIMIT, price=Decimal("149.50"))


def test_limit_order_falls_back_to_price() -> None:
    """A limit order without `limit_price` uses `price`."""
    signal = parse({"ticker": "AAPL", "action": "buy", "order_type": "LIMIT", "price": 150})
    assert signal.entry == Entry(EntryType.LIMIT, price=Decimal(150))


def test_floats_become_exact_decimals() -> None:
    """JSON floats keep their shortest decimal form: 0.1 is 0.1, never 0.1000000000000000055."""
    signal = parse({"ticker": "ETHUSDT", "action": "long", "quantity": 0.1, "stop_loss": 2999.9, "price": 3000})
    assert signal_to_dict(signal)["quantity"] == "0.1"
    assert signal_to_dict(signal)["stop_loss"] == "2999.9"


@pytest.mark.parametrize(
    ("ticker", "symbol", "asset_class"),
    [
        ("NASDAQ:AAPL", "AAPL", AssetClass.EQUITY),
        ("BINANCE:BTCUSDT", "BTC/USDT", AssetClass.CRYPTO),
        ("BYBIT:SOLUSDT.P", "SOL/USDT", AssetClass.CRYPTO),
        ("COINBASE:ETHUSD", "ETH/USD", AssetClass.CRYPTO),
        ("OANDA:XAUUSD", "XAU/USD", AssetClass.FOREX),
        ("FX:EURUSD", "EUR/USD", AssetClass.FOREX),
        ("NYSE:NOW", "NOW", AssetClass.EQUITY),
        ("BINANCE:PEPE", "PEPE/USDT", AssetClass.CRYPTO),
        ("tsla", "TSLA", AssetClass.EQUITY),
    ],
)
def test_exchange_prefixes_are_stripped(ticker: str, symbol: str, asset_class: AssetClass) -> None:
    """`EXCHANGE:TICKER` loses its prefix, and the exchange helps decide the asset class."""
    signal = parse({"ticker": ticker, "action": "buy"})
    assert (signal.symbol, signal.asset_class) == (symbol, asset_class)


def test_stop_and_targets_in_every_spelling() -> None:
    """`sl`/`stop_loss` and `tp`/`take_profit` as a number, a list or a slash-separated string."""
    base = {"ticker": "BTCUSDT", "action": "sell", "price": 60000}
    assert parse({**base, "sl": 61000, "tp": 59000}).take_profits == (Decimal(59000),)
    assert parse({**base, "stop_loss": "61000", "take_profit": [59000, "58000"]}).take_profits == (59000, 58000)
    assert parse({**base, "sl": 61000, "tp": "59000/58000"}).take_profits == (59000, 58000)


def test_leverage_is_read() -> None:
    """An optional `leverage` key sets the leverage."""
    assert parse({"ticker": "BTCUSDT", "action": "long", "leverage": "10"}).leverage == 10


@pytest.mark.parametrize("action", ["close", "exit", "CLOSE"])
def test_close_and_exit_actions_close_the_position(action: str) -> None:
    """`close` and `exit` close the whole position."""
    assert parse({"ticker": "NASDAQ:AAPL", "action": action}) == CloseSignal("AAPL")


def test_cancel_action_cancels() -> None:
    """`cancel` cancels the pending signal for the ticker."""
    assert parse({"ticker": "AAPL", "action": "cancel"}) == CancelSignal("AAPL")


def test_strategy_placeholders_flat_keys() -> None:
    """TradingView strategy alerts with `strategy.order.*` keys are understood."""
    payload = {
        "ticker": "ETHUSDT",
        "strategy.order.action": "buy",
        "strategy.order.contracts": "2",
        "strategy.order.price": "3000",
        "strategy.market_position": "long",
    }
    assert parse(payload) == OpenSignal(Side.BUY, "ETH/USDT", AssetClass.CRYPTO, quantity=Decimal(2))


def test_strategy_placeholders_nested_objects() -> None:
    """Nested `{"strategy": {"order": {...}}}` bodies read like the flat form."""
    order = {"action": "sell", "contracts": 1}
    payload = {"ticker": "BTCUSDT", "strategy": {"order": order, "market_position": "short"}}
    assert parse(payload).side is Side.SELL


def test_strategy_exit_to_flat_is_a_close() -> None:
    """A strategy order that leaves the market flat closes the position."""
    payload = {"ticker": "BTCUSDT", "strategy": {"order": {"action": "sell"}, "market_position": "flat"}}
    assert parse(payload) == CloseSignal("BTC/USDT")


def test_stop_on_the_wrong_side_of_the_alert_price_is_invalid() -> None:
    """The alert-time price is the reference the stop is checked against."""
    assert "stop loss 155 is above the entry 150 for a buy" in invalid(
        {"ticker": "AAPL", "action": "buy", "price": 150, "sl": 155}
    )


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"ticker": "AAPL", "action": "hold"}, "unknown action 'hold'"),
        ({"ticker": "AAPL"}, "no action"),
        ({"action": "buy"}, "no ticker"),
        ({"ticker": "AAPL", "action": "buy", "contracts": 0}, "quantity 0 must be positive"),
        ({"ticker": "AAPL", "action": "buy", "contracts": True}, "not a boolean"),
        ({"ticker": "AAPL", "action": "buy", "price": "{{close}}"}, "unfilled TradingView placeholder"),
        ({"ticker": "{{ticker}}", "action": "buy"}, "unfilled TradingView placeholder"),
        ({"ticker": "AAPL", "action": "buy", "price": "1,5"}, "'1,5'"),
        ({"ticker": "AAPL", "action": "buy", "price": float("nan")}, "finite"),
        ({"ticker": "AAPL", "action": "buy", "order_type": "limit"}, "needs limit_price"),
        ({"ticker": "AAPL", "action": "buy", "order_type": "trailing"}, "unknown order_type"),
        ({"ticker": "AAPL", "action": 1}, "must be a string"),
        ({"ticker": "!!!", "action": "buy"}, "unknown ticker"),
        ({"ticker": "AAPL", "action": "buy", "price": -1}, "price -1 must be positive"),
    ],
)
def test_malformed_bodies_are_invalid_with_a_reason(payload: dict[str, Any], reason: str) -> None:
    """Each malformed body is refused with a message naming the bad field."""
    assert reason in invalid(payload)


def test_body_without_ticker_or_action_is_not_a_signal() -> None:
    """A JSON body that is not an alert at all (no ticker, no action) is not a signal."""
    with pytest.raises(NotASignal):
        parse({"hello": "world"})


def test_non_object_body_is_invalid() -> None:
    """A JSON array or string body is refused, not crashed on."""
    with pytest.raises(InvalidSignal):
        parse_tradingview(["buy"], now=NOW)  # type: ignore[arg-type]

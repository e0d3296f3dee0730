"""The risk gate and sizing: pure decisions from a signal, the limits and an account snapshot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.domain import AssetClass, CloseSignal, Entry, EntryType, OpenSignal, Position, Side
from bot.execution.risk import (
    RiskContext,
    RiskLimits,
    Sizing,
    SizingMethod,
    evaluate_close,
    evaluate_open,
    quantize_quantity,
    size_order,
)

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
BUY = OpenSignal(Side.BUY, "AAPL", AssetClass.EQUITY, Entry(EntryType.LIMIT, price=Decimal(100)), Decimal(95))


def context(**overrides: object) -> RiskContext:
    values: dict[str, object] = {
        "now": NOW,
        "received_at": NOW,
        "kill_switch": False,
        "price": Decimal(100),
        "position": None,
        "open_positions": 0,
        "equity": Decimal(10_000),
    }
    values.update(overrides)
    return RiskContext(**values)  # type: ignore[arg-type]


def test_signal_quantity_wins_over_sizing() -> None:
    """A size written in the signal is used as is."""
    signal = OpenSignal(Side.BUY, "AAPL", AssetClass.EQUITY, quantity=Decimal(7))
    assert size_order(signal, Sizing(SizingMethod.FIXED_NOTIONAL, Decimal(1000)), Decimal(100), None) == 7


@pytest.mark.parametrize(
    ("sizing", "expected"),
    [
        (Sizing(SizingMethod.FIXED_QUANTITY, Decimal(3)), Decimal(3)),
        (Sizing(SizingMethod.FIXED_NOTIONAL, Decimal(1050)), Decimal(10)),  # whole shares, rounded down
        (Sizing(SizingMethod.EQUITY_PERCENT, Decimal(5)), Decimal(5)),  # 5% of 10,000 at 100
        (Sizing(SizingMethod.RISK_PERCENT, Decimal(1)), Decimal(20)),  # risk 100 over a 5.00 stop distance
        (Sizing(default_quantity=Decimal(2)), Decimal(2)),
    ],
)
def test_sizing_methods(sizing: Sizing, expected: Decimal) -> None:
    """Each sizing method turns the account and the stop distance into a venue-sized quantity."""
    assert size_order(BUY, sizing, Decimal(100), Decimal(10_000)) == expected


def test_no_size_anywhere_is_a_reason_not_a_guess() -> None:
    """Without a size in the signal or in the config the signal is refused, never sized as 0 or 1."""
    decision = evaluate_open(BUY, RiskLimits(), Sizing(), context())
    assert not decision.approved and decision.reason is not None and "no quantity" in decision.reason


def test_crypto_quantities_keep_eight_decimals() -> None:
    """Crypto sizes are rounded down to 8 decimals; equities to whole shares."""
    assert quantize_quantity(Decimal("0.123456789"), AssetClass.CRYPTO) == Decimal("0.12345678")
    assert quantize_quantity(Decimal("9.99"), AssetClass.EQUITY) == Decimal(9)


@pytest.mark.parametrize(
    ("limits", "ctx", "fragment"),
    [
        (RiskLimits(max_order_notional=Decimal(500)), context(), "max_order_notional"),
        (RiskLimits(max_position_notional=Decimal(500)), context(), "max_position_notional"),
        (RiskLimits(max_open_positions=2), context(open_positions=2), "max_open_positions"),
        (RiskLimits(symbol_allowlist=frozenset({"TSLA"})), context(), "symbol_allowlist"),
        (RiskLimits(symbol_denylist=frozenset({"AAPL"})), context(), "symbol_denylist"),
        (RiskLimits(max_signal_age_seconds=60), context(received_at=NOW - timedelta(minutes=5)), "max_signal_age"),
        (RiskLimits(), context(kill_switch=True), "kill switch"),
        (RiskLimits(max_daily_loss=Decimal(100)), context(daily_pnl=Decimal(-150)), "max_daily_loss"),
        (RiskLimits(cooldown_seconds=60), context(last_entry_at=NOW - timedelta(seconds=20)), "cooldown_seconds"),
    ],
)
def test_each_limit_rejects_with_its_name(limits: RiskLimits, ctx: RiskContext, fragment: str) -> None:
    """Every limit that refuses a signal names itself in the reason the author sees."""
    signal = OpenSignal(Side.BUY, "AAPL", AssetClass.EQUITY, quantity=Decimal(10))
    decision = evaluate_open(signal, limits, Sizing(), ctx)
    assert not decision.approved
    assert decision.reason is not None and fragment in decision.reason


def test_leverage_above_the_limit_is_refused() -> None:
    """A signal asking for more leverage than risk.max_leverage is refused."""
    signal = OpenSignal(Side.BUY, "BTC/USDT", AssetClass.CRYPTO, leverage=Decimal(20), quantity=Decimal(1))
    decision = evaluate_open(signal, RiskLimits(max_leverage=Decimal(10)), Sizing(), context())
    assert decision.reason == "leverage 20x exceeds risk.max_leverage (10x)"


def test_adding_to_an_open_position_does_not_count_as_a_new_position() -> None:
    """max_open_positions only refuses signals that would open another position."""
    held = Position("AAPL", Decimal(5), Decimal(90))
    signal = OpenSignal(Side.BUY, "AAPL", AssetClass.EQUITY, quantity=Decimal(1))
    decision = evaluate_open(
        signal, RiskLimits(max_open_positions=1), Sizing(), context(position=held, open_positions=1)
    )
    assert decision.approved and decision.quantity == 1


def test_selling_what_is_held_is_not_a_short() -> None:
    """A SELL up to the long position is allowed without allow_short; one share more is not."""
    held = Position("AAPL", Decimal(10), Decimal(90))
    sell = OpenSignal(Side.SELL, "AAPL", AssetClass.EQUITY, quantity=Decimal(10))
    assert evaluate_open(sell, RiskLimits(), Sizing(), context(position=held)).approved
    more = OpenSignal(Side.SELL, "AAPL", AssetClass.EQUITY, quantity=Decimal(11))
    assert not evaluate_open(more, RiskLimits(), Sizing(), context(position=held)).approved


def test_close_half_sells_half_the_position() -> None:
    """`Close half` sells half of what is held."""
    held = Position("BTC/USDT", Decimal("0.5"), Decimal(60_000))
    decision = evaluate_close(CloseSignal("BTC/USDT", Decimal("0.5")), "BTC/USDT", RiskLimits(), context(position=held))
    assert decision.approved and decision.quantity == Decimal("0.25")


def test_close_is_allowed_while_the_kill_switch_is_engaged() -> None:
    """Pausing stops new entries only: a close still reduces the position while trading is paused."""
    held = Position("AAPL", Decimal(10), Decimal(90))
    decision = evaluate_close(CloseSignal("AAPL"), "AAPL", RiskLimits(), context(position=held, kill_switch=True))
    assert decision.approved and decision.quantity == Decimal(10)


def test_cooldown_lets_the_next_entry_through_once_it_has_passed() -> None:
    signal = OpenSignal(Side.BUY, "AAPL", AssetClass.EQUITY, quantity=Decimal(10))
    ctx = context(last_entry_at=NOW - timedelta(seconds=61))
    assert evaluate_open(signal, RiskLimits(cooldown_seconds=60), Sizing(), ctx).approved


def test_a_small_daily_loss_does_not_stop_trading() -> None:
    signal = OpenSignal(Side.BUY, "AAPL", AssetClass.EQUITY, quantity=Decimal(10))
    ctx = context(daily_pnl=Decimal("-99.99"))
    assert evaluate_open(signal, RiskLimits(max_daily_loss=Decimal(100)), Sizing(), ctx).approved

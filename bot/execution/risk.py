"""The risk gate and position sizing: pure functions of the signal, the limits and a snapshot of the account.

Nothing here does I/O; the executor gathers the `RiskContext` and records the decision with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum

from bot.domain import AssetClass, CloseSignal, OpenSignal, Position, Side


class SizingMethod(StrEnum):
    FIXED_QUANTITY = "fixed_quantity"
    FIXED_NOTIONAL = "fixed_notional"
    EQUITY_PERCENT = "equity_percent"
    RISK_PERCENT = "risk_percent"


@dataclass(frozen=True, slots=True)
class Sizing:
    method: SizingMethod = SizingMethod.FIXED_QUANTITY
    value: Decimal | None = None
    default_quantity: Decimal | None = None
    default_notional: Decimal | None = None


@dataclass(frozen=True, slots=True)
class RiskLimits:
    max_order_notional: Decimal | None = None
    max_position_notional: Decimal | None = None
    max_open_positions: int | None = None
    max_leverage: Decimal | None = None
    max_daily_loss: Decimal | None = None
    max_signal_age_seconds: float | None = None
    cooldown_seconds: float = 0.0
    symbol_allowlist: frozenset[str] = frozenset()
    symbol_denylist: frozenset[str] = frozenset()
    allow_short: bool = False


@dataclass(frozen=True, slots=True)
class RiskContext:
    """What the account looked like when the signal was checked."""

    now: datetime
    received_at: datetime
    kill_switch: bool
    price: Decimal | None
    position: Position | None
    open_positions: int
    equity: Decimal | None
    daily_pnl: Decimal | None = None  # equity now minus equity at the start of the UTC day
    last_entry_at: datetime | None = None  # when the last executed opening signal in this symbol arrived


@dataclass(frozen=True, slots=True)
class RiskDecision:
    approved: bool
    reason: str | None = None
    quantity: Decimal | None = None
    price: Decimal | None = None

    @classmethod
    def reject(cls, reason: str) -> RiskDecision:
        return cls(False, reason)


def quantize_quantity(quantity: Decimal, asset_class: AssetClass) -> Decimal:
    """Round a computed size down to what the venue trades: whole shares and contracts, 8 decimals of crypto."""
    step = Decimal("0.00000001") if asset_class in (AssetClass.CRYPTO, AssetClass.FOREX) else Decimal(1)
    return quantity.quantize(step, rounding=ROUND_DOWN).normalize() if quantity > 0 else Decimal(0)


def size_order(signal: OpenSignal, sizing: Sizing, price: Decimal | None, equity: Decimal | None) -> Decimal | str:
    """The quantity to trade, or the reason no size can be computed."""
    if signal.quantity is not None:
        return signal.quantity
    method, value = sizing.method, sizing.value
    if method is SizingMethod.FIXED_QUANTITY:
        quantity = value if value is not None else sizing.default_quantity
        if quantity is None and sizing.default_notional is not None:
            return _from_notional(signal, sizing.default_notional, price)
        return quantity if quantity is not None else "the signal gives no quantity and no default size is set"
    if value is None:
        return f"sizing {method.value} needs risk.sizing_value"
    if method is SizingMethod.FIXED_NOTIONAL:
        return _from_notional(signal, value, price)
    if equity is None:
        return f"sizing {method.value} needs the account equity, which the broker did not report"
    if method is SizingMethod.EQUITY_PERCENT:
        return _from_notional(signal, equity * value / 100, price)
    if signal.stop_loss is None or price is None:
        return "risk_percent sizing needs a stop loss and an entry price"
    distance = abs(price - signal.stop_loss)
    if distance == 0:
        return "risk_percent sizing needs a stop loss away from the entry"
    return quantize_quantity(equity * value / 100 / distance, signal.asset_class)


def _from_notional(signal: OpenSignal, notional: Decimal, price: Decimal | None) -> Decimal | str:
    if price is None:
        return f"no price for {signal.symbol} to turn a notional size into a quantity"
    return quantize_quantity(notional / price, signal.asset_class)


def _common_checks(symbol: str, limits: RiskLimits, ctx: RiskContext) -> str | None:
    if ctx.kill_switch:
        return "trading is paused (kill switch engaged)"
    age = (ctx.now - ctx.received_at).total_seconds()
    if limits.max_signal_age_seconds is not None and age > limits.max_signal_age_seconds:
        return f"signal is {age:.0f}s old, older than risk.max_signal_age_seconds ({limits.max_signal_age_seconds:g})"
    if limits.symbol_allowlist and symbol.upper() not in limits.symbol_allowlist:
        return f"{symbol} is not in risk.symbol_allowlist"
    if symbol.upper() in limits.symbol_denylist:
        return f"{symbol} is in risk.symbol_denylist"
    return None


def daily_loss_reached(limits: RiskLimits, ctx: RiskContext) -> bool:
    """Realized plus unrealized loss since the start of the UTC day is at the limit: trading must pause."""
    return limits.max_daily_loss is not None and ctx.daily_pnl is not None and -ctx.daily_pnl >= limits.max_daily_loss


def evaluate_open(signal: OpenSignal, limits: RiskLimits, sizing: Sizing, ctx: RiskContext) -> RiskDecision:
    """Approve an opening signal with its size, or reject it naming the limit it breaks."""
    reason = _common_checks(signal.symbol, limits, ctx)
    if reason:
        return RiskDecision.reject(reason)
    if daily_loss_reached(limits, ctx):
        return RiskDecision.reject(
            f"daily loss {-(ctx.daily_pnl or 0):.2f} reached risk.max_daily_loss ({limits.max_daily_loss})"
        )
    if limits.cooldown_seconds and ctx.last_entry_at is not None:
        since = (ctx.received_at - ctx.last_entry_at).total_seconds()
        if since < limits.cooldown_seconds:
            return RiskDecision.reject(
                f"{signal.symbol} was entered {since:.0f}s ago; risk.cooldown_seconds is {limits.cooldown_seconds:g}"
            )
    if limits.max_leverage is not None and signal.leverage is not None and signal.leverage > limits.max_leverage:
        return RiskDecision.reject(f"leverage {signal.leverage}x exceeds risk.max_leverage ({limits.max_leverage}x)")
    price = signal.entry.reference_price or ctx.price
    sized = size_order(signal, sizing, price, ctx.equity)
    if isinstance(sized, str):
        return RiskDecision.reject(sized)
    if sized <= 0:
        return RiskDecision.reject("the computed order size is zero")
    held = ctx.position.quantity if ctx.position else Decimal(0)
    signed = sized if signal.side is Side.BUY else -sized
    if signal.asset_class is AssetClass.EQUITY and not limits.allow_short and held + signed < 0:
        return RiskDecision.reject(
            f"selling {sized} {signal.symbol} with {held} held would open a short; set broker.allow_short = true"
        )
    opens_new = ctx.position is None or ctx.position.quantity == 0
    if limits.max_open_positions is not None and opens_new and ctx.open_positions >= limits.max_open_positions:
        return RiskDecision.reject(f"{ctx.open_positions} positions open, the risk.max_open_positions limit")
    if price is not None:
        notional = sized * price
        if limits.max_order_notional is not None and notional > limits.max_order_notional:
            return RiskDecision.reject(
                f"order notional {notional:.2f} exceeds risk.max_order_notional ({limits.max_order_notional})"
            )
        position_notional = abs(held + signed) * price
        if limits.max_position_notional is not None and position_notional > limits.max_position_notional:
            return RiskDecision.reject(
                f"position notional {position_notional:.2f} would exceed risk.max_position_notional"
                f" ({limits.max_position_notional})"
            )
    return RiskDecision(True, quantity=sized, price=price)


def evaluate_close(signal: CloseSignal, symbol: str, limits: RiskLimits, ctx: RiskContext) -> RiskDecision:
    """Closing reduces risk, so only a missing position stops it; the kill switch stops new entries only."""
    if ctx.position is None or ctx.position.quantity == 0:
        return RiskDecision.reject(f"no open position in {symbol} to close")
    held = abs(ctx.position.quantity)
    fraction = signal.fraction if signal.fraction is not None else Decimal(1)
    quantity = held if fraction >= 1 else held * fraction
    if quantity != held:
        quantity = quantity.quantize(Decimal("0.00000001"), rounding=ROUND_DOWN).normalize()
    if quantity <= 0:
        return RiskDecision.reject(f"closing {fraction} of {held} {symbol} leaves nothing to sell")
    return RiskDecision(True, quantity=quantity, price=ctx.price)

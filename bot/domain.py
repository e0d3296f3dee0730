"""Plain domain types shared by every layer: signals, orders, outcomes. Money is Decimal, time is UTC."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar, Literal


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class AssetClass(StrEnum):
    EQUITY = "equity"
    CRYPTO = "crypto"
    FOREX = "forex"
    OPTION = "option"


class EntryType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    RANGE = "range"
    BREAKOUT = "breakout"


class SignalKind(StrEnum):
    OPEN = "open"
    CLOSE = "close"
    UPDATE = "update"
    CANCEL = "cancel"


class OptionRight(StrEnum):
    CALL = "call"
    PUT = "put"


@dataclass(frozen=True, slots=True)
class Entry:
    """How to enter: `price` for limit and breakout, `low`/`high` for a range, nothing for market."""

    type: EntryType
    price: Decimal | None = None
    low: Decimal | None = None
    high: Decimal | None = None

    @property
    def reference_price(self) -> Decimal | None:
        """The price a risk check or a paper fill can use: the limit/breakout price or the range midpoint."""
        if self.price is not None:
            return self.price
        if self.low is not None and self.high is not None:
            return (self.low + self.high) / 2
        return None


MARKET_ENTRY = Entry(EntryType.MARKET)


@dataclass(frozen=True, slots=True)
class OptionContract:
    right: OptionRight
    strike: Decimal
    expiry: date


BREAKEVEN: Literal["breakeven"] = "breakeven"
StopLevel = Decimal | Literal["breakeven"]


@dataclass(frozen=True, slots=True)
class OpenSignal:
    """Open a position."""

    side: Side
    symbol: str
    asset_class: AssetClass
    entry: Entry = MARKET_ENTRY
    stop_loss: Decimal | None = None
    take_profits: tuple[Decimal, ...] = ()
    leverage: Decimal | None = None
    quantity: Decimal | None = None
    option: OptionContract | None = None
    kind: ClassVar[SignalKind] = SignalKind.OPEN


@dataclass(frozen=True, slots=True)
class CloseSignal:
    """Close all (`fraction` None) or a fraction of a position; `symbol` None means the replied-to signal."""

    symbol: str | None
    fraction: Decimal | None = None
    kind: ClassVar[SignalKind] = SignalKind.CLOSE


@dataclass(frozen=True, slots=True)
class UpdateSignal:
    """Move the stop (a price or breakeven) and/or replace the targets of an open position."""

    symbol: str | None
    stop_loss: StopLevel | None = None
    take_profits: tuple[Decimal, ...] = ()
    kind: ClassVar[SignalKind] = SignalKind.UPDATE


@dataclass(frozen=True, slots=True)
class CancelSignal:
    """Cancel a pending (not yet filled) signal."""

    symbol: str | None
    kind: ClassVar[SignalKind] = SignalKind.CANCEL


Signal = OpenSignal | CloseSignal | UpdateSignal | CancelSignal


class SignalSource(StrEnum):
    DISCORD = "discord"
    WEBHOOK = "webhook"


class Outcome(StrEnum):
    """How a message ended; the label values of `tradecord_signals_total{outcome}`."""

    EXECUTED = "executed"
    NOT_A_SIGNAL = "not_a_signal"
    INVALID = "invalid"
    UNAUTHORIZED = "unauthorized"
    DUPLICATE = "duplicate"
    RISK_REJECTED = "risk_rejected"
    FAILED = "failed"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"


class OrderStatus(StrEnum):
    """Lifecycle of one order; `pending_submit` and `unknown` are ours, the rest mirror the venue."""

    PENDING_SUBMIT = "pending_submit"
    UNKNOWN = "unknown"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL_STATUSES

    @property
    def is_success(self) -> bool:
        return self in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED)


_TERMINAL_STATUSES = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED, OrderStatus.FAILED}
)


@dataclass(frozen=True, slots=True)
class SignalEnvelope:
    """A message as received, before parsing: where it came from, who wrote it and when we got it.

    `received_monotonic` is `time.perf_counter()` at the moment the listener got the event; it is the start
    of `signal_to_order_seconds`.
    """

    source: SignalSource
    channel_id: str
    message_id: str
    author_id: str
    text: str
    received_at: datetime
    received_monotonic: float
    authorized: bool
    unauthorized_reason: str | None = None
    reply_to_message_id: str | None = None
    # Just delivered by the gateway (not read from history, not a webhook that may be retried): it cannot
    # have been recorded yet but in a rare race, which the signal's UNIQUE key settles.
    live: bool = False


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """One order leg as we send it to a broker; `client_order_id` is derived from the signal."""

    client_order_id: str
    symbol: str
    asset_class: AssetClass
    side: Side
    type: OrderType
    quantity: Decimal
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    time_in_force: str = "gtc"
    reduce_only: bool = False


@dataclass(frozen=True, slots=True)
class OrderAck:
    """What a broker says about an order: its status, fills so far and the venue's id."""

    client_order_id: str
    status: OrderStatus
    broker_order_id: str | None = None
    filled_quantity: Decimal = Decimal(0)
    average_fill_price: Decimal | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Position:
    symbol: str
    quantity: Decimal  # negative for a short
    average_price: Decimal
    market_price: Decimal | None = None

    @property
    def unrealized_pnl(self) -> Decimal | None:
        if self.market_price is None:
            return None
        return (self.market_price - self.average_price) * self.quantity

    @property
    def notional(self) -> Decimal:
        price = self.market_price if self.market_price is not None else self.average_price
        return abs(self.quantity * price)


@dataclass(frozen=True, slots=True)
class Account:
    cash: Decimal
    equity: Decimal
    realized_pnl: Decimal = Decimal(0)
    currency: str = "USD"


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """The end of one message's journey through the pipeline, for the cog's reaction and the logs."""

    outcome: Outcome
    signal_id: str | None = None
    reason: str | None = None
    signal: Signal | None = None
    orders: tuple[OrderAck, ...] = field(default=())
    replayed: bool = False
    latency_seconds: float | None = None  # message received -> broker acknowledgement of its orders

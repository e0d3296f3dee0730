"""The public JSON shape of a signal (DESIGN.md "Signal schema"): Decimals as strings, absent facts null."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

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
    SignalKind,
    StopLevel,
    UpdateSignal,
)

JSONDict = dict[str, Any]


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _entry_to_dict(entry: Entry) -> JSONDict:
    if entry.type is EntryType.MARKET:
        return {"type": "market"}
    if entry.type is EntryType.RANGE:
        return {"type": "range", "low": _dec(entry.low), "high": _dec(entry.high)}
    return {"type": entry.type.value, "price": _dec(entry.price)}


def _stop_to_json(stop: StopLevel | None) -> str | None:
    if isinstance(stop, Decimal):
        return _dec(stop)
    return stop


def signal_to_dict(signal: Signal) -> JSONDict:
    """The DESIGN.md JSON object for a signal."""
    match signal:
        case OpenSignal():
            data: JSONDict = {
                "kind": "open",
                "side": signal.side.value,
                "symbol": signal.symbol,
                "asset_class": signal.asset_class.value,
                "entry": _entry_to_dict(signal.entry),
                "stop_loss": _dec(signal.stop_loss),
                "take_profits": [_dec(tp) for tp in signal.take_profits],
                "leverage": _dec(signal.leverage),
                "quantity": _dec(signal.quantity),
            }
            if signal.option is not None:
                data["option"] = {
                    "right": signal.option.right.value,
                    "strike": _dec(signal.option.strike),
                    "expiry": signal.option.expiry.isoformat(),
                }
            return data
        case CloseSignal():
            return {"kind": "close", "symbol": signal.symbol, "fraction": _dec(signal.fraction)}
        case UpdateSignal():
            return {
                "kind": "update",
                "symbol": signal.symbol,
                "stop_loss": _stop_to_json(signal.stop_loss),
                "take_profits": [_dec(tp) for tp in signal.take_profits],
            }
        case CancelSignal():
            return {"kind": "cancel", "symbol": signal.symbol}


class SchemaError(ValueError):
    """A stored or supplied signal object does not follow the schema."""


def _parse_dec(value: Any, name: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise SchemaError(f"{name}: {value!r} is not a number") from exc


def _require_dec(value: Any, name: str) -> Decimal:
    parsed = _parse_dec(value, name)
    if parsed is None:
        raise SchemaError(f"{name} is required")
    return parsed


def _entry_from_dict(data: JSONDict) -> Entry:
    kind = EntryType(data["type"])
    if kind is EntryType.MARKET:
        return Entry(kind)
    if kind is EntryType.RANGE:
        return Entry(
            kind,
            low=_require_dec(data.get("low"), "entry.low"),
            high=_require_dec(data.get("high"), "entry.high"),
        )
    return Entry(kind, price=_require_dec(data.get("price"), "entry.price"))


def _targets(data: JSONDict) -> tuple[Decimal, ...]:
    return tuple(_require_dec(tp, "take_profits") for tp in data.get("take_profits") or ())


def signal_from_dict(data: JSONDict) -> Signal:
    """Inverse of `signal_to_dict`; raises SchemaError on a malformed object."""
    try:
        kind = SignalKind(data["kind"])
        if kind is SignalKind.OPEN:
            option = data.get("option")
            return OpenSignal(
                side=Side(data["side"]),
                symbol=str(data["symbol"]),
                asset_class=AssetClass(data["asset_class"]),
                entry=_entry_from_dict(data.get("entry") or {"type": "market"}),
                stop_loss=_parse_dec(data.get("stop_loss"), "stop_loss"),
                take_profits=_targets(data),
                leverage=_parse_dec(data.get("leverage"), "leverage"),
                quantity=_parse_dec(data.get("quantity"), "quantity"),
                option=None
                if option is None
                else OptionContract(
                    right=OptionRight(option["right"]),
                    strike=_require_dec(option["strike"], "option.strike"),
                    expiry=date.fromisoformat(option["expiry"]),
                ),
            )
        if kind is SignalKind.CLOSE:
            return CloseSignal(symbol=data.get("symbol"), fraction=_parse_dec(data.get("fraction"), "fraction"))
        if kind is SignalKind.UPDATE:
            stop = data.get("stop_loss")
            return UpdateSignal(
                symbol=data.get("symbol"),
                stop_loss=BREAKEVEN if stop == BREAKEVEN else _parse_dec(stop, "stop_loss"),
                take_profits=_targets(data),
            )
        return CancelSignal(symbol=data.get("symbol"))
    except (KeyError, ValueError, TypeError) as exc:
        if isinstance(exc, SchemaError):
            raise
        raise SchemaError(f"malformed signal object: {exc}") from exc

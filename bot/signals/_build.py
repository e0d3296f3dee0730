"""From facts to a signal: decide what the message asks for, check it, and build the domain object."""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from bot.domain import (
    BREAKEVEN,
    MARKET_ENTRY,
    AssetClass,
    CancelSignal,
    CloseSignal,
    Entry,
    EntryType,
    OpenSignal,
    OptionContract,
    Side,
    Signal,
    StopLevel,
    UpdateSignal,
)
from bot.errors import InvalidSignal, NotASignal
from bot.signals._checks import Reference, check_open, check_positive
from bot.signals._facts import BARE_MANAGEMENT, COMMENTARY, NO_ACTION, NO_SYMBOL, NO_UPDATE, Facts
from bot.signals._lexicon import Role
from bot.signals._numbers import describe, show
from bot.signals._options import OptionSpec
from bot.signals._symbols import resolve

_ONE = Decimal(1)


class Context(NamedTuple):
    """What the builder needs besides the facts: the channel's options and the message's option contract."""

    default_asset_class: AssetClass | None
    quote_currency: str | None
    option: OptionSpec | None
    result: str | None  # a results word seen by the screen ("hit"), if any


def build(facts: Facts, context: Context) -> Signal:
    """The signal the facts describe; NotASignal or InvalidSignal (naming the problem) otherwise."""
    if facts.commentary is not None:
        raise NotASignal(COMMENTARY.format(facts.commentary))
    option = context.option
    if option is not None and facts.leading_btc and len(facts.refs) > 1:
        facts.refs.pop(0)  # "BTC SPY 450P 12/20": BTC is buy-to-close, not the coin
        facts.close = True
    if not _signal_like(facts):
        raise NotASignal(NO_ACTION)
    if facts.problems:
        raise InvalidSignal(facts.problems[0])
    if option is not None and option.problem is not None:
        raise InvalidSignal(option.problem)
    result = context.result or facts.result
    managing = facts.cancel or facts.close or facts.update or facts.breakeven
    if result is not None and not managing:
        raise NotASignal(f"a results post ('{result}'), not an instruction")
    if facts.cancel:
        return CancelSignal(_management_symbol(facts, context))
    if facts.close:
        if facts.update or facts.breakeven:
            # "Close 50% and move SL to entry": a signal carries one instruction; doing half of it silently
            # would leave the follower with a different position than the provider's.
            raise InvalidSignal("several instructions in one message (close and move the stop): send them separately")
        return _close(facts, context)
    if _is_update(facts):
        return _update(facts, context)
    if result is not None:
        raise NotASignal(f"a results post ('{result}'), not an instruction")
    return _open(facts, context)


def _signal_like(facts: Facts) -> bool:
    return bool(
        facts.sides
        or facts.open_side
        or facts.close
        or facts.cancel
        or facts.update
        or facts.breakeven
        or (facts.entry_marker and facts.refs and (facts.stops or facts.targets))
    )


def _is_update(facts: Facts) -> bool:
    if not (facts.update or facts.breakeven) or facts.open_side is not None:
        return False
    return not (facts.sides and (facts.entry or facts.market or facts.post or facts.pre))


# -- symbols -----------------------------------------------------------------------------------------------
def _symbol(facts: Facts, context: Context) -> tuple[str, AssetClass] | None:
    """The one instrument the message names; InvalidSignal when it names several."""
    found: list[tuple[str, AssetClass]] = []
    for strong in (True, False):
        for ref in facts.refs:
            if ref.strong is not strong:
                continue
            resolved = resolve(
                ref,
                hint=facts.hint,
                default=context.default_asset_class,
                crypto_cue=facts.crypto_cue,
                leverage=bool(facts.leverage),
                quote_currency=context.quote_currency,
            )
            if resolved is not None and resolved[0] not in (name for name, _ in found):
                found.append(resolved)
        if found:
            break
    if len(found) > 1:
        names = ", ".join(name for name, _ in found)
        if not any(ref.strong for ref in facts.refs):
            # Several bare capitalised words ("LONG LIVE THE KING"): more likely shouting than tickers.
            raise NotASignal(f"several words that could be tickers: {names}")
        raise InvalidSignal(f"several symbols in one signal: {names}")
    if not found:
        return None
    if context.option is not None:
        return found[0][0].split("/")[0], AssetClass.OPTION  # an option's symbol is its underlying
    return found[0]


def _management_symbol(facts: Facts, context: Context) -> str | None:
    symbol = _symbol(facts, context)
    if symbol is None and facts.unknown_words:
        # "Close half" applies to the replied-to signal; "Exit strategy" is talk. Without a symbol only the
        # bare instruction counts.
        raise NotASignal(BARE_MANAGEMENT)
    return None if symbol is None else symbol[0]


# -- management --------------------------------------------------------------------------------------------
def _close(facts: Facts, context: Context) -> CloseSignal:
    units = facts.pre + facts.quantity
    if units:
        raise InvalidSignal(
            f"closing a number of units ({describe(units)}) is not supported: give a fraction like 50% or 'half'"
        )
    fractions = sorted(set(facts.fractions + facts.percents))
    if len(fractions) > 1:
        raise InvalidSignal(f"several close fractions: {', '.join(_percent(f) for f in fractions)}")
    fraction = fractions[0] if fractions else None
    if fraction is not None and not 0 < fraction <= _ONE:
        raise InvalidSignal(f"close fraction {_percent(fraction)} must be more than 0% and at most 100%")
    if fraction == _ONE:
        fraction = None  # "close 100%" is "close": one spelling for one instruction
    return CloseSignal(_management_symbol(facts, context), fraction)


def _percent(fraction: Decimal) -> str:
    return f"{show((fraction * 100).normalize())}%"


def _update(facts: Facts, context: Context) -> UpdateSignal:
    stop: StopLevel | None = None
    if facts.breakeven:
        stop = BREAKEVEN
    elif len(facts.stops) > 1:
        raise InvalidSignal(f"several stop losses: {describe(facts.stops)}")
    elif facts.stops:
        stop = facts.stops[0]
        check_positive(stop, "stop loss")
    for target in facts.targets:
        check_positive(target, "take profit")
    if stop is None and not facts.targets:
        raise NotASignal(NO_UPDATE)
    return UpdateSignal(_management_symbol(facts, context), stop, tuple(facts.targets))


# -- open --------------------------------------------------------------------------------------------------
def _open(facts: Facts, context: Context) -> OpenSignal:
    symbol = _symbol(facts, context)
    if symbol is None:
        if facts.entry or facts.stops or facts.targets:
            raise InvalidSignal("the signal names no symbol (write tickers in capitals or with a $)")
        raise NotASignal(NO_SYMBOL)
    name, asset_class = symbol
    side = _stated_side(facts, context)
    prices = _entry_prices(facts)
    if side is None:
        side = _infer_side(facts, prices)
    entry, reference = _entry(facts, side, prices)
    signal = OpenSignal(
        side=side,
        symbol=name,
        asset_class=asset_class,
        entry=entry,
        stop_loss=_one(facts.stops, "stop losses"),
        take_profits=tuple(facts.targets),
        leverage=_leverage(facts, context),
        quantity=_one(_quantities(facts, context), "quantities"),
        option=_contract(facts, context, name),
    )
    check_open(signal, reference)
    return signal


def _stated_side(facts: Facts, context: Context) -> Side | None:
    sides = {side for side, _ in facts.sides}
    if facts.open_side is not None:
        sides.add(facts.open_side)
    if len(sides) > 1:
        words = sorted({word.lower() for _, word in facts.sides})
        raise InvalidSignal(f"conflicting directions: {' and '.join(words) or 'buy and sell'}")
    if context.option is not None and facts.open_side is None and any(w.lower() == "sell" for _, w in facts.sides):
        raise InvalidSignal("'sell' on an option is ambiguous: write STO (sell to open) or STC (sell to close)")
    return next(iter(sides), None)


def _entry_prices(facts: Facts) -> list[Decimal]:
    if facts.entry and facts.post:
        raise InvalidSignal(f"unexpected number {describe(facts.post)}: give prices after a keyword (@, SL, TP)")
    return facts.entry or facts.post


def _infer_side(facts: Facts, prices: list[Decimal]) -> Side:
    """No direction word: a stop below the entry (or targets above it) means a buy, and the reverse a sell."""
    if not (facts.entry_marker and prices and (facts.stops or facts.targets)):
        raise NotASignal("no direction (buy/sell/long/short) in the message")
    low, high = min(prices), max(prices)
    votes = {Side.BUY if stop < low else Side.SELL for stop in facts.stops if stop < low or stop > high}
    votes |= {Side.BUY if tp > high else Side.SELL for tp in facts.targets if tp > high or tp < low}
    if len(votes) != 1:
        raise InvalidSignal("the direction is unclear: the stop and targets do not sit on opposite sides of the entry")
    return votes.pop()


def _entry(facts: Facts, side: Side, prices: list[Decimal]) -> tuple[Entry, Reference | None]:
    if not prices:
        return MARKET_ENTRY, None
    low, high = min(prices), max(prices)
    if facts.market:
        return MARKET_ENTRY, (low, high)  # "BUY NOW @ 1920": market, checked against the quoted price
    breakout = facts.stop_order or (facts.relation is (Role.ABOVE if side is Side.BUY else Role.BELOW))
    if breakout:
        if low != high:
            raise InvalidSignal(f"a breakout entry needs one price, not {describe(prices)}")
        return Entry(EntryType.BREAKOUT, price=low), None
    if low == high:
        return Entry(EntryType.LIMIT, price=low), None
    return Entry(EntryType.RANGE, low=low, high=high), None


def _leverage(facts: Facts, context: Context) -> Decimal | None:
    values = sorted(set(facts.leverage))
    if context.option is not None or len(values) == 2:
        # A recommended range ("10x-20x") leaves the choice to the follower: no leverage is imposed rather than
        # either end guessed; the account's own setting and the risk limit apply.
        return None
    return _one(values, "leverage values")


def _quantities(facts: Facts, context: Context) -> list[Decimal]:
    if context.option is not None:
        return facts.pre + facts.quantity + facts.leverage  # "BTO 2x SPY 580P": options traders count contracts
    return facts.pre + facts.quantity


def _one(values: list[Decimal], name: str) -> Decimal | None:
    if len(set(values)) > 1:
        raise InvalidSignal(f"several {name}: {describe(values)}")
    return values[0] if values else None


def _contract(facts: Facts, context: Context, symbol: str) -> OptionContract | None:
    option = context.option
    if option is None:
        if facts.option_words:
            raise InvalidSignal("an option signal needs a strike and an expiry, e.g. 450C 12/20")
        return None
    if option.expiry is None:
        raise InvalidSignal(f"option {symbol} {show(option.strike)}{option.right.value[0].upper()} has no expiry date")
    return OptionContract(option.right, option.strike, option.expiry)

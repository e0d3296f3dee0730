"""Reading tokens into facts: which action, which symbol, which numbers belong to which field.

The reader is a small state machine. A keyword (`entry`, `SL`, `TP`, `leverage`, `qty`, `@`) opens a field
and the numbers after it belong to that field until the next keyword; a field carries over to the next line
only when that line starts with a number (Cornix target lists). Numbers outside any field are placed by
position (`_placing.py`): between the action and the symbol they are a quantity ("Sell 5 NVDA"), after the
symbol and before `@` too ("BUY AAPL 100 @ 150"), otherwise the entry price ("LONG BTC 60000-60500 SL 59000").
Lines with three or more words outside the grammar are commentary and are skipped whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

from bot.domain import AssetClass, Side
from bot.signals._facts import SLOT_OF, Facts
from bot.signals._lexicon import TIMEFRAME_RE, Role
from bot.signals._placing import (
    ENTRY_SLOT,
    LEV,
    LEV_SLOT,
    NO_SLOT,
    NUM,
    PCT,
    PUNCT,
    QTY_SLOT,
    SL_SLOT,
    SYMBOL,
    TP_SLOT,
    WORD,
    _Placing,
)
from bot.signals._tokens import ERROR, KIND, LINE, REF, ROLE, TEXT, VALUE, Token

PROSE_WORDS = 3
_SHORT_MESSAGE_WORDS = 4
_HALF = Decimal("0.5")
_QUARTER = Decimal("0.25")
_HINTS = {Role.EQUITY_HINT: AssetClass.EQUITY, Role.CRYPTO_HINT: AssetClass.CRYPTO, Role.FOREX_HINT: AssetClass.FOREX}
_BUY, _BTO, _SL, _TP, _TO, _UPDATE, _FILLER = Role.BUY, Role.BTO, Role.SL, Role.TP, Role.TO, Role.UPDATE, Role.FILLER
_SELL_ROLE = Role.SELL
_PRICE_SLOTS = {SL_SLOT: "stop loss", TP_SLOT: "take profit", ENTRY_SLOT: "entry"}
_BUY_SIDE, _SELL_SIDE = Side.BUY, Side.SELL


_ORDINAL_RE = re.compile(r"\d+(?:st|nd|rd|th)")


def _mistyped_number(text: str) -> bool:
    """A digit-led word that is no ordinal ("2nd") or timeframe ("4h"): a price with a typo, like "16O"."""
    return text[0].isdigit() and not _ORDINAL_RE.fullmatch(text) and not TIMEFRAME_RE.fullmatch(text)


def read(tokens: list[Token]) -> Facts:
    """The facts of a tokenized message."""
    unknown: dict[int, int] = {}  # words outside the grammar, per line
    for token in tokens:
        if token[ROLE] is None and token[KIND] is WORD:
            unknown[token[LINE]] = unknown.get(token[LINE], 0) + 1
    facts = Facts()
    kept = tokens
    if unknown:
        prose: set[int] = set()
        for line, count in unknown.items():
            if count >= PROSE_WORDS:
                prose.add(line)
            else:
                facts.unknown_words += count
        if prose:
            kept = [t for t in tokens if t[LINE] not in prose]
    return _Reader(tokens, kept, facts).run()


class _Reader(_Placing):
    __slots__ = ()

    def run(self) -> Facts:
        line = -1
        for position, token in enumerate(self.tokens):
            if position < self.skip_to:
                continue
            kind = token[KIND]
            if token[LINE] != line:
                if line >= 0:
                    self._end_line()
                line = token[LINE]
                if kind is not NUM:
                    self.slot = NO_SLOT
                    self.count = 0
            if kind is WORD:
                self.line_words += 1
                role = token[ROLE]
                if role is None and self.slot in _PRICE_SLOTS and _mistyped_number(token[TEXT]):
                    # "SL 14S", "TP 16O": a mistyped price must not quietly leave the trade without it
                    self.facts.problems.append(f"unreadable number '{token[TEXT]}' for the {_PRICE_SLOTS[self.slot]}")
                elif role is not None and role is not _FILLER:
                    self.anchored = True
                    action = _ON_KEYWORD.get(role)
                    if action is not None:
                        action(self, position, token)
            elif kind is NUM:
                self._number(position, token)
            elif kind is SYMBOL:
                self.anchored = True
                self._symbol(position, token)
            elif kind is PCT:
                self._percent(position, token)
            elif kind is LEV:
                if token[VALUE] is None:
                    self.facts.problems.append(token[ERROR] or f"unreadable leverage '{token[TEXT]}'")
                else:
                    self.facts.leverage.append(token[VALUE])
            elif token[TEXT] == "@":
                self._at()
        self._end_line()
        return self.facts

    def _end_line(self) -> None:
        if self.pending:
            if not self.anchored and self.line_words:
                self.pending.clear()  # "Risk: 1-2% of deposit": the numbers of a line that names no field
            else:
                self._flush()
        self.anchored = False
        self.line_words = 0

    def _symbol(self, position: int, token: Token) -> None:
        assert token[REF] is not None
        ref = token[REF]
        first = position == 0 and token[LINE] == 0  # nothing before it, not even a line break
        if first and not self.facts.refs and not self.seen_action and ref.base == "BTC" and not ref.prefix:
            self.facts.leading_btc = ref.quote is None
        self.facts.refs.append(ref)
        if not self.seen_symbol:
            self.seen_symbol = True
            self.facts.pre.extend(value for value, _ in self.pending)
            self.pending.clear()

    # -- keywords, by role (`_ON_KEYWORD`) ------------------------------------------------------------------
    def _side(self, position: int, token: Token) -> None:
        side = _BUY_SIDE if token[ROLE] is _BUY else _SELL_SIDE
        following = self._next(position)
        if following is not None and following[KIND] is PUNCT and following[TEXT] == ":":
            # "Buy: 0.011 - 0.012 / Sell: 0.013 - 0.015": spot channels label the entry and the targets.
            if side.opposite in self.labels:
                self._flush()
                self._set(TP_SLOT)
                return
            self.labels.add(side)
            self.facts.sides.append((side, token[TEXT]))
            self._action()
            self._enter(ENTRY_SLOT)
            return
        self.facts.sides.append((side, token[TEXT]))
        self._action()

    def _open(self, position: int, token: Token) -> None:
        self.facts.open_side = _BUY_SIDE if token[ROLE] is _BTO else _SELL_SIDE
        self._action()

    def _close(self, position: int, token: Token) -> None:
        previous = self._previous(position)
        if previous is not None and previous[KIND] is WORD and _timeframe(previous[TEXT]):
            return  # "SL 59000 on 4h close"
        following = self._next(position)
        if token[TEXT] == "exit" and following is not None and (following[KIND] is NUM or following[TEXT] == ":"):
            self._flush()
            self._set(TP_SLOT)  # "Entry 150 Exit 160": an exit price is a target
            return
        self.facts.close = True
        self._action()

    def _cancel(self, position: int, token: Token) -> None:
        self.facts.cancel = True
        self._action()

    def _update(self, position: int, token: Token) -> None:
        self.facts.update = True
        self.seen_action = True  # keeps the slot: in "SL moved to 145" the verb follows the keyword

    def _new(self, position: int, token: Token) -> None:
        following = self._next(position)
        self.facts.update = self.facts.update or (following is not None and following[ROLE] in (_SL, _TP))

    def _breakeven(self, position: int, token: Token) -> None:
        previous = self._previous(position)
        in_context = self.slot is SL_SLOT or (previous is not None and previous[ROLE] in (_TO, _SL, _UPDATE))
        spelled_out = token[TEXT].lower() != "be"  # "breakeven", "break even", "b/e", "BEP"
        # A bare "be" is English; only "BE" in a message of a few words ("BE", "BE on AAPL") means breakeven.
        if in_context or spelled_out or (token[TEXT] == "BE" and self._words() <= _SHORT_MESSAGE_WORDS):
            self.facts.breakeven = True

    def _words(self) -> int:
        """Words and symbols in the whole message, commentary lines included."""
        return sum(1 for token in self.message if token[KIND] is WORD or token[KIND] is SYMBOL)

    def _to(self, position: int, token: Token) -> None:
        previous = self._previous(position)
        if previous is not None and previous[ROLE] is _SL and self.count == 0:
            self.facts.update = True  # "SL to 145", "stop to breakeven"

    def _entry(self, position: int, token: Token) -> None:
        previous = self.tokens[position - 1] if position else None
        if previous is not None and previous[LINE] != token[LINE]:
            previous = None
        if token[TEXT] == "price" and previous is not None and previous[ROLE] in SLOT_OF:
            return  # "Entry price", "Take profit price": part of the keyword before it
        if self.slot is SL_SLOT and self.count == 0:
            self.facts.breakeven = True  # "move SL to entry", "SL: entry"
        else:
            self._enter(ENTRY_SLOT)

    def _at_word(self, position: int, token: Token) -> None:
        self._at()

    def _at(self) -> None:
        if self.slot in (SL_SLOT, TP_SLOT, LEV_SLOT, QTY_SLOT) and self.count == 0:
            return  # "SL at 145", "TP @ 160"
        self._enter(ENTRY_SLOT)

    def _limit(self, position: int, token: Token) -> None:
        self._enter(ENTRY_SLOT)

    def _market(self, position: int, token: Token) -> None:
        self.facts.market = True
        self._pending_to_quantity()

    def _relation(self, position: int, token: Token) -> None:
        if self.slot not in (SL_SLOT, TP_SLOT):
            self.facts.relation = token[ROLE]
            self._enter(ENTRY_SLOT)

    def _stop(self, position: int, token: Token) -> None:
        previous = self._previous(position)
        if previous is not None and previous[ROLE] in (_BUY, _SELL_ROLE) and self.tokens[position - 1] is previous:
            self.facts.stop_order = True  # "BUY STOP 1.0900" is a breakout order, not a stop loss
            self._enter(ENTRY_SLOT)
            return
        self._flush()
        self._set(SL_SLOT)

    def _field(self, position: int, token: Token) -> None:
        assert token[ROLE] is not None
        self._flush()
        self._set(SLOT_OF[token[ROLE]])

    def _flag(self, position: int, token: Token) -> None:
        facts = self.facts
        role = token[ROLE]
        if role is Role.HALF:
            facts.fractions.append(_HALF)
        elif role is Role.QUARTER:
            facts.fractions.append(_QUARTER)
        elif role is Role.ALL:
            facts.close_all = True
        elif role in _HINTS:
            facts.hint = _HINTS[role]
        elif role is Role.OPTION_WORD:
            facts.option_words = True
        elif role is Role.CRYPTO_CUE:
            facts.crypto_cue = True
        elif role is Role.COMMENTARY:
            facts.commentary = token[TEXT]
        elif role is Role.RESULT:
            facts.result = token[TEXT]


def _timeframe(word: str) -> bool:
    # Every timeframe starts or ends with a digit ("4h", "m15"): most words are ruled out without the regex.
    return (word[0].isdigit() or word[-1].isdigit()) and TIMEFRAME_RE.fullmatch(word) is not None


# What each keyword does; fillers, units ("shares") and distances ("pips") do nothing by themselves.
_ON_KEYWORD: dict[Role, Callable[[_Reader, int, Token], None]] = {
    **dict.fromkeys((Role.BUY, Role.SELL), _Reader._side),
    **dict.fromkeys((Role.BTO, Role.STO), _Reader._open),
    Role.CLOSE: _Reader._close,
    Role.CANCEL: _Reader._cancel,
    Role.UPDATE: _Reader._update,
    Role.NEW: _Reader._new,
    Role.BE: _Reader._breakeven,
    Role.TO: _Reader._to,
    Role.ENTRY: _Reader._entry,
    Role.AT: _Reader._at_word,
    Role.LIMIT: _Reader._limit,
    Role.MARKET: _Reader._market,
    **dict.fromkeys((Role.ABOVE, Role.BELOW), _Reader._relation),
    Role.SL: _Reader._stop,
    **dict.fromkeys((Role.TP, Role.LEV, Role.QTY), _Reader._field),
    **dict.fromkeys(
        (Role.HALF, Role.QUARTER, Role.ALL, *_HINTS, Role.OPTION_WORD, Role.CRYPTO_CUE, Role.COMMENTARY, Role.RESULT),
        _Reader._flag,
    ),
}

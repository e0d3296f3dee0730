"""Reading tokens into facts: which action, which symbol, which numbers belong to which field.

The reader is a small state machine. A keyword (`entry`, `SL`, `TP`, `leverage`, `qty`, `@`) opens a field
and the numbers after it belong to that field until the next keyword; a field carries over to the next line
only when that line starts with a number (Cornix target lists). Numbers outside any field are placed by
position: between the action and the symbol they are a quantity ("Sell 5 NVDA"), after the symbol and
before `@` too ("BUY AAPL 100 @ 150"), otherwise the entry price ("LONG BTC 60000-60500 SL 59000").
Lines with three or more words outside the grammar are commentary and are skipped whole.
"""

from __future__ import annotations

from decimal import Decimal

from bot.domain import AssetClass, Side
from bot.signals._facts import SLOT_OF, Facts, Slot
from bot.signals._lexicon import TIMEFRAME_RE, Role
from bot.signals._numbers import show
from bot.signals._tokens import Kind, Token

PROSE_WORDS = 3
_MAX_INDEX = 30
_SHORT_MESSAGE_WORDS = 4
_HALF = Decimal("0.5")
_QUARTER = Decimal("0.25")
_HINTS = {Role.EQUITY_HINT: AssetClass.EQUITY, Role.CRYPTO_HINT: AssetClass.CRYPTO, Role.FOREX_HINT: AssetClass.FOREX}


def read(tokens: list[Token]) -> Facts:
    """The facts of a tokenized message."""
    return _Reader(tokens).run()


class _Reader:
    def __init__(self, tokens: list[Token]) -> None:
        unknown: dict[int, int] = {}  # words outside the grammar, per line
        words = 0
        for token in tokens:
            if token.kind is Kind.WORD:
                words += 1
                if token.role is None:
                    unknown[token.line] = unknown.get(token.line, 0) + 1
            elif token.kind is Kind.SYMBOL:
                words += 1
        prose = {line for line, count in unknown.items() if count >= PROSE_WORDS}
        self.tokens = [t for t in tokens if t.line not in prose] if prose else tokens
        self.facts = Facts(unknown_words=sum(count for line, count in unknown.items() if line not in prose))
        self.slot = Slot.NONE
        self.count = 0  # numbers read into the current slot
        self.seen_action = False
        self.seen_symbol = False
        self.pending: list[tuple[Decimal, bool]] = []  # loose numbers of this line, (value, before the symbol)
        self.labels: set[Side] = set()
        self.skip_to = 0
        self.words = words
        self.anchored = False  # the current line has a keyword or a symbol
        self.line_words = 0

    def run(self) -> Facts:
        line_start = True
        for position, token in enumerate(self.tokens):
            if position < self.skip_to:
                continue
            kind = token.kind
            if kind is Kind.NL:
                self._end_line()
                line_start = True
                continue
            if line_start:
                line_start = False
                if kind is not Kind.NUM:
                    self._set(Slot.NONE)
            if kind is Kind.WORD:
                self.line_words += 1
                role = token.role
                if role is not None and role is not Role.FILLER:
                    self.anchored = True
                    self._word(position, token, role)
            elif kind is Kind.NUM:
                self._number(position, token)
            elif kind is Kind.SYMBOL:
                self.anchored = True
                self._symbol(position, token)
            elif kind is Kind.PCT:
                self._percent(position, token)
            elif kind is Kind.LEV:
                if token.value is None:
                    self.facts.problems.append(token.error or f"unreadable leverage '{token.text}'")
                else:
                    self.facts.leverage.append(token.value)
            elif token.text == "@":
                self._at()
        self._end_line()
        return self.facts

    def _end_line(self) -> None:
        if self.pending and not self.anchored and self.line_words:
            self.pending.clear()  # "Risk: 1-2% of deposit": the numbers of a line that names no field
        self._flush()
        self.anchored = False
        self.line_words = 0

    # -- words ---------------------------------------------------------------------------------------------
    def _word(self, position: int, token: Token, role: Role) -> None:
        facts = self.facts
        if role is Role.BUY or role is Role.SELL:
            self._side(position, token, Side.BUY if role is Role.BUY else Side.SELL)
        elif role is Role.BTO or role is Role.STO:
            facts.open_side = Side.BUY if role is Role.BTO else Side.SELL
            self._action()
        elif role is Role.CLOSE:
            self._close(position, token)
        elif role is Role.CANCEL:
            facts.cancel = True
            self._action()
        elif role is Role.UPDATE:
            facts.update = True
            self.seen_action = True  # keeps the slot: in "SL moved to 145" the verb follows the keyword
        elif role is Role.NEW:
            following = self._next(position)
            facts.update = facts.update or (following is not None and following.role in (Role.SL, Role.TP))
        elif role is Role.BE:
            self._breakeven(position, token)
        elif role is Role.TO:
            previous = self._previous(position)
            if previous is not None and previous.role is Role.SL and self.count == 0:
                facts.update = True  # "SL to 145", "stop to breakeven"
        else:
            self._keyword(position, token, role)

    def _keyword(self, position: int, token: Token, role: Role) -> None:
        facts = self.facts
        if role is Role.ENTRY:
            previous = self.tokens[position - 1] if position else None
            if token.text == "price" and previous is not None and previous.role in SLOT_OF:
                return  # "Entry price", "Take profit price": part of the keyword before it
            if self.slot is Slot.SL and self.count == 0:
                facts.breakeven = True  # "move SL to entry", "SL: entry"
            else:
                self._enter(Slot.ENTRY)
        elif role is Role.AT:
            self._at()
        elif role is Role.LIMIT:
            self._enter(Slot.ENTRY)
        elif role is Role.MARKET:
            facts.market = True
            self._pending_to_quantity()
        elif role is Role.ABOVE or role is Role.BELOW:
            if self.slot not in (Slot.SL, Slot.TP):
                facts.relation = role
                self._enter(Slot.ENTRY)
        elif role is Role.SL:
            self._stop(position)
        elif role in SLOT_OF:
            self._flush()
            self._set(SLOT_OF[role])
        else:
            self._flag(token, role)

    def _flag(self, token: Token, role: Role) -> None:
        facts = self.facts
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
            facts.commentary = token.text
        elif role is Role.RESULT:
            facts.result = token.text

    def _side(self, position: int, token: Token, side: Side) -> None:
        following = self._next(position)
        if following is not None and following.kind is Kind.PUNCT and following.text == ":":
            # "Buy: 0.011 - 0.012 / Sell: 0.013 - 0.015": spot channels label the entry and the targets.
            if side.opposite in self.labels:
                self._flush()
                self._set(Slot.TP)
                return
            self.labels.add(side)
            self.facts.sides.append((side, token.text))
            self._action()
            self._enter(Slot.ENTRY)
            return
        self.facts.sides.append((side, token.text))
        self._action()

    def _close(self, position: int, token: Token) -> None:
        previous = self._previous(position)
        if previous is not None and previous.kind is Kind.WORD and TIMEFRAME_RE.fullmatch(previous.text):
            return  # "SL 59000 on 4h close"
        following = self._next(position)
        if token.text == "exit" and following is not None and (following.kind is Kind.NUM or following.text == ":"):
            self._flush()
            self._set(Slot.TP)  # "Entry 150 Exit 160": an exit price is a target
            return
        self.facts.close = True
        self._action()

    def _breakeven(self, position: int, token: Token) -> None:
        previous = self._previous(position)
        in_context = self.slot is Slot.SL or (previous is not None and previous.role in (Role.TO, Role.SL, Role.UPDATE))
        spelled_out = token.text.lower() != "be"  # "breakeven", "break even", "b/e", "BEP"
        # A bare "be" is English; only "BE" in a message of a few words ("BE", "BE on AAPL") means breakeven.
        if in_context or spelled_out or (token.text == "BE" and self.words <= _SHORT_MESSAGE_WORDS):
            self.facts.breakeven = True

    def _stop(self, position: int) -> None:
        previous = self._previous(position)
        if previous is not None and previous.role in (Role.BUY, Role.SELL) and self.tokens[position - 1] is previous:
            self.facts.stop_order = True  # "BUY STOP 1.0900" is a breakout order, not a stop loss
            self._enter(Slot.ENTRY)
            return
        self._flush()
        self._set(Slot.SL)

    def _at(self) -> None:
        if self.slot in (Slot.SL, Slot.TP, Slot.LEV, Slot.QTY) and self.count == 0:
            return  # "SL at 145", "TP @ 160"
        self._enter(Slot.ENTRY)

    def _enter(self, slot: Slot) -> None:
        self.facts.entry_marker = True
        self._pending_to_quantity()
        self._set(slot)

    def _action(self) -> None:
        self.seen_action = True
        self._set(Slot.NONE)

    def _symbol(self, position: int, token: Token) -> None:
        assert token.ref is not None
        ref = token.ref
        if not self.facts.refs and not self.seen_action and position == 0 and ref.base == "BTC" and not ref.prefix:
            self.facts.leading_btc = ref.quote is None
        self.facts.refs.append(ref)
        if not self.seen_symbol:
            self.seen_symbol = True
            self.facts.pre.extend(value for value, _ in self.pending)
            self.pending.clear()

    # -- numbers -------------------------------------------------------------------------------------------
    def _number(self, position: int, token: Token) -> None:
        value = token.value
        if value is None:
            self.facts.problems.append(token.error or f"unreadable number '{token.text}'")
            return
        if position and self.tokens[position - 1].text == "-" and self._negative(position):
            self.facts.problems.append(f"negative number -{token.text}: prices and sizes are positive")
            return
        following = self._next(position)
        if following is not None:
            if following.role is Role.UNIT:
                self.facts.quantity.append(value)  # "100 shares", "0.5 lot"
                return
            if following.role is Role.RELATIVE:
                self._relative(token, following.text)
                return
            if following.kind is Kind.PUNCT:
                if self.slot is not Slot.NONE and len(token.text) <= 2 and self._is_index(position, value):
                    return
                if self.slot is Slot.NONE and following.text == "/" and self._fraction(position, value):
                    return
            elif self.slot is not Slot.NONE and len(token.text) <= 2 and self._is_index(position, value):
                return
        self._place(value)

    def _place(self, value: Decimal) -> None:
        facts = self.facts
        slot = self.slot
        self.count += 1
        if slot is Slot.ENTRY:
            facts.entry.append(value)
        elif slot is Slot.SL:
            facts.stops.append(value)
        elif slot is Slot.TP:
            facts.targets.append(value)
        elif slot is Slot.LEV:
            facts.leverage.append(value.normalize())
        elif slot is Slot.QTY:
            facts.quantity.append(value)
            self._set(Slot.NONE)
        elif self.seen_action or self.seen_symbol:
            self.pending.append((value, not self.seen_symbol))

    def _percent(self, position: int, token: Token) -> None:
        if token.error is not None:
            self.facts.problems.append(token.error)
            return
        assert token.value is not None
        previous = self.tokens[position - 1] if position else None
        signed = previous is not None and previous.text in "+-" and token.glued
        if self.slot in (Slot.SL, Slot.TP) and self.count == 0:
            name = "stop loss" if self.slot is Slot.SL else "take profit"
            written = f"{previous.text}{token.text}" if signed and previous is not None else token.text
            self.facts.problems.append(f"{name} {written} is relative: give a price")
        elif signed:
            return  # "TP1 61000 (+1.6%)", "Close AAPL +15%": a gain annotation, never a size
        elif self.slot is Slot.QTY:
            self._set(Slot.NONE)  # "size 2%": percent sizing is the caller's business
        elif self.slot is Slot.NONE:
            self.facts.percents.append(token.value)

    def _relative(self, token: Token, unit: str) -> None:
        if self.slot in (Slot.SL, Slot.TP) and self.count == 0:
            name = "stop loss" if self.slot is Slot.SL else "take profit"
            self.facts.problems.append(f"{name} of {token.text} {unit} is a distance: give a price")

    def _negative(self, position: int) -> bool:
        if position == 0 or not self.tokens[position].glued:
            return False
        sign = self.tokens[position - 1]
        if sign.text != "-" or sign.kind is not Kind.PUNCT:
            return False
        before = self.tokens[position - 2] if position >= 2 else None
        if before is None or before.kind is Kind.NL:
            return True
        if before.kind in (Kind.NUM, Kind.LEV, Kind.PCT):
            return False
        return not sign.glued or (before.kind is Kind.PUNCT and before.text in ":@=")

    def _is_index(self, position: int, value: Decimal) -> bool:
        """`1)`, `1.`, `Target 1: ...`, `TP 1 - ...`: a list number, not a price."""
        token = self.tokens[position]
        if not token.text.isdigit() or not 0 < value <= _MAX_INDEX:
            return False
        following = self._next(position)
        after = self._next(position + 1) if following is not None else None
        if following is None or after is None or after.kind is not Kind.NUM:
            return False
        marker = following.text in ")]:" or (following.text == "." and self.slot is not Slot.NONE)
        if following.kind is Kind.PUNCT and following.glued and marker:
            return True
        slots = {Slot.TP: self.facts.targets, Slot.ENTRY: self.facts.entry, Slot.SL: self.facts.stops}
        listed = slots.get(self.slot, [])
        sequential = value == len(listed) + 1 and after.value != value + 1
        if following.kind is Kind.PUNCT and following.text in "-=" and self.slot is Slot.TP:
            return sequential
        previous = self._previous(position)
        keyword = previous is not None and previous.role in (Role.TP, Role.ENTRY) and previous.rank is None
        return keyword and following.kind is Kind.NUM and sequential

    def _fraction(self, position: int, value: Decimal) -> bool:
        """`close 1/2`: a fraction written with a slash."""
        slash = self._next(position)
        denominator = self._next(position + 1) if slash is not None else None
        if slash is None or denominator is None or slash.text != "/" or denominator.kind is not Kind.NUM:
            return False
        if not (self.tokens[position].text.isdigit() and denominator.text.isdigit()):
            return False
        bottom = denominator.value
        if bottom is None or not 0 < value < bottom <= 10:
            return False
        fraction = value / bottom
        if fraction * bottom != value:
            self.facts.problems.append(f"fraction {value}/{bottom} is not exact: write it as a percentage")
        self.facts.fractions.append(fraction)
        self.skip_to = position + 3
        return True

    # -- helpers -------------------------------------------------------------------------------------------
    def _set(self, slot: Slot) -> None:
        self.slot = slot
        self.count = 0

    def _flush(self) -> None:
        for value, before_symbol in self.pending:
            (self.facts.pre if before_symbol else self.facts.post).append(value)
        self.pending.clear()

    def _pending_to_quantity(self) -> None:
        self.facts.quantity.extend(value for value, _ in self.pending)
        self.pending.clear()

    def _next(self, position: int) -> Token | None:
        following = position + 1
        if following < len(self.tokens) and self.tokens[following].kind is not Kind.NL:
            return self.tokens[following]
        return None

    def _previous(self, position: int) -> Token | None:
        """The nearest earlier word, symbol or number on the same line (punctuation skipped)."""
        line = self.tokens[position].line
        for index in range(position - 1, -1, -1):
            token = self.tokens[index]
            if token.kind is Kind.NL or token.line != line:
                return None
            if token.kind is not Kind.PUNCT:
                return token
        return None


def describe(values: list[Decimal]) -> str:
    return ", ".join(show(value) for value in values)

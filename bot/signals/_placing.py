"""Where the reader puts a number: the open field, a list index, a fraction, or a refusal of a negative sign.

`_Placing` holds the reader's state and its number rules; `_Reader` (in `_reader.py`) adds the keywords and
the walk over the tokens.
"""

from __future__ import annotations

from decimal import Decimal

from bot.domain import Side
from bot.signals._facts import Facts, Slot
from bot.signals._lexicon import Role
from bot.signals._tokens import ERROR, GLUED, KIND, LINE, RANK, ROLE, TEXT, VALUE, Kind, Token

_ZERO = Decimal(0)
_MAX_INDEX = Decimal(30)

# The reader compares kinds, roles and slots several times per token, and CPython 3.11 resolves `Role.SL`
# through EnumType.__getattr__ (~70 ns, more than the comparison), so the per-token code uses these names.
NUM, WORD, SYMBOL, PUNCT, PCT, LEV = Kind.NUM, Kind.WORD, Kind.SYMBOL, Kind.PUNCT, Kind.PCT, Kind.LEV
NO_SLOT, ENTRY_SLOT, SL_SLOT, TP_SLOT, LEV_SLOT, QTY_SLOT = Slot.NONE, Slot.ENTRY, Slot.SL, Slot.TP, Slot.LEV, Slot.QTY
_TP, _ENTRY, _UNIT, _RELATIVE = Role.TP, Role.ENTRY, Role.UNIT, Role.RELATIVE


class _Placing:
    __slots__ = (
        "anchored",
        "count",
        "facts",
        "labels",
        "line_words",
        "message",
        "pending",
        "seen_action",
        "seen_symbol",
        "skip_to",
        "slot",
        "tokens",
    )

    def __init__(self, tokens: list[Token], kept: list[Token], facts: Facts) -> None:
        self.message = tokens  # every token, commentary lines included
        self.tokens = kept  # the tokens of the lines that are read
        self.facts = facts
        self.slot = NO_SLOT
        self.count = 0  # numbers read into the current slot
        self.seen_action = False
        self.seen_symbol = False
        self.pending: list[tuple[Decimal, bool]] = []  # loose numbers of this line, (value, before the symbol)
        self.labels: set[Side] = set()
        self.skip_to = 0
        self.anchored = False  # the current line has a keyword or a symbol
        self.line_words = 0

    def _number(self, position: int, token: Token) -> None:
        value = token[VALUE]
        if value is None:
            self.facts.problems.append(token[ERROR] or f"unreadable number '{token[TEXT]}'")
            return
        if position and self.tokens[position - 1][TEXT] == "-" and self._negative(position):
            self.facts.problems.append(f"negative number -{token[TEXT]}: prices and sizes are positive")
            return
        tokens = self.tokens
        following = tokens[position + 1] if position + 1 < len(tokens) else None
        if following is not None and following[LINE] == token[LINE]:
            if following[ROLE] is _UNIT:
                self.facts.quantity.append(value)  # "100 shares", "0.5 lot"
                return
            if following[ROLE] is _RELATIVE:
                self._relative(token, following[TEXT])
                return
            if following[KIND] is PUNCT:
                if self.slot is not NO_SLOT and len(token[TEXT]) <= 2 and self._is_index(position, value):
                    return
                if self.slot is NO_SLOT and following[TEXT] == "/" and self._fraction(position, value):
                    return
            elif self.slot is not NO_SLOT and len(token[TEXT]) <= 2 and self._is_index(position, value):
                return
        self._place(value)

    def _place(self, value: Decimal) -> None:
        facts = self.facts
        slot = self.slot
        self.count += 1
        if slot is ENTRY_SLOT:
            facts.entry.append(value)
        elif slot is SL_SLOT:
            facts.stops.append(value)
        elif slot is TP_SLOT:
            facts.targets.append(value)
        elif slot is LEV_SLOT:
            facts.leverage.append(value.normalize())
        elif slot is QTY_SLOT:
            facts.quantity.append(value)
            self._set(NO_SLOT)
        elif self.seen_action or self.seen_symbol:
            self.pending.append((value, not self.seen_symbol))

    def _percent(self, position: int, token: Token) -> None:
        if token[ERROR] is not None:
            self.facts.problems.append(token[ERROR])
            return
        assert token[VALUE] is not None
        previous = self.tokens[position - 1] if position else None
        if previous is not None and previous[LINE] != token[LINE]:
            previous = None
        signed = previous is not None and previous[TEXT] in "+-" and token[GLUED]
        if self.slot in (SL_SLOT, TP_SLOT) and self.count == 0:
            name = "stop loss" if self.slot is SL_SLOT else "take profit"
            written = f"{previous[TEXT]}{token[TEXT]}" if signed and previous is not None else token[TEXT]
            self.facts.problems.append(f"{name} {written} is relative: give a price")
        elif signed:
            return  # "TP1 61000 (+1.6%)", "Close AAPL +15%": a gain annotation, never a size
        elif self.slot is QTY_SLOT:
            self._set(NO_SLOT)  # "size 2%": percent sizing is the caller's business
        elif self.slot is NO_SLOT:
            self.facts.percents.append(token[VALUE])

    def _relative(self, token: Token, unit: str) -> None:
        if self.slot in (SL_SLOT, TP_SLOT) and self.count == 0:
            name = "stop loss" if self.slot is SL_SLOT else "take profit"
            self.facts.problems.append(f"{name} of {token[TEXT]} {unit} is a distance: give a price")

    def _negative(self, position: int) -> bool:
        token = self.tokens[position]
        if position == 0 or not token[GLUED]:
            return False
        sign = self.tokens[position - 1]
        if sign[TEXT] != "-" or sign[KIND] is not PUNCT or sign[LINE] != token[LINE]:
            return False
        before = self.tokens[position - 2] if position >= 2 else None
        if before is None or before[LINE] != token[LINE]:
            return True  # the sign starts its line
        if before[KIND] in (NUM, LEV, PCT):
            return False
        return not sign[GLUED] or (before[KIND] is PUNCT and before[TEXT] in ":@=")

    def _is_index(self, position: int, value: Decimal) -> bool:
        """`1)`, `1.`, `Target 1: ...`, `TP 1 - ...`: a list number, not a price."""
        tokens = self.tokens
        token = tokens[position]
        if not token[TEXT].isdigit() or not _ZERO < value <= _MAX_INDEX or position + 2 >= len(tokens):
            return False
        following, after = tokens[position + 1], tokens[position + 2]  # both on the line, or no index
        if following[LINE] != token[LINE] or after[LINE] != token[LINE] or after[KIND] is not NUM:
            return False
        marker = following[TEXT] in ")]:" or (following[TEXT] == "." and self.slot is not NO_SLOT)
        if following[KIND] is PUNCT and following[GLUED] and marker:
            return True
        slots = {TP_SLOT: self.facts.targets, ENTRY_SLOT: self.facts.entry, SL_SLOT: self.facts.stops}
        listed = slots.get(self.slot, [])
        sequential = value == len(listed) + 1 and after[VALUE] != value + 1
        if following[KIND] is PUNCT and following[TEXT] in "-=" and self.slot is TP_SLOT:
            return sequential
        previous = self._previous(position)
        keyword = previous is not None and previous[ROLE] in (_TP, _ENTRY) and previous[RANK] is None
        return keyword and following[KIND] is NUM and sequential

    def _fraction(self, position: int, value: Decimal) -> bool:
        """`close 1/2`: a fraction written with a slash."""
        slash = self._next(position)
        denominator = self._next(position + 1) if slash is not None else None
        if slash is None or denominator is None or slash[TEXT] != "/" or denominator[KIND] is not NUM:
            return False
        if not (self.tokens[position][TEXT].isdigit() and denominator[TEXT].isdigit()):
            return False
        bottom = denominator[VALUE]
        if bottom is None or not 0 < value < bottom <= 10:
            return False
        fraction = value / bottom
        if fraction * bottom != value:
            self.facts.problems.append(f"fraction {value}/{bottom} is not exact: write it as a percentage")
        self.facts.fractions.append(fraction)
        self.skip_to = position + 3
        return True

    # -- state -----------------------------------------------------------------------------------------------
    def _set(self, slot: Slot) -> None:
        self.slot = slot
        self.count = 0

    def _enter(self, slot: Slot) -> None:
        self.facts.entry_marker = True
        self._pending_to_quantity()
        self._set(slot)

    def _action(self) -> None:
        self.seen_action = True
        self._set(NO_SLOT)

    def _flush(self) -> None:
        for value, before_symbol in self.pending:
            (self.facts.pre if before_symbol else self.facts.post).append(value)
        self.pending.clear()

    def _pending_to_quantity(self) -> None:
        self.facts.quantity.extend(value for value, _ in self.pending)
        self.pending.clear()

    def _next(self, position: int) -> Token | None:
        """The token after `position` on the same line."""
        tokens = self.tokens
        following = position + 1
        if following < len(tokens) and tokens[following][LINE] == tokens[position][LINE]:
            return tokens[following]
        return None

    def _previous(self, position: int) -> Token | None:
        """The nearest earlier word, symbol or number on the same line (punctuation skipped)."""
        line = self.tokens[position][LINE]
        for index in range(position - 1, -1, -1):
            token = self.tokens[index]
            if token[LINE] != line:
                return None
            if token[KIND] is not PUNCT:
                return token
        return None

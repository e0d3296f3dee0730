"""The facts a message states, as the reader collects them and the builder judges them."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from bot.domain import AssetClass, Side
from bot.signals._lexicon import Role
from bot.signals._symbols import SymbolRef


class Slot(Enum):
    """The field the numbers being read belong to."""

    NONE = "none"
    ENTRY = "entry"
    SL = "sl"
    TP = "tp"
    LEV = "leverage"
    QTY = "qty"


SLOT_OF = {Role.ENTRY: Slot.ENTRY, Role.SL: Slot.SL, Role.TP: Slot.TP, Role.LEV: Slot.LEV, Role.QTY: Slot.QTY}
# Reasons shared by the builder and by `settle`, which reaches the same verdicts without reading.
NO_ACTION = "no trade action in the message"
NO_UPDATE = "an update that gives no new stop or targets"
COMMENTARY = "commentary ('{}'), not an instruction"
NO_SYMBOL = "no symbol in the message"
BARE_MANAGEMENT = "a management message without a symbol must be only the instruction"


@dataclass(slots=True)
class Facts:
    """Everything a message says, before it is judged consistent."""

    sides: list[tuple[Side, str]] = field(default_factory=list)  # each direction word and how it was written
    open_side: Side | None = None  # BTO / STO
    close: bool = False
    cancel: bool = False
    update: bool = False
    breakeven: bool = False
    refs: list[SymbolRef] = field(default_factory=list)
    leading_btc: bool = False  # "BTC SPY 450P ...": BTC may be buy-to-close
    entry: list[Decimal] = field(default_factory=list)
    entry_marker: bool = False
    market: bool = False
    relation: Role | None = None
    stop_order: bool = False
    stops: list[Decimal] = field(default_factory=list)
    targets: list[Decimal] = field(default_factory=list)
    leverage: list[Decimal] = field(default_factory=list)
    quantity: list[Decimal] = field(default_factory=list)
    fractions: list[Decimal] = field(default_factory=list)
    percents: list[Decimal] = field(default_factory=list)
    close_all: bool = False
    pre: list[Decimal] = field(default_factory=list)
    post: list[Decimal] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    commentary: str | None = None
    result: str | None = None
    hint: AssetClass | None = None
    crypto_cue: bool = False
    option_words: bool = False
    unknown_words: int = 0  # words outside the grammar on the lines that were read

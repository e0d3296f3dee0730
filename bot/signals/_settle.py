"""Settling chatter from its tokens alone, before the reader and the builder run.

Most chatter that passes the screen holds a keyword in prose ("Remember to always use a stop loss", "Set your
stop loss and walk away", "Please close all longs"). Reading and building such a message costs several times
its tokenizing, and without numbers the verdict follows from what the tokens of the lines the reader keeps
show (`_Shown`). `settle` returns that verdict when the tokens decide it, and None when only reading can
tell. It must agree with `build(read(tokens))` on every message it settles: each rule names the reader and
builder steps it mirrors, and a shown action is counted whenever the reader may take it ("may act") but
relied on only when the reader always does ("close" unless after a timeframe or as "exit:").
"""

from __future__ import annotations

from bot.signals._facts import BARE_MANAGEMENT, COMMENTARY, NO_ACTION, NO_SYMBOL, NO_UPDATE
from bot.signals._lexicon import TIMEFRAME_RE, Role
from bot.signals._options import OptionSpec
from bot.signals._reader import PROSE_WORDS
from bot.signals._tokens import KIND, LINE, ROLE, TEXT, Kind, Token

_WORD, _SYMBOL, _PUNCT = Kind.WORD, Kind.SYMBOL, Kind.PUNCT
_SL, _TP, _TO, _ENTRY, _NEW, _UPDATE, _BE = Role.SL, Role.TP, Role.TO, Role.ENTRY, Role.NEW, Role.UPDATE, Role.BE
_CLOSE, _CANCEL, _RESULT, _HALF, _QUARTER = Role.CLOSE, Role.CANCEL, Role.RESULT, Role.HALF, Role.QUARTER
_COMMENTARY = Role.COMMENTARY
_SIDES = frozenset({Role.BUY, Role.SELL, Role.BTO, Role.STO})
_END: Token = (_PUNCT, "", -2, False, None, None, None, None, None)  # closes the last line

# What the kept lines show, as bits.
_SIDE = 1  # a direction word: BUY, SELL, BTO, STO
_CLOSING = 2  # a close word, which may close
_CLOSES = 4  # a close word that closes (`_Reader._close`)
_CANCELS = 8
_BREAKEVEN = 16  # a breakeven word, or "entry" after a stop keyword ("SL: entry"), which may set breakeven
_UPDATES = 32  # an update the reader cannot miss: "move", "new SL", "SL to"
_RESULT_WORD = 64  # "hit", "closed": a results post unless it manages
_SYMBOLS = 128
_HALVES, _QUARTERS = 256, 512  # close fractions
_STOP = 1024  # a stop keyword (only read within its line)
_ACTS = _SIDE | _CLOSING | _CANCELS | _BREAKEVEN


class _Shown:
    """What the kept lines show: bits, the last commentary phrase and the words outside the grammar."""

    __slots__ = ("bits", "commentary", "unknown")

    def __init__(self) -> None:
        self.bits = 0
        self.commentary: str | None = None
        self.unknown = 0


def settle(tokens: list[Token], option: OptionSpec | None, result: str | None) -> str | None:
    """Why the message is not a signal, when its tokens decide it without reading; None otherwise.

    `result` is the results word the screen saw. Only messages without numbers and without an option contract
    are settled (a number makes a stop, a target or a problem; an option lets a leading "BTC" mean
    buy-to-close). The rules follow `build`:
    - a commentary phrase is refused first, naming the last one;
    - with nothing that may act, an update has no stop or target (`NO_UPDATE`), and without one there is no
      action at all (`NO_ACTION`);
    - a direction alone, without a results word and without a symbol, opens nothing (`NO_SYMBOL`);
    - a close alone (at most one fraction, no symbol) among other words is refused (`BARE_MANAGEMENT`).
    """
    if option is not None:
        return None
    shown = _show(tokens)
    if shown is None:
        return None
    if shown.commentary is not None:
        return COMMENTARY.format(shown.commentary)
    bits = shown.bits
    if not bits & _ACTS:
        return NO_UPDATE if bits & _UPDATES else NO_ACTION
    if bits & _ACTS == _SIDE and not bits & (_UPDATES | _RESULT_WORD | _SYMBOLS) and result is None:
        return NO_SYMBOL
    alone = (
        not bits & (_CANCELS | _BREAKEVEN | _UPDATES | _SYMBOLS) and bits & (_HALVES | _QUARTERS) != _HALVES | _QUARTERS
    )
    if bits & _CLOSES and alone and shown.unknown:
        return BARE_MANAGEMENT
    return None


def _show(tokens: list[Token]) -> _Shown | None:
    """What the lines the reader keeps show; None when the message holds a number."""
    shown = _Shown()
    line, unknown, bits, commentary = (tokens[0][LINE] if tokens else 0), 0, 0, None
    for position, token in enumerate([*tokens, _END]):
        if token[LINE] != line:
            if unknown < PROSE_WORDS:  # not commentary prose, which the reader skips
                shown.bits |= bits
                shown.unknown += unknown
                shown.commentary = commentary or shown.commentary
            line, unknown, bits, commentary = token[LINE], 0, 0, None
        role = token[ROLE]
        if role is None:
            kind = token[KIND]
            if kind is _WORD:
                unknown += 1
            elif kind is _SYMBOL:
                bits |= _SYMBOLS
            elif kind is not _PUNCT:
                return None  # a number, a percent or a leverage
        else:
            if role is _COMMENTARY:
                commentary = token[TEXT]
            bits |= _bits(tokens, position, role, bits)
    return shown


def _bits(tokens: list[Token], position: int, role: Role, line_bits: int) -> int:
    """What a keyword shows, given what its line showed before it."""
    if role in _SIDES:
        return _SIDE
    if role is _CLOSE:
        return _CLOSING | _CLOSES if _closes(tokens, position) else _CLOSING
    if role is _CANCEL:
        return _CANCELS
    if role is _BE or (role is _ENTRY and line_bits & _STOP):
        return _BREAKEVEN
    if role is _UPDATE or (role is _TO and _previous_role(tokens, position) is _SL):
        return _UPDATES
    if role is _NEW and _following_role(tokens, position) in (_SL, _TP):
        return _UPDATES
    if role is _SL:
        return _STOP
    if role is _RESULT:
        return _RESULT_WORD
    if role is _HALF:
        return _HALVES
    return _QUARTERS if role is _QUARTER else 0


def _closes(tokens: list[Token], position: int) -> bool:
    """Whether `_Reader._close` closes: not after a timeframe ("4h close"), not an "exit:" label."""
    previous = _previous(tokens, position)
    if previous is not None and previous[KIND] is _WORD and TIMEFRAME_RE.fullmatch(previous[TEXT]):
        return False
    following = tokens[position + 1] if position + 1 < len(tokens) else None
    labelled = following is not None and following[LINE] == tokens[position][LINE] and following[TEXT] == ":"
    return not (tokens[position][TEXT] == "exit" and labelled)


def _following_role(tokens: list[Token], position: int) -> Role | None:
    """The role of the next token on the line (`_Reader._next`)."""
    following = tokens[position + 1] if position + 1 < len(tokens) else None
    return following[ROLE] if following is not None and following[LINE] == tokens[position][LINE] else None


def _previous_role(tokens: list[Token], position: int) -> Role | None:
    previous = _previous(tokens, position)
    return None if previous is None else previous[ROLE]


def _previous(tokens: list[Token], position: int) -> Token | None:
    """The last word, symbol or number before `position` on its line (`_Reader._previous`)."""
    line = tokens[position][LINE]
    for index in range(position - 1, -1, -1):
        token = tokens[index]
        if token[LINE] != line:
            return None
        if token[KIND] is not _PUNCT:
            return token
    return None

"""Tokens of a cleaned message: words with their grammar role, symbols, numbers, percents, leverage, punctuation.

Tokenizing is most of a signal's parsing time, and CPython 3.11 makes a few things expensive at this rate:
an enum member looked up on its class goes through EnumType.__getattr__ (~70 ns), a NamedTuple is built in
Python and read through descriptors, and a regex alternative that cannot be ruled out by its first character
is entered in full. So the hot paths use module-level names for enum members, a token is a plain tuple read
by index (`Token`), and the regex groups its alternatives by first character. A one-line message of plain
words (most chatter that passes the screen) skips the regex altogether (`_scan_words`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from typing import Final

from bot.signals._lexicon import INDEXED_ENTRY_RE, INDEXED_TP_RE, PHRASES, ROLES, TIMEFRAME_RE, Role
from bot.signals._numbers import NumberError, read_number, read_percent
from bot.signals._symbols import SymbolRef, pair_quote_ok, symbol_ref


class Kind(Enum):
    WORD = "word"
    SYMBOL = "symbol"
    NUM = "num"
    PCT = "pct"
    LEV = "lev"
    PUNCT = "punct"


# A token is a plain tuple read by index: building it and reading its fields cost a third of a NamedTuple's,
# and the tokenizer builds one per word.
Token = tuple[Kind, str, int, bool, Role | None, SymbolRef | None, Decimal | None, str | None, int | None]
KIND: Final = 0
TEXT: Final = 1  # words lower-cased (after aliases); other tokens as written
LINE: Final = 2  # lines are told apart by this number: a line break is not a token
GLUED: Final = 3  # no space before it: "1)" list markers and "-5" signs depend on it
ROLE: Final = 4
REF: Final = 5
VALUE: Final = 6
ERROR: Final = 7  # why a number token cannot be read
RANK: Final = 8  # "TP2" -> 2


def tokenize(text: str, aliases: Mapping[str, str]) -> list[Token]:
    """All tokens of `text`, with multi-word keywords ("stop loss", "s/l", "take-profit") merged."""
    tokens, heads = _scan_words(text, aliases) if _WORDS_ONLY_RE.fullmatch(text) else _scan(text, aliases)
    return _merge_phrases(tokens, heads) if heads else tokens


# -- the token regex ---------------------------------------------------------------------------------------
# One pass over the text. Alternatives are grouped by their first character, so that the engine rules most of
# them out with one character test; within a group they keep their order, which decides between overlapping
# readings (a time before a pair before a leverage before a percent before a number before a word). Each
# alternative ends with an empty group naming its kind (`match.lastindex` indexes `_KIND_OF_GROUP`);
# lookbehinds sit after the first character. "(", ",", "|" and similar separators are no tokens at all.
_NL, _SKIP, _PAIR, _LEV, _PCT, _NUM, _WORD, _PUNCT = range(1, 9)
_KIND_OF_GROUP = [0]


def _alternative(pattern: str, kind: int) -> str:
    _KIND_OF_GROUP.append(kind)  # groups are numbered in the order the alternatives are written
    return pattern + "()"


def _starting(first: str, *alternatives: str) -> str:
    return first + "(?:" + "|".join(alternatives) + ")"


_PAIR_TAIL = r"[/_-][A-Za-z]{2,6}+(?:\.[Pp])?(?![\w/])"  # "BTC/USDT", "ETH-USD.P"
_WORD_TAIL = r"[\w']*+(?:\.[A-Za-z]{1,2}(?!\w))?"  # "BRK.B"
_TOKEN_RE = re.compile(
    "|".join(
        (
            _alternative(r"\n", _NL),
            _starting(
                r"[0-9]",
                # A plain number before a space, a line break, ")" or "]" reads as the alternatives below would
                # read it, without trying them (a "%" after the space makes a percent: left to them).
                _alternative(r"(?<![\w.][0-9])[0-9]*+(?:\.[0-9]++)?(?=[ \n)\]]|\Z)(?![ ]%)", _NUM),
                _alternative(
                    r"(?<![0-9.][0-9])[0-9]?+:[0-9]{2}(?::[0-9]{2})?(?![0-9])(?:[ ]?[aApP][mM](?!\w))?", _SKIP
                ),
                _alternative(r"[A-Za-z0-9]{1,14}+" + _PAIR_TAIL, _PAIR),
                _starting(
                    r"(?<![\w.][0-9])",
                    _alternative(r"[0-9]*+(?:\.[0-9]++)?[xX](?![\w.])", _LEV),  # "10x"
                    _alternative(r"[0-9,.]*+(?<=[0-9])[ ]?%", _PCT),
                    _alternative(r"(?:[0-9,.]*[0-9])?[kK]?(?!\w)", _NUM),
                ),
                _alternative(r"[0-9]*+[^\W\d_][\w']*+", _WORD),  # "1000PEPE", "4h"
            ),
            _starting(
                r"[A-WYZa-wyz]",
                _alternative(r"[A-Za-z0-9]{1,14}+" + _PAIR_TAIL, _PAIR),
                _alternative(_WORD_TAIL, _WORD),
            ),
            _starting(
                r"[xX]",
                _alternative(r"[A-Za-z0-9]{1,14}+" + _PAIR_TAIL, _PAIR),
                _alternative(r"(?<![\w.][xX])[0-9]++(?:\.[0-9]++)?(?![\w.])", _LEV),  # "x10"
                _alternative(_WORD_TAIL, _WORD),
            ),
            _starting(
                r"[#]",
                _alternative(r"[0-9]++(?!\w)", _SKIP),  # "#1"
                _alternative(r"[A-Za-z0-9]{2,15}+" + _PAIR_TAIL, _PAIR),
                _alternative(r"[^\W\d_]" + _WORD_TAIL, _WORD),
            ),
            _starting(
                r"[$]",
                _alternative(r"[A-Za-z0-9]{2,15}+" + _PAIR_TAIL, _PAIR),
                _alternative(r"[^\W\d_]" + _WORD_TAIL, _WORD),
            ),
            _starting(
                r"[.]",
                _alternative(r"(?<![\w.][.])[0-9]++(?!\w)", _NUM),  # ".5"
                _alternative("", _PUNCT),
            ),
            _alternative(r"[@/:+=)\]-]", _PUNCT),
            _alternative(r"[^\W\d_]" + _WORD_TAIL, _WORD),  # a word in any other alphabet
        )
    )
)
assert len(_KIND_OF_GROUP) == _TOKEN_RE.groups + 1

# A one-line message of plain words (ASCII letters; spaces; ",", "!", "?", ":" or "." ending a word; emoji
# between words): each run of letters is one word token, not glued to anything, and a ":" or "." is a
# punctuation token glued to its word.
_WORDS_ONLY_RE = re.compile(r"[ ]*+(?:(?:[A-Za-z]++[,!?:.]?+|[^\x00-\x7f\w]++)(?:[ ]++|\Z))*+")
_WORD_OR_STOP_RE = re.compile(r"[A-Za-z]+|[:.]")
_PAIR_PART_RE = re.compile(r"[$#]?[A-Za-z0-9]+|[/_-]")
_JOINERS = frozenset("-/.")
_Phrase = tuple[tuple[str, ...], Role, str]  # the words after the first, the role, the merged text


def _phrases_by_first_two() -> dict[tuple[str, str], tuple[_Phrase, ...]]:
    """The phrases by their first two words, longest first as in PHRASES: ("take", "profit") -> "take profit
    targets", "take profit"."""
    table: dict[tuple[str, str], tuple[_Phrase, ...]] = {}
    for head, phrases in PHRASES.items():
        for rest, role in phrases:
            key = (head, rest[0])
            table[key] = (*table.get(key, ()), (rest, role, " ".join((head, *rest))))
    return table


_PHRASES_AFTER = _phrases_by_first_two()

_WORD_KIND, _SYMBOL_KIND, _NUM_KIND, _PCT_KIND = Kind.WORD, Kind.SYMBOL, Kind.NUM, Kind.PCT
_LEV_KIND, _PUNCT_KIND = Kind.LEV, Kind.PUNCT
_BE, _TP, _SL, _ENTRY, _FILLER = Role.BE, Role.TP, Role.SL, Role.ENTRY, Role.FILLER


def _scan(text: str, aliases: Mapping[str, str]) -> tuple[list[Token], list[int]]:
    """The tokens, and the positions of words that may start a phrase.

    Keywords, numbers, punctuation and line breaks (most matches) are handled inline: a call per token costs.
    """
    tokens: list[Token] = []
    heads: list[int] = []
    append = tokens.append
    line = 0
    for match in _TOKEN_RE.finditer(text):
        kind = _KIND_OF_GROUP[match.lastindex]  # type: ignore[index]  # every match closes a group
        raw = match.group()
        start = match.start()
        glued = start > 0 and text[start - 1] not in " \n"
        if kind == _WORD:
            low = raw.lower()
            if aliases and raw[0] not in "$#":
                low = aliases.get(low, low)
            role = ROLES.get(low)
            if role is None or role is _BE:
                token = _word_of(raw, low, role, line, glued)
                if token[TEXT] in PHRASES and token[KIND] is _WORD_KIND:
                    heads.append(len(tokens))
                append(token)
            else:
                if low in PHRASES:
                    heads.append(len(tokens))
                append((_WORD_KIND, low, line, glued, role, None, None, None, None))
        elif kind == _NUM:
            try:
                append((_NUM_KIND, raw, line, glued, None, None, read_number(raw), None, None))
            except NumberError as exc:
                append((_NUM_KIND, raw, line, glued, None, None, None, str(exc), None))
        elif kind == _PUNCT:
            append((_PUNCT_KIND, raw, line, glued, None, None, None, None, None))
        elif kind == _NL:
            line += 1  # lines are told apart by the LINE field, not by a token of their own
        elif kind != _SKIP:
            for token in _other(kind, raw, line, glued, aliases):
                if token[TEXT] in PHRASES and token[KIND] is _WORD_KIND:
                    heads.append(len(tokens))
                append(token)
    return tokens, heads


def _scan_words(text: str, aliases: Mapping[str, str]) -> tuple[list[Token], list[int]]:
    """`_scan` for a message of plain words (`_WORDS_ONLY_RE`)."""
    tokens: list[Token] = []
    heads: list[int] = []
    for raw in _WORD_OR_STOP_RE.findall(text):
        token = None if aliases else _FIRST_LINE_KEYWORDS.get(raw)
        if token is not None:
            if token[TEXT] in PHRASES:
                heads.append(len(tokens))
            tokens.append(token)
            continue
        if raw in ":.":  # `_WORD_OR_STOP_RE` yields a run of letters or one of these
            tokens.append((_PUNCT_KIND, raw, 0, True, None, None, None, None, None))
            continue
        low = raw.lower()
        if aliases:
            low = aliases.get(low, low)
        role = ROLES.get(low)
        if role is None:
            ref = symbol_ref(raw)  # letters only: no indexed keyword ("TP1") and no timeframe ("4h")
            if ref is not None:
                tokens.append((_SYMBOL_KIND, raw, 0, False, None, ref, None, None, None))
                continue
        elif role is _BE:
            low = raw  # keeps its case: "BE" and "be" differ
        if low in PHRASES:
            heads.append(len(tokens))
        tokens.append((_WORD_KIND, low, 0, False, role, None, None, None, None))
    return tokens, heads


def _other(kind: int, raw: str, line: int, glued: bool, aliases: Mapping[str, str]) -> list[Token]:
    if kind == _PCT:
        return [_percent(raw, line, glued)]
    if kind == _LEV:
        return [_leverage(raw, line, glued)]
    return _pair(raw, line, glued, aliases)


def _word(raw: str, line: int, glued: bool, aliases: Mapping[str, str]) -> Token:
    low = raw.lower()
    if aliases and raw[0] not in "$#":
        low = aliases.get(low, low)
    return _word_of(raw, low, ROLES.get(low), line, glued)


def _word_of(raw: str, low: str, role: Role | None, line: int, glued: bool) -> Token:
    """The token of a word; `low` is its lower-case form after the aliases and `role` that form's keyword role."""
    if raw[0] in "$#":
        ref = symbol_ref(raw)
        if ref is None:
            return (_WORD_KIND, low, line, glued, None, None, None, None, None)
        return (_SYMBOL_KIND, raw, line, glued, None, ref, None, None, None)
    if role is not None:
        text = raw if role is _BE else low  # a breakeven word keeps its case: "BE" and "be" differ
        return (_WORD_KIND, text, line, glued, role, None, None, None, None)
    if low[-1].isdigit():
        indexed = INDEXED_TP_RE.fullmatch(low)
        if indexed is not None:
            return (_WORD_KIND, low, line, glued, _TP, None, None, None, int(indexed.group(1)))
        indexed = INDEXED_ENTRY_RE.fullmatch(low)
        if indexed is not None:
            role = _SL if low.startswith("sl") else _ENTRY
            return (_WORD_KIND, low, line, glued, role, None, None, None, int(indexed.group(1)))
        if TIMEFRAME_RE.fullmatch(low):
            return (_WORD_KIND, low, line, glued, _FILLER, None, None, None, None)
    elif low[0].isdigit() and TIMEFRAME_RE.fullmatch(low):
        return (_WORD_KIND, low, line, glued, _FILLER, None, None, None, None)
    ref = symbol_ref(raw)
    if ref is not None:
        return (_SYMBOL_KIND, raw, line, glued, None, ref, None, None, None)
    return (_WORD_KIND, low, line, glued, None, None, None, None, None)


# The unglued first-line token of every keyword as written in lower, title or upper case, for `_scan_words`.
# Tokens are immutable, so one object serves every message (the reader compares tokens by value or position).
_FIRST_LINE_KEYWORDS = {
    spelling: _word(spelling, 0, False, {})
    for keyword in ROLES
    if keyword.isalpha() and keyword.isascii()
    for spelling in (keyword, keyword.title(), keyword.upper())
}


def _number(raw: str, line: int, glued: bool) -> Token:
    try:
        return (_NUM_KIND, raw, line, glued, None, None, read_number(raw), None, None)
    except NumberError as exc:
        return (_NUM_KIND, raw, line, glued, None, None, None, str(exc), None)


def _leverage(raw: str, line: int, glued: bool) -> Token:
    try:
        value = read_number(raw.strip("xX")).normalize()
        return (_LEV_KIND, raw, line, glued, None, None, value, None, None)
    except NumberError as exc:
        return (_LEV_KIND, raw, line, glued, None, None, None, str(exc), None)


def _percent(raw: str, line: int, glued: bool) -> Token:
    try:
        return (_PCT_KIND, raw, line, glued, None, None, read_percent(raw), None, None)
    except NumberError as exc:
        return (_PCT_KIND, raw, line, glued, None, None, None, str(exc), None)


def _pair(raw: str, line: int, glued: bool, aliases: Mapping[str, str]) -> list[Token]:
    """A `BASE/QUOTE` pair, or (when the quote is no currency: "stop-loss", "tp/sl") its separate words."""
    quote = raw[max(raw.rfind("/"), raw.rfind("_"), raw.rfind("-")) + 1 :]
    ref = symbol_ref(raw) if pair_quote_ok(quote) else None
    if ref is not None:
        return [(_SYMBOL_KIND, raw, line, glued, None, ref, None, None, None)]
    tokens: list[Token] = []
    for index, part in enumerate(_PAIR_PART_RE.findall(raw)):
        part_glued = glued or index > 0
        if part in "/_-":
            tokens.append((_PUNCT_KIND, part, line, part_glued, None, None, None, None, None))
        elif part[-1].isalpha() or part[0] in "$#":
            tokens.append(_word(part, line, part_glued, aliases))
        else:
            tokens.append(_number(part, line, part_glued))
    return tokens


def _merge_phrases(tokens: list[Token], heads: list[int]) -> list[Token]:
    """Replace each phrase ("stop", "loss") by one token carrying the phrase's role."""
    merged: list[Token] = []
    position = 0
    for head in heads:
        if head < position:
            continue  # inside a phrase merged already
        match = _phrase_at(tokens, head)
        if match is None:
            continue
        role, end, text = match
        merged.extend(tokens[position:head])
        token = tokens[head]
        merged.append((_WORD_KIND, text, token[LINE], token[GLUED], role, None, None, None, None))
        position = end
    if not position:
        return tokens
    merged.extend(tokens[position:])
    return merged


def _phrase_at(tokens: list[Token], start: int) -> tuple[Role, int, str] | None:
    """The longest phrase starting at `start`: its role, the position after it and its text."""
    count = len(tokens)
    following = start + 1
    while following < count and tokens[following][KIND] is _PUNCT_KIND and tokens[following][TEXT] in _JOINERS:
        following += 1
    phrases = _PHRASES_AFTER.get((tokens[start][TEXT], tokens[following][TEXT])) if following < count else None
    if phrases is None:
        return None  # the usual case ("buy AAPL"): no phrase, decided without trying each one
    line = tokens[start][LINE]
    for rest, role, text in phrases:
        position = start + 1
        for word in rest:
            while position < count and tokens[position][KIND] is _PUNCT_KIND and tokens[position][TEXT] in _JOINERS:
                position += 1
            if position >= count or tokens[position][TEXT] != word or tokens[position][LINE] != line:
                break
            position += 1
        else:
            return role, position, text
    return None

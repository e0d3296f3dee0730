"""Tokens of a cleaned message: words with their grammar role, symbols, numbers, percents, leverage, punctuation."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from enum import Enum
from typing import NamedTuple

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
    NL = "nl"


class Token(NamedTuple):
    kind: Kind
    text: str  # words lower-cased (after aliases); other tokens as written
    line: int
    glued: bool  # no space before it: "1)" list markers and "-5" signs depend on it
    role: Role | None = None
    ref: SymbolRef | None = None
    value: Decimal | None = None
    error: str | None = None  # why a number token cannot be read
    rank: int | None = None  # "TP2" -> 2


# One pass over the text. Lookbehinds sit after each alternative's first character so that the regex engine
# can skip positions by their first character; "(", ",", "|" and similar separators are not tokens at all.
_TOKEN_RE = re.compile(
    r"(?P<nl>\n)"
    r"|(?P<skip>#[0-9]++(?!\w)|[0-9](?<![0-9.][0-9])[0-9]?+:[0-9]{2}(?::[0-9]{2})?(?![0-9])(?:[ ]?[aApP][mM](?!\w))?)"
    r"|(?P<pair>[$#]?[A-Za-z0-9]{2,15}+[/_-][A-Za-z]{2,6}+(?:\.[Pp])?(?![\w/]))"
    r"|(?P<lev>(?:[xX](?<![\w.][xX])[0-9]++(?:\.[0-9]++)?|[0-9](?<![\w.][0-9])[0-9]*+(?:\.[0-9]++)?[xX])(?![\w.]))"
    r"|(?P<pct>[0-9](?<![\w.][0-9])(?:[0-9,.]*[0-9])?[ ]?%)"
    r"|(?P<num>[0-9](?<![\w.][0-9])(?:[0-9,.]*[0-9])?[kK]?(?!\w)|[.](?<![\w.][.])[0-9]++(?!\w))"
    r"|(?P<word>[$#]?[^\W\d_][\w']*+(?:\.[A-Za-z]{1,2}(?!\w))?|[0-9]++[^\W\d_][\w']*+)"
    r"|(?P<punct>[@/:+.=)\]-])"
)
_PAIR_PART_RE = re.compile(r"[$#]?[A-Za-z0-9]+|[/_-]")
_JOINERS = frozenset("-/.")
_SECOND_WORDS = {head: frozenset(rest[0] for rest, _ in phrases) for head, phrases in PHRASES.items()}


def tokenize(text: str, aliases: Mapping[str, str]) -> list[Token]:
    """All tokens of `text`, with multi-word keywords ("stop loss", "s/l", "take-profit") merged."""
    tokens, heads = _scan(text, aliases)
    return _merge_phrases(tokens, heads) if heads else tokens


# Group numbers of _TOKEN_RE, compared with `match.lastindex` (cheaper than the group name on the hot path).
_NL, _SKIP, _PAIR, _LEV, _PCT, _NUM, _WORD, _PUNCT = range(1, 9)


def _scan(text: str, aliases: Mapping[str, str]) -> tuple[list[Token], list[int]]:
    """The tokens, and the positions of words that may start a phrase."""
    tokens: list[Token] = []
    heads: list[int] = []
    append = tokens.append
    line = 0
    word_kind = Kind.WORD
    for match in _TOKEN_RE.finditer(text):
        kind = match.lastindex
        raw = match.group()
        start = match.start()
        glued = start > 0 and text[start - 1] not in " \n"
        if kind == _WORD:
            token = _word(raw, line, glued, aliases)
            if token.kind is word_kind and token.text in PHRASES:
                heads.append(len(tokens))
            append(token)
        elif kind == _NUM:
            append(_number(raw, line, glued))
        elif kind == _PUNCT:
            append(Token(Kind.PUNCT, raw, line, glued))
        elif kind == _NL:
            line += 1
            append(Token(Kind.NL, "\n", line, False))
        elif kind == _PCT:
            append(_percent(raw, line, glued))
        elif kind == _LEV:
            append(_leverage(raw, line, glued))
        elif kind == _PAIR:
            for token in _pair(raw, line, glued, aliases):
                if token.kind is word_kind and token.text in PHRASES:
                    heads.append(len(tokens))
                append(token)
    return tokens, heads


def _word(raw: str, line: int, glued: bool, aliases: Mapping[str, str]) -> Token:
    if raw[0] in "$#":
        ref = symbol_ref(raw)
        if ref is None:
            return Token(Kind.WORD, raw.lower(), line, glued)
        return Token(Kind.SYMBOL, raw, line, glued, ref=ref)
    low = raw.lower()
    if aliases:
        low = aliases.get(low, low)
    role = ROLES.get(low)
    if role is Role.BE:
        return Token(Kind.WORD, raw, line, glued, role)  # keeps its case: "BE" and "be" differ
    if role is not None:
        return Token(Kind.WORD, low, line, glued, role)
    if low[-1].isdigit():
        indexed = INDEXED_TP_RE.fullmatch(low)
        if indexed is not None:
            return Token(Kind.WORD, low, line, glued, Role.TP, rank=int(indexed.group(1)))
        indexed = INDEXED_ENTRY_RE.fullmatch(low)
        if indexed is not None:
            role = Role.SL if low.startswith("sl") else Role.ENTRY
            return Token(Kind.WORD, low, line, glued, role, rank=int(indexed.group(1)))
        if TIMEFRAME_RE.fullmatch(low):
            return Token(Kind.WORD, low, line, glued, Role.FILLER)
    elif low[0].isdigit() and TIMEFRAME_RE.fullmatch(low):
        return Token(Kind.WORD, low, line, glued, Role.FILLER)
    ref = symbol_ref(raw)
    if ref is not None:
        return Token(Kind.SYMBOL, raw, line, glued, ref=ref)
    return Token(Kind.WORD, low, line, glued)


def _number(raw: str, line: int, glued: bool) -> Token:
    try:
        return Token(Kind.NUM, raw, line, glued, value=read_number(raw))
    except NumberError as exc:
        return Token(Kind.NUM, raw, line, glued, error=str(exc))


def _leverage(raw: str, line: int, glued: bool) -> Token:
    try:
        return Token(Kind.LEV, raw, line, glued, value=read_number(raw.strip("xX")).normalize())
    except NumberError as exc:
        return Token(Kind.LEV, raw, line, glued, error=str(exc))


def _percent(raw: str, line: int, glued: bool) -> Token:
    try:
        return Token(Kind.PCT, raw, line, glued, value=read_percent(raw))
    except NumberError as exc:
        return Token(Kind.PCT, raw, line, glued, error=str(exc))


def _pair(raw: str, line: int, glued: bool, aliases: Mapping[str, str]) -> Iterator[Token]:
    """A `BASE/QUOTE` pair, or (when the quote is no currency: "stop-loss", "tp/sl") its separate words."""
    quote = re.split(r"[/_-]", raw)[-1]
    ref = symbol_ref(raw) if pair_quote_ok(quote) else None
    if ref is not None:
        yield Token(Kind.SYMBOL, raw, line, glued, ref=ref)
        return
    for index, part in enumerate(_PAIR_PART_RE.findall(raw)):
        part_glued = glued or index > 0
        if part in "/_-":
            yield Token(Kind.PUNCT, part, line, part_glued)
        elif part[-1].isalpha() or part[0] in "$#":
            yield _word(part, line, part_glued, aliases)
        else:
            yield _number(part, line, part_glued)


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
        merged.append(Token(Kind.WORD, text, token.line, token.glued, role))
        position = end
    if not position:
        return tokens
    merged.extend(tokens[position:])
    return merged


def _phrase_at(tokens: list[Token], start: int) -> tuple[Role, int, str] | None:
    """The longest phrase starting at `start`: its role, the position after it and its text."""
    head = tokens[start].text
    following = start + 1
    while following < len(tokens) and tokens[following].kind is Kind.PUNCT and tokens[following].text in _JOINERS:
        following += 1
    if following >= len(tokens) or tokens[following].text not in _SECOND_WORDS[head]:
        return None  # the usual case ("buy AAPL"): no phrase, decided without trying each one
    for rest, role in PHRASES[head]:
        position = start + 1
        for word in rest:
            while position < len(tokens) and tokens[position].kind is Kind.PUNCT and tokens[position].text in _JOINERS:
                position += 1
            if position >= len(tokens) or tokens[position].text != word or tokens[position].line != tokens[start].line:
                break
            position += 1
        else:
            return role, position, " ".join((tokens[start].text, *rest))
    return None

"""Message clean-up and the cheap chatter screen that runs before any real parsing.

The screen is the hot path: most messages in a busy channel are chatter and must be dropped in a few
microseconds, so it is one lower-casing, one `findall` and a few set operations.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from itertools import pairwise
from typing import NamedTuple

from bot.errors import NotASignal
from bot.signals._lexicon import (
    COMMENTARY_PAIRS,
    COMMENTARY_WORDS,
    MANAGEMENT_WORDS,
    RESULT_WORDS,
    TRIGGER_WORDS,
)

# Discord and Telegram messages are at most 2,000-4,096 characters; anything longer is a paste, not a signal,
# and capping it here bounds the work done on hostile input.
MAX_MESSAGE_CHARS = 4000

_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d\u2e3a\u2e3b\u2043"
_FOLDS: dict[str, str] = {
    **dict.fromkeys(_ZERO_WIDTH, ""),
    **dict.fromkeys(_DASHES, "-"),
    "\u2044": "/",  # fraction slash: NFKC turns "½" into "1⁄2"
    "\u2215": "/",
    "\u00d7": "x",  # "10×" leverage
    "\u0445": "x",  # Cyrillic "х": Cornix templates write "20х"
    "\u0425": "X",
    "\u2028": "\n",
    "\u2029": "\n",
    "\r": "\n",
    "\t": " ",
    "\U0001f3af": " tp ",  # 🎯 marks a target
    "\U0001f6d1": " sl ",  # 🛑 marks a stop
    "\u26d4": " sl ",  # ⛔
    "\u2022": " ",  # bullets and arrows are layout
    "\u2192": " ",
    "\u27a1": " ",
    "\u2018": "'",
    "\u2019": "'",
}
# Messages hold few of the characters above, so they are replaced where a search finds them: `str.translate`
# looks every character of a non-ASCII string up in its table, several times slower on an emoji-laden post.
_FOLD_RE = re.compile("[" + re.escape("".join(_FOLDS)) + "]")
_URL_RE = re.compile(r"(?:https?://|www\.|discord\.gg/)\S*", re.IGNORECASE)
_DISCORD_TOKEN_RE = re.compile(r"<a?:\w+:[0-9]+>|<[@#][!&]?[0-9]+>|<t:[0-9]+(?::[a-zA-Z])?>")
# `[*`~]+|\|\|`, written to start with a character class so that the search skips ahead between marks.
_MARKDOWN_RE = re.compile(r"[*`~|](?:(?<=[*`~])[*`~]*+|(?<=\|)\|)")
_UNDERSCORE_RE = re.compile(r"_+")  # italics and underline; kept only inside a word ("BTC_USDT")
_LINE_PREFIX_RE = re.compile(r"^[ ]*(?:>+|-#|#{1,3}(?= )|[-+](?= ))[ ]*", re.MULTILINE)
_PREFIXED_LINE_RE = re.compile(r"\n[ ]*[>#+-]")  # a later line that may start with a prefix: cheap to find
# `[$#]?[a-z]+(?:'[a-z]+)?`, written to start with a character class so that the search skips from one
# candidate character to the next instead of trying the pattern at every position.
_SCREEN_WORD_RE = re.compile(r"[$#a-z](?:(?<=[$#])[a-z]+|(?<=[a-z])[a-z]*)(?:'[a-z]+)?")
# The lookbehinds follow the literal "profit" so that the search can jump from one "profit" to the next.
_PROFIT_RESULT_RE = re.compile(r"profit(?<!take profit)(?<!take-profit)(?<!takeprofit)s?[ ]*[:=]?[ ]*\+?[ ]*[0-9]")
_SIGNED_PIPS_RE = re.compile(r"\+[ ]*[0-9][0-9.,]*[ ]*(?:pips|points|pts)")
_NOT_ADVICE_RE = re.compile(r"not (?:a )?financial advi[cs]e", re.IGNORECASE)
_OPTION_WORDS = frozenset({"c", "p", "call", "calls", "put", "puts"})
_PREFIX_MARKS = frozenset(">#+-")
_SHORT_MESSAGE_WORDS = 4  # a bare "BE" is an instruction only in a message this short


def fold_unicode(text: str) -> str:
    """Fold look-alike characters to ASCII where it matters: fullwidth digits, NBSP, dashes, zero-width."""
    if text.isascii():
        return text.replace("\r", "\n").replace("\t", " ") if ("\r" in text or "\t" in text) else text
    return _FOLD_RE.sub(_fold, unicodedata.normalize("NFKC", text))


def _fold(match: re.Match[str]) -> str:
    return _FOLDS[match.group()]


def strip_links(text: str) -> str:
    """Drop URLs and Discord mention/emoji/timestamp tokens (their digits are not prices)."""
    if "://" in text or "www." in text or "discord.gg" in text:
        text = _URL_RE.sub(" ", text)
    if "<" in text:
        text = _DISCORD_TOKEN_RE.sub(" ", text)
    return text


def strip_markdown(text: str) -> str:
    """Remove bold/italic/code/spoiler marks, quote and header prefixes and list bullets."""
    if "*" in text or "`" in text or "~" in text or "|" in text:
        text = _MARKDOWN_RE.sub("", text)
    if "_" in text:
        text = _UNDERSCORE_RE.sub(_underscore, text)
    if text.lstrip(" ")[:1] in _PREFIX_MARKS or ("\n" in text and _PREFIXED_LINE_RE.search(text)):
        text = _LINE_PREFIX_RE.sub("", text)
    return text


def _underscore(match: re.Match[str]) -> str:
    text = match.string
    start, end = match.span()
    inside_word = start > 0 and end < len(text) and text[start - 1].isalnum() and text[end].isalnum()
    return match.group() if inside_word else ""


def strip_disclaimer(text: str) -> str:
    """Drop the "not financial advice" boilerplate of real signals, whose "not" must not read as a negation."""
    if "advi" in text and _NOT_ADVICE_RE.search(text):
        return _NOT_ADVICE_RE.sub(" nfa ", text)
    return text


class Screened(NamedTuple):
    """What the screen learnt about a message that may be a signal."""

    result: str | None  # the results word of "TP1 hit, move SL to entry": only a management signal may follow
    option_hint: bool  # a word that can belong to an option contract ("450C", "calls"): look for one


def screen(lower: str, aliases: Mapping[str, str]) -> Screened:
    """Reject chatter cheaply (NotASignal with the reason); describe what passes."""
    words = _SCREEN_WORD_RE.findall(lower)
    if aliases:
        words = [aliases.get(word, word) for word in words]
    present = set(words)
    if "'" in lower:  # "yesterday's", "what's": the word before the apostrophe counts too
        present.update(word.split("'")[0] for word in words if "'" in word)
    if present.isdisjoint(TRIGGER_WORDS) and not _bare_trigger(words, present):
        raise NotASignal("no trade action in the message")
    if "?" in lower:
        raise NotASignal("a question is not a signal")
    commentary = present & COMMENTARY_WORDS
    if commentary:
        raise NotASignal(f"commentary or a hypothesis ('{min(commentary)}'), not an instruction")
    if not COMMENTARY_PAIRS.isdisjoint(pairwise(words)):  # "short squeeze", "buy back", "long term"
        pair = next(pair for pair in pairwise(words) if pair in COMMENTARY_PAIRS)
        raise NotASignal(f"commentary ('{' '.join(pair)}'), not an instruction")
    result = _result_marker(lower, present)
    if result is not None and present.isdisjoint(MANAGEMENT_WORDS):
        raise NotASignal(f"a results post ('{result}'), not an instruction")
    return Screened(result, not present.isdisjoint(_OPTION_WORDS))


def _bare_trigger(words: list[str], present: set[str]) -> bool:
    """`BE` alone, or `BTC` as buy-to-close ahead of an option contract, are triggers only in short forms."""
    if "be" in present and len(words) <= _SHORT_MESSAGE_WORDS:
        return True
    return bool(words) and words[0] == "btc" and not present.isdisjoint(_OPTION_WORDS)


def _result_marker(lower: str, present: set[str]) -> str | None:
    found = present & RESULT_WORDS
    if found:
        return min(found)
    if "profit" in lower and _PROFIT_RESULT_RE.search(lower):
        return "profit"
    if "+" in lower and _SIGNED_PIPS_RE.search(lower):
        return "pips"
    return None

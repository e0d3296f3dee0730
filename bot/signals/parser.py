"""The signal parser: one message of a Discord or Telegram signal channel in, one normalized signal out.

`parse_signal` reads the common styles (compact `BUY AAPL 100 @ 150.25 SL 145 TP 160/165`, Cornix-style
multi-line crypto, forex and metals, options, management messages) and rejects everything else with
`NotASignal` (chatter) or `InvalidSignal` (a signal that contradicts itself), each with a reason. The
grammar is documented in docs/signal-grammar.md.

The parser is pure: no I/O, no logging, no global state; `now` is only used to infer an option expiry's year.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain import AssetClass, Signal
from bot.errors import NotASignal, SignalParseError
from bot.signals._build import Context, build
from bot.signals._options import extract_option
from bot.signals._reader import read
from bot.signals._settle import settle
from bot.signals._text import MAX_MESSAGE_CHARS, fold_unicode, screen, strip_disclaimer, strip_links, strip_markdown
from bot.signals._tokens import tokenize

__all__ = ["DEFAULT_OPTIONS", "MAX_MESSAGE_CHARS", "ParseOptions", "parse_signal"]


@dataclass(frozen=True, slots=True)
class ParseOptions:
    """Per-channel reading options.

    `default_asset_class`: what a bare ticker is in this channel (a bare `SOL` in a crypto channel).
    `quote_currency`: the quote a crypto base gets when the message names none (default USDT).
    `aliases`: extra single-word keywords, e.g. `{"bought": "buy", "bye": "close"}` (keys are lower-case).
    """

    default_asset_class: AssetClass | None = None
    quote_currency: str | None = None
    # Left out of the hash (a dict is unhashable) so options can still key a cache or a set.
    aliases: Mapping[str, str] = field(default_factory=dict, hash=False)


DEFAULT_OPTIONS = ParseOptions()


def parse_signal(text: str, *, now: datetime, options: ParseOptions = DEFAULT_OPTIONS) -> Signal:
    """The signal in `text`; raises NotASignal or InvalidSignal (with a reason) and nothing else."""
    try:
        return _parse(text, now, options)
    except SignalParseError:
        raise
    except Exception as exc:
        # The contract is that no input makes the parser raise anything else; an unexpected error is a bug,
        # and refusing the message is the safe way to fail (a false positive trades, a miss does not).
        raise NotASignal(f"unreadable message ({type(exc).__name__})") from exc


def _parse(text: str, now: datetime, options: ParseOptions) -> Signal:
    if not isinstance(text, str):
        raise NotASignal("a message must be text")
    if len(text) > MAX_MESSAGE_CHARS:
        raise NotASignal("message too long to be a signal")
    aliases = _lowered(options.aliases)
    text = strip_disclaimer(strip_links(fold_unicode(text)))
    screened = screen(text.lower(), aliases)
    text = strip_markdown(text)
    option = None
    if screened.option_hint:
        option, text = extract_option(text, now)
    tokens = tokenize(text, aliases)
    reason = settle(tokens, option, screened.result)
    if reason is not None:
        raise NotASignal(reason)
    facts = read(tokens)
    context = Context(options.default_asset_class, options.quote_currency, option, screened.result)
    return build(facts, context)


def _lowered(aliases: Mapping[str, str]) -> Mapping[str, str]:
    if not aliases or all(key.islower() and value.islower() for key, value in aliases.items()):
        return aliases
    return {key.lower(): value.lower() for key, value in aliases.items()}

"""Option contracts in signal text: `450C 12/20`, `$190 puts 1/17/25`, `Dec 20 450 calls`, `0DTE 455C`.

The contract is cut out of the text before the rest is read, so its strike and date never pass for a
price, a quantity or a target list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from bot.domain import OptionRight
from bot.signals._lexicon import MONTHS
from bot.signals._numbers import NumberError, read_number

_STRIKE_RE = re.compile(r"(?<![\w.])\$?([0-9]+(?:\.[0-9]+)?)[ ]?(c|p|calls?|puts?)(?![\w])", re.IGNORECASE)
_MONTH = r"(?P<mon>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DATE = (
    r"(?:(?P<y1>[0-9]{4})-(?P<m1>[0-9]{1,2})-(?P<d1>[0-9]{1,2})"
    r"|(?P<m2>[0-9]{1,2})/(?P<d2>[0-9]{1,2})(?:/(?P<y2>[0-9]{4}|[0-9]{2}))?"
    r"|" + _MONTH + r"[ ]?(?P<d3>[0-9]{1,2})(?:st|nd|rd|th)?(?:,?[ ](?P<y3>[0-9]{4}))?"
    r"|(?P<d4>[0-9]{1,2})[ ]?" + _MONTH.replace("mon", "mon4") + r"(?:[ ](?P<y4>[0-9]{4}))?"
    r"|(?P<zero>0[ ]?dte))"
)
_EXP = r"(?:exp(?:iry|iration|ires|iring)?\.?[ ]*:?[ ]*)?"
_DATE_AFTER_RE = re.compile(r"^[ ,:-]*" + _EXP + _DATE + r"(?![\w/])", re.IGNORECASE)
_DATE_BEFORE_RE = re.compile(r"(?<![\w/])" + _DATE + r"[ ,:-]*" + _EXP + r"[ ]*$", re.IGNORECASE)
_DATE_LABELLED_RE = re.compile(r"exp(?:iry|iration|ires|iring)?\.?[ ]*:?[ ]*" + _DATE, re.IGNORECASE)
_WINDOW = 32
_FUTURE_YEARS = 8  # a Feb 29 without a year may be up to eight years out


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """An option contract found in a message.

    `expiry` is None when the message gives no date; `problem` says what is wrong with the contract. Both
    are reported by the builder only once the message turns out to be a signal.
    """

    right: OptionRight
    strike: Decimal
    expiry: date | None
    problem: str | None = None


def extract_option(text: str, now: datetime) -> tuple[OptionSpec | None, str]:
    """The option contract in `text` (if any) and the text with the contract cut out."""
    strikes = list(_STRIKE_RE.finditer(text))
    if not strikes:
        return None, text
    strike = strikes[0]
    right = OptionRight.CALL if strike.group(2)[0] in "cC" else OptionRight.PUT
    start, end = strike.span()
    try:
        value = read_number(strike.group(1))
    except NumberError as exc:
        return OptionSpec(right, Decimal(0), None, str(exc)), text
    if len(strikes) > 1:
        problem = "several option contracts in one message (spreads are not supported)"
        return OptionSpec(right, value, None, problem), text
    found = _find_expiry(text, start, end)
    if found is None:
        return OptionSpec(right, value, None), _cut(text, [(start, end)])
    match, span = found
    try:
        expiry = _resolve(match, now)
    except ValueError as exc:
        return OptionSpec(right, value, None, str(exc)), _cut(text, [(start, end), span])
    return OptionSpec(right, value, expiry), _cut(text, [(start, end), span])


def _find_expiry(text: str, start: int, end: int) -> tuple[re.Match[str], tuple[int, int]] | None:
    after = _DATE_AFTER_RE.match(text[end : end + _WINDOW])
    if after is not None:
        return after, (end + after.start(), end + after.end())
    offset = max(0, start - _WINDOW)
    before = _DATE_BEFORE_RE.search(text[offset:start])
    if before is not None:
        return before, (offset + before.start(), offset + before.end())
    labelled = _DATE_LABELLED_RE.search(text)
    if labelled is not None:
        return labelled, labelled.span()
    return None


def _cut(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + " " + text[end:]
    return text


def _resolve(match: re.Match[str], now: datetime) -> date:
    """The expiry date; a date without a year is its next occurrence on or after the message's date."""
    raw = match.group(0).strip(" ,:-")
    today = now.date()
    if match.group("zero"):
        return today
    groups = match.groupdict()
    month_name = groups["mon"] or groups["mon4"]
    month = MONTHS[month_name.lower()] if month_name else int(groups["m1"] or groups["m2"])
    day = int(groups["d1"] or groups["d2"] or groups["d3"] or groups["d4"])
    year_text = groups["y1"] or groups["y2"] or groups["y3"] or groups["y4"]
    if year_text is not None:
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)
        try:
            return date(year, month, day)
        except ValueError:
            raise ValueError(f"option expiry '{raw}' is not a date") from None
    for year in range(today.year, today.year + _FUTURE_YEARS + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    raise ValueError(f"option expiry '{raw}' is not a date")

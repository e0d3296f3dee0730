"""The demo's scripted community and market: deterministic by seed, and covering what the demo promises."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.demo.feed import FeedPlayer
from bot.demo.market import Instrument, Market, Quote
from bot.demo.script import Action, Edit, Pause, Post, Script
from bot.demo.world import PROVIDERS, UNTRUSTED
from bot.errors import SignalParseError
from bot.signals.parser import parse_signal

ONE_ROUND = 1000  # more actions than one round holds (a feed second is a quote per symbol and a pause)


def first_actions(seed: int, count: int = ONE_ROUND) -> list[Action]:
    return list(itertools.islice(Script(seed).actions(), count))


def parse_error(text: str) -> str | None:
    """None for a signal, else the parser's error code."""
    try:
        parse_signal(text, now=datetime.now(UTC))
    except SignalParseError as exc:
        return exc.code
    return None


def parses(text: str) -> bool:
    return parse_error(text) is None


def test_the_same_seed_plays_the_same_feed_and_another_seed_a_different_one() -> None:
    """Messages, edits, pauses and every quote are a function of the seed alone."""
    assert first_actions(7) == first_actions(7)
    assert first_actions(7) != first_actions(8)


def test_a_round_shows_every_kind_of_message_the_demo_promises() -> None:
    """Signals in several styles, chatter, an untrusted signal, a breakeven reply, edits, a close and a cancel."""
    actions = first_actions(3)
    posts = [a for a in actions if isinstance(a, Post)]
    texts = [p.text for p in posts]
    assert {p.author for p in posts} >= {*PROVIDERS, UNTRUSTED}
    assert any(t.startswith("BUY AAPL") for t in texts), "compact equity signal"
    assert any("#BTC/USDT LONG\nEntry zone:" in t for t in texts), "Cornix multi-line crypto signal"
    assert any(t.startswith("EURUSD SELL") for t in texts), "forex signal"
    assert any(p.text == "SL to BE" and p.reply_to is not None for p in posts), "breakeven as a reply"
    assert any(t.startswith("CLOSE ") or t.startswith("Close half") for t in texts)
    assert any(t.startswith("Cancel ") for t in texts)
    assert any(p.author == UNTRUSTED and parses(p.text) for p in posts), "the untrusted member posts a real signal"
    assert any(not parses(t) for t in texts), "chatter"
    assert len([a for a in actions if isinstance(a, Edit)]) >= 2
    assert any(isinstance(a, Quote) for a in actions)
    assert all(a.seconds > 0 for a in actions if isinstance(a, Pause))


def test_every_post_the_script_expects_a_verdict_on_looks_like_a_signal_and_chatter_does_not() -> None:
    """A typo in the script would show chatter where it promised a trade (only the deliberate typo is invalid)."""
    posts = [a for a in first_actions(11, 3 * ONE_ROUND) if isinstance(a, Post)]
    for post in (p for p in posts if p.expects_reaction):
        deliberate_typo = post.key is not None and post.key.endswith(".typo")
        assert parse_error(post.text) == ("invalid_signal" if deliberate_typo else None), post.text
    assert all(parse_error(p.text) == "not_a_signal" for p in posts if not p.expects_reaction)


def test_edits_and_replies_refer_to_messages_posted_earlier_in_the_feed() -> None:
    """The player resolves keys to message ids: a key used before it is posted would be silently skipped."""
    seen: set[str] = set()
    for action in first_actions(5, 3 * ONE_ROUND):
        if isinstance(action, Post):
            assert action.reply_to is None or action.reply_to in seen
            if action.key is not None:
                seen.add(action.key)
        elif isinstance(action, Edit):
            assert action.key in seen


def test_market_levels_are_quoted_to_the_symbols_places() -> None:
    """Stops and targets in the messages look like real quotes: 2 decimals for stocks, 5 for EUR/USD."""
    market = Market(random.Random(1))
    assert market.level("AAPL", -2) == Decimal("185.71")
    assert market.level("EUR/USD", 0.4) == Decimal("1.08934")
    jumped = market.jump("AAPL", 1)
    assert jumped == Quote("AAPL", Decimal("191.40")) and market.price("AAPL") == Decimal("191.40")


def test_market_ticks_wander_but_are_pulled_back_towards_the_start() -> None:
    """Left running, prices stay in a familiar range instead of drifting away."""
    market = Market(random.Random(2), {"X": Instrument(Decimal("100.00"), 2, 0.01)})
    market.jump("X", 30)
    for _ in range(500):
        market.tick()
    assert Decimal("80") < market.price("X") < Decimal("120")


async def test_the_player_refuses_a_speed_that_is_not_positive() -> None:
    """`--speed 0` would never advance the feed: refused with the reason."""
    with pytest.raises(ValueError, match="speed must be positive"):
        FeedPlayer(Script(1), None, None, None, speed=0)  # type: ignore[arg-type]

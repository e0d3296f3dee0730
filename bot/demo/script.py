"""What the demo community says and how the market moves, as an endless list of actions.

Pure and deterministic: `Script(seed).actions()` gives the same actions for the same seed (its prices come
from the seeded `Market` it owns), and nothing here sleeps or talks to the bot; `feed.py` plays the
actions. Each round shows what Tradecord does with real-world messages: signals in several styles, chatter,
a refused stranger, a typo fixed by an edit, a stop moved to breakeven, a close, a cancel, a risk refusal,
and price moves that fill targets and trigger stops on the paper broker.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from bot.demo.market import Market, Quote


@dataclass(frozen=True, slots=True)
class Post:
    """`author` posts `text` in #signals; `key` names the message for later replies and edits."""

    author: str
    text: str
    key: str | None = None
    reply_to: str | None = None
    expects_reaction: bool = False  # a signal: wait (briefly) for the bot's verdict before going on


@dataclass(frozen=True, slots=True)
class Edit:
    """The author of message `key` edits it to `text`."""

    key: str
    text: str


@dataclass(frozen=True, slots=True)
class Pause:
    """Feed-time seconds (divided by `--speed`) before the next action."""

    seconds: float


Action = Post | Edit | Quote | Pause


@dataclass(frozen=True, slots=True)
class CornixLevels:
    """A Cornix-style long: kept so an edit can change one line of the message and leave the rest as posted."""

    low: Decimal
    high: Decimal
    targets: tuple[Decimal, ...]
    stop: Decimal

    def text(self, symbol: str) -> str:
        return "\n".join(
            [
                f"📈 #{symbol} LONG",
                f"Entry zone: {self.low} - {self.high}",
                "Targets: " + " - ".join(str(target) for target in self.targets),
                f"Stop loss: {self.stop}",
                "Leverage: Cross 10x",
            ]
        )


GREETINGS = ("gm traders ☕", "morning all, coffee and charts", "gm! markets look lively today")
QUESTIONS = ("anyone watching NVDA earnings tonight?", "what do you all use for position sizing?")
CHEERS = ("nice, in on AAPL too 🔥", "that BTC call looks clean", "thanks for the levels 🙏")
FAREWELLS = ("what a session. gn all 👋", "logging off, good trading everyone", "gn, see you at the open")
MEME_SIZES = (500, 1000, 2500)


class Script:
    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self.market = Market(random.Random(seed + 1))

    def actions(self) -> Iterator[Action]:
        """Round after round, forever; the player stops when the demo does."""
        round_number = 0
        while True:
            round_number += 1
            yield from self._round(round_number)

    def _wait(self, seconds: float) -> Iterator[Action]:
        """Time passing: one market tick per feed second."""
        for _ in range(int(seconds)):
            yield from self.market.tick()
            yield Pause(1.0)

    def _round(self, n: int) -> Iterator[Action]:
        key = f"r{n}."
        yield Post("sam", self._rng.choice(GREETINGS))
        yield from self._wait(2)
        btc = self._btc_levels()
        yield from self._opening_signals(key, btc)
        yield from self._management(key, btc)
        yield from self._mistakes(key)
        yield from self._market_moves()
        yield Post("priya", self._rng.choice(FAREWELLS))
        yield from self._wait(6)

    def _btc_levels(self) -> CornixLevels:
        m = self.market
        targets = (m.level("BTC/USDT", 1), m.level("BTC/USDT", 2), m.level("BTC/USDT", 3))
        return CornixLevels(m.level("BTC/USDT", -0.5), m.level("BTC/USDT", 0.3), targets, m.level("BTC/USDT", -2))

    def _opening_signals(self, key: str, btc: CornixLevels) -> Iterator[Action]:
        m = self.market
        compact = (
            f"BUY AAPL 20 @ {m.level('AAPL', 0.2)} SL {m.level('AAPL', -2)} "
            f"TP {m.level('AAPL', 1.5)}/{m.level('AAPL', 3)}"
        )
        yield Post("maya", compact, key=key + "aapl", expects_reaction=True)
        yield from self._wait(3)
        yield Post("kenji", btc.text("BTC/USDT"), key=key + "btc", expects_reaction=True)
        yield from self._wait(2)
        yield Post("priya", self._rng.choice(CHEERS))
        yield from self._wait(2)
        forex = (
            f"EURUSD SELL NOW @ {m.price('EUR/USD')} SL {m.level('EUR/USD', 0.4)} "
            f"TP1 {m.level('EUR/USD', -0.3)} TP2 {m.level('EUR/USD', -0.6)}"
        )
        yield Post("lena", forex, key=key + "eur", expects_reaction=True)
        yield from self._wait(3)
        yield Post("mallory", f"BUY GME {self._rng.choice(MEME_SIZES)} @ MKT 🚀🚀🚀", expects_reaction=True)
        yield from self._wait(2)

    def _management(self, key: str, btc: CornixLevels) -> Iterator[Action]:
        m = self.market
        yield m.jump("AAPL", 1)  # in profit, short of the first target: Maya protects the trade
        yield from self._wait(2)
        yield Post("maya", "SL to BE", reply_to=key + "aapl", expects_reaction=True)
        yield from self._wait(3)
        # Kenji stretches his last target; the signal has traded, so the edit becomes a target update.
        step = btc.targets[1] - btc.targets[0]
        stretched = dataclasses.replace(btc, targets=(*btc.targets[:-1], btc.targets[-1] + step))
        yield Edit(key + "btc", stretched.text("BTC/USDT"))
        yield from self._wait(3)
        tesla = f"$TSLA long 10 @ mkt SL {m.level('TSLA', -2)} TP {m.level('TSLA', 4)}"
        yield Post("maya", tesla, expects_reaction=True)
        yield from self._wait(2)
        yield Post("sam", self._rng.choice(QUESTIONS))
        yield from self._wait(2)
        gold = (
            f"XAUUSD BUY NOW @ {m.price('XAU/USD')} SL {m.level('XAU/USD', -0.5)} "
            f"TP1 {m.level('XAU/USD', 0.4)} TP2 {m.level('XAU/USD', 0.8)}"
        )
        yield Post("lena", gold, expects_reaction=True)
        yield from self._wait(2)
        yield m.jump("EUR/USD", 0.7)  # against Lena's short, through its stop
        yield from self._wait(3)
        yield Post("lena", "EURUSD stopped out, it happens. Risk managed 🤷")
        yield from self._wait(1)
        dip = f"BUY NVDA 10 @ {m.level('NVDA', -5)} SL {m.level('NVDA', -8)} TP {m.level('NVDA', 2)}"
        yield Post("maya", dip, expects_reaction=True)  # rests: a limit well under the market
        yield from self._wait(3)
        yield Post("maya", "Cancel NVDA", expects_reaction=True)  # the dip never came: the resting entry goes
        yield from self._wait(2)
        yield Post("kenji", "Close half BTC", expects_reaction=True)
        yield from self._wait(2)
        yield m.jump("TSLA", 1.2)
        yield from self._wait(2)
        yield Post("maya", "CLOSE TSLA", expects_reaction=True)
        yield from self._wait(2)

    def _mistakes(self, key: str) -> Iterator[Action]:
        m = self.market
        # A stop on the wrong side of a buy is refused with the reason; the fixed edit then trades.
        typo = f"BUY AAPL 10 @ {m.level('AAPL', 0.2)} SL {m.level('AAPL', 2)}"
        yield Post("maya", typo, key=key + "typo", expects_reaction=True)
        yield from self._wait(3)
        fixed = f"BUY AAPL 10 @ {m.level('AAPL', 0.2)} SL {m.level('AAPL', -2)} TP {m.level('AAPL', 2)}"
        yield Edit(key + "typo", fixed)
        yield from self._wait(2)
        yield Post("maya", "BUY SPY 500 @ MKT", expects_reaction=True)  # over risk.max_order_notional
        yield from self._wait(2)

    def _market_moves(self) -> Iterator[Action]:
        m = self.market
        yield m.jump("AAPL", 1.2)  # through Maya's first target: that leg closes in profit
        yield from self._wait(2)
        yield m.jump("XAU/USD", 0.6)  # gold through its first target
        yield from self._wait(2)
        yield m.jump("AAPL", -3)  # AAPL gaps down: the runner's stop, moved to breakeven, takes it out
        yield from self._wait(3)

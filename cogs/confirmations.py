"""Confirmations of executed signals: a reply each in a quiet channel, folded into one message in a busy one.

A channel where the last confirmation went out over `interval` ago gets the usual silent reply, posted
before the signal's ✅ so the reaction means the whole answer is there. A second executed signal within
`interval` gets its ✅ at once, and its confirmation line waits: every line that came in the meantime goes
out together `interval` after the last confirmation, as one reply (several past Discord's 2,000
characters) to the first of those signals. Discord lets a bot post 5 messages every 5 s in a channel, so a
reply per signal falls ever further behind a busy channel; and each reply costs the event loop more than
the signal it confirms, delaying the orders of the signals behind it (docs/benchmarks.md, "Answering").
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import discord
import structlog

from cogs.reactions import Reactions

log = structlog.get_logger(__name__)

CONFIRMATION_INTERVAL_SECONDS = 1.0
MAX_MESSAGE_LENGTH = 2000  # Discord's limit on a message's content


@dataclass
class _Channel:
    last_sent: float = -math.inf
    waiting: list[tuple[discord.PartialMessage, str]] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None


def folded(lines: list[str]) -> Iterator[tuple[int, str]]:
    """(index of the first line, text) of each message holding `lines` in order, none past the limit."""
    first, text = 0, ""
    for index, line in enumerate(lines):
        if text and len(text) + 1 + len(line) > MAX_MESSAGE_LENGTH:
            yield first, text
            first, text = index, ""
        text = f"{text}\n{line}" if text else line[:MAX_MESSAGE_LENGTH]
    if text:
        yield first, text


class Confirmations:
    """Per channel, at most one confirmation message every `interval` seconds (`confirm`)."""

    def __init__(
        self,
        reactions: Reactions,
        *,
        interval: float = CONFIRMATION_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reactions = reactions
        self._interval = interval
        self._clock = clock
        self._channels: dict[int, _Channel] = {}
        self._sending: set[asyncio.Task[None]] = set()

    async def confirm(self, message: discord.PartialMessage, line: str, emoji: str) -> None:
        """Reply `line` then react `emoji` when the channel is quiet; otherwise react now and fold `line` into
        the channel's next confirmation message. Raises what discord.py raises for the reply (the reaction is
        `Reactions.add`'s)."""
        channel = self._channels.setdefault(message.channel.id, _Channel())
        now = self._clock()
        if not channel.waiting and now - channel.last_sent >= self._interval:
            channel.last_sent = now
            await message.reply(line, mention_author=False, silent=True)
        else:
            channel.waiting.append((message, line))
            if channel.timer is None:
                delay = max(0.0, channel.last_sent + self._interval - now)
                # Outside this signal's log context: the message it sends is about every signal waiting.
                channel.timer = asyncio.get_running_loop().call_later(
                    delay, self._start_sending, channel, context=contextvars.Context()
                )
        self._reactions.add(message, emoji)

    def _start_sending(self, channel: _Channel) -> None:
        task = asyncio.get_running_loop().create_task(self._send_waiting(channel))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send_waiting(self, channel: _Channel) -> None:
        waiting, channel.waiting, channel.timer = channel.waiting, [], None
        channel.last_sent = self._clock()  # lines confirmed from here on wait for the next message
        for first, text in folded([line for _, line in waiting]):
            try:
                await waiting[first][0].reply(text, mention_author=False, silent=True)
            except discord.HTTPException as exc:
                log.warning("discord.confirmation_failed", signals=len(waiting), status=exc.status, error=exc.text)

    async def aclose(self) -> None:
        """Send what is waiting now (the bot is stopping), and wait for what is being sent."""
        for channel in self._channels.values():
            if channel.timer is not None:
                channel.timer.cancel()
                self._start_sending(channel)
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)

"""The bot's reactions on signal messages: sent one at a time per channel, in the order they were asked for.

Discord limits how fast a bot reacts in a channel, and discord.py waits out the limit per channel, so in a
busy channel reactions queue whoever holds them. Held here as (message, emoji), a waiting reaction costs the
event loop a list append; held by discord.py, each was a request under way (its route, headers and a waiter
in the limiter), ~40 µs of the loop a signal at 2,000 signals/s and a task per signal kept alive until its
turn (docs/benchmarks.md, "Reactions and log lines"). A quiet channel's reaction goes out at once.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections import deque

import discord
import structlog

log = structlog.get_logger(__name__)

# When the bot stops: how long the reactions still waiting may take before they are dropped (and counted).
STOP_WAIT_SECONDS = 2.0


class Reactions:
    """Per channel, a queue of reactions and, while it is not empty, one task sending them (`add`)."""

    def __init__(self, *, stop_wait_seconds: float = STOP_WAIT_SECONDS) -> None:
        self._stop_wait_seconds = stop_wait_seconds
        self._waiting: dict[int, deque[tuple[discord.PartialMessage, str]]] = {}
        self._senders: dict[int, asyncio.Task[None]] = {}
        self._stopping = False

    def add(self, message: discord.PartialMessage, emoji: str) -> None:
        """React `emoji` on `message` after the reactions asked for before it in its channel; a failure is
        logged, not raised (the signal it answers is recorded whatever happens to its reaction). Once the bot
        is stopping (`aclose`), a reaction is dropped: discord.py's session is about to close."""
        if self._stopping:
            log.info("discord.reaction_dropped", message_id=message.id, reason="the bot is stopping")
            return
        channel_id = message.channel.id
        waiting = self._waiting.get(channel_id)
        if waiting is None:
            waiting = self._waiting[channel_id] = deque()
        waiting.append((message, emoji))
        if channel_id not in self._senders:
            # A context of its own: the sender outlives the signal that started it, whose ids the log context
            # would otherwise put on the lines about every reaction after it.
            sender = asyncio.get_running_loop().create_task(
                self._send(channel_id, waiting), context=contextvars.Context()
            )
            self._senders[channel_id] = sender

    @property
    def waiting(self) -> int:
        """Reactions asked for and not sent yet."""
        return sum(map(len, self._waiting.values()))

    async def _send(self, channel_id: int, waiting: deque[tuple[discord.PartialMessage, str]]) -> None:
        try:
            while waiting:
                message, emoji = waiting[0]  # left in the queue while it is sent, so a stop counts it
                try:
                    await message.add_reaction(emoji)
                except discord.HTTPException as exc:
                    log.warning("discord.reaction_failed", message_id=message.id, status=exc.status, error=exc.text)
                except Exception:  # a bug must not stop the channel's other reactions
                    log.exception("discord.reaction_crashed", message_id=message.id)
                waiting.popleft()
        finally:
            del self._senders[channel_id]

    async def aclose(self) -> None:
        """The bot is stopping: send what is waiting for up to `stop_wait_seconds`, then drop the rest, logged
        as one line with their number rather than an error each when discord.py's session closes."""
        self._stopping = True
        senders = list(self._senders.values())
        if not senders:
            return
        _, unfinished = await asyncio.wait(senders, timeout=self._stop_wait_seconds)
        dropped = self.waiting
        for sender in unfinished:
            sender.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)
        self._waiting.clear()
        if dropped:
            log.warning("discord.reactions_dropped", count=dropped, reason="the bot is stopping")

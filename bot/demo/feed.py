"""Playing the script: posts and edits go through the Discord emulator, quotes into the paper broker.

The bot sees the feed exactly as it would see a real community: messages arrive over the gateway from
members with or without the trusted role. A signal waits (a few seconds at most) for the bot's reaction,
so a later "SL to BE" always finds the position it manages, whatever the `--speed`.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import structlog

from bot.demo.market import Quote
from bot.demo.script import Action, Edit, Pause, Post, Script
from bot.demo.world import DemoWorld
from bot.discord_emulator import FakeDiscord
from bot.execution.broker import StaticQuotes

log = structlog.get_logger(__name__)

REACTION_WAIT_SECONDS = 5.0


@dataclass(slots=True)
class FeedProgress:
    """What the /demo page shows about the feed."""

    posts: int = 0
    edits: int = 0
    quote_updates: int = 0


class FeedPlayer:
    def __init__(
        self,
        script: Script,
        fake: FakeDiscord,
        world: DemoWorld,
        quotes: StaticQuotes,
        *,
        speed: float,
        progress: FeedProgress | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive (got {speed})")
        self._script = script
        self._fake = fake
        self._world = world
        self._quotes = quotes
        self._speed = speed
        self._message_ids: dict[str, int] = {}
        self.progress = FeedProgress() if progress is None else progress

    async def run(self) -> None:
        """Play until cancelled (the script never ends)."""
        for symbol, price in self._script.market.quotes().items():
            self._quotes.set(symbol, price)
        for action in self._script.actions():
            await self.perform(action)

    async def perform(self, action: Action) -> None:
        if isinstance(action, Pause):
            await asyncio.sleep(action.seconds / self._speed)
        elif isinstance(action, Quote):
            self._quotes.set(action.symbol, action.price)
            self.progress.quote_updates += 1
        elif isinstance(action, Post):
            await self._post(action)
        else:
            await self._edit(action)

    async def _post(self, post: Post) -> None:
        channel_id = self._world.channel_id
        reply_to = None if post.reply_to is None else self._message_ids.get(post.reply_to)
        message_id = await self._fake.post_message(
            channel_id, self._world.user_id(post.author), post.text, reply_to=reply_to
        )
        self.progress.posts += 1
        if post.key is not None:
            self._message_ids[post.key] = message_id
        if post.expects_reaction:
            # A verdict that does not come in time is the bot's business (the page shows it); the show goes on.
            with contextlib.suppress(TimeoutError):
                await self._fake.wait_for_reaction(channel_id, message_id, timeout=REACTION_WAIT_SECONDS)

    async def _edit(self, edit: Edit) -> None:
        message_id = self._message_ids.get(edit.key)
        if message_id is None:
            log.warning("demo.edit_skipped", key=edit.key, reason="message never posted")
            return
        await self._fake.edit_message(self._world.channel_id, message_id, edit.text)
        self.progress.edits += 1

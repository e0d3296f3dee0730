"""The signal channel listener: Discord messages into the intake, outcomes back as reactions."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import discord
import structlog
from discord.ext import commands

from bot.domain import ExecutionResult, Outcome, SignalEnvelope, SignalSource
from bot.services.authority import Author

if TYPE_CHECKING:
    from bot.client import TradecordBot

log = structlog.get_logger(__name__)

REACTIONS = {
    Outcome.EXECUTED: "✅",
    Outcome.INVALID: "⚠️",
    Outcome.RISK_REJECTED: "⛔",
    Outcome.FAILED: "❌",
    Outcome.DUPLICATE: "🔁",
    Outcome.UNAUTHORIZED: "🚫",
}
EXPLAINED = frozenset({Outcome.INVALID, Outcome.RISK_REJECTED, Outcome.FAILED})


def _author(message: discord.Message) -> Author:
    roles = getattr(message.author, "roles", ())
    return Author(
        id=message.author.id,
        role_ids=frozenset(role.id for role in roles),
        is_bot=message.author.bot,
        webhook_id=message.webhook_id,
    )


class SignalListener(commands.Cog):
    def __init__(self, bot: TradecordBot) -> None:
        self.bot = bot
        self.services = bot.services
        self._catch_up_lock = asyncio.Lock()

    def _envelope(self, message: discord.Message, received_at: datetime, received_monotonic: float) -> SignalEnvelope:
        refusal = self.services.authority.refusal(message.channel.id, _author(message))
        reference = message.reference
        return SignalEnvelope(
            source=SignalSource.DISCORD,
            channel_id=str(message.channel.id),
            message_id=str(message.id),
            author_id=str(message.author.id),
            text=message.content,
            received_at=received_at,
            received_monotonic=received_monotonic,
            authorized=refusal is None,
            unauthorized_reason=refusal,
            reply_to_message_id=None
            if reference is None or reference.message_id is None
            else str(reference.message_id),
        )

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        received_monotonic = time.perf_counter()
        if message.guild is None or (self.bot.user is not None and message.author.id == self.bot.user.id):
            return
        await self._process(message, datetime.now(UTC), received_monotonic)

    async def _process(self, message: discord.Message, received_at: datetime, received_monotonic: float) -> None:
        in_signal_channel = self.services.authority.is_signal_channel(message.channel.id)
        if in_signal_channel:
            self.services.writer.note_message(str(message.channel.id), message.id)
        try:
            result = await self.services.intake.handle(self._envelope(message, received_at, received_monotonic))
        except Exception:
            # A bug or a storage failure must not pass silently: log it with the message and tell the author.
            log.exception("signal.crashed", channel_id=message.channel.id, message_id=message.id)
            result = ExecutionResult(Outcome.FAILED, reason="internal error (logged); check /health before re-posting")
        if in_signal_channel and not result.replayed:
            await self._answer(message, result)

    async def _answer(self, message: discord.Message, result: ExecutionResult) -> None:
        emoji = REACTIONS.get(result.outcome)
        if emoji is None:
            return
        try:
            await message.add_reaction(emoji)
            if result.outcome in EXPLAINED and result.reason:
                trace = f" (signal `{result.signal_id}`)" if result.signal_id else ""
                await message.reply(f"{emoji} Not executed: {result.reason}{trace}", mention_author=False)
        except discord.HTTPException as exc:
            log.warning("discord.reply_failed", signal_id=result.signal_id, status=exc.status, error=exc.text)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """Every fresh session (start-up or a reconnect that was not a resume) may have missed messages."""
        async with self._catch_up_lock:
            try:
                await self._catch_up()
            finally:
                self.services.readiness.caught_up = True

    async def _catch_up(self) -> None:
        max_age = self.services.max_catch_up_age_seconds
        oldest = None if max_age is None else datetime.now(UTC) - timedelta(seconds=max_age)
        for channel_id in sorted(self.services.authority.signal_channel_ids):
            channel = self.bot.get_channel(channel_id)
            last = await self.services.state.last_message_id(str(channel_id))
            if not isinstance(channel, discord.TextChannel) or last is None:
                continue
            processed = 0
            async for message in channel.history(limit=None, after=discord.Object(id=last), oldest_first=True):
                if self.bot.user is not None and message.author.id == self.bot.user.id:
                    continue
                if oldest is not None and message.created_at < oldest:
                    continue
                # Age limits count from when Discord got the message, not from when we finally read it.
                await self._process(message, message.created_at, time.perf_counter())
                processed += 1
            log.info("discord.caught_up", channel_id=channel_id, after=last, processed=processed)


async def setup(bot: TradecordBot) -> None:
    await bot.add_cog(SignalListener(bot))

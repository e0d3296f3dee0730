"""The signal channel listener: Discord messages into the intake, outcomes back as reactions.

Every guild message is first read from its raw gateway payload (`cogs/gateway_screen.py`): chatter is
counted and dropped there, synchronously, before discord.py builds a Message. A possible signal whose
payload says all the intake needs (the author's member and roles, or a webhook) is handled from the
payload too, with a `PartialMessage` to answer on: discord.py's Message, Member and listener tasks cost
more than the rest of the way to the broker. Any other reaches `on_message` with the parser's reading, so
nothing is parsed twice.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import discord
import structlog
from discord.ext import commands

from bot.domain import ExecutionResult, Outcome, SignalEnvelope, SignalKind, SignalSource
from bot.services.authority import Author
from bot.services.intake import Reading
from bot.services.progress import ProgressMarks
from cogs import gateway_screen
from cogs.confirmations import Confirmations
from cogs.reactions import Reactions

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
# Readings waiting for their Message; only a discord.py failure between the screen and `on_message` could
# leave one behind, so past this many something is wrong and they are dropped (the message is read again).
MAX_PENDING_READINGS = 10_000


def _payload_author(data: dict[str, Any], guild: discord.Guild | None) -> Author | None:
    """The author of a raw MESSAGE_CREATE as `_author` would see them, or None when the payload lacks the
    member (only a Message and a member look-up can tell their roles then)."""
    user = data.get("author") or {}
    webhook = data.get("webhook_id")
    if webhook is not None:
        role_ids: frozenset[int] = frozenset()  # a webhook posts as a user, never as a member: no roles
    else:
        member = data.get("member")
        if member is None or guild is None:
            return None
        # Member.roles: the member's roles the guild knows, and its default role (@everyone, the guild's id).
        listed = [int(role) for role in member.get("roles", ())]
        role_ids = frozenset(role for role in (*listed, guild.id) if guild.get_role(role) is not None)
    return Author(
        id=int(user["id"]),
        role_ids=role_ids,
        is_bot=bool(user.get("bot", False)),
        webhook_id=None if webhook is None else int(webhook),
    )


def _author(message: discord.Message, member: discord.Member | None = None) -> Author:
    author = member or message.author
    roles = getattr(author, "roles", ())
    return Author(
        id=author.id,
        role_ids=frozenset(role.id for role in roles),
        is_bot=author.bot,
        webhook_id=message.webhook_id,
    )


DONE = {
    SignalKind.OPEN: "Executed",
    SignalKind.CLOSE: "Closed",
    SignalKind.UPDATE: "Updated",
    SignalKind.CANCEL: "Canceled",
}


def _executed_text(result: ExecutionResult) -> str:
    """ "✅ Executed: 2 orders (2 filled) · signal `s-…`": what was done, with the venue's answers by status."""
    statuses = Counter(ack.status.value for ack in result.orders)
    done = ", ".join(f"{count} {status}" for status, count in sorted(statuses.items()))
    count = len(result.orders)
    orders = f"{count} order{'s' if count != 1 else ''} ({done})" if count else "done"
    verb = "Executed" if result.signal is None else DONE[result.signal.kind]
    return f"✅ {verb}: {orders} · signal `{result.signal_id}`"


class SignalListener(commands.Cog):
    def __init__(self, bot: TradecordBot) -> None:
        self.bot = bot
        self.services = bot.services
        self._catch_up_lock = asyncio.Lock()
        self._progress = ProgressMarks()
        self._catching_up = True  # from each new gateway session until its catch-up is done
        self._members: dict[int, discord.Member] = {}  # looked up for history messages, which lack roles
        # What the screen read of messages that may be signals, until `on_message` gets their Message.
        self._pending: dict[int, tuple[Reading, datetime, float]] = {}
        self._signal_channels = frozenset(str(c) for c in self.services.authority.signal_channel_ids)
        self._unscreen: Callable[[], None] = lambda: None
        self._in_flight: set[asyncio.Task[None]] = set()  # signals taken from payloads, until handled
        self._reactions = Reactions()
        self._confirmations = Confirmations(self._reactions)

    async def cog_load(self) -> None:
        self._unscreen = gateway_screen.install(self.bot, self._screen)

    async def cog_unload(self) -> None:
        self._unscreen()
        await self._confirmations.aclose()
        await self._reactions.aclose()

    def _screen(self, data: dict[str, Any]) -> bool:
        """A raw MESSAGE_CREATE: chatter and the bot's own messages (its replies coming back) are done with here,
        and so is a possible signal whose payload names its author fully (True); the rest goes on to discord.py
        with what the parser made of it."""
        received_monotonic = time.perf_counter()
        if "guild_id" not in data:
            return False  # a DM: the listener ignores it, discord.py may still want it
        own = self.bot.user
        if own is not None and (data.get("author") or {}).get("id") == str(own.id):
            return True  # not counted, never a signal: building a Message for it would be wasted
        received_at = datetime.now(UTC)
        channel_id, message_id = str(data["channel_id"]), int(data["id"])
        reading = self.services.intake.read(SignalSource.DISCORD, channel_id, data.get("content") or "", received_at)
        in_signal_channel = channel_id in self._signal_channels
        if reading is None:
            if in_signal_channel:
                mark = self._progress.handled(channel_id, message_id)
                if not self._catching_up:
                    self.services.writer.note_message(channel_id, mark)
            return True
        if in_signal_channel:
            self._progress.begin(channel_id, message_id)  # in flight from now: no mark may pass it
        guild_id = int(data["guild_id"])
        author = _payload_author(data, self.bot.get_guild(guild_id))
        if author is not None:
            envelope = self._payload_envelope(data, author, received_at, received_monotonic)
            channel = self.bot.get_partial_messageable(int(channel_id), guild_id=guild_id)
            self._start(self._process(channel.get_partial_message(message_id), envelope, reading))
            return True
        if len(self._pending) >= MAX_PENDING_READINGS:
            log.error("discord.screen_backlog", dropped=len(self._pending))
            self._pending.clear()
        self._pending[message_id] = (reading, received_at, received_monotonic)
        return False

    def _payload_envelope(
        self, data: dict[str, Any], author: Author, received_at: datetime, received_monotonic: float
    ) -> SignalEnvelope:
        """`_envelope` for a live gateway payload."""
        reply_to = (data.get("message_reference") or {}).get("message_id")
        return self._signal_envelope(
            int(data["channel_id"]),
            data["id"],
            author,
            data.get("content") or "",
            reply_to,
            received_at,
            received_monotonic,
            live=True,
        )

    def _signal_envelope(
        self,
        channel_id: int,
        message_id: int | str,
        author: Author,
        text: str,
        reply_to: int | str | None,
        received_at: datetime,
        received_monotonic: float,
        *,
        live: bool,
    ) -> SignalEnvelope:
        """What the intake needs of a Discord message, with the authority's verdict on its author."""
        refusal = self.services.authority.refusal(channel_id, author)
        return SignalEnvelope(
            source=SignalSource.DISCORD,
            channel_id=str(channel_id),
            message_id=str(message_id),
            author_id=str(author.id),
            text=text,
            received_at=received_at,
            received_monotonic=received_monotonic,
            authorized=refusal is None,
            unauthorized_reason=refusal,
            reply_to_message_id=None if reply_to is None else str(reply_to),
            live=live,
        )

    def _start(self, handling: Coroutine[Any, Any, None]) -> None:
        """Handle a signal in a task of its own, as discord.py runs a listener; held until it is done."""
        task = asyncio.get_running_loop().create_task(handling)
        self._in_flight.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("signal.task_failed", error=repr(error))

    async def _member(self, message: discord.Message) -> discord.Member | None:
        """The author as a guild member, with roles. Gateway messages carry it; messages read from history
        (catch-up) do not, and without it a trusted role would not be seen."""
        if isinstance(message.author, discord.Member) or message.guild is None or message.webhook_id is not None:
            return None
        member = message.guild.get_member(message.author.id) or self._members.get(message.author.id)
        if member is None:
            try:
                member = await message.guild.fetch_member(message.author.id)
            except discord.NotFound:
                return None  # no longer a member: no roles, so only a trusted user id can still authorize
            except discord.HTTPException as exc:
                log.warning("discord.member_lookup_failed", user_id=message.author.id, status=exc.status)
                return None
            self._members[member.id] = member
        return member

    async def _envelope(
        self, message: discord.Message, received_at: datetime, received_monotonic: float, *, live: bool = False
    ) -> SignalEnvelope:
        author = _author(message, await self._member(message))
        reference = message.reference
        reply_to = None if reference is None else reference.message_id
        return self._signal_envelope(
            message.channel.id,
            message.id,
            author,
            message.content,
            reply_to,
            received_at,
            received_monotonic,
            live=live,
        )

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        screened = self._pending.pop(message.id, None)
        if screened is not None:
            reading, received_at, received_monotonic = screened
            await self._process(message, self._envelope(message, received_at, received_monotonic, live=True), reading)
            return
        received_monotonic = time.perf_counter()  # not screened (no screen installed): read it here
        if message.guild is None or (self.bot.user is not None and message.author.id == self.bot.user.id):
            return
        await self._process(message, self._envelope(message, datetime.now(UTC), received_monotonic, live=True))

    async def _process(
        self,
        message: discord.PartialMessage,
        envelope: SignalEnvelope | Coroutine[Any, Any, SignalEnvelope],
        reading: Reading | None = None,
    ) -> None:
        """Handle one message; `reading` is the screen's, which also marked the message in flight. The envelope
        is built (`_envelope`, which may look the author up) inside the handling, so its failure is answered."""
        in_signal_channel = self.services.authority.is_signal_channel(message.channel.id)
        channel_id = str(message.channel.id)
        if in_signal_channel and reading is None:
            self._progress.begin(channel_id, message.id)
        try:
            if not isinstance(envelope, SignalEnvelope):
                envelope = await envelope
            result = await self.services.intake.handle(envelope, reading=reading)
        except Exception:
            # A bug or a storage failure must not pass silently: log it with the message and tell the author.
            log.exception("signal.crashed", channel_id=message.channel.id, message_id=message.id)
            result = ExecutionResult(Outcome.FAILED, reason="internal error (logged); check /health before re-posting")
        finally:
            if in_signal_channel:
                mark = self._progress.finish(channel_id, message.id)
                # Only once handled (a mark past a message in flight would lose it to a crash), and not while
                # a catch-up is due: live messages arrive before on_ready, and a mark moved past the gap the
                # catch-up is about to read would skip what was posted while the bot was away.
                if not self._catching_up:
                    self.services.writer.note_message(channel_id, mark)
        if in_signal_channel and not result.replayed:
            await self._answer(message, result)

    async def _answer(self, message: discord.PartialMessage, result: ExecutionResult) -> None:
        emoji = REACTIONS.get(result.outcome)
        if emoji is None:
            return
        try:
            # The reply goes first, so once the reaction shows the author has the whole answer.
            if result.outcome in EXPLAINED and result.reason:
                trace = f" (signal `{result.signal_id}`)" if result.signal_id else ""
                await message.reply(f"{emoji} Not executed: {result.reason}{trace}", mention_author=False)
            elif result.outcome is Outcome.EXECUTED and result.signal_id:
                # One short line, pinging nobody: members see the fill, the provider gets an id for /trace.
                # In a busy channel the lines are folded into one message a second (`Confirmations`).
                await self._confirmations.confirm(message, _executed_text(result), emoji)
                return
        except discord.HTTPException as exc:
            log.warning("discord.reply_failed", signal_id=result.signal_id, status=exc.status, error=exc.text)
        self._reactions.add(message, emoji)  # a failed reply leaves the outcome to show all the same

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        """The raw event: `on_message_edit` only fires for messages still in discord.py's cache."""
        received_monotonic = time.perf_counter()
        message = payload.message
        if message.guild is None or message.edited_at is None or not self._watched(message):
            return
        envelope = await self._envelope(message, datetime.now(UTC), received_monotonic)
        try:
            result = await self.services.edits.on_edit(envelope, message.edited_at)
        except Exception:
            log.exception("signal.edit_crashed", channel_id=message.channel.id, message_id=message.id)
            result = ExecutionResult(Outcome.FAILED, reason="internal error (logged) while applying the edit")
        if result is not None and not result.replayed:
            await self._answer(message, result)

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        if payload.guild_id is None or not self.services.authority.is_signal_channel(payload.channel_id):
            return
        envelope = SignalEnvelope(
            source=SignalSource.DISCORD,
            channel_id=str(payload.channel_id),
            message_id=str(payload.message_id),
            author_id="",  # Discord does not say who deleted it; the handler acts for the signal's author
            text="",
            received_at=datetime.now(UTC),
            received_monotonic=time.perf_counter(),
            authorized=True,
        )
        try:
            result = await self.services.edits.on_delete(envelope)
        except Exception:
            log.exception("signal.delete_crashed", channel_id=payload.channel_id, message_id=payload.message_id)
            return
        if result is not None:
            log.info("signal.deleted", signal_id=result.signal_id, outcome=result.outcome.value, reason=result.reason)

    def _watched(self, message: discord.Message) -> bool:
        own = self.bot.user is not None and message.author.id == self.bot.user.id
        return not own and self.services.authority.is_signal_channel(message.channel.id)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """Every fresh session (start-up or a reconnect that was not a resume) may have missed messages."""
        async with self._catch_up_lock:
            try:
                await self._catch_up()
                self._catching_up = False
            finally:
                self.services.readiness.caught_up = True

    @commands.Cog.listener()
    async def on_connect(self) -> None:
        self._catching_up = True  # a fresh session: on_ready will read what was missed

    @commands.Cog.listener()
    async def on_resumed(self) -> None:
        self._catching_up = False  # Discord replayed what was missed; no catch-up follows a resume

    async def _catch_up(self) -> None:
        self._members.clear()  # roles may have changed since the last catch-up
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
                await self._process(message, self._envelope(message, message.created_at, time.perf_counter()))
                processed += 1
            log.info("discord.caught_up", channel_id=channel_id, after=last, processed=processed)


async def setup(bot: TradecordBot) -> None:
    await bot.add_cog(SignalListener(bot))

"""The Discord emulator (`bot.discord_emulator`) against the real, unmodified discord.py client."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot.discord_emulator import INTENT_MESSAGE_CONTENT, FakeDiscord, InteractionReply

if TYPE_CHECKING:
    # Only for annotations: importing the plugin module here would stop pytest rewriting it.
    from tests.fake_discord.fixtures import BotRunner, DiscordWorld

pytest_plugins = ["tests.fake_discord.fixtures"]


class Inbox:
    """Collects ``on_message`` events from users (not the bot itself) for assertions."""

    def __init__(self, bot: commands.Bot) -> None:
        self.messages: list[discord.Message] = []
        self._changed = asyncio.Event()
        bot.add_listener(self._on_message, "on_message")
        self._bot = bot

    async def _on_message(self, message: discord.Message) -> None:
        if self._bot.user is not None and message.author.id == self._bot.user.id:
            return
        self.messages.append(message)
        self._changed.set()

    async def wait_for(self, predicate: Callable[[discord.Message], bool], within: float = 5.0) -> discord.Message:
        async with asyncio.timeout(within):
            while True:
                found = next((m for m in self.messages if predicate(m)), None)
                if found is not None:
                    return found
                self._changed.clear()
                await self._changed.wait()

    def count(self, message_id: int) -> int:
        return sum(1 for m in self.messages if m.id == message_id)


def _text_channel(bot: commands.Bot, channel_id: int) -> discord.TextChannel:
    channel = bot.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)
    return channel


async def test_login_ready_and_guild_cache(
    fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """Login calls /users/@me and /oauth2/applications/@me, and READY + GUILD_CREATE fill the guild cache."""
    bot = await run_bot()
    assert bot.user is not None and bot.user.id == fake_discord.bot_user_id
    assert bot.application_id == fake_discord.application_id
    guild = bot.get_guild(discord_world.guild_id)
    assert guild is not None and guild.name == "Tradecord Test Guild"
    assert [c.name for c in guild.text_channels] == ["signals", "general"]
    assert guild.get_role(discord_world.trader_role_id) is not None
    assert guild.me is not None and guild.me.id == fake_discord.bot_user_id
    assert fake_discord.requests[:2] == [("GET", "/users/@me"), ("GET", "/oauth2/applications/@me")]
    assert fake_discord.identify_count == 1
    assert (fake_discord.session_intents or 0) & INTENT_MESSAGE_CONTENT
    assert bot.latency < 5  # the heartbeat sent right after HELLO was acknowledged
    assert fake_discord.unknown_routes == [] and fake_discord.internal_errors == []


async def test_on_message_receives_content_and_author_roles(
    fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """A posted message reaches on_message with its content, a Member author carrying roles, and a real timestamp."""
    bot = run_bot.make_bot()
    inbox = Inbox(bot)
    await run_bot(bot)
    msg_id = await fake_discord.post_message(discord_world.channel_id, discord_world.alice_id, "BUY AAPL @ 150")
    message = await inbox.wait_for(lambda m: m.id == msg_id)
    assert message.content == "BUY AAPL @ 150"
    assert isinstance(message.author, discord.Member)
    assert discord_world.trader_role_id in [r.id for r in message.author.roles]
    assert message.guild is not None and message.guild.id == discord_world.guild_id
    assert abs(message.created_at - datetime.now(UTC)) < timedelta(seconds=5)


async def test_bot_reply_embed_and_reaction_are_recorded(
    fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """A reply with an embed and a reaction sent by the bot are stored by the fake and visible to the test."""
    bot = run_bot.make_bot()

    @bot.listen("on_message")
    async def answer(message: discord.Message) -> None:
        if message.content == "ping":
            await message.reply("pong", embed=discord.Embed(title="Signal", description="ok"))
            await message.add_reaction("✅")

    await run_bot(bot)
    msg_id = await fake_discord.post_message(discord_world.channel_id, discord_world.alice_id, "ping")
    assert await fake_discord.wait_for_reaction(discord_world.channel_id, msg_id) == "✅"
    reply = await fake_discord.wait_for_bot_message(discord_world.channel_id, after=msg_id)
    assert reply.content == "pong" and reply.reference_id == msg_id
    assert reply.embeds[0]["title"] == "Signal"
    assert fake_discord.reactions(discord_world.channel_id, msg_id) == ["✅"]


async def test_slash_commands_deferred_followup_and_direct_response(
    fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """Guild-synced slash commands get typed options; deferred, direct and edited replies are all seen."""
    bot = run_bot.make_bot()
    guild = discord.Object(discord_world.guild_id)

    @bot.tree.command(name="stats", description="Trading statistics", guild=guild)
    @app_commands.choices(window=[app_commands.Choice(name=w, value=w) for w in ("1h", "24h")])
    async def stats(interaction: discord.Interaction, window: str = "24h") -> None:
        await interaction.response.defer()
        await asyncio.sleep(0.05)  # "storage work"
        await interaction.followup.send(embed=discord.Embed(title=f"Stats {window}"))

    @bot.tree.command(name="health", description="Bot health", guild=guild)
    async def health(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(embed=discord.Embed(title="ok"), ephemeral=True)

    @bot.tree.command(name="positions", description="Open positions", guild=guild)
    async def positions(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True)
        await interaction.edit_original_response(content="no open positions")

    await run_bot(bot)
    await bot.tree.sync(guild=guild)
    names = {c["name"] for c in fake_discord.registered_commands(discord_world.guild_id)}
    assert names == {"stats", "health", "positions"}

    async def invoke(name: str, **options: str) -> InteractionReply:
        handle = await fake_discord.invoke_command(
            name, user_id=discord_world.alice_id, channel_id=discord_world.channel_id, options=options
        )
        return await handle.wait_for_response()

    deferred = await invoke("stats", window="1h")
    assert deferred.deferred and deferred.via == "followup" and not deferred.ephemeral
    assert deferred.embeds[0]["title"] == "Stats 1h"
    assert deferred.ack_latency < 3.0 and deferred.deferred_after is not None

    direct = await invoke("health")
    assert not direct.deferred and direct.ephemeral and direct.via == "response"
    assert direct.embeds[0]["title"] == "ok"

    edited = await invoke("positions")
    assert edited.deferred and edited.ephemeral and edited.via == "edit_original"
    assert edited.content == "no open positions"
    # Only the non-ephemeral answer is visible in the channel.
    assert [m.embeds[0]["title"] for m in fake_discord.bot_messages(discord_world.channel_id)] == ["Stats 1h"]


async def test_global_subcommand_with_member_option(
    fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """A globally synced command group is invoked as "group sub" with string, member and integer options."""
    bot = run_bot.make_bot()
    signal = app_commands.Group(name="signal", description="Signal tools")

    @signal.command(name="parse", description="Parse a signal")
    async def parse(interaction: discord.Interaction, text: str, trader: discord.Member, size: int = 1) -> None:
        roles = sorted(r.id for r in trader.roles if not r.is_default())
        await interaction.response.send_message(f"{text}|{trader.id}|{size}|{roles}")

    bot.tree.add_command(signal)
    await run_bot(bot)
    await bot.tree.sync()
    assert [c["name"] for c in fake_discord.registered_commands()] == ["signal"]
    handle = await fake_discord.invoke_command(
        "signal parse",
        user_id=discord_world.alice_id,
        channel_id=discord_world.channel_id,
        options={"text": "BUY AAPL", "trader": discord_world.alice_id, "size": 3},
    )
    reply = await handle.wait_for_response()
    assert reply.content == f"BUY AAPL|{discord_world.alice_id}|3|[{discord_world.trader_role_id}]"


async def test_unregistered_command_fails_clearly(
    fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """Invoking a command the bot never registered raises LookupError instead of dispatching garbage."""
    await run_bot()
    with pytest.raises(LookupError, match="never registered /stats"):
        await fake_discord.invoke_command("stats", user_id=discord_world.alice_id, channel_id=discord_world.channel_id)


async def test_history_after_returns_stored_messages_in_order(
    fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """Messages stored while the bot was offline come back from history(after=...) oldest first, across pages."""
    channel_id, alice = discord_world.channel_id, discord_world.alice_id
    first = await fake_discord.post_message(channel_id, alice, "before the checkpoint")
    posted = [await fake_discord.post_message(channel_id, alice, f"signal {i}") for i in range(130)]
    bot = await run_bot()
    history = [m async for m in _text_channel(bot, channel_id).history(after=discord.Object(first), limit=None)]
    assert [m.id for m in history] == posted
    assert history[0].content == "signal 0" and history[-1].content == "signal 129"
    latest = [m.id async for m in _text_channel(bot, channel_id).history(limit=3)]
    assert latest == posted[::-1][:3]


async def test_resume_delivers_missed_message_exactly_once(
    fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """After a resumable drop, a message posted meanwhile is replayed on RESUME and seen exactly once."""
    bot = run_bot.make_bot()
    inbox = Inbox(bot)
    await run_bot(bot)
    channel_id, alice = discord_world.channel_id, discord_world.alice_id
    await fake_discord.disconnect(resume=True)
    missed = await fake_discord.post_message(channel_id, alice, "posted while disconnected")
    await fake_discord.wait_until_connected()
    await inbox.wait_for(lambda m: m.id == missed)
    sentinel = await fake_discord.post_message(channel_id, alice, "after resume")
    await inbox.wait_for(lambda m: m.id == sentinel)
    assert inbox.count(missed) == 1
    # It was buffered and replayed: its dispatch precedes RESUMED in the session's sequence.
    order = [e.type for e in fake_discord.dispatched_events if e.data.get("id") == str(missed) or e.type == "RESUMED"]
    assert order == ["MESSAGE_CREATE", "RESUMED"]
    assert (fake_discord.identify_count, fake_discord.resume_count) == (1, 1)
    assert fake_discord.gateway_paths == ["/gateway", "/gateway-resume"]


async def test_invalid_session_forces_reidentify(
    fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """An invalidated session makes the bot IDENTIFY again; messages from the gap are only in history."""
    bot = run_bot.make_bot()
    inbox = Inbox(bot)
    await run_bot(bot)
    channel_id, alice = discord_world.channel_id, discord_world.alice_id
    await fake_discord.disconnect(resume=False)
    lost = await fake_discord.post_message(channel_id, alice, "posted with no session")
    await fake_discord.wait_until_connected()
    sentinel = await fake_discord.post_message(channel_id, alice, "after re-identify")
    await inbox.wait_for(lambda m: m.id == sentinel)
    assert inbox.count(lost) == 0
    assert (fake_discord.identify_count, fake_discord.resume_count) == (2, 0)
    assert bot.get_guild(discord_world.guild_id) is not None
    recent = [m.id async for m in _text_channel(bot, channel_id).history(limit=5)]
    assert lost in recent


async def test_reconnect_opcode_resumes_the_session(
    fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """Op 7 RECONNECT makes discord.py reconnect to resume_gateway_url and RESUME rather than IDENTIFY."""
    await run_bot()
    await fake_discord.request_reconnect()
    await fake_discord.wait_until_connected()
    assert (fake_discord.identify_count, fake_discord.resume_count) == (1, 1)
    assert fake_discord.gateway_paths[-1] == "/gateway-resume"


async def test_user_reply_edit_delete_and_webhook_reach_the_bot(
    fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """Replies carry the resolved reference, edits and deletes arrive as raw events, webhook posts have webhook_id."""
    bot = run_bot.make_bot()
    inbox = Inbox(bot)
    await run_bot(bot)
    channel_id, alice = discord_world.channel_id, discord_world.alice_id
    first = await fake_discord.post_message(channel_id, alice, "BUY AAPL")
    reply_id = await fake_discord.post_message(channel_id, alice, "close half", reply_to=first)
    reply = await inbox.wait_for(lambda m: m.id == reply_id)
    assert reply.reference is not None and reply.reference.message_id == first
    assert isinstance(reply.reference.resolved, discord.Message) and reply.reference.resolved.content == "BUY AAPL"

    edited = asyncio.create_task(bot.wait_for("raw_message_edit", timeout=5))
    await fake_discord.edit_message(channel_id, first, "BUY AAPL 10")
    assert (await edited).data["content"] == "BUY AAPL 10"
    deleted = asyncio.create_task(bot.wait_for("raw_message_delete", timeout=5))
    await fake_discord.delete_message(channel_id, reply_id)
    assert (await deleted).message_id == reply_id

    hook_id = fake_discord.add_webhook(channel_id, "TradingView")
    posted = await fake_discord.post_webhook_message(hook_id, "SELL TSLA")
    via_hook = await inbox.wait_for(lambda m: m.id == posted)
    assert via_hook.webhook_id == hook_id and via_hook.author.bot and via_hook.content == "SELL TSLA"


async def test_file_upload_is_stored_as_attachment(
    fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """A multipart send (payload_json + file) is parsed into content and an attachment."""
    bot = await run_bot()
    chart = discord.File(io.BytesIO(b"\x89PNG fake"), filename="chart.png")
    sent = await _text_channel(bot, discord_world.channel_id).send("chart", file=chart)
    stored = fake_discord.message(sent.id)
    assert stored.content == "chart"
    assert [(a["filename"], a["size"]) for a in stored.attachments] == [("chart.png", 9)]
    assert sent.attachments[0].filename == "chart.png"


async def test_replay_dispatch_delivers_duplicate(
    fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """replay_dispatch makes on_message fire a second time with the identical message."""
    bot = run_bot.make_bot()
    inbox = Inbox(bot)
    await run_bot(bot)
    msg_id = await fake_discord.post_message(discord_world.channel_id, discord_world.alice_id, "SELL TSLA")
    await inbox.wait_for(lambda m: m.id == msg_id)
    await fake_discord.replay_dispatch(msg_id)
    await inbox.wait_for(lambda m: inbox.count(msg_id) == 2)
    first, second = (m for m in inbox.messages if m.id == msg_id)
    assert (first.content, first.author.id) == (second.content, second.author.id)


async def test_missing_content_intent_gets_empty_content(
    fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """A bot that identifies without MESSAGE_CONTENT receives other users' messages with empty content."""
    bot = run_bot.make_bot(intents=discord.Intents.default())
    inbox = Inbox(bot)
    await run_bot(bot)
    msg_id = await fake_discord.post_message(discord_world.channel_id, discord_world.alice_id, "BUY AAPL")
    assert (await inbox.wait_for(lambda m: m.id == msg_id)).content == ""


async def test_unapproved_privileged_intent_closes_with_4014(
    fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """Requesting a privileged intent the application lacks fails the bot with PrivilegedIntentsRequired."""
    fake_discord.approved_intents = INTENT_MESSAGE_CONTENT
    intents = discord.Intents.default()
    intents.message_content = intents.members = True
    with pytest.raises(discord.PrivilegedIntentsRequired):
        await run_bot(run_bot.make_bot(intents=intents), timeout=5)


async def test_late_interaction_callback_is_rejected(
    fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """A callback after the deadline gets 404 Unknown interaction and is recorded as rejected."""
    fake_discord.interaction_deadline = 0.05
    bot = run_bot.make_bot()
    rejected: asyncio.Future[discord.NotFound] = asyncio.get_running_loop().create_future()

    @bot.tree.command(name="slow", description="Too slow", guild=discord.Object(discord_world.guild_id))
    async def slow(interaction: discord.Interaction) -> None:
        await asyncio.sleep(0.2)
        try:
            await interaction.response.send_message("late")
        except discord.NotFound as exc:
            rejected.set_result(exc)

    await run_bot(bot)
    await bot.tree.sync(guild=discord.Object(discord_world.guild_id))
    handle = await fake_discord.invoke_command(
        "slow", user_id=discord_world.alice_id, channel_id=discord_world.channel_id
    )
    error = await asyncio.wait_for(rejected, timeout=5)
    assert error.status == 404 and error.code == 10062
    assert [(c.type, c.accepted) for c in handle.callbacks] == [(4, False)]
    with pytest.raises(TimeoutError, match="REJECTED"):
        await handle.wait_for_response(timeout=0.05)


async def test_scripted_failures_and_unknown_routes(
    fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """A scripted 429 is retried by discord.py, and calls to unimplemented routes are recorded as 404s."""
    bot = await run_bot()
    fake_discord.fail_next("POST", "/channels/*/messages", status=429, retry_after=0.01)
    await _text_channel(bot, discord_world.channel_id).send("hello")
    statuses = [r.status for r in fake_discord.request_log if r.method == "POST"]
    assert statuses == [429, 200]
    guild = bot.get_guild(discord_world.guild_id)
    assert guild is not None
    with pytest.raises(discord.NotFound):
        await guild.fetch_emojis()
    assert fake_discord.unknown_routes == [("GET", f"/guilds/{discord_world.guild_id}/emojis")]


async def test_bad_token_is_rejected(fake_discord: FakeDiscord, run_bot: BotRunner) -> None:
    """REST answers 401 to a wrong bot token, which discord.py turns into LoginFailure."""
    bot = run_bot.make_bot()
    with pytest.raises(discord.LoginFailure):
        await bot.login("wrong-token")
    await bot.close()


@pytest.mark.slow
async def test_heartbeat_latency_is_never_a_whole_heartbeat_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ACK comes a network-like moment later, so discord.py (which notes a heartbeat's send time only after
    the send returns) never measures the previous heartbeat and reports the interval as its latency."""
    from tests.fake_discord.fixtures import BotRunner

    interval = 0.25
    async with FakeDiscord(heartbeat_interval_ms=int(interval * 1000)) as fake:
        runner = BotRunner(fake, monkeypatch)
        bot = await runner()
        seen: list[float] = []
        try:
            while fake.heartbeat_count < 12:
                await asyncio.sleep(0.01)
                if bot.latency != float("inf"):
                    seen.append(bot.latency)
        finally:
            await runner.aclose()
    assert seen and max(seen) < interval, max(seen)


async def test_a_reaction_interval_gives_the_bots_reactions_discords_bucket_and_nothing_else() -> None:
    """With `reaction_interval`, the bot's own reaction answers "one, then wait the interval" as Discord's
    headers do, so discord.py spaces its reactions; other routes keep their roomy bucket."""
    async with FakeDiscord(reaction_interval=0.25) as fake:
        guild = fake.add_guild("Guild")
        channel = fake.add_channel(guild, "signals")
        alice = fake.add_user("alice")
        fake.add_member(guild, alice)
        message = await fake.post_message(channel, alice, "BUY AAPL 1 @ MKT")
        headers = {"Authorization": f"Bot {fake.bot_token}"}
        base = f"{fake.api_base_url}/channels/{channel}/messages/{message}"
        async with aiohttp.ClientSession(headers=headers) as session:
            async with session.put(f"{base}/reactions/%E2%9C%85/@me") as reacted:
                assert reacted.status == 204
                assert reacted.headers["X-RateLimit-Limit"] == "1"
                assert reacted.headers["X-RateLimit-Remaining"] == "0"
                assert reacted.headers["X-RateLimit-Reset-After"] == "0.250"
            async with session.get(base) as read:
                assert read.status == 200 and read.headers["X-RateLimit-Remaining"] == "49"
        assert fake.reactions(channel, message) == ["✅"]

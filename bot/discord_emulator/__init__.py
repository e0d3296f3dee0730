"""A Discord emulator (REST + gateway on 127.0.0.1) that the real, unmodified discord.py client logs into.

Why: the bot's behaviour at the Discord boundary (catch-up after reconnects, duplicate deliveries,
deferring within 3 s, replies and reactions) can only be trusted if the real client library runs
against something that speaks Discord's protocol, including its quirks. The tests use it as their fake
Discord (pytest fixtures in ``tests/fake_discord/fixtures.py``), and ``python -m bot demo`` runs the bot
against it so Tradecord can be tried with no Discord account. It does not depend on pytest.

Pointing discord.py at it (the ``run_bot`` fixture does this; the bot itself takes ``discord.api_base_url``
and ``discord.gateway_url``)::

    discord.http.Route.BASE = fake.api_base_url
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)

API (all ids are ints; see each method's docstring)::

    async with FakeDiscord(bot_user_id=None, application_id=None, bot_token="fake-bot-token",
                           approved_intents=PRIVILEGED_INTENTS, interaction_deadline=3.0,
                           reaction_interval=None) as fake:
        fake.api_base_url / fake.gateway_url / fake.resume_gateway_url / fake.bot_user_id / fake.owner_id
        # world (added before connect -> in GUILD_CREATE; after -> GUILD_CREATE/CHANNEL_CREATE/... dispatch)
        guild_id = fake.add_guild("Guild")              # bot + owner are members, @everyone + bot role exist
        channel_id = fake.add_channel(guild_id, "signals")
        role_id = fake.add_role(guild_id, "Trader", permissions=0)
        user_id = fake.add_user("alice", bot=False)
        fake.add_member(guild_id, user_id, roles=[role_id])
        hook_id = fake.add_webhook(channel_id, "TradingView"); dm_id = fake.dm_channel(user_id)
        # acting as users (each returns after the frame reached the bot's socket)
        msg_id = await fake.post_message(channel_id, user_id, "BUY AAPL", reply_to=None, embeds=())
        await fake.post_webhook_message(hook_id, "text"); await fake.add_reaction(channel_id, msg_id, user_id, "👍")
        await fake.edit_message(channel_id, msg_id, "new"); await fake.delete_message(channel_id, msg_id)
        await fake.replay_dispatch(msg_id)                              # duplicate MESSAGE_CREATE
        handle = await fake.invoke_command("stats", user_id=user_id, channel_id=channel_id,
                                           options={"window": "24h"})  # "group sub" for subcommands
        reply = await handle.wait_for_response(timeout=5)   # InteractionReply: content, embeds, ephemeral,
                                                            # deferred, ack_latency, deferred_after, via
        # reading what the bot did
        fake.messages(channel_id); fake.bot_messages(channel_id); fake.message(msg_id)
        fake.reactions(channel_id, msg_id)                  # ["✅"]
        await fake.wait_for_reaction(channel_id, msg_id, emoji=None, timeout=5)
        await fake.wait_for_bot_message(channel_id, predicate=None, after=msg_id, timeout=5)
        await fake.wait_for_request("POST", "/channels/*/messages")
        fake.registered_commands(guild_id); fake.requests; fake.request_log; fake.unknown_routes
        fake.dispatched_events; fake.internal_errors       # the fake's own failures (answered 400)
        # connection control
        await fake.wait_until_connected(timeout=10); fake.is_connected
        await fake.disconnect(resume=True)   # resumable close 4000: RESUME replays what was missed
        await fake.disconnect(resume=False)  # op 9 d=false: fresh IDENTIFY, READY, GUILD_CREATE
        await fake.request_reconnect()       # op 7
        fake.identify_count; fake.resume_count; fake.heartbeat_count; fake.session_intents; fake.gateway_paths
        # failures and knobs
        fake.fail_next("POST", "/channels/*/messages", status=500 | 429, times=1, retry_after=0.05)
        fake.interaction_deadline = 0.05; fake.approved_intents = INTENT_MESSAGE_CONTENT

Behaviour worth knowing: messages from others reach a session without the MESSAGE_CONTENT intent with
empty content (unless they mention the bot); interaction callbacks after ``interaction_deadline`` get
404/10062; a second callback gets 400/40060; the bot's own messages are dispatched back to it, as on
Discord; heartbeats are ACKed 25 ms later, as across a network. Snowflakes are real and time-ordered.
"""

from __future__ import annotations

from .core import RecordedRequest, ScriptedFailure
from .fake import FakeDiscord
from .gateway import GatewayEvent
from .interactions import CallbackRecord, InteractionHandle, InteractionReply
from .protocol import (
    INTENT_GUILD_MEMBERS,
    INTENT_GUILD_MESSAGES,
    INTENT_GUILD_PRESENCES,
    INTENT_GUILDS,
    INTENT_MESSAGE_CONTENT,
    PRIVILEGED_INTENTS,
)
from .state import FakeMessage, FakeReaction

__all__ = [
    "INTENT_GUILDS",
    "INTENT_GUILD_MEMBERS",
    "INTENT_GUILD_MESSAGES",
    "INTENT_GUILD_PRESENCES",
    "INTENT_MESSAGE_CONTENT",
    "PRIVILEGED_INTENTS",
    "CallbackRecord",
    "FakeDiscord",
    "FakeMessage",
    "FakeReaction",
    "GatewayEvent",
    "InteractionHandle",
    "InteractionReply",
    "RecordedRequest",
    "ScriptedFailure",
]

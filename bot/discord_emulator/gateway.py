"""The fake gateway: one websocket session for the bot, with HELLO/IDENTIFY/RESUME and replay.

Why a session object separate from the connection: Discord keeps a session (id, sequence number,
buffered events) alive across dropped connections so a client can RESUME and receive what it missed.
The fake does the same, which is what lets tests check "a message sent while the bot was disconnected is
delivered exactly once after the resume" and "after an invalidated session the bot must catch up from
history". Frames are plain-text JSON: discord.py asks for ``compress=zlib-stream`` but only inflates
binary frames, so text frames are accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMessage, WSMsgType, web

from . import payloads
from .connection import Connection, Session
from .protocol import (
    INTENT_MESSAGE_CONTENT,
    OP_DISPATCH,
    OP_HEARTBEAT,
    OP_HEARTBEAT_ACK,
    OP_HELLO,
    OP_IDENTIFY,
    OP_INVALID_SESSION,
    OP_PRESENCE_UPDATE,
    OP_RECONNECT,
    OP_REQUEST_GUILD_MEMBERS,
    OP_RESUME,
    OP_VOICE_STATE_UPDATE,
    PRIVILEGED_INTENTS,
    event_wanted,
)
from .state import World

# discord.py's keep-alive thread records when it sent a heartbeat only after the send returns; an ACK that
# arrives first (loopback answers in microseconds) is measured against the previous heartbeat, so the bot
# would report a whole heartbeat interval (41 s) as its latency and log "Can't keep up". Discord itself is
# tens of milliseconds away: so is the fake's ACK.
HEARTBEAT_ACK_DELAY_SECONDS = 0.025


@dataclass(frozen=True)
class GatewayEvent:
    """A dispatch the fake sent (or buffered for resume), as the bot's session sees it."""

    seq: int
    type: str
    data: dict[str, Any]
    session_id: str


class Gateway:
    """The gateway endpoint and the bot's (single, unsharded) session."""

    def __init__(
        self,
        world: World,
        *,
        token: str,
        application_id: int,
        approved_intents: int,
        heartbeat_interval_ms: int,
        on_change: Callable[[], None],
    ) -> None:
        self._world = world
        self._token = token
        self._application_id = application_id
        self.approved_intents = approved_intents
        self._heartbeat_interval_ms = heartbeat_interval_ms
        self._on_change = on_change
        self.resume_url = ""
        self._session: Session | None = None
        self._connections: set[Connection] = set()
        self._writers: set[asyncio.Task[None]] = set()
        self.connected = asyncio.Event()
        self.identify_count = 0
        self.resume_count = 0
        self.heartbeat_count = 0
        self.invalid_session_count = 0
        self.connection_paths: list[str] = []
        self.close_codes: list[int | None] = []
        self.events: list[GatewayEvent] = []

    # --- test-facing state -------------------------------------------------------------------------
    @property
    def session_intents(self) -> int | None:
        """The intents the bot identified with, or None when it has no session."""
        return None if self._session is None else self._session.intents

    @property
    def is_connected(self) -> bool:
        """Whether the bot has a live, identified (or resumed) connection."""
        return self.connected.is_set()

    # --- websocket endpoint ------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """The websocket handler: HELLO, then serve the client's opcodes until it disconnects."""
        ws = web.WebSocketResponse(max_msg_size=0, timeout=2.0, autoping=True)
        await ws.prepare(request)
        conn = Connection(ws, request.path)
        self._connections.add(conn)
        self.connection_paths.append(request.path)
        writer = asyncio.create_task(conn.run_writer(), name="fake-discord-gateway-writer")
        self._writers.add(writer)
        conn.send({"op": OP_HELLO, "d": {"heartbeat_interval": self._heartbeat_interval_ms}, "s": None, "t": None})
        try:
            async for msg in ws:
                frame = self._decode(msg)
                if frame is None:
                    conn.close(4002, "Decode error")
                    continue
                await self._on_frame(conn, frame)
        finally:
            self._on_closed(conn)
            await self._stop_writer(conn, writer)
        return ws

    @staticmethod
    def _decode(msg: WSMessage) -> dict[str, Any] | None:
        """A JSON object from a text frame (discord.py never sends binary or ETF)."""
        if msg.type is not WSMsgType.TEXT:
            return None
        try:
            frame = json.loads(msg.data)
        except ValueError:
            return None
        return frame if isinstance(frame, dict) else None

    async def _stop_writer(self, conn: Connection, writer: asyncio.Task[None]) -> None:
        if conn.server_closed and not writer.done():
            # The writer is finishing our close handshake (waiting for the client's close frame).
            await asyncio.wait({writer}, timeout=2.0)
        conn.dead = True
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        self._writers.discard(writer)
        self._connections.discard(conn)

    def _on_closed(self, conn: Connection) -> None:
        self.close_codes.append(conn.ws.close_code)
        session = conn.session
        if session is None or session.connection is not conn:
            return
        session.connection = None
        self.connected.clear()
        # A client that closes with 1000/1001 ends its session (discord.py: bot.close() or after op 9).
        if not conn.server_closed and conn.ws.close_code in (1000, 1001):
            self._session = None
        self._on_change()

    async def _on_frame(self, conn: Connection, frame: dict[str, Any]) -> None:
        op, data = frame.get("op"), frame.get("d")
        if op == OP_HEARTBEAT:
            self.heartbeat_count += 1
            ack = {"op": OP_HEARTBEAT_ACK, "d": None, "s": None, "t": None}
            asyncio.get_running_loop().call_later(HEARTBEAT_ACK_DELAY_SECONDS, conn.send, ack)
        elif op == OP_IDENTIFY:
            await self._identify(conn, data if isinstance(data, dict) else {})
        elif op == OP_RESUME:
            await self._resume(conn, data if isinstance(data, dict) else {})
        elif conn.session is None:
            conn.close(4003, "Not authenticated.")
        elif op == OP_REQUEST_GUILD_MEMBERS and isinstance(data, dict):
            self._request_members(conn.session, data)
        elif op not in (OP_PRESENCE_UPDATE, OP_VOICE_STATE_UPDATE, OP_REQUEST_GUILD_MEMBERS):
            conn.close(4001, "Unknown opcode.")

    async def _identify(self, conn: Connection, data: dict[str, Any]) -> None:
        intents = data.get("intents")
        if data.get("token") != self._token:
            conn.close(4004, "Authentication failed.")
            return
        if conn.session is not None:
            conn.close(4005, "Already authenticated.")
            return
        if not isinstance(intents, int):
            conn.close(4013, "Invalid intent(s).")
            return
        if intents & PRIVILEGED_INTENTS & ~self.approved_intents:
            conn.close(4014, "Disallowed intent(s).")
            return
        self._drop_session()
        session = Session(id=uuid.uuid4().hex, intents=intents)
        self._attach(session, conn)
        self.identify_count += 1
        ready = payloads.ready(
            self._world,
            session_id=session.id,
            resume_gateway_url=self.resume_url,
            application_id=self._application_id,
        )
        self._send_dispatch(session, "READY", ready)
        for guild in self._world.guilds.values():
            self._send_dispatch(session, "GUILD_CREATE", payloads.guild_create(self._world, guild, initial=True))
        await self._mark_connected(conn)

    async def _resume(self, conn: Connection, data: dict[str, Any]) -> None:
        if data.get("token") != self._token:
            conn.close(4004, "Authentication failed.")
            return
        session = self._session
        seq = data.get("seq") or 0
        lost = session is not None and session.seq - seq > len(session.backlog)
        if session is None or session.id != data.get("session_id") or lost or conn.session is not None:
            self.invalid_session_count += 1
            self._drop_session()
            conn.send({"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        if session.connection is not None:
            session.connection.close(4000, "Session resumed elsewhere")
        self._attach(session, conn)
        for frame_seq, frame in session.backlog:
            if frame_seq > seq:
                conn.send_raw(frame)
        self.resume_count += 1
        self._send_dispatch(session, "RESUMED", {"_trace": ['["fake-discord-gateway",{"micros":0}]']})
        await self._mark_connected(conn)

    def _attach(self, session: Session, conn: Connection) -> None:
        self._session = session
        session.connection = conn
        conn.session = session

    async def _mark_connected(self, conn: Connection) -> None:
        await conn.flush()
        session = conn.session
        if session is not None and session.connection is conn and not conn.dead:
            self.connected.set()
            self._on_change()

    def _drop_session(self) -> None:
        old = self._session
        self._session = None
        if old is not None and old.connection is not None:
            old.connection.close(4009, "Session replaced")
            old.connection = None
        self.connected.clear()

    def _request_members(self, session: Session, data: dict[str, Any]) -> None:
        guild = self._world.guilds.get(int(data.get("guild_id", 0)))
        if guild is None:
            return
        wanted = {int(u) for u in data.get("user_ids") or []}
        members = [
            payloads.member(m, with_user=self._world.user(m.user_id))
            for m in guild.members.values()
            if not wanted or m.user_id in wanted
        ]
        chunk: dict[str, Any] = {
            "guild_id": str(guild.id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        self._send_dispatch(session, "GUILD_MEMBERS_CHUNK", chunk)

    # --- dispatching -------------------------------------------------------------------------------
    def dispatch(self, event: str, data: dict[str, Any]) -> int | None:
        """Send (or, while the bot is away on a resumable session, buffer) one event.

        Returns the sequence number, or None when there is no session or its intents exclude the event.
        """
        session = self._session
        if session is None or not event_wanted(session.intents, event, data):
            return None
        return self._send_dispatch(session, event, self._redact(session.intents, event, data))

    def _send_dispatch(self, session: Session, event: str, data: dict[str, Any]) -> int:
        session.seq += 1
        frame = json.dumps({"op": OP_DISPATCH, "t": event, "s": session.seq, "d": data}, separators=(",", ":"))
        session.backlog.append((session.seq, frame))
        self.events.append(GatewayEvent(session.seq, event, data, session.id))
        if session.connection is not None:
            session.connection.send_raw(frame)
        return session.seq

    def _redact(self, intents: int, event: str, data: dict[str, Any]) -> dict[str, Any]:
        """Without MESSAGE_CONTENT, guild messages from others that don't mention the bot lose content."""
        if intents & INTENT_MESSAGE_CONTENT or event not in ("MESSAGE_CREATE", "MESSAGE_UPDATE"):
            return data
        return self.redact_message(data)

    def redact_message(self, data: dict[str, Any]) -> dict[str, Any]:
        """Strip a message payload the way Discord does for an app lacking the content intent."""
        bot_id = str(self._world.bot_user.id)
        author_id = data.get("author", {}).get("id")
        mentioned = any(u.get("id") == bot_id for u in data.get("mentions", []))
        in_dm = "guild_id" not in data
        if author_id == bot_id or mentioned or in_dm:
            return data
        stripped = payloads.strip_content(data)
        if isinstance(data.get("referenced_message"), dict):
            stripped["referenced_message"] = self.redact_message(data["referenced_message"])
        return stripped

    async def flush(self) -> None:
        """Wait until every dispatched frame has been written to the bot's socket."""
        session = self._session
        if session is not None and session.connection is not None:
            await session.connection.flush()

    # --- connection control ------------------------------------------------------------------------
    async def disconnect(self, *, resume: bool, code: int) -> None:
        """Drop the bot: keep the session for a RESUME, or invalidate it (op 9, ``d: false``)."""
        session = self._session
        conn = None if session is None else session.connection
        if session is None or conn is None:
            raise RuntimeError("the bot is not connected to the fake gateway")
        self.connected.clear()
        session.connection = None
        conn.session = None
        if resume:
            conn.close(code, "Fake Discord dropped the connection")
        else:
            self._session = None
            self.invalid_session_count += 1
            conn.send({"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None})
        await conn.flush()

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT: discord.py closes the socket itself and RESUMEs."""
        session = self._session
        if session is None or session.connection is None:
            raise RuntimeError("the bot is not connected to the fake gateway")
        conn = session.connection
        self.connected.clear()
        session.connection = None
        conn.session = None
        conn.send({"op": OP_RECONNECT, "d": None, "s": None, "t": None})
        await conn.flush()

    async def close_all(self) -> None:
        """Close every socket with 1001 (going away) and stop their writer tasks."""
        for conn in list(self._connections):
            conn.close(1001, "Fake Discord is shutting down")
        for conn in list(self._connections):
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(conn.flush(), timeout=2)
        for task in list(self._writers):
            task.cancel()
        await asyncio.gather(*self._writers, return_exceptions=True)
        self._session = None
        self.connected.clear()

"""One gateway websocket: an outbox drained by a single writer task.

Why a queue and one writer: ``Gateway.dispatch`` must be synchronous (the world-building API is), frames
must leave in sequence order, and a close must go out only after the frames queued before it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

_log = logging.getLogger(__name__)


@dataclass
class Session:
    """A gateway session: survives dropped connections so the client can RESUME and get what it missed."""

    id: str
    intents: int
    seq: int = 0
    backlog: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=2000))
    connection: Connection | None = None


@dataclass(frozen=True)
class Close:
    """Queued in the outbox: close the socket with ``code`` once earlier frames are written."""

    code: int
    reason: str


class Connection:
    """One websocket: an outbox drained by a single writer task, and the session it is attached to."""

    def __init__(self, ws: web.WebSocketResponse, path: str) -> None:
        self.ws = ws
        self.path = path
        self.outbox: asyncio.Queue[str | Close] = asyncio.Queue()
        self.session: Session | None = None
        self.server_closed = False
        self.dead = False

    def send(self, frame: dict[str, Any]) -> None:
        self.send_raw(json.dumps(frame, separators=(",", ":")))

    def send_raw(self, frame: str) -> None:
        if not self.dead:
            self.outbox.put_nowait(frame)

    def close(self, code: int, reason: str) -> None:
        """Close after everything already queued has been written (a resumable drop keeps order)."""
        if not self.dead:
            self.outbox.put_nowait(Close(code, reason))

    async def flush(self) -> None:
        """Wait until every queued frame has been handed to the socket (or the socket died)."""
        await self.outbox.join()

    async def run_writer(self) -> None:
        try:
            while True:
                item = await self.outbox.get()
                try:
                    if isinstance(item, Close):
                        self.server_closed = True
                        await self.ws.close(code=item.code, message=item.reason.encode())
                        return
                    await self.ws.send_str(item)
                finally:
                    self.outbox.task_done()
        except (ConnectionError, RuntimeError) as exc:
            _log.debug("gateway writer stopped: %r", exc)
        finally:
            self.dead = True
            while not self.outbox.empty():
                self.outbox.get_nowait()
                self.outbox.task_done()

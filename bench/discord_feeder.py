"""The load side of the Discord benchmarks: the Discord emulator in a process of its own.

Why a separate process: on a 2-core machine the emulator then runs on one core and the client under test on
the other, so building and sending frames is not counted against the client. The parent drives it with
JSON lines on stdin and reads JSON lines back on stdout (`Feeder` below is the parent's side).

Commands (one JSON object per line, answered by one line):
    {"do": "wait_connected"}                      -> {"ok": true} once a bot has identified
    {"do": "wait_disconnected"}                   -> {"ok": true} once no bot is connected
    {"do": "chatter", "n": N, "chunk": C}         -> MESSAGE_CREATE of N chatter messages between two GUILD_ROLE_CREATE
                                                     events (start and end marks); each chunk of C is queued
                                                     whole and written as fast as the socket takes it
    {"do": "signals", "texts": [...], "rate": R}  -> posts the texts (stored, so the bot can reply and react)
                                                     R per second, or all at once when R is null; answers
                                                     {"sent": [[message_id, wall_time], ...]}
    {"do": "wait_answered", "ids": [...]}         -> {"answered_at": wall_time} once the bot has reacted to each
                                                     and confirmed each
    {"do": "stop"}
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot import event_loop  # noqa: E402
from bot.discord_emulator import FakeDiscord  # noqa: E402
from bot.discord_emulator import payloads as emulator_payloads  # noqa: E402
from bot.domain import SignalSource  # noqa: E402
from bot.execution.ids import signal_id  # noqa: E402

CONFIRMED_ID = re.compile(r"^✅ .*`(s-[^`]+)`$", re.MULTILINE)  # one line of a confirmation, as the bot writes it
CHATTER_FILE = ROOT / "tests" / "data" / "chatter.jsonl"
THIS_FILE = str(Path(__file__).resolve())


@dataclass(frozen=True)
class FeederWorld:
    """What the parent needs to point a client at the emulator, and the ids of the benchmark's world."""

    api_base_url: str
    gateway_url: str
    token: str
    guild_id: int
    channel_ids: list[int]
    trader_role_id: int
    trader_id: int
    chatter_ids: list[int]


def chatter_texts() -> list[str]:
    """The near-miss chatter of the parser's golden corpus: the hardest chatter for the parser's screen."""
    lines = CHATTER_FILE.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines if line.strip()]


def build_world(fake: FakeDiscord, channels: int, chatter_users: int) -> FeederWorld:
    guild_id = fake.add_guild("Benchmark Guild")
    channel_ids = [fake.add_channel(guild_id, f"signals-{n}") for n in range(channels)]
    role_id = fake.add_role(guild_id, "Trader")
    trader_id = fake.add_user("provider")
    fake.add_member(guild_id, trader_id, roles=[role_id])
    chatter_ids = []
    for n in range(chatter_users):
        user_id = fake.add_user(f"member-{n}")
        fake.add_member(guild_id, user_id, roles=[role_id] if n % 2 else [])
        chatter_ids.append(user_id)
    return FeederWorld(
        fake.api_base_url, fake.gateway_url, fake.bot_token, guild_id, channel_ids, role_id, trader_id, chatter_ids
    )


class FeederProcess:
    """The child side: owns the emulator and answers the parent's commands."""

    def __init__(self, fake: FakeDiscord, world: FeederWorld) -> None:
        self.fake = fake
        self.world = world
        # The emulator's public API posts one message and waits for its frame to be written; a benchmark needs
        # tens of thousands queued at once, so it builds and dispatches them through the emulator's core.
        self.core = fake._core
        self.texts = chatter_texts()
        self.marks = 0

    def _dispatch_chatter(self, count: int, start: int) -> None:
        world, core = self.world, self.core
        channels = itertools.cycle(world.channel_ids)
        authors = itertools.cycle(world.chatter_ids)
        for n in range(start, start + count):
            msg = core.new_message(next(channels), next(authors), self.texts[n % len(self.texts)])
            # Not stored: chatter gets no reply, and a million stored messages would only grow this process.
            core.gateway.dispatch("MESSAGE_CREATE", emulator_payloads.message(core.world, msg, gateway=True))
        core.gateway.events.clear()

    def _dispatch_mark(self) -> None:
        """A new role (GUILD_ROLE_CREATE): clients note when they reach it, so nothing listens to every message.
        Every client gets it (the guilds intent is required), in order with the messages around it."""
        self.marks += 1
        self.fake.add_role(self.world.guild_id, f"mark-{self.marks}")

    async def chatter(self, n: int, chunk: int) -> dict[str, Any]:
        started = time.monotonic()
        for start in range(0, n, chunk):
            if start == 0:
                self._dispatch_mark()
            self._dispatch_chatter(min(chunk, n - start), start)
            if start + chunk >= n:
                self._dispatch_mark()
            await self.core.gateway.flush()
        return {"written_seconds": time.monotonic() - started}

    async def signals(self, texts: list[str], rate: float | None) -> dict[str, Any]:
        """Post `texts` from the trusted provider, `rate` a second (or all at once). Each message is built and
        stored beforehand, so the paced loop only sends frames: building one takes the emulator longer than
        the 0.5 ms between two messages at 2,000 a second."""
        core, world = self.core, self.world
        channels = itertools.cycle(world.channel_ids)
        prepared = []
        for text in texts:
            msg = core.new_message(next(channels), world.trader_id, text)
            core.world.store_message(msg)  # the bot replies to it and reacts on it
            prepared.append((msg.id, emulator_payloads.message(core.world, msg, gateway=True)))
        sent: list[tuple[int, float]] = []
        began = time.monotonic()
        for index, (message_id, payload) in enumerate(prepared):
            if rate is not None:
                delay = began + index / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            core.gateway.dispatch("MESSAGE_CREATE", payload)
            sent.append((message_id, time.time()))
        await core.gateway.flush()
        written = time.monotonic() - began
        core.gateway.events.clear()
        return {"sent": sent, "written_seconds": written, "offered_per_second": len(sent) / max(written, 1e-9)}

    async def wait_answered(self, message_ids: list[int], within: float) -> dict[str, Any]:
        """Wait until the bot has reacted to every one of the messages and posted each one's confirmation line
        (a reply of its own in a quiet channel, one line of a folded message in a busy one)."""
        world = self.core.world
        messages = world.messages
        waiting = set(message_ids)
        unconfirmed = {signal_id(SignalSource.DISCORD, str(messages[m].channel_id), str(m)) for m in message_ids}
        read = 0  # messages are kept in the order they were posted: each bot message is read once
        async with asyncio.timeout(within):
            while waiting or unconfirmed:
                waiting = {m for m in waiting if not messages[m].reactions}
                posted = list(messages.values())[read:]
                read += len(posted)
                for msg in posted:
                    if msg.author_id == world.bot_user.id:
                        unconfirmed.difference_update(CONFIRMED_ID.findall(msg.content))
                if waiting or unconfirmed:
                    await asyncio.sleep(0.02)
        return {"answered_at": time.time()}

    async def wait_disconnected(self) -> None:
        async with asyncio.timeout(30):
            while self.fake.is_connected:  # noqa: ASYNC110 - the emulator's own state
                await asyncio.sleep(0.01)

    async def handle(self, command: dict[str, Any]) -> dict[str, Any] | None:
        match command["do"]:
            case "wait_connected":
                await self.fake.wait_until_connected(timeout=60)
                return {"ok": True}
            case "wait_disconnected":
                await self.wait_disconnected()
                return {"ok": True}
            case "chatter":
                return await self.chatter(int(command["n"]), int(command.get("chunk") or command["n"]))
            case "signals":
                return await self.signals(list(command["texts"]), command.get("rate"))
            case "wait_answered":
                return await self.wait_answered(list(command["ids"]), float(command.get("timeout", 600)))
            case "stop":
                return None
        raise ValueError(f"unknown command {command!r}")


async def serve(channels: int, chatter_users: int, reaction_interval: float | None) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 30)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    out = os.fdopen(sys.stdout.fileno(), "w", buffering=1, closefd=False)
    async with FakeDiscord(heartbeat_interval_ms=41_250, reaction_interval=reaction_interval) as fake:
        process = FeederProcess(fake, build_world(fake, channels, chatter_users))
        out.write(json.dumps(asdict(process.world)) + "\n")
        while line := await reader.readline():
            answer = await process.handle(json.loads(line))
            if answer is None:
                break
            out.write(json.dumps(answer) + "\n")
        out.write(json.dumps({"ok": True}) + "\n")


class Feeder:
    """The parent's handle on the emulator process: `async with Feeder() as feeder: feeder.world ...`."""

    def __init__(self, *, channels: int = 4, chatter_users: int = 8, reaction_interval: float | None = None) -> None:
        self._channels = channels
        self._chatter_users = chatter_users
        self._reaction_interval = reaction_interval  # FakeDiscord's: None, reactions never wait
        self._process: asyncio.subprocess.Process | None = None
        self.world: FeederWorld | None = None

    async def __aenter__(self) -> Feeder:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            THIS_FILE,
            str(self._channels),
            str(self._chatter_users),
            "none" if self._reaction_interval is None else str(self._reaction_interval),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=1 << 30,
        )
        self.world = FeederWorld(**await self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        process = self._process
        if process is None:
            return
        with contextlib.suppress(Exception):
            await self.ask({"do": "stop"}, timeout=10)
        try:
            async with asyncio.timeout(10):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()

    async def _read(self, timeout: float = 600) -> dict[str, Any]:  # noqa: ASYNC109
        assert self._process is not None and self._process.stdout is not None
        async with asyncio.timeout(timeout):
            line = await self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the feeder process exited ({await self._process.wait()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def ask(self, command: dict[str, Any], *, timeout: float = 600) -> dict[str, Any]:  # noqa: ASYNC109
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write(json.dumps(command).encode() + b"\n")
        await self._process.stdin.drain()
        return await self._read(timeout)

    async def wait_connected(self) -> None:
        await self.ask({"do": "wait_connected"})

    async def wait_disconnected(self) -> None:
        await self.ask({"do": "wait_disconnected"})


if __name__ == "__main__":
    interval = float(sys.argv[3]) if sys.argv[3] != "none" else None
    event_loop.run(serve(int(sys.argv[1]), int(sys.argv[2]), interval))

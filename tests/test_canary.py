"""The canary: run the whole bot with recognizable secrets and prove none of them leaks anywhere.

`python -m bot run` runs in a subprocess (so its real logging set-up, stdout and stderr are what is checked)
against the fake Discord in this process, with DEBUG JSON logs, the broker credentials stored through the
encrypted secret store, a metrics token, a webhook secret and a passphrase master key. The test posts
signals (one of which fails), answers slash commands, calls every side-server route, runs `check-config` and
`secrets list`, stops the bot, and then searches the output, the HTTP answers, what the bot sent to Discord,
and the database file with its WAL for every secret value.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from bot.config_display import render_toml
from bot.discord_emulator import FakeDiscord
from tests.e2e import wait_until
from tests.fake_broker import FakeAlpaca, Fault, Route
from tests.fake_discord.fixtures import DiscordWorld

pytestmark = pytest.mark.slow

CANARIES = {
    "discord token": "CANARY-discord-token-5f2c9a71",
    "metrics token": "CANARY-metrics-token-0b6e3d48",
    "webhook secret": "CANARY-webhook-secret-c47a1e90",
    "broker key id": "CANARY-broker-key-id-9e3b2f16",
    "broker secret key": "CANARY-broker-secret-key-2d8c6a05",
    "master key": "CANARY-master-passphrase-71f4b0c3",
}
SIGNAL = "BUY AAPL 100 @ 150.25 SL 145 TP 160/165"
FAILING = "BUY NVDA 5 @ MKT"  # paper: no quote for NVDA; alpaca: the venue answers 500


def needles(canary: str) -> list[str]:
    """The whole value and its random tail, so a truncated or re-encoded copy is caught too."""
    return [canary, canary.rsplit("-", 1)[1]]


@dataclass
class Exposure:
    """Everything the outside world got to see, by where it was seen."""

    texts: dict[str, str] = field(default_factory=dict)

    def add(self, where: str, text: str | bytes) -> None:
        self.texts[where] = text.decode("latin-1") if isinstance(text, bytes) else text

    def leaks(self) -> list[str]:
        return [
            f"{label} in {where}"
            for where, text in self.texts.items()
            for label, canary in CANARIES.items()
            if any(needle in text for needle in needles(canary))
        ]


@pytest_asyncio.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """Overrides the shared fixture: this fake only accepts the canary bot token."""
    async with FakeDiscord(bot_token=CANARIES["discord token"]) as fake:
        yield fake
        if fake.internal_errors:
            raise AssertionError(f"fake Discord failed on requests: {fake.internal_errors}")


def base_env() -> dict[str, str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith("TRADECORD_") and k not in ("DISCORD_TOKEN", "PORT")
    }
    return {
        **clean,
        "DISCORD_TOKEN": CANARIES["discord token"],
        "TRADECORD_SERVER__METRICS_TOKEN": CANARIES["metrics token"],
        "TRADECORD_SERVER__WEBHOOK_SECRET": CANARIES["webhook secret"],
        "TRADECORD_MASTER_KEY": CANARIES["master key"],
    }


async def cli(*args: str, cwd: Path, stdin: str | None = None) -> tuple[int, str]:
    """`python -m bot ARGS` without blocking the loop the fakes run in; (exit code, stdout + stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=base_env(),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(None if stdin is None else stdin.encode()), 60)
    assert process.returncode is not None
    return process.returncode, out.decode() + err.decode()


class BotProcess:
    """`python -m bot run --config PATH` with every line it writes kept."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        assert process.stdout is not None and process.stderr is not None
        self._readers = [asyncio.create_task(self._collect(stream)) for stream in (process.stdout, process.stderr)]

    @classmethod
    async def start(cls, config: Path) -> BotProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--config",
            str(config),
            cwd=config.parent,
            env=base_env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def _collect(self, stream: asyncio.StreamReader) -> None:
        async for line in stream:
            self.lines.append(line.decode(errors="replace"))

    def events(self, name: str) -> list[dict[str, Any]]:
        found = []
        for line in self.lines:
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if isinstance(event, dict) and event.get("event") == name:
                    found.append(event)
        return found

    async def wait_for_event(self, name: str, timeout: float = 30) -> dict[str, Any]:  # noqa: ASYNC109
        def seen() -> bool:
            if self.process.returncode is not None and not self.events(name):
                raise AssertionError(f"the bot exited with {self.process.returncode}:\n{self.output[-3000:]}")
            return bool(self.events(name))

        await wait_until(seen, timeout=timeout, what=name)
        return self.events(name)[0]

    @property
    def output(self) -> str:
        return "".join(self.lines)

    async def stop(self) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            code = await self.process.wait()
        await asyncio.gather(*self._readers)
        return code


def write_config(tmp_path: Path, world: DiscordWorld, fake: FakeDiscord, broker: Mapping[str, Any]) -> Path:
    config = {
        "discord": {
            "api_base_url": fake.api_base_url,
            "gateway_url": fake.gateway_url,
            "guild_ids": [world.guild_id],
            "signal_channel_ids": [world.channel_id],
            "trusted_role_ids": [world.trader_role_id],
        },
        "broker": {"allow_short": True, **broker},
        "storage": {"path": str(tmp_path / "tradecord.db"), "batch_flush_seconds": 0.05},
        "server": {"port": 0},
        "logging": {"level": "DEBUG", "json": True},
    }
    path = tmp_path / "config.toml"
    path.write_text(render_toml(config))
    return path


async def http_exposure(base: str, signal_id: str, exposure: Exposure) -> dict[str, int]:
    """Call every side-server route (with and without the bearer token); their statuses by request."""
    bearer = {"Authorization": f"Bearer {CANARIES['metrics token']}"}
    webhook = {"ticker": "AAPL", "action": "buy", "qty": 5, "price": 150, "order_type": "limit", "limit_price": 150}
    requests: list[tuple[str, str, dict[str, str], Any]] = [
        ("GET", "/metrics", bearer, None),
        ("GET", "/metrics", {}, None),
        ("GET", "/metrics", {"Authorization": "Bearer wrong"}, None),
        ("GET", "/health", {}, None),
        ("GET", "/health/live", {}, None),
        ("GET", "/health/ready", {}, None),
        ("GET", "/dashboard", bearer, None),
        ("GET", "/api/stats?window=1h", bearer, None),
        ("GET", "/api/stats?window=bogus", bearer, None),
        ("GET", "/api/health", bearer, None),
        ("GET", "/api/signals", bearer, None),
        ("GET", "/api/orders", bearer, None),
        ("GET", "/api/rate-limits", bearer, None),
        ("GET", f"/api/trace/{signal_id}", bearer, None),
        ("GET", "/api/stats", {}, None),
        ("POST", "/webhook/tradingview", {}, {**webhook, "secret": CANARIES["webhook secret"], "id": "canary-1"}),
        ("POST", "/webhook/tradingview", {"X-Tradecord-Secret": CANARIES["webhook secret"]}, {**webhook, "id": "c-2"}),
        (
            "POST",
            "/webhook/tradingview",
            {},
            {**webhook, "ticker": "NVDA", "order_type": "market", "id": "c-3", "secret": CANARIES["webhook secret"]},
        ),
        ("POST", "/webhook/tradingview", {}, {**webhook, "secret": "wrong-secret", "id": "canary-4"}),
        ("POST", "/webhook/tradingview", {}, {"secret": CANARIES["webhook secret"], "note": "not a signal"}),
    ]
    statuses: dict[str, int] = {}
    async with aiohttp.ClientSession() as http:
        for index, (method, path, headers, body) in enumerate(requests):
            payload = None if body is None else json.dumps(body)
            async with http.request(method, base + path, headers=headers, data=payload) as response:
                text = await response.text()
                key = f"{index}: {method} {path}"
                statuses[key] = response.status
                exposure.add(f"HTTP {key} headers", "\n".join(f"{k}: {v}" for k, v in response.headers.items()))
                exposure.add(f"HTTP {key} body", text)
    return statuses


def database_files(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.glob("tradecord.db*"))}


def first_signal_id(db_path: Path) -> str:
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        row = conn.execute("SELECT id FROM signals ORDER BY received_at LIMIT 1").fetchone()
    assert row is not None
    return str(row[0])


async def discord_exposure(
    fake: FakeDiscord, world: DiscordWorld, exposure: Exposure, before_failing: Callable[[], None]
) -> None:
    """Post signals (executed, failed, invalid, unauthorized, chatter) and run /stats and /health."""
    channel = world.channel_id
    executed = await fake.post_message(channel, world.alice_id, SIGNAL)
    assert await fake.wait_for_reaction(channel, executed, timeout=15) == "✅"
    before_failing()
    failed = await fake.post_message(channel, world.alice_id, FAILING)
    assert await fake.wait_for_reaction(channel, failed, timeout=15) == "❌"
    invalid = await fake.post_message(channel, world.alice_id, "BUY AAPL 100 @ 150 SL 155 TP 160")
    assert await fake.wait_for_reaction(channel, invalid, timeout=15) == "⚠️"
    refused = await fake.post_message(channel, world.mallory_id, SIGNAL)
    assert await fake.wait_for_reaction(channel, refused, timeout=15) == "🚫"
    await fake.post_message(channel, world.alice_id, "gm, what a day")
    for command, options in (("stats", {"window": "1h"}), ("health", {})):
        handle = await fake.invoke_command(command, user_id=world.alice_id, channel_id=channel, options=options)
        reply = await handle.wait_for_response(timeout=10)
        exposure.add(f"/{command} reply", json.dumps({"content": reply.content, "embeds": reply.embeds}))
    await fake.wait_for_bot_message(channel, after=invalid, timeout=10)
    exposure.add("messages the bot sent", "\n".join(m.content for m in fake.bot_messages(channel)))


@pytest.mark.parametrize("broker_kind", ["paper", "alpaca"])
async def test_no_secret_leaks_from_a_full_run(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld, broker_kind: str
) -> None:
    """No canary secret reaches logs, stdout/stderr, HTTP answers, Discord messages or the database bytes."""
    exposure = Exposure()
    async with contextlib.AsyncExitStack() as stack:
        broker: dict[str, Any] = {"quotes": {"AAPL": "150", "TSLA": "250"}}
        venue: FakeAlpaca | None = None
        if broker_kind == "alpaca":
            venue = await stack.enter_async_context(
                FakeAlpaca(
                    key_id=CANARIES["broker key id"],
                    secret_key=CANARIES["broker secret key"],
                    prices={"AAPL": "150", "TSLA": "250"},
                )
            )
            broker = {"kind": "alpaca", "base_url": venue.base_url, "data_url": venue.data_url, "max_retries": 0}
        config = write_config(tmp_path, discord_world, fake_discord, broker)
        for name, label in (("broker.key_id", "broker key id"), ("broker.secret_key", "broker secret key")):
            code, output = await cli("secrets", "set", name, cwd=tmp_path, stdin=CANARIES[label] + "\n")
            assert code == 0, output
            exposure.add(f"secrets set {name}", output)

        bot = await BotProcess.start(config)
        starting = await bot.wait_for_event("tradecord.starting")
        loaded = bot.events("secrets.loaded")
        assert loaded and loaded[0]["names"] == ["broker.key_id", "broker.secret_key"], bot.output[-3000:]
        base = f"http://{starting['side_server']}"
        async with aiohttp.ClientSession() as http:

            async def ready() -> bool:
                async with http.get(f"{base}/health/ready") as response:
                    return response.status == 200

            async with asyncio.timeout(30):
                while not await ready():  # noqa: ASYNC110 - polling another process
                    await asyncio.sleep(0.1)

        def make_the_next_order_fail() -> None:
            if venue is not None:  # on paper, FAILING fails for want of a quote
                venue.script(Route.SUBMIT_ORDER, Fault.SERVER_ERROR, status=500, times=1)

        await discord_exposure(fake_discord, discord_world, exposure, make_the_next_order_fail)
        signal_id = await asyncio.to_thread(first_signal_id, tmp_path / "tradecord.db")
        statuses = await http_exposure(base, signal_id, exposure)
        for args in (("check-config",), ("check-config", "--json"), ("secrets", "list")):
            code, output = await cli(*args, "--config", str(config), cwd=tmp_path)
            assert code == 0, output
            exposure.add(" ".join(args), output)
        assert await bot.stop() == 0, bot.output[-3000:]
        if venue is not None:
            assert any(request.status == 200 for request in venue.requests), "the adapter never authenticated"

    exposure.add("bot stdout/stderr", bot.output)
    files = await asyncio.to_thread(database_files, tmp_path)
    for name, data in files.items():
        exposure.add(f"database file {name}", data)
    assert SIGNAL.encode() in b"".join(files.values())  # the byte search does see plain columns

    assert statuses["0: GET /metrics"] == 200 and statuses["1: GET /metrics"] == 401
    assert statuses["7: GET /api/stats?window=1h"] == 200  # /health may be 503: one order in two failed
    levels = {event.get("level") for line in bot.lines if line.startswith("{") for event in [json.loads(line)]}
    assert "debug" in levels, "the run did not log at DEBUG"
    assert len(bot.events("tradecord.stopped")) == 1
    assert exposure.leaks() == []

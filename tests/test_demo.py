"""`python -m bot demo` end to end: the feed trades, the stranger is refused, the dashboard moves, and it stops
cleanly on SIGINT/SIGTERM leaving nothing behind but the database it was asked to keep."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.demo.session import DemoOptions, DemoSession, open_demo
from bot.demo.world import UNTRUSTED

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


async def api(http: aiohttp.ClientSession, url: str, body: Any = None) -> Any:
    request = http.get(url) if body is None else http.post(url, json=body)
    async with request as response:
        assert response.status == 200, (url, response.status, await response.text())
        return (await response.json())["data"]


async def eventually(probe: Callable[[], Awaitable[bool]], what: str, timeout: float = 60.0) -> None:  # noqa: ASYNC109
    try:
        async with asyncio.timeout(timeout):
            while not await probe():  # noqa: ASYNC110 - polling the demo over HTTP, as a visitor would
                await asyncio.sleep(0.2)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


def reacted(demo: DemoSession, author: str, emoji: str) -> bool:
    user_id = demo.world.user_id(author)
    channel = demo.world.channel_id
    return any(
        m.author_id == user_id and emoji in demo.fake.reactions(channel, m.id) for m in demo.fake.messages(channel)
    )


async def exit_fill_kinds(http: aiohttp.ClientSession, base: str) -> set[str]:
    """Kinds of the paper fills (entry, close, stop_loss, take_profit) over the executed signals' traces."""
    signals = (await api(http, f"{base}/api/signals?outcome=executed&limit=200"))["signals"]
    kinds: set[str] = set()
    for record in signals:
        trace = await api(http, f"{base}/api/trace/{record['id']}")
        kinds.update(fill["kind"] for fill in trace["fills"])
    return kinds


async def test_the_feed_trades_refuses_the_untrusted_member_and_moves_the_dashboard(tmp_path: Path) -> None:
    """At high speed, a few seconds of feed: signals executed, mallory refused (unauthorized), stops and targets
    filled on paper, and the dashboard's data (stats, series, metrics) moved."""
    options = DemoOptions(seed=7, speed=25, db_path=tmp_path / "demo.db", port=0)
    async with open_demo(options) as demo, aiohttp.ClientSession() as http:
        base = demo.base_url
        before = await api(http, f"{base}/api/stats?window=1h")

        async def first_round_played() -> bool:
            stats = (await api(http, f"{base}/api/stats?window=1h"))["signals"]["by_outcome"]
            return stats.get("executed", 0) >= 8 and stats.get("risk_rejected", 0) >= 1

        await eventually(first_round_played, "the first round's signals")
        assert reacted(demo, UNTRUSTED, "🚫") and reacted(demo, "maya", "✅") and reacted(demo, "kenji", "✅")
        assert reacted(demo, "lena", "✅") and reacted(demo, "maya", "⚠️") and reacted(demo, "maya", "⛔")
        assert demo.fake.bot_messages(demo.world.channel_id), "the bot replied in the channel"

        refused = (await api(http, f"{base}/api/signals?outcome=unauthorized"))["signals"]
        assert refused and {r["author_id"] for r in refused} == {str(demo.world.user_id(UNTRUSTED))}

        async def exits_filled() -> bool:
            return {"stop_loss", "take_profit"} <= await exit_fill_kinds(http, base)

        await eventually(exits_filled, "paper stops and targets to fill as quotes move")

        after = await api(http, f"{base}/api/stats?window=1h")
        assert after["messages_seen"] > before["messages_seen"] and after["orders"]["total"] > 0
        series = await api(http, f"{base}/api/series?window=1h")
        assert sum(p["executed"] for p in series["points"]) >= 8 and sum(p["orders"] for p in series["points"]) > 0
        async with http.get(f"{base}/metrics") as response:
            metrics = await response.text()
        assert 'tradecord_signals_total{outcome="unauthorized",source="discord"}' in metrics

        stats = await api(http, f"{base}/demo/commands", {"command": "stats", "options": {"window": "1h"}})
        assert stats["embeds"] and "stats" in stats["embeds"][0]["title"].lower()
    assert demo.fake.internal_errors == []


def entries(directory: Path) -> set[str]:
    return {path.name for path in directory.iterdir()}


def start_demo(cwd: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    """`python -m bot demo` in `cwd` with its own TMPDIR; returns the process and its side server's base URL."""
    (cwd / "tmp").mkdir()
    env = {**os.environ, "TMPDIR": str(cwd / "tmp"), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(ROOT)}
    env = {k: v for k, v in env.items() if not k.startswith("TRADECORD_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "demo", "--port", "0", "--speed", "20", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "Demo channel" in line:
            return process, line.split()[2].removesuffix("/demo")
    process.kill()
    raise AssertionError(f"the demo never printed its URL: {process.communicate()}")


async def stop_demo(process: subprocess.Popen[str], signum: signal.Signals) -> tuple[int, str, str]:
    process.send_signal(signum)
    stdout, stderr = await asyncio.to_thread(process.communicate, timeout=60)
    return process.returncode, stdout, stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
async def test_a_signal_stops_the_demo_cleanly_and_removes_its_temporary_directory(
    tmp_path: Path, signum: signal.Signals
) -> None:
    """Ctrl-C or SIGTERM: exit 0 after an orderly shut-down, the temporary database gone, nothing else written."""
    process, base = start_demo(tmp_path)
    try:
        async with aiohttp.ClientSession() as http:
            await eventually(lambda: _ready(http, base), "the demo's readiness", timeout=30)
            state = await api(http, f"{base}/demo/state")
            assert state["bot_connected"] is True
            assert len(entries(tmp_path / "tmp")) == 1  # the temporary data directory
    finally:
        code, stdout, stderr = await stop_demo(process, signum)
    assert code == 0, stderr
    assert "Demo stopped." in stdout and "Traceback" not in stderr
    assert entries(tmp_path / "tmp") == set()
    assert entries(tmp_path) == {"tmp"}


async def _ready(http: aiohttp.ClientSession, base: str) -> bool:
    async with http.get(f"{base}/health/ready") as response:
        return response.status == 200


async def test_with_db_the_database_is_kept_and_nothing_else_is_written(tmp_path: Path) -> None:
    """`--db PATH`: the demo's history is there after exit, and no temporary directory was used."""
    process, base = start_demo(tmp_path, "--db", "kept/demo.db")
    try:
        async with aiohttp.ClientSession() as http:
            await eventually(lambda: _ready(http, base), "the demo's readiness", timeout=30)
    finally:
        code, _stdout, stderr = await stop_demo(process, signal.SIGINT)
    assert code == 0, stderr
    assert entries(tmp_path / "tmp") == set()
    assert entries(tmp_path) == {"tmp", "kept"}
    assert "demo.db" in entries(tmp_path / "kept")


def test_a_port_in_use_is_reported_with_what_to_do(tmp_path: Path) -> None:
    """Another program on the port: one clear line and exit 2, not a traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "bot", "demo", "--port", str(port)],
            cwd=tmp_path,
            env={**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr and "--port" in result.stderr
    assert list(tmp_path.iterdir()) == []

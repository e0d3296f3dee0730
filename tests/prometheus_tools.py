"""Real Prometheus tooling for tests: `promtool`, a Prometheus server on loopback, our exposition's names.

The binaries come from Debian's `prometheus` package (`.ci/run` installs it); tests that need them skip
with that reason when they are not on PATH.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import Runtime
from bot.discord_emulator import FakeDiscord
from tests.e2e import side_url
from tests.fake_discord.fixtures import DiscordWorld

PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")
_INSTALL_HINT = "not on PATH (Debian: apt-get install prometheus; .ci/run installs it)"
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason=f"promtool {_INSTALL_HINT}")
needs_prometheus = pytest.mark.skipif(PROMETHEUS is None, reason=f"prometheus {_INSTALL_HINT}")

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
# Metric names as they appear in PromQL and prose: ours, and the standard process/Python collectors'.
METRIC_NAME = re.compile(r"\b(?:tradecord|process|python)_[a-z0-9_]*[a-z0-9]\b")
_SUFFIXES_BY_TYPE = {
    "counter": ("_total",),
    "histogram": ("", "_bucket", "_count", "_sum"),  # the bare name: how prose refers to a histogram
    "summary": ("", "_count", "_sum"),
}


def promtool(*args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run promtool (blocking: call it through `asyncio.to_thread` from async tests)."""
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], input=stdin, capture_output=True, text=True, timeout=timeout, cwd=REPO, check=False
    )


def exposed_names(exposition: str) -> set[str]:
    """Every series name a scrape of this text can produce, including those of families with no child yet."""
    names: set[str] = set()
    for family in text_string_to_metric_families(exposition):
        names.update(sample.name for sample in family.samples)
        names.update(family.name + suffix for suffix in _SUFFIXES_BY_TYPE.get(family.type, ("",)))
    return names


async def metrics_text(runtime: Runtime, token: str | None = None) -> str:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http, http.get(side_url(runtime, "/metrics"), headers=headers) as response:
        assert response.status == 200
        return await response.text()


async def post_signals(fake: FakeDiscord, world: DiscordWorld) -> None:
    """Two executed signals (two positions), one chatter message and one invalid signal, each answered."""
    channel, alice = world.channel_id, world.alice_id
    for text, reaction in (
        ("BUY AAPL 100 @ 150.25 SL 145 TP 160/165", "✅"),
        ("SELL TSLA 10 @ MKT", "✅"),
        ("BUY AAPL 100 @ 150 SL 155 TP 160", "⚠️"),
    ):
        message_id = await fake.post_message(channel, alice, text)
        assert await fake.wait_for_reaction(channel, message_id) == reaction
    await fake.post_message(channel, alice, "gm everyone, what a day")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def poll(check: Callable[[], Awaitable[Any]], *, timeout: float, what: str, interval: float = 0.25) -> Any:  # noqa: ASYNC109
    """Await `check()` until it returns something truthy; fail naming `what` after `timeout` seconds."""
    try:
        async with asyncio.timeout(timeout):
            while not (result := await check()):  # noqa: ASYNC110 - polling another process over HTTP
                await asyncio.sleep(interval)
            return result
    except TimeoutError:
        pytest.fail(f"gave up after {timeout:g}s waiting for {what}")


class PrometheusServer:
    """A real Prometheus on 127.0.0.1 with its own config and TSDB in `workdir`; always stopped on exit."""

    def __init__(self, workdir: Path, config: dict[str, Any]) -> None:
        self._workdir = workdir
        self._config = config
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: asyncio.subprocess.Process | None = None
        self._log = workdir / "prometheus.log"

    async def __aenter__(self) -> PrometheusServer:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        assert PROMETHEUS is not None
        self._workdir.mkdir(parents=True, exist_ok=True)
        config_file = self._workdir / "prometheus.yml"
        config_file.write_text(json.dumps(self._config))  # JSON is YAML
        with self._log.open("wb") as log:
            self._process = await asyncio.create_subprocess_exec(
                PROMETHEUS,
                f"--config.file={config_file}",
                f"--storage.tsdb.path={self._workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        try:
            await poll(self._ready, timeout=30, what=f"Prometheus to be ready (log: {self._log})")
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def _ready(self) -> bool:
        assert self._process is not None
        if self._process.returncode is not None:
            pytest.fail(f"prometheus exited with {self._process.returncode}: {self._log.read_text()[-2000:]}")
        try:
            async with aiohttp.ClientSession() as http, http.get(f"{self.url}/-/ready") as response:
                return response.status == 200
        except aiohttp.ClientConnectionError:
            return False

    async def api(self, path: str, **params: str) -> Any:
        """The `data` of a successful `/api/v1/...` answer."""
        async with aiohttp.ClientSession() as http, http.get(f"{self.url}/api/v1/{path}", params=params) as response:
            body = await response.json()
        assert body["status"] == "success", body
        return body["data"]

    async def query(self, expr: str) -> list[dict[str, Any]]:
        data = await self.api("query", query=expr)
        assert data["resultType"] == "vector", data
        return list(data["result"])

    async def target(self, job: str) -> dict[str, Any] | None:
        """The job's only active target, once it has been scraped (health `up` or `down`)."""
        data = await self.api("targets", state="active")
        found = [t for t in data["activeTargets"] if t["labels"]["job"] == job and t["health"] != "unknown"]
        return found[0] if found else None

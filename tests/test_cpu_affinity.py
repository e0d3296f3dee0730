"""`storage.writer_cpu`: the event loop's thread and the database writer's share one CPU, and only they do."""

from __future__ import annotations

import contextlib
import io
import json
import os
import threading
from pathlib import Path

import pytest

from bot.app import open_runtime
from bot.discord_emulator import FakeDiscord
from bot.logs import configure_logging
from tests.e2e import e2e_settings
from tests.fake_discord.fixtures import DiscordWorld

pytestmark = pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs Linux CPU affinity and at least two CPUs to choose from",
)


def pinned_threads(cpu: int) -> set[int]:
    """Native ids of this process's threads that may run on `cpu` only."""
    pinned = set()
    for tid in map(int, os.listdir("/proc/self/task")):
        with contextlib.suppress(ProcessLookupError):  # a thread that ended meanwhile
            if os.sched_getaffinity(tid) == {cpu}:
                pinned.add(tid)
    return pinned


LOOP = {"writer_cpu": "loop"}


@pytest.mark.parametrize("storage", [{}, LOOP], ids=["by default", "writer_cpu loop"])
async def test_the_event_loop_and_the_writer_share_the_highest_cpu_and_give_it_back(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld, storage: dict[str, str]
) -> None:
    before = os.sched_getaffinity(0)
    settings = e2e_settings(tmp_path, fake_discord, discord_world, storage=storage)
    assert settings.storage.writer_cpu == "loop"
    async with open_runtime(settings) as runtime:
        cpu = max(before)
        writer = await runtime.db.in_writer_thread(threading.get_native_id)
        # Not the reader (statistics queries) nor the checkpointer: their SQLite work runs beside the loop.
        assert pinned_threads(cpu) == {threading.get_native_id(), writer}
    assert os.sched_getaffinity(0) == before


async def test_writer_cpu_any_pins_nothing(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld
) -> None:
    before = os.sched_getaffinity(0)
    settings = e2e_settings(tmp_path, fake_discord, discord_world, storage={"writer_cpu": "any"})
    async with open_runtime(settings) as runtime:
        assert os.sched_getaffinity(0) == before
        assert await runtime.db.in_writer_thread(lambda: os.sched_getaffinity(0)) == before
    assert os.sched_getaffinity(0) == before


async def test_a_runtime_opened_inside_another_leaves_the_first_ones_cpus_to_it(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld
) -> None:
    """A second runtime in the same thread finds one CPU to choose from: it pins nothing and restores nothing,
    so the first one's exit gives the thread back every CPU it had (tests open runtimes side by side)."""
    before = os.sched_getaffinity(0)
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first_dir.mkdir()
    second_dir.mkdir()
    async with open_runtime(e2e_settings(first_dir, fake_discord, discord_world, storage=LOOP)):
        second = e2e_settings(second_dir, fake_discord, discord_world, storage=LOOP, server={"enabled": False})
        async with open_runtime(second):
            assert os.sched_getaffinity(0) == {max(before)}
        assert os.sched_getaffinity(0) == {max(before)}
    assert os.sched_getaffinity(0) == before


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("refused_in", ["writer thread", "event loop thread"])
async def test_a_kernel_that_refuses_the_pin_leaves_the_bot_running_unpinned_and_says_why(
    tmp_path: Path,
    fake_discord: FakeDiscord,
    discord_world: DiscordWorld,
    monkeypatch: pytest.MonkeyPatch,
    refused_in: str,
) -> None:
    """A container's seccomp policy or cpuset can refuse `sched_setaffinity`: that is no reason not to trade.
    Refused for the event loop's thread after the writer's was pinned, the writer's is unpinned again."""
    before = os.sched_getaffinity(0)
    stream = io.StringIO()
    configure_logging("INFO", json=True, stream=stream)
    loop_thread = threading.get_native_id()
    set_affinity = os.sched_setaffinity

    def refusing(pid: int, cpus: set[int]) -> None:
        in_loop_thread = threading.get_native_id() == loop_thread
        if refused_in == ("event loop thread" if in_loop_thread else "writer thread"):
            raise PermissionError(1, "Operation not permitted")
        set_affinity(pid, cpus)

    monkeypatch.setattr(os, "sched_setaffinity", refusing)
    async with open_runtime(e2e_settings(tmp_path, fake_discord, discord_world, storage=LOOP)) as runtime:
        assert os.sched_getaffinity(0) == before
        assert await runtime.db.in_writer_thread(lambda: os.sched_getaffinity(0)) == before
        assert await runtime.db.ping() >= 0
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    refusal = next(line for line in lines if line["event"] == "cpu.not_pinned")
    assert refusal["level"] == "warning"
    assert refusal["cpu"] == max(before)
    assert "Operation not permitted" in refusal["reason"]

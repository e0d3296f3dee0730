"""Crash proof: SIGKILL at random moments while 1,000 signals arrive; after the restarts nothing is lost,
nothing is ordered twice, and the database is intact."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from bot.discord_emulator import FakeDiscord
from tests.crash import CrashRun, bot_config, kill_repeatedly, query
from tests.fake_broker import DEFAULT_KEY_ID, DEFAULT_SECRET_KEY, FakeAlpaca, Fault, Route
from tests.fake_discord.fixtures import DiscordWorld

pytestmark = pytest.mark.slow

SIGNALS = 1000
KILLS = 8


async def post_signals(fake: FakeDiscord, world: DiscordWorld, posted: list[int], connected: asyncio.Event) -> None:
    """Distinct signals (sizes 1..N, so none is a duplicate of another) at a steady pace, bot up or down.

    The feed starts once the bot has connected for the first time: a fresh install does not trade on what
    was posted before it ever ran (it has no mark to catch up from)."""
    await connected.wait()
    for size in range(1, SIGNALS + 1):
        posted.append(await fake.post_message(world.channel_id, world.alice_id, f"BUY AAPL {size} @ MKT"))
        if size % 4 == 0:
            await asyncio.sleep(0.1)  # ~40 a second: the feed spans all the kills


def settled(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        rows = query(db, "SELECT COUNT(*) FROM signals WHERE outcome != 'pending'")
    except Exception:  # the schema may not exist yet on the very first start
        return 0
    return int(rows[0][0])


async def test_sigkill_at_random_points_loses_and_doubles_nothing_on_paper(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld
) -> None:
    db = tmp_path / "tradecord.db"
    config = bot_config(tmp_path, fake_discord, discord_world, broker={"quotes": {"AAPL": "150"}})
    posted: list[int] = []
    connected = asyncio.Event()
    feed = asyncio.create_task(post_signals(fake_discord, discord_world, posted, connected))
    run = CrashRun()

    def done() -> bool:
        if feed.done() and (failure := feed.exception()) is not None:
            raise failure
        return feed.done() and settled(db) >= SIGNALS

    try:
        await kill_repeatedly(
            config,
            fake_discord,
            kills=KILLS,
            seed=20261121,
            done=done,
            log_dir=tmp_path,
            run=run,
            connected=connected,
        )
    except TimeoutError:
        feed.print_stack()
        print("posted", len(posted), "settled", settled(db), "connected", fake_discord.is_connected)
        mark = query(db, "SELECT value FROM bot_state WHERE key LIKE 'discord.last_message.%'")
        recorded_ids = {int(m) for (m,) in query(db, "SELECT message_id FROM signals")}
        missing = sorted(set(posted) - recorded_ids)
        print("mark", mark, "missing", len(missing), missing[:3], "max recorded", max(recorded_ids))
        raise
    await feed
    assert run.kills == KILLS
    recorded = {int(m) for (m,) in query(db, "SELECT message_id FROM signals")}
    assert set(posted) <= recorded, f"lost {len(set(posted) - recorded)} signals"
    outcomes = dict(query(db, "SELECT outcome, COUNT(*) FROM signals GROUP BY outcome"))
    assert outcomes == {"executed": SIGNALS}
    # Exactly one order per signal at the venue, with the size the signal asked for.
    per_signal = query(
        db,
        "SELECT s.message_id, COUNT(p.client_order_id), MIN(p.quantity) FROM signals s"
        " JOIN orders o ON o.signal_id = s.id JOIN paper_orders p ON p.client_order_id = o.client_order_id"
        " GROUP BY s.id",
    )
    assert len(per_signal) == SIGNALS
    assert all(count == 1 for _, count, _ in per_signal)
    assert query(db, "SELECT COUNT(*) FROM paper_orders") == [(SIGNALS,)]
    assert query(db, "SELECT quantity FROM paper_positions WHERE symbol = 'AAPL'") == [
        (str(SIGNALS * (SIGNALS + 1) // 2),)
    ]
    assert query(db, "PRAGMA integrity_check") == [("ok",)]


async def test_sigkill_loses_and_doubles_nothing_at_a_fake_alpaca(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld
) -> None:
    """The same against the real Alpaca adapter. Every 20th order is stored by the venue whose answer never
    comes (commit-then-hang, commit-then-drop): a kill during that window leaves an order at the venue that
    our database does not know was accepted; recovery must find it by client id, never send it again."""
    db = tmp_path / "tradecord.db"
    async with FakeAlpaca(prices={"AAPL": "150"}, cash="100000000") as venue:
        for fault in (Fault.COMMIT_THEN_HANG, Fault.COMMIT_THEN_DROP) * 25:
            venue.script(Route.SUBMIT_ORDER, fault, times=1)
        config = bot_config(
            tmp_path,
            fake_discord,
            discord_world,
            broker={
                "kind": "alpaca",
                "base_url": venue.base_url,
                "data_url": venue.data_url,
                "key_id": DEFAULT_KEY_ID,
                "secret_key": DEFAULT_SECRET_KEY,
                "timeout_seconds": 1.0,
                "rate_per_second": 1000,
                "burst": 50,
            },
        )
        posted: list[int] = []
        connected = asyncio.Event()
        feed = asyncio.create_task(post_signals(fake_discord, discord_world, posted, connected))

        def done() -> bool:
            if feed.done() and (failure := feed.exception()) is not None:
                raise failure
            return feed.done() and settled(db) >= SIGNALS

        run = CrashRun()
        await kill_repeatedly(
            config, fake_discord, kills=KILLS, seed=7, done=done, log_dir=tmp_path, run=run, connected=connected
        )
        await feed
        recorded = {int(m) for (m,) in query(db, "SELECT message_id FROM signals")}
        assert set(posted) <= recorded, f"lost {len(set(posted) - recorded)} signals"
        assert dict(query(db, "SELECT outcome, COUNT(*) FROM signals GROUP BY outcome")) == {"executed": SIGNALS}
        client_ids = [order.client_order_id for order in venue.orders]
        assert len(client_ids) == len(set(client_ids)) == SIGNALS, "an order reached the venue twice"
        ours = {cid for (cid,) in query(db, "SELECT client_order_id FROM orders WHERE status = 'filled'")}
        assert ours == set(client_ids)
        assert venue.positions == {"AAPL": Decimal(SIGNALS * (SIGNALS + 1) // 2)}
        assert query(db, "PRAGMA integrity_check") == [("ok",)]

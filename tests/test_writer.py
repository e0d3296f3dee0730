"""The batched writer: many events, one transaction; nothing lost when a flush fails."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from storage.database import Database
from storage.state import StateRepository
from storage.writer import BatchWriter


async def activity(db: Database) -> dict[str, int]:
    rows = await db.fetchall("SELECT name, SUM(count) FROM activity GROUP BY name")
    return {row[0]: int(row[1]) for row in rows}


async def test_counts_are_aggregated_per_minute_and_flushed_together(db: Database) -> None:
    """A thousand counts in one minute become one upserted row per resolution, written by a single flush."""
    flushes: list[int] = []
    writer = BatchWriter(db, on_flush=lambda _seconds, rows: flushes.append(rows))
    for _ in range(1000):
        writer.count("discord", "messages_seen", at=120.0)
    writer.count("discord", "outcome.executed", at=125.0)
    assert writer.depth == 2
    await writer.flush()
    assert flushes == [4]  # two names, each one per-minute and one per-hour row
    assert await activity(db) == {"messages_seen": 1000, "outcome.executed": 1}
    writer.count("discord", "messages_seen", at=130.0)
    await writer.flush()
    assert (await activity(db))["messages_seen"] == 1001


async def test_last_message_mark_only_moves_forward(db: Database) -> None:
    """The catch-up mark keeps the newest message id even when an older one is noted later."""
    writer = BatchWriter(db)
    writer.note_message("10", 500)
    await writer.flush()
    writer.note_message("10", 400)
    await writer.flush()
    assert await StateRepository(db).last_message_id("10") == 500


async def test_failed_flush_keeps_the_batch_for_the_next_one(db: Database) -> None:
    """When a flush fails its rows are put back and written, in full, by the next successful flush."""
    writer = BatchWriter(db)
    writer.count("discord", "messages_seen", at=60.0, n=3)
    writer.add("INSERT INTO created_later (x) VALUES (1)")
    with pytest.raises(sqlite3.OperationalError, match="created_later"):
        await writer.flush()
    assert writer.depth == 2
    await db.execute("CREATE TABLE created_later (x INTEGER)")  # the cause goes away
    writer.count("discord", "messages_seen", at=60.0)
    await writer.flush()
    assert await activity(db) == {"messages_seen": 4}
    rows = await db.fetchall("SELECT x FROM created_later")
    assert [tuple(row) for row in rows] == [(1,)]


async def test_stop_flushes_what_is_pending(db: Database) -> None:
    """Shutting the writer down writes everything still queued."""
    writer = BatchWriter(db, flush_interval=3600)
    await writer.start()
    writer.count("webhook", "messages_seen")
    await writer.stop()
    assert await activity(db) == {"messages_seen": 1}


async def test_the_timer_flushes_without_being_asked(db: Database) -> None:
    """Counts reach the database on the writer's own timer, not only at shutdown."""
    writer = BatchWriter(db, flush_interval=0.01)
    await writer.start()
    writer.count("discord", "messages_seen")
    async with asyncio.timeout(5):
        while not await activity(db):  # noqa: ASYNC110 - polling the database the timer writes to
            await asyncio.sleep(0.01)
    await writer.stop()
    assert await activity(db) == {"messages_seen": 1}


async def test_stopping_while_a_flush_waits_loses_and_doubles_nothing(db: Database) -> None:
    """A flush cancelled by shutdown while its write is queued still commits; the final flush adds the rest."""
    writer = BatchWriter(db)
    writer.count("discord", "messages_seen", at=60.0, n=2)
    async with db.transaction():  # another write holds the database: the flush has to wait for it
        flushing = asyncio.create_task(writer.flush())
        await asyncio.sleep(0.05)
        flushing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await flushing
        writer.count("discord", "messages_seen", at=60.0, n=1)
    await writer.stop()
    assert await activity(db) == {"messages_seen": 3}

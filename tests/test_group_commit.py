"""`Database.write`: units of work in the writer's thread, queued units sharing one commit."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from storage.database import Database


def insert(key: str, value: str = "v") -> object:
    def unit(conn: sqlite3.Connection) -> int:
        return conn.execute("INSERT INTO bot_state (key, value) VALUES (?, ?)", (key, value)).rowcount

    return unit


def fail(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO bot_state (key, value) VALUES ('failing', 'x')")
    raise ValueError("the unit gives up")


async def keys(db: Database) -> set[str]:
    return {row[0] for row in await db.fetchall("SELECT key FROM bot_state WHERE key != 'health.ping'")}


async def commits(db: Database) -> list[str]:
    statements: list[str] = []
    await db._conn.set_trace_callback(statements.append)  # observing the writer connection's SQL
    return statements


async def test_a_unit_returns_its_result_once_committed(db: Database) -> None:
    """A write unit's return value comes back, and a reader sees its row as soon as the call returns."""
    assert await db.write(insert("a")) == 1
    assert await keys(db) == {"a"}


async def test_units_queued_together_share_one_commit(db: Database) -> None:
    """Units queued while a commit is under way are committed by the next single COMMIT, in queue order."""
    statements = await commits(db)
    holder = asyncio.create_task(db.write(insert("first")))
    queued = [asyncio.create_task(db.write(insert(f"k{n}"))) for n in range(20)]
    assert await asyncio.gather(holder, *queued) == [1] * 21
    await db._conn.set_trace_callback(None)
    assert await keys(db) == {"first", *(f"k{n}" for n in range(20))}
    assert statements.count("COMMIT") < 21  # at least some of them shared a commit
    inserts = [s for s in statements if s.startswith("INSERT")]
    assert len(inserts) == 21


async def test_a_failing_unit_is_rolled_back_alone_and_raises_to_its_caller(db: Database) -> None:
    """In a shared commit, the unit that raises loses its own changes; the others' are committed."""
    holder = asyncio.create_task(db.write(insert("before")))
    results = await asyncio.gather(
        holder, db.write(insert("a")), db.write(fail), db.write(insert("b")), return_exceptions=True
    )
    assert results[:2] == [1, 1] and results[3] == 1
    assert isinstance(results[2], ValueError)
    assert await keys(db) == {"before", "a", "b"}


async def test_a_lone_failing_unit_raises_and_leaves_nothing(db: Database) -> None:
    """A unit alone in its transaction that raises rolls the transaction back."""
    with pytest.raises(ValueError, match="gives up"):
        await db.write(fail)
    assert await keys(db) == set()
    assert await db.write(insert("after")) == 1  # the connection is usable afterwards


async def test_a_unit_cancelled_while_queued_is_never_written(db: Database) -> None:
    """A caller cancelled before its unit's group starts withdraws the unit."""
    async with db.transaction():  # holds the writer: the unit below can only queue
        waiting = asyncio.create_task(db.write(insert("withdrawn")))
        await asyncio.sleep(0.02)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    assert await db.write(insert("later")) == 1
    assert await keys(db) == {"later"}


async def test_a_commit_whose_runner_is_cancelled_still_answers_everyone(db: Database) -> None:
    """The task that runs a group may be cancelled mid-commit: the group finishes and its callers get answers."""
    async with db.transaction():
        runner = asyncio.create_task(db.write(insert("runner")))
        await asyncio.sleep(0.01)
        others = [asyncio.create_task(db.write(insert(f"o{n}"))) for n in range(5)]
        await asyncio.sleep(0.01)
    await asyncio.sleep(0)  # the runner takes the writer and starts the group
    runner.cancel()
    assert await asyncio.gather(*others) == [1] * 5
    await asyncio.gather(runner, return_exceptions=True)
    assert {f"o{n}" for n in range(5)} <= await keys(db)


async def test_units_survive_a_restart_once_their_call_returned(tmp_path: Path) -> None:
    """What a returned write unit did is on disk: a new connection sees it."""
    async with Database(tmp_path / "t.db") as db:
        await asyncio.gather(*(db.write(insert(f"k{n}")) for n in range(10)))
    async with Database(tmp_path / "t.db") as reopened:
        assert await keys(reopened) == {f"k{n}" for n in range(10)}


async def test_execute_and_executemany_are_write_units(db: Database) -> None:
    """The one-statement helpers keep their results: rows changed, and all-or-nothing batches."""
    assert await db.execute("INSERT INTO bot_state (key, value) VALUES ('x', '1')") == 1
    assert await db.execute("UPDATE bot_state SET value = '2' WHERE key = 'nothing'") == 0
    with pytest.raises(sqlite3.IntegrityError):
        await db.executemany(
            [
                ("INSERT INTO bot_state (key, value) VALUES ('y', '1')", ()),
                ("INSERT INTO bot_state (key, value) VALUES ('x', '1')", ()),  # duplicate key
            ]
        )
    assert await keys(db) == {"x"}
    assert await db.fetchone("SELECT value FROM bot_state WHERE key = 'nothing'") is None

"""WAL checkpoints: copied back by the checkpointer's own connection, never by a commit."""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
from pathlib import Path

import pytest

from bot.logs import configure_logging
from storage.checkpoint import WRITER_AUTOCHECKPOINT_PAGES, WalCheckpointer
from storage.database import Database


def wal_pages(path: Path) -> int:
    """Pages in the WAL file (its 32-byte header, then a 24-byte header and a page per frame)."""
    wal = path.with_name(path.name + "-wal")
    size = wal.stat().st_size if wal.exists() else 0
    return max(0, size - 32) // (24 + 4096)


async def fill(db: Database, rows: int, prefix: str = "k") -> None:
    """`rows` rows of ~2 KB, 100 to a commit."""
    for start in range(0, rows, 100):
        batch = [(f"{prefix}{n}", "x" * 2000) for n in range(start, start + 100)]
        await db.executemany(("INSERT INTO bot_state (key, value) VALUES (?, ?)", row) for row in batch)


async def test_commits_leave_the_checkpoint_to_the_checkpointer(tmp_path: Path) -> None:
    """The writer's own auto-checkpoint is raised out of the way: a burst of commits grows the WAL well
    past SQLite's default 1,000 pages without one commit stopping to copy it back."""
    async with Database(tmp_path / "t.db") as db:
        assert db._checkpointer is not None
        await db._checkpointer.stop()  # only the writer now
        row = await db._conn.execute_fetchall("PRAGMA wal_autocheckpoint")
        assert next(iter(row))[0] == WRITER_AUTOCHECKPOINT_PAGES
        await fill(db, 5_000)  # ~2,600 pages of rows and index
        assert wal_pages(db.path) > 2_000


def rows_in_database_file(path: Path) -> int:
    """Rows the database file itself holds, not counting what is only in its WAL."""
    copy = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    try:
        return int(copy.execute("SELECT count(*) FROM bot_state WHERE key LIKE 'k%'").fetchone()[0])
    except sqlite3.DatabaseError:  # not even the schema copied back yet, or a page read mid-copy (no locks)
        return 0
    finally:
        copy.close()


async def test_the_checkpointer_copies_every_committed_frame_back(tmp_path: Path) -> None:
    """Within a few intervals of the last commit, every committed row is in the database file, and the next
    commit starts the WAL over instead of growing it."""
    path = tmp_path / "t.db"
    async with Database(path) as db:
        await fill(db, 2_500)
        async with asyncio.timeout(5):
            while rows_in_database_file(path) < 2_500:  # noqa: ASYNC110 - a file has no event to wait on
                await asyncio.sleep(0.05)
        grown = wal_pages(path)
        # A commit that meets a checkpoint in progress (even one with nothing left to copy) may not start the
        # WAL over, by SQLite's design; stopped, the checkpointer cannot be in the middle of one.
        assert db._checkpointer is not None
        await db._checkpointer.stop()
        await fill(db, 100, prefix="more")
        assert wal_pages(path) <= grown  # written from the start of the file again


async def test_a_checkpoint_reports_what_it_copied(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    async with Database(path) as db:
        assert db._checkpointer is not None
        await db._checkpointer.stop()
        await fill(db, 100)
        checkpointer = WalCheckpointer(path)
        await checkpointer.start()
        try:
            in_wal, copied = await checkpointer.checkpoint()
        finally:
            await checkpointer.stop()
        assert in_wal == copied > 50


async def test_a_database_closes_with_its_checkpointer(tmp_path: Path) -> None:
    db = Database(tmp_path / "t.db")
    await db.open()
    checkpointer = db._checkpointer
    assert checkpointer is not None
    await db.close()
    assert db._checkpointer is None
    assert checkpointer._conn is None


@pytest.mark.usefixtures("restore_logging")
async def test_a_failing_checkpoint_is_logged_once_and_its_recovery_once(tmp_path: Path) -> None:
    """Ten failed runs in a row are one warning; the first run that works again says so."""
    path = tmp_path / "t.db"
    path.write_bytes(b"not a database" * 512)
    stream = io.StringIO()
    configure_logging("INFO", json=True, stream=stream)
    checkpointer = WalCheckpointer(path, interval=3600)
    await checkpointer.start()
    try:
        for _ in range(10):
            await checkpointer._checkpoint_reporting_changes()
        path.unlink()  # an empty database from here on: the checkpoint works
        await checkpointer.stop()
        await checkpointer.start()
        await checkpointer._checkpoint_reporting_changes()
    finally:
        await checkpointer.stop()
    events = [json.loads(line)["event"] for line in stream.getvalue().splitlines()]
    assert events == ["db.checkpoint_failed", "db.checkpoint_recovered"]

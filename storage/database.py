"""The one SQLite database: WAL, migrations via `PRAGMA user_version`, serialized write transactions.

aiosqlite runs every statement in the connection's own thread, and each `await` on it is a round trip to
that thread (tens of µs, several for a `fetchone` through a cursor). The hot paths therefore hand the
database whole units of work: `write(unit)` runs a plain function of the `sqlite3.Connection` in the
writer's thread inside a transaction, in one round trip, and units that queue up meanwhile share one
commit (a group commit); `fetchone` and `fetchall` are one round trip each.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import aiosqlite

from storage.checkpoint import WRITER_AUTOCHECKPOINT_PAGES, WalCheckpointer
from storage.migrations import MIGRATIONS

Params = Sequence[Any]
WRITER_PAGE_CACHE_KIB = 32 * 1024
T = TypeVar("T")
# A unit of write work: plain sqlite3 calls on the writer connection, no awaits; what it returns is the
# caller's result. It runs inside a transaction (a SAVEPOINT of it when it shares a group commit).
Unit = Callable[[sqlite3.Connection], T]


@dataclass(slots=True)
class _Queued(Generic[T]):
    unit: Unit[T]
    done: asyncio.Future[T] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


def _commit_group(conn: sqlite3.Connection, units: list[Unit[Any]]) -> list[tuple[bool, Any]]:
    """In the writer's thread: every unit in one transaction; a unit that raises is rolled back alone.

    Returns (ok, result or exception) per unit; raises (nothing committed) when the transaction itself fails.
    """
    outcomes: list[tuple[bool, Any]] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        if len(units) == 1:
            try:
                outcomes.append((True, units[0](conn)))
            except Exception as exc:
                conn.execute("ROLLBACK")
                return [(False, exc)]
        else:
            for unit in units:
                conn.execute("SAVEPOINT unit")
                try:
                    outcomes.append((True, unit(conn)))
                except Exception as exc:
                    conn.execute("ROLLBACK TO unit")
                    outcomes.append((False, exc))
                conn.execute("RELEASE unit")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return outcomes


def _settle(group: list[_Queued[Any]], outcome: tuple[bool, Any]) -> None:
    """Answer every caller of a group commit: its unit's result or exception, or the commit's failure."""
    committed, detail = outcome
    for index, item in enumerate(group):
        if item.done.done():  # its caller was cancelled meanwhile
            continue
        if not committed:
            item.done.set_exception(detail)
            continue
        ok, value = detail[index]
        if ok:
            item.done.set_result(value)
        else:
            item.done.set_exception(value)


class Database:
    """Owns a writer connection (one transaction at a time), a reader connection (WAL snapshot reads) and a
    checkpointer (`storage.checkpoint`).

    A reader apart from the writer because a slow statistics query must never wait behind, or see half of, a
    write; a checkpointer apart from both because a commit must not wait for the WAL to be copied back.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._checkpointer: WalCheckpointer | None = None
        self._write_lock = asyncio.Lock()  # held by `transaction()`; write units wait while it is
        # Write units waiting for the writer's thread, which takes them from here itself (under the lock).
        self._queued: list[_Queued[Any]] = []
        self._queue_lock = threading.Lock()
        self._draining = False

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = await self._connect()
        # Signal, order and trace keys are hashes, so every signal writes to pages all over their indexes,
        # and with SQLite's default 2 MB page cache most of those writes first missed (2,000 signals/s
        # offered: 1,220 -> 1,450 sustained, docs/benchmarks.md). A limit, not an allocation.
        await self._writer.execute(f"PRAGMA cache_size = -{WRITER_PAGE_CACHE_KIB}")
        await self._writer.execute(f"PRAGMA wal_autocheckpoint = {WRITER_AUTOCHECKPOINT_PAGES}")
        await self._migrate(self._writer)
        self._reader = await self._connect()
        self._checkpointer = WalCheckpointer(self.path)
        await self._checkpointer.start()

    async def close(self) -> None:
        if self._checkpointer is not None:
            await self._checkpointer.stop()
            self._checkpointer = None
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = None

    @property
    def is_open(self) -> bool:
        return self._writer is not None

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        # WAL lets the reader work beside the writer; NORMAL is durable across process crashes in WAL mode.
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute("PRAGMA busy_timeout = 5000")
        await conn.execute("PRAGMA temp_store = MEMORY")
        return conn

    @staticmethod
    async def _migrate(conn: aiosqlite.Connection) -> None:
        async with conn.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        version = int(row[0]) if row else 0
        if version > len(MIGRATIONS):
            raise RuntimeError(f"database schema version {version} is newer than this Tradecord ({len(MIGRATIONS)})")
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            # executescript commits on its own, so the version bump rides inside the script's transaction.
            await conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")

    @property
    def _conn(self) -> aiosqlite.Connection:
        if self._writer is None:
            raise RuntimeError("database is not open")
        return self._writer

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction; callers run their statements on the yielded connection."""
        try:
            async with self._write_lock:
                conn = self._conn
                await conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    await conn.execute("ROLLBACK")
                    raise
                await conn.execute("COMMIT")
        finally:
            self._start_draining()  # write units that queued meanwhile

    async def write(self, unit: Unit[T]) -> T:
        """Run `unit` in a write transaction in the writer's thread (one round trip); returns its result once
        committed, or raises what it raised (its changes rolled back).

        Units queued while another commit is under way are committed together with one COMMIT, each in its
        own SAVEPOINT, so one unit's failure leaves the others' changes intact. A caller cancelled while its
        unit waits withdraws it; once its group has started, the unit commits anyway.
        """
        self._conn  # noqa: B018 - raises when the database is not open
        queued = _Queued(unit)
        with self._queue_lock:
            self._queued.append(queued)
        self._start_draining()
        try:
            return await queued.done
        except asyncio.CancelledError:
            with self._queue_lock:
                if queued in self._queued:
                    self._queued.remove(queued)
            raise

    def _start_draining(self) -> None:
        """Have the writer's thread commit what is queued, unless it is at it already or a `transaction()`
        holds the writer (that one starts it when done)."""
        if self._writer is None or self._write_lock.locked():
            return
        with self._queue_lock:
            if self._draining or not self._queued:
                return
            self._draining = True
        # A partial of a method, not a closure that names itself: that would be a reference cycle for every
        # commit, left for the cyclic collector (`bot.heap`).
        self._writer._tx.put_nowait((None, partial(self._drain, asyncio.get_running_loop(), self._writer)))

    def _drain(self, loop: asyncio.AbstractEventLoop, writer: aiosqlite.Connection) -> None:
        """In the writer's thread: commit what is queued, group after group, until nothing is."""
        raw = writer._conn
        with self._queue_lock:
            # A transaction() opened meanwhile has the connection: it starts draining again when done.
            if raw.in_transaction or not self._queued:
                self._draining = False
                return
            group, self._queued = self._queued, []
        try:
            outcome: tuple[bool, Any] = (True, _commit_group(raw, [item.unit for item in group]))
        except BaseException as exc:
            outcome = (False, exc)
        loop.call_soon_threadsafe(_settle, group, outcome)
        with self._queue_lock:
            if not self._queued:
                self._draining = False
                return
        # The next group straight away, without waiting for the event loop (busy, it would add its own delay
        # to every commit); behind whatever else is queued for this connection, in order. Straight onto
        # aiosqlite's queue for the writer connection, as its own methods do.
        writer._tx.put_nowait((None, partial(self._drain, loop, writer)))

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one write statement in its own transaction; returns the number of rows changed."""
        return await self.write(lambda conn: conn.execute(sql, params).rowcount)

    async def executemany(self, statements: Iterable[tuple[str, Params]]) -> None:
        """Run many write statements in one transaction (one commit for the batch)."""
        batch = list(statements)

        def run(conn: sqlite3.Connection) -> None:
            for sql, params in batch:
                conn.execute(sql, params)

        await self.write(run)

    async def in_writer_thread(self, function: Callable[[], T]) -> T:
        """`function()` in the writer connection's thread, outside any transaction (`bot.cpu_affinity`)."""
        return await _in_thread(self._conn, lambda _conn: function())

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        reader = self._reader or self._conn
        return list(await reader.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        reader = self._reader or self._conn
        return await _in_thread(reader, _first_row, sql, params)

    async def ping(self) -> float:
        """Seconds a trivial write takes; raises if the database is not writable."""
        started = time.perf_counter()
        await self.execute(
            "INSERT OR REPLACE INTO bot_state (key, value) VALUES ('health.ping', ?)", (str(time.time()),)
        )
        return time.perf_counter() - started

    async def integrity_check(self) -> str:
        row = await self.fetchone("PRAGMA integrity_check")
        return str(row[0]) if row else "no answer"


def _first_row(conn: sqlite3.Connection, sql: str, params: Params) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(sql, params).fetchone()
    return row


async def _in_thread(conn: aiosqlite.Connection, function: Callable[..., T], *args: Any) -> T:
    """`function(sqlite3_connection, *args)` in the connection's thread, in one round trip.

    aiosqlite has no public call for this; `_execute` is what all of its own methods are built on.
    """
    result: T = await conn._execute(function, conn._conn, *args)  # type: ignore[no-untyped-call]
    return result

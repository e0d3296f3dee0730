"""The one SQLite database: WAL, migrations via `PRAGMA user_version`, serialized write transactions."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiosqlite

from storage.migrations import MIGRATIONS

Params = Sequence[Any]


class Database:
    """Owns a writer connection (one transaction at a time) and a reader connection (WAL snapshot reads).

    Two connections because a slow statistics query must never wait behind, or see half of, a write.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()

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
        await self._migrate(self._writer)
        self._reader = await self._connect()

    async def close(self) -> None:
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
        async with self._write_lock:
            conn = self._conn
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one write statement in its own transaction; returns the number of rows changed."""
        async with self.transaction() as conn:
            cursor = await conn.execute(sql, params)
            return cursor.rowcount

    async def executemany(self, statements: Iterable[tuple[str, Params]]) -> None:
        """Run many write statements in one transaction (one commit for the batch)."""
        async with self.transaction() as conn:
            for sql, params in statements:
                await conn.execute(sql, params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        reader = self._reader or self._conn
        async with reader.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        reader = self._reader or self._conn
        async with reader.execute(sql, params) as cursor:
            return await cursor.fetchone()

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

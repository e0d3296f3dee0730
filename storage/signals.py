"""SQL for the `signals` table: one row per message that looked like a signal, keyed by its message."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain import Outcome, Signal, SignalSource
from bot.signals.schema import signal_from_dict, signal_to_dict
from storage.codec import json_to_db, time_from_db, time_to_db
from storage.database import Database

PENDING = "pending"


@dataclass(frozen=True, slots=True)
class SignalRecord:
    id: str
    source: SignalSource
    channel_id: str
    message_id: str
    author_id: str
    received_at: datetime
    text: str
    signal: Signal | None
    fingerprint: str | None
    outcome: Outcome | None  # None while its orders are in flight
    reason: str | None = None
    latency_seconds: float | None = None
    target_signal_id: str | None = None  # the signal a management message (or an edit) acts on


def _row_to_record(row: sqlite3.Row) -> SignalRecord:
    parsed = row["parsed"]
    outcome = row["outcome"]
    return SignalRecord(
        id=row["id"],
        source=SignalSource(row["source"]),
        channel_id=row["channel_id"],
        message_id=row["message_id"],
        author_id=row["author_id"],
        received_at=time_from_db(row["received_at"]),
        text=row["text"],
        signal=signal_from_dict(json.loads(parsed)) if parsed else None,
        fingerprint=row["fingerprint"],
        outcome=None if outcome == PENDING else Outcome(outcome),
        reason=row["reason"],
        latency_seconds=row["latency_seconds"],
        target_signal_id=row["target_signal_id"],
    )


_INSERT = (
    "INSERT INTO signals (id, source, channel_id, message_id, author_id, received_at, text, kind, symbol,"
    " fingerprint, parsed, outcome, reason, latency_seconds, updated_at, target_signal_id)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (source, channel_id, message_id) DO NOTHING"
)
_FIND_DUPLICATE = (
    "SELECT id FROM signals WHERE author_id = ? AND fingerprint = ? AND received_at >= ?"
    " AND outcome != ? ORDER BY received_at LIMIT 1"
)
_FINISH = "UPDATE signals SET outcome = ?, reason = ?, latency_seconds = ?, updated_at = ? WHERE id = ?"


def _insert_params(record: SignalRecord) -> tuple[Any, ...]:
    signal = record.signal
    return (
        record.id,
        record.source.value,
        record.channel_id,
        record.message_id,
        record.author_id,
        time_to_db(record.received_at),
        record.text,
        None if signal is None else signal.kind.value,
        None if signal is None else signal.symbol,
        record.fingerprint,
        None if signal is None else json_to_db(signal_to_dict(signal)),
        PENDING if record.outcome is None else record.outcome.value,
        record.reason,
        record.latency_seconds,
        time_to_db(record.received_at),
        record.target_signal_id,
    )


class SignalRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    def insert_now(conn: sqlite3.Connection, record: SignalRecord) -> bool:
        """Insert inside a write unit (`Database.write`); False when this message was already recorded."""
        return conn.execute(_INSERT, _insert_params(record)).rowcount == 1

    async def get(self, signal_id: str) -> SignalRecord | None:
        row = await self._db.fetchone("SELECT * FROM signals WHERE id = ?", (signal_id,))
        return None if row is None else _row_to_record(row)

    async def get_by_message(self, source: SignalSource, channel_id: str, message_id: str) -> SignalRecord | None:
        # The reader sees every committed row (WAL), which is all a caller can act on; the UNIQUE key, not
        # this look-up, is what stops a second insert.
        row = await self._db.fetchone(
            "SELECT * FROM signals WHERE source = ? AND channel_id = ? AND message_id = ?",
            (source.value, channel_id, message_id),
        )
        return None if row is None else _row_to_record(row)

    @staticmethod
    def find_recent_duplicate_now(
        conn: sqlite3.Connection, author_id: str, fingerprint: str, since: datetime
    ) -> str | None:
        """The id of an earlier signal with the same fingerprint from the same author since `since`, inside a
        write unit (`Database.write`)."""
        row = conn.execute(
            _FIND_DUPLICATE, (author_id, fingerprint, time_to_db(since), Outcome.DUPLICATE.value)
        ).fetchone()
        return None if row is None else str(row[0])

    async def finish(
        self,
        signal_id: str,
        outcome: Outcome,
        reason: str | None,
        latency_seconds: float | None,
        at: datetime,
    ) -> None:
        await self._db.execute(_FINISH, (outcome.value, reason, latency_seconds, time_to_db(at), signal_id))

    @staticmethod
    def finish_now(
        conn: sqlite3.Connection,
        signal_id: str,
        outcome: Outcome,
        reason: str | None,
        latency_seconds: float | None,
        at: datetime,
    ) -> None:
        """`finish` inside a write unit (`Database.write`)."""
        conn.execute(_FINISH, (outcome.value, reason, latency_seconds, time_to_db(at), signal_id))

    async def pending(self) -> list[SignalRecord]:
        """Signals whose orders were in flight when the process stopped."""
        rows = await self._db.fetchall("SELECT * FROM signals WHERE outcome = ?", (PENDING,))
        return [_row_to_record(row) for row in rows]

    async def last_executed_symbol(self, source: SignalSource, channel_id: str, author_id: str) -> str | None:
        """The symbol of this author's most recent executed opening signal in this channel."""
        row = await self._db.fetchone(
            "SELECT symbol FROM signals WHERE author_id = ? AND channel_id = ? AND source = ? AND kind = 'open'"
            " AND outcome = ? ORDER BY received_at DESC LIMIT 1",
            (author_id, channel_id, source.value, Outcome.EXECUTED.value),
        )
        return None if row is None else str(row[0])

    async def last_entry_at(self, symbol: str) -> datetime | None:
        """When the most recent executed opening signal in `symbol` (from anyone) arrived: the cooldown's start."""
        row = await self._db.fetchone(
            "SELECT received_at FROM signals WHERE symbol = ? AND kind = 'open' AND outcome = ?"
            " ORDER BY received_at DESC LIMIT 1",
            (symbol, Outcome.EXECUTED.value),
        )
        return None if row is None else time_from_db(row[0])

    async def last_executed_open(
        self, source: SignalSource, channel_id: str, author_id: str, symbol: str
    ) -> SignalRecord | None:
        """This author's most recent executed opening signal in `symbol` here: what "move SL to BE" manages."""
        row = await self._db.fetchone(
            "SELECT * FROM signals WHERE author_id = ? AND channel_id = ? AND source = ? AND kind = 'open'"
            " AND symbol = ? AND outcome = ? ORDER BY received_at DESC LIMIT 1",
            (author_id, channel_id, source.value, symbol, Outcome.EXECUTED.value),
        )
        return None if row is None else _row_to_record(row)

    async def recent(self, limit: int = 50) -> list[SignalRecord]:
        rows = await self._db.fetchall("SELECT * FROM signals ORDER BY received_at DESC LIMIT ?", (limit,))
        return [_row_to_record(row) for row in rows]

    async def page(self, limit: int, *, outcome: str | None = None, before: str | None = None) -> list[SignalRecord]:
        """Newest first; `outcome` filters (`pending` included), `before` is the id the previous page ended at.

        Keyset pagination on (received_at, id): a page stays correct while new signals arrive.
        """
        clauses: list[str] = []
        params: list[object] = []
        if outcome is not None:
            clauses.append("outcome = ?")
            params.append(outcome)
        if before is not None:
            clauses.append("(received_at, id) < (SELECT received_at, id FROM signals WHERE id = ?)")
            params.append(before)
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        rows = await self._db.fetchall(
            f"SELECT * FROM signals{where} ORDER BY received_at DESC, id DESC LIMIT ?", (*params, limit)
        )
        return [_row_to_record(row) for row in rows]

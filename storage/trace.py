"""SQL for a signal's trace: the `signal_events` steps, and the fills the paper venue booked for its orders."""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.domain import Side
from storage.codec import json_to_db, time_from_db, time_to_db
from storage.database import Database


@dataclass(frozen=True, slots=True)
class TraceEvent:
    """One step of a signal's chain; `detail` holds JSON-ready values only (Decimals as strings)."""

    signal_id: str
    step: str
    at: datetime
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class FillRecord:
    """A fill booked by the paper venue for one of the signal's orders (entry, close, stop or target)."""

    client_order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    realized_pnl: Decimal
    kind: str
    at: datetime


# All of a unit's steps go in one statement: each statement the writer runs is a round trip through the GIL
# (SQLite runs it without the GIL, and the writer then waits its turn to get it back), and a paper signal has
# six steps. Row ids, so the steps' order, follow the VALUES' order. Batches stay far under SQLite's limit of
# 32,766 parameters.
_ROWS_PER_INSERT = 500


@functools.cache
def _insert(rows: int) -> str:
    return "INSERT INTO signal_events (signal_id, step, at, detail) VALUES " + ", ".join(["(?, ?, ?, ?)"] * rows)


def _statements(events: Iterable[TraceEvent]) -> list[tuple[str, list[Any]]]:
    """(SQL, parameters) inserting `events` in order, up to `_ROWS_PER_INSERT` rows a statement."""
    rows = [(event.signal_id, event.step, time_to_db(event.at), json_to_db(event.detail)) for event in events]
    statements = []
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        batch = rows[start : start + _ROWS_PER_INSERT]
        statements.append((_insert(len(batch)), [value for row in batch for value in row]))
    return statements


class TraceRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    def insert_now(conn: sqlite3.Connection, events: Iterable[TraceEvent]) -> None:
        """Append steps inside a write unit (`Database.write`): tracing never costs a commit of its own."""
        for sql, params in _statements(events):
            conn.execute(sql, params)

    async def events(self, signal_id: str) -> list[TraceEvent]:
        """The recorded steps of one signal, in the order they were written."""
        rows = await self._db.fetchall(
            "SELECT signal_id, step, at, detail FROM signal_events WHERE signal_id = ? ORDER BY id", (signal_id,)
        )
        return [TraceEvent(row[0], row[1], time_from_db(row[2]), json.loads(row[3])) for row in rows]

    async def fills(self, signal_id: str) -> list[FillRecord]:
        """Every paper fill of the signal's orders, oldest first (empty for other brokers)."""
        rows = await self._db.fetchall(
            "SELECT f.client_order_id, f.symbol, f.side, f.quantity, f.price, f.realized_pnl, f.kind, f.filled_at"
            " FROM paper_fills AS f JOIN orders AS o ON o.client_order_id = f.client_order_id"
            " WHERE o.signal_id = ? ORDER BY f.filled_at, f.id",
            (signal_id,),
        )
        return [
            FillRecord(
                client_order_id=row[0],
                symbol=row[1],
                side=Side(row[2]),
                quantity=Decimal(row[3]),
                price=Decimal(row[4]),
                realized_pnl=Decimal(row[5]),
                kind=row[6],
                at=time_from_db(row[7]),
            )
            for row in rows
        ]

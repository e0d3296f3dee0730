"""SQL for the `orders` table: every order intent, keyed by its deterministic client order id."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from bot.domain import AssetClass, OrderAck, OrderRequest, OrderStatus, OrderType, Side
from storage.codec import dec_from_db, dec_to_db, time_from_db, time_to_db
from storage.database import Database
from storage.trace import TraceEvent, TraceRepository


@dataclass(frozen=True, slots=True)
class OrderRecord:
    signal_id: str
    leg: int
    broker: str
    request: OrderRequest
    status: OrderStatus
    broker_order_id: str | None
    filled_quantity: Decimal
    average_fill_price: Decimal | None
    reason: str | None
    attempts: int
    created_at: datetime
    updated_at: datetime

    @property
    def client_order_id(self) -> str:
        return self.request.client_order_id


def _row_to_record(row: sqlite3.Row) -> OrderRecord:
    request = OrderRequest(
        client_order_id=row["client_order_id"],
        symbol=row["symbol"],
        asset_class=AssetClass(row["asset_class"]),
        side=Side(row["side"]),
        type=OrderType(row["type"]),
        quantity=Decimal(row["quantity"]),
        limit_price=dec_from_db(row["limit_price"]),
        stop_price=dec_from_db(row["stop_price"]),
        stop_loss=dec_from_db(row["stop_loss"]),
        take_profit=dec_from_db(row["take_profit"]),
        time_in_force=row["time_in_force"],
        reduce_only=bool(row["reduce_only"]),
    )
    return OrderRecord(
        signal_id=row["signal_id"],
        leg=row["leg"],
        broker=row["broker"],
        request=request,
        status=OrderStatus(row["status"]),
        broker_order_id=row["broker_order_id"],
        filled_quantity=Decimal(row["filled_quantity"]),
        average_fill_price=dec_from_db(row["average_fill_price"]),
        reason=row["reason"],
        attempts=row["attempts"],
        created_at=time_from_db(row["created_at"]),
        updated_at=time_from_db(row["updated_at"]),
    )


_REQUEST_COLUMNS = (
    "client_order_id, signal_id, leg, broker, symbol, asset_class, side, type, quantity, limit_price, stop_price,"
    " stop_loss, take_profit, time_in_force, reduce_only, status, created_at, updated_at"
)
_INSERT_INTENT = f"INSERT INTO orders ({_REQUEST_COLUMNS}) VALUES ({', '.join(['?'] * 18)})"
_INSERT_ANSWERED = (
    f"INSERT INTO orders ({_REQUEST_COLUMNS}, broker_order_id, filled_quantity, average_fill_price, reason, attempts)"
    f" VALUES ({', '.join(['?'] * 23)})"
)


def _order_params(
    signal_id: str, leg: int, broker: str, request: OrderRequest, status: OrderStatus, at: datetime, updated: datetime
) -> tuple[Any, ...]:
    return (
        request.client_order_id,
        signal_id,
        leg,
        broker,
        request.symbol,
        request.asset_class.value,
        request.side.value,
        request.type.value,
        dec_to_db(request.quantity),
        dec_to_db(request.limit_price),
        dec_to_db(request.stop_price),
        dec_to_db(request.stop_loss),
        dec_to_db(request.take_profit),
        request.time_in_force,
        int(request.reduce_only),
        status.value,
        time_to_db(at),
        time_to_db(updated),
    )


def _intent_params(signal_id: str, leg: int, broker: str, request: OrderRequest, at: datetime) -> tuple[Any, ...]:
    return _order_params(signal_id, leg, broker, request, OrderStatus.PENDING_SUBMIT, at, at)


class OrderRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    def insert_intent_now(
        conn: sqlite3.Connection, signal_id: str, leg: int, broker: str, request: OrderRequest, at: datetime
    ) -> None:
        """Record an order before it is sent, inside a write unit (`Database.write`); the UNIQUE key is the
        guard."""
        conn.execute(_INSERT_INTENT, _intent_params(signal_id, leg, broker, request, at))

    @staticmethod
    def insert_answered_now(
        conn: sqlite3.Connection,
        signal_id: str,
        leg: int,
        broker: str,
        request: OrderRequest,
        at: datetime,
        *,
        ack: OrderAck,
        acked_at: datetime,
        attempts: int,
    ) -> None:
        """An order placed and answered inside the write unit that records it (a local venue's): one row that
        already holds the answer, where an intent is inserted and then updated (`record_ack_now`). The two
        end in the same row, and the status counts (a trigger) see only the answer."""
        answer = (
            ack.broker_order_id,
            dec_to_db(ack.filled_quantity),
            dec_to_db(ack.average_fill_price),
            ack.reason,
            attempts,
        )
        conn.execute(
            _INSERT_ANSWERED, _order_params(signal_id, leg, broker, request, ack.status, at, acked_at) + answer
        )

    async def record_ack(
        self, ack: OrderAck, at: datetime, *, attempts: int, events: Sequence[TraceEvent] = ()
    ) -> None:
        """Store the venue's answer, and the trace steps that led to it in the same commit."""
        await self._db.write(partial(self.record_ack_now, ack=ack, at=at, attempts=attempts, events=events))

    @staticmethod
    def record_ack_now(
        conn: sqlite3.Connection, *, ack: OrderAck, at: datetime, attempts: int, events: Sequence[TraceEvent] = ()
    ) -> None:
        """`record_ack` inside a write unit (`Database.write`)."""
        conn.execute(
            "UPDATE orders SET status = ?, broker_order_id = COALESCE(?, broker_order_id), filled_quantity = ?,"
            " average_fill_price = COALESCE(?, average_fill_price), reason = ?, attempts = ?, updated_at = ?"
            " WHERE client_order_id = ?",
            (
                ack.status.value,
                ack.broker_order_id,
                dec_to_db(ack.filled_quantity),
                dec_to_db(ack.average_fill_price),
                ack.reason,
                attempts,
                time_to_db(at),
                ack.client_order_id,
            ),
        )
        TraceRepository.insert_now(conn, events)

    async def set_exits(
        self, client_order_id: str, stop_loss: Decimal | None, take_profit: Decimal | None, at: datetime
    ) -> None:
        """Keep our copy of a leg's stop and target equal to the venue's after a move (None keeps one)."""
        await self._db.execute(
            "UPDATE orders SET stop_loss = COALESCE(?, stop_loss), take_profit = COALESCE(?, take_profit),"
            " updated_at = ? WHERE client_order_id = ?",
            (dec_to_db(stop_loss), dec_to_db(take_profit), time_to_db(at), client_order_id),
        )

    async def asset_class_of(self, symbol: str) -> AssetClass | None:
        """The asset class our orders gave `symbol` (a position does not carry one)."""
        row = await self._db.fetchone(
            "SELECT asset_class FROM orders WHERE symbol = ? ORDER BY created_at DESC LIMIT 1", (symbol,)
        )
        return None if row is None else AssetClass(row[0])

    async def get(self, client_order_id: str) -> OrderRecord | None:
        row = await self._db.fetchone("SELECT * FROM orders WHERE client_order_id = ?", (client_order_id,))
        return None if row is None else _row_to_record(row)

    async def for_signal(self, signal_id: str) -> list[OrderRecord]:
        rows = await self._db.fetchall("SELECT * FROM orders WHERE signal_id = ? ORDER BY leg", (signal_id,))
        return [_row_to_record(row) for row in rows]

    async def unresolved(self) -> list[OrderRecord]:
        """Orders whose venue outcome we never learned (crash mid-send, timeout): to reconcile first."""
        rows = await self._db.fetchall(
            "SELECT * FROM orders WHERE status IN (?, ?) ORDER BY created_at",
            (OrderStatus.PENDING_SUBMIT.value, OrderStatus.UNKNOWN.value),
        )
        return [_row_to_record(row) for row in rows]

    async def working(self, limit: int) -> list[OrderRecord]:
        """Orders the venue is still working (resting, part-filled), least recently checked first."""
        rows = await self._db.fetchall(
            "SELECT * FROM orders WHERE status IN (?, ?) ORDER BY updated_at LIMIT ?",
            (OrderStatus.ACCEPTED.value, OrderStatus.PARTIALLY_FILLED.value, limit),
        )
        return [_row_to_record(row) for row in rows]

    async def recent(self, limit: int = 50, status: OrderStatus | None = None) -> list[OrderRecord]:
        if status is None:
            rows = await self._db.fetchall("SELECT * FROM orders ORDER BY created_at DESC LIMIT ?", (limit,))
        else:
            rows = await self._db.fetchall(
                "SELECT * FROM orders WHERE status = ? ORDER BY created_at DESC LIMIT ?",
                (status.value, limit),
            )
        return [_row_to_record(row) for row in rows]

    async def page(
        self, limit: int, *, status: OrderStatus | None = None, before: str | None = None
    ) -> list[OrderRecord]:
        """Newest first; `before` is the client order id the previous page ended at (keyset pagination)."""
        clauses: list[str] = []
        params: list[object] = []
        if status is not None:
            clauses.append("status = ?")
            params.append(status.value)
        if before is not None:
            clauses.append(
                "(created_at, client_order_id) < (SELECT created_at, client_order_id FROM orders"
                " WHERE client_order_id = ?)"
            )
            params.append(before)
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        rows = await self._db.fetchall(
            f"SELECT * FROM orders{where} ORDER BY created_at DESC, client_order_id DESC LIMIT ?", (*params, limit)
        )
        return [_row_to_record(row) for row in rows]

"""SQL for the paper broker's books: account cash, positions, orders and fills.

The methods that change the books are plain functions of a `sqlite3.Connection`: the paper broker runs each
of its operations as one write unit (`Database.write`), one round trip to the database's thread.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from bot.domain import OrderAck, OrderRequest, OrderStatus, Position, Side
from storage.codec import dec_from_db, dec_to_db, time_to_db
from storage.database import Database


@dataclass(frozen=True, slots=True)
class Fill:
    client_order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    realized_pnl: Decimal
    at: datetime
    kind: str = "entry"  # or "stop_loss" / "take_profit" / "close"


class ExitState:
    """Where a filled entry's bracket exits stand (the `exit_state` column)."""

    OPEN = "open"
    STOPPED = "stopped"
    TARGET = "target"
    CLOSED = "closed"  # the position was closed by other orders first


@dataclass(frozen=True, slots=True)
class WorkingOrder:
    """A resting entry, or a filled entry whose stop loss / take profit still watch the market."""

    client_order_id: str
    symbol: str
    side: Side
    type: str
    quantity: Decimal
    limit_price: Decimal | None
    stop_price: Decimal | None
    stop_loss: Decimal | None
    take_profit: Decimal | None
    status: OrderStatus
    exit_state: str | None


def _ack_from_row(row: sqlite3.Row) -> OrderAck:
    return OrderAck(
        client_order_id=row["client_order_id"],
        status=OrderStatus(row["status"]),
        broker_order_id=row["broker_order_id"],
        filled_quantity=Decimal(row["filled_quantity"]),
        average_fill_price=dec_from_db(row["average_fill_price"]),
        reason=row["reason"],
    )


class PaperBooks:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def ensure_account(self, starting_cash: Decimal) -> None:
        await self.db.execute(
            "INSERT INTO paper_account (id, cash, realized_pnl) VALUES (1, ?, '0') ON CONFLICT (id) DO NOTHING",
            (dec_to_db(starting_cash),),
        )

    async def account(self) -> tuple[Decimal, Decimal]:
        """(cash, realized PnL)."""
        row = await self.db.fetchone("SELECT cash, realized_pnl FROM paper_account WHERE id = 1")
        if row is None:
            return Decimal(0), Decimal(0)
        return Decimal(row["cash"]), Decimal(row["realized_pnl"])

    async def positions(self) -> list[Position]:
        rows = await self.db.fetchall("SELECT symbol, quantity, average_price FROM paper_positions ORDER BY symbol")
        return [Position(row["symbol"], Decimal(row["quantity"]), Decimal(row["average_price"])) for row in rows]

    @staticmethod
    def position(conn: sqlite3.Connection, symbol: str) -> Position | None:
        row = conn.execute(
            "SELECT symbol, quantity, average_price FROM paper_positions WHERE symbol = ?", (symbol,)
        ).fetchone()
        return None if row is None else Position(row[0], Decimal(row[1]), Decimal(row[2]))

    async def order(self, client_order_id: str) -> OrderAck | None:
        row = await self.db.fetchone("SELECT * FROM paper_orders WHERE client_order_id = ?", (client_order_id,))
        return None if row is None else _ack_from_row(row)

    @staticmethod
    def order_in(conn: sqlite3.Connection, client_order_id: str) -> OrderAck | None:
        row = conn.execute("SELECT * FROM paper_orders WHERE client_order_id = ?", (client_order_id,)).fetchone()
        return None if row is None else _ack_from_row(row)

    @staticmethod
    def insert_order(conn: sqlite3.Connection, request: OrderRequest, ack: OrderAck, at: datetime) -> bool:
        """Book an order; False when the venue already has its client id (nothing is changed then)."""
        has_exits = request.stop_loss is not None or request.take_profit is not None
        exit_state = ExitState.OPEN if has_exits and ack.status is OrderStatus.FILLED else None
        inserted = conn.execute(
            "INSERT INTO paper_orders (client_order_id, broker_order_id, symbol, side, type, quantity, limit_price,"
            " stop_price, stop_loss, take_profit, status, filled_quantity, average_fill_price, reason, created_at,"
            " exit_state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (client_order_id) DO NOTHING",
            (
                request.client_order_id,
                ack.broker_order_id,
                request.symbol,
                request.side.value,
                request.type.value,
                dec_to_db(request.quantity),
                dec_to_db(request.limit_price),
                dec_to_db(request.stop_price),
                dec_to_db(request.stop_loss),
                dec_to_db(request.take_profit),
                ack.status.value,
                dec_to_db(ack.filled_quantity),
                dec_to_db(ack.average_fill_price),
                ack.reason,
                time_to_db(at),
                exit_state,
            ),
        )
        return inserted.rowcount == 1

    async def working_orders(self) -> list[WorkingOrder]:
        rows = await self.db.fetchall(
            "SELECT * FROM paper_orders WHERE status = ? OR (status = ? AND exit_state = ?) ORDER BY created_at",
            (OrderStatus.ACCEPTED.value, OrderStatus.FILLED.value, ExitState.OPEN),
        )
        return [
            WorkingOrder(
                client_order_id=row["client_order_id"],
                symbol=row["symbol"],
                side=Side(row["side"]),
                type=row["type"],
                quantity=Decimal(row["quantity"]),
                limit_price=dec_from_db(row["limit_price"]),
                stop_price=dec_from_db(row["stop_price"]),
                stop_loss=dec_from_db(row["stop_loss"]),
                take_profit=dec_from_db(row["take_profit"]),
                status=OrderStatus(row["status"]),
                exit_state=row["exit_state"],
            )
            for row in rows
        ]

    @staticmethod
    def exit_state(conn: sqlite3.Connection, client_order_id: str) -> str | None:
        sql = "SELECT exit_state FROM paper_orders WHERE client_order_id = ?"
        row = conn.execute(sql, (client_order_id,)).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    @staticmethod
    def mark_filled(
        conn: sqlite3.Connection, client_order_id: str, quantity: Decimal, price: Decimal, exit_state: str | None
    ) -> None:
        conn.execute(
            "UPDATE paper_orders SET status = ?, filled_quantity = ?, average_fill_price = ?, exit_state = ?"
            " WHERE client_order_id = ?",
            (OrderStatus.FILLED.value, dec_to_db(quantity), dec_to_db(price), exit_state, client_order_id),
        )

    @staticmethod
    def set_exit_state(conn: sqlite3.Connection, client_order_id: str, state: str) -> None:
        conn.execute("UPDATE paper_orders SET exit_state = ? WHERE client_order_id = ?", (state, client_order_id))

    @staticmethod
    def close_exits(conn: sqlite3.Connection, symbol: str) -> None:
        """A flat position leaves nothing for its stops and targets to close."""
        conn.execute(
            "UPDATE paper_orders SET exit_state = ? WHERE symbol = ? AND exit_state = ?",
            (ExitState.CLOSED, symbol, ExitState.OPEN),
        )

    @staticmethod
    def set_status(conn: sqlite3.Connection, client_order_id: str, status: OrderStatus) -> None:
        conn.execute("UPDATE paper_orders SET status = ? WHERE client_order_id = ?", (status.value, client_order_id))

    @staticmethod
    def set_exits(
        conn: sqlite3.Connection, client_order_id: str, *, stop_loss: Decimal | None, take_profit: Decimal | None
    ) -> None:
        """Move the exits attached to an order; None keeps the current one."""
        conn.execute(
            "UPDATE paper_orders SET stop_loss = COALESCE(?, stop_loss), take_profit = COALESCE(?, take_profit),"
            " exit_state = CASE WHEN status = ? THEN ? ELSE exit_state END WHERE client_order_id = ?",
            (
                dec_to_db(stop_loss),
                dec_to_db(take_profit),
                OrderStatus.FILLED.value,
                ExitState.OPEN,
                client_order_id,
            ),
        )

    @staticmethod
    def apply_fill(
        conn: sqlite3.Connection, fill: Fill, position: Position | None, cash_delta: Decimal
    ) -> tuple[Decimal, Decimal]:
        """Record a fill and the position and cash it leaves, inside the caller's transaction; returns the
        account's (cash, realized PnL) after it."""
        row = conn.execute("SELECT cash, realized_pnl FROM paper_account WHERE id = 1").fetchone()
        cash, realized = (Decimal(row[0]), Decimal(row[1])) if row else (Decimal(0), Decimal(0))
        cash, realized = cash + cash_delta, realized + fill.realized_pnl
        # The running total lets `realized_pnl_since` answer with two indexed reads instead of a sum.
        conn.execute(
            "INSERT INTO paper_fills (client_order_id, symbol, side, quantity, price, realized_pnl, filled_at, kind,"
            " realized_pnl_total) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                fill.client_order_id,
                fill.symbol,
                fill.side.value,
                dec_to_db(fill.quantity),
                dec_to_db(fill.price),
                dec_to_db(fill.realized_pnl),
                time_to_db(fill.at),
                fill.kind,
                dec_to_db(realized),
            ),
        )
        if position is None or position.quantity == 0:
            conn.execute("DELETE FROM paper_positions WHERE symbol = ?", (fill.symbol,))
        else:
            conn.execute(
                "INSERT INTO paper_positions (symbol, quantity, average_price, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (symbol) DO UPDATE SET quantity = excluded.quantity,"
                " average_price = excluded.average_price, updated_at = excluded.updated_at",
                (
                    fill.symbol,
                    dec_to_db(position.quantity),
                    dec_to_db(position.average_price),
                    time_to_db(fill.at),
                ),
            )
        conn.execute(
            "UPDATE paper_account SET cash = ?, realized_pnl = ? WHERE id = 1", (dec_to_db(cash), dec_to_db(realized))
        )
        return cash, realized

    async def realized_pnl_since(self, since: datetime) -> Decimal:
        """PnL realized by fills since `since` (for `/stats` and `/pnl`): the account's realized total now,
        minus the running total just before the first fill in the window."""
        first = await self.db.fetchone(  # one statement, so the account and the fill are read from one snapshot
            "SELECT realized_pnl, realized_pnl_total, (SELECT realized_pnl FROM paper_account WHERE id = 1) AS now"
            " FROM paper_fills WHERE filled_at >= ? ORDER BY filled_at, id LIMIT 1",
            (time_to_db(since),),
        )
        if first is None:
            return Decimal(0)
        if first["realized_pnl_total"] is None:  # fills recorded before the running total existed
            rows = await self.db.fetchall(
                "SELECT realized_pnl FROM paper_fills WHERE filled_at >= ?", (time_to_db(since),)
            )
            return sum((Decimal(row[0]) for row in rows), Decimal(0))
        return Decimal(first["now"]) - (Decimal(first["realized_pnl_total"]) - Decimal(first["realized_pnl"]))

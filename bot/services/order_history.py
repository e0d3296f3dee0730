"""`/orders [status]`: the most recent orders the bot placed, from storage, optionally of one status."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import OrderStatus
from bot.errors import InvalidOption
from storage.orders import OrderRecord, OrderRepository

ORDER_STATUSES = tuple(s.value for s in OrderStatus)
DEFAULT_LIMIT = 15


def parse_order_status(value: str | None) -> OrderStatus | None:
    """The status named by a command option (None: every status); InvalidOption names the valid ones."""
    if value is None or not value.strip():
        return None
    try:
        return OrderStatus(value.strip().lower())
    except ValueError:
        raise InvalidOption.not_one_of("status", value, ORDER_STATUSES) from None


@dataclass(frozen=True, slots=True)
class OrdersReport:
    status: OrderStatus | None
    orders: tuple[OrderRecord, ...]  # newest first
    limit: int


class OrderHistory:
    def __init__(self, orders: OrderRepository) -> None:
        self._orders = orders

    async def recent(self, status: OrderStatus | None = None, limit: int = DEFAULT_LIMIT) -> OrdersReport:
        """The newest `limit` orders, of `status` when given."""
        return OrdersReport(status, tuple(await self._orders.recent(limit, status)), limit)

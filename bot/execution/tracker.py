"""Keeps our copy of working orders in step with the venue, where resting entries fill or expire."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import structlog

from bot.domain import OrderAck
from bot.execution.submitter import OrderSubmitter
from storage.orders import OrderRepository

log = structlog.get_logger(__name__)
Clock = Callable[[], datetime]


class OrderTracker:
    """Each `sync` looks up at most `batch` working orders (oldest check first), so a venue with many
    resting orders is polled round-robin within the token bucket instead of in one burst."""

    def __init__(self, orders: OrderRepository, submitter: OrderSubmitter, clock: Clock, *, batch: int = 20) -> None:
        self._orders = orders
        self._submitter = submitter
        self._clock = clock
        self._batch = batch

    async def sync(self) -> int:
        """Record what changed at the venue; returns how many orders changed."""
        changed = 0
        for order in await self._orders.working(self._batch):
            found = await self._submitter.look_up(order.client_order_id)
            if not isinstance(found, OrderAck):
                continue  # unanswered or (oddly) absent: keep our record and ask again next time
            moved = found.status is not order.status or found.filled_quantity != order.filled_quantity
            # Recording an unchanged answer still bumps updated_at, which moves the order to the back of the line.
            await self._orders.record_ack(found, self._clock(), attempts=order.attempts)
            if moved:
                changed += 1
                log.info(
                    "order.updated",
                    client_order_id=found.client_order_id,
                    signal_id=order.signal_id,
                    status=found.status.value,
                    filled_quantity=str(found.filled_quantity),
                )
        return changed

"""Evaluates health every `alerts.evaluation_interval_seconds` and announces confirmed changes.

Events go to a sender the Discord side attaches (`cogs/alerts.py` posts them to `discord.alert_channel_id`);
a failed delivery is logged and retried at the next evaluation, in order. The last announced status of each
component is kept in `bot_state`, so a restart neither repeats an alert for a condition that is still
standing nor forgets to resolve one that ended while the bot was down.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable

import structlog

from bot.periodic import Periodic
from bot.services.alerts import AlertEvent, AlertTracker
from bot.services.health import HealthService, Status
from storage.state import StateRepository

log = structlog.get_logger(__name__)

Send = Callable[[AlertEvent], Awaitable[None]]
STATE_PREFIX = "alerts.announced."


class AlertMonitor:
    def __init__(
        self,
        health: HealthService,
        state: StateRepository,
        *,
        interval: float,
        confirmations: int,
        recovery_margin: float,
        channel_id: int | None,
        active: Callable[[], bool] = lambda: True,
    ) -> None:
        """`active` says when evaluating makes sense (after start-up, once Discord first connected)."""
        self.channel_id = channel_id
        self.evaluations = 0
        self._health = health
        self._state = state
        self._tracker = AlertTracker(confirmations=confirmations, recovery_margin=recovery_margin)
        self._active = active
        self._send: Send | None = None
        self._outbox: deque[AlertEvent] = deque()
        self._restored: set[str] = set()
        self._periodic = Periodic("alert-monitor", interval, self.evaluate)

    @property
    def pending(self) -> int:
        """Events confirmed but not yet delivered."""
        return len(self._outbox)

    def attach(self, send: Send | None) -> None:
        """Set (or, with None, remove) the callback that posts an event to the alert channel."""
        self._send = send

    async def start(self) -> None:
        await self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()

    async def evaluate(self) -> None:
        """One evaluation: check every component, queue confirmed changes, deliver what is queued."""
        if not self._active():
            return
        report = await self._health.check()
        self.evaluations += 1
        for name, component in report.components.items():
            await self._restore(name)
            event = self._tracker.observe(name, component)
            if event is not None:
                log.warning(
                    "health.alert",
                    component=name,
                    kind=event.kind.value,
                    previous=event.previous.label,
                    status=event.status.label,
                    detail=component.detail,
                )
                self._outbox.append(event)
        await self._deliver()

    async def _restore(self, component: str) -> None:
        if component in self._restored:
            return
        label = await self._state.get(STATE_PREFIX + component)
        if label is not None and label.upper() in Status.__members__:
            self._tracker.restore(component, Status[label.upper()])
        self._restored.add(component)

    async def _deliver(self) -> None:
        while self._outbox:
            event = self._outbox[0]
            if self.channel_id is not None:
                if self._send is None:
                    return  # the Discord side is not attached yet; keep the queue for the next evaluation
                try:
                    await self._send(event)
                except Exception as exc:
                    log.warning("health.alert_delivery_failed", component=event.component, error=repr(exc))
                    return
            self._outbox.popleft()
            try:
                await self._state.set(STATE_PREFIX + event.component, event.status.label)
            except Exception as exc:
                log.warning("health.alert_state_not_saved", component=event.component, error=repr(exc))

"""Alerts with hysteresis: one alert per confirmed change, one resolved message, no spam on flapping, no
repeat after a restart, and a failed delivery retried at the next evaluation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.services.alerting import AlertMonitor
from bot.services.alerts import AlertEvent, AlertKind, AlertTracker
from bot.services.health import ComponentHealth, HealthService, Status, above, below
from storage.database import Database
from storage.state import StateRepository


def memory(mb: float) -> ComponentHealth:
    return above(mb, 512, 1024, f"{mb} MB")


def success(rate: float) -> ComponentHealth:
    return below(rate, 0.95, 0.90, f"{rate:.0%}")


def feed(tracker: AlertTracker, values: list[ComponentHealth]) -> list[AlertEvent]:
    return [event for health in values if (event := tracker.observe("memory", health)) is not None]


def test_flapping_around_the_warning_threshold_gives_one_alert_and_one_resolve() -> None:
    """500/520 MB alternating never confirms; sustained 520 alerts once; hovering just under 512 keeps it;
    a real recovery (under 512 minus the 10 % margin, twice) resolves once."""
    tracker = AlertTracker(confirmations=2, recovery_margin=0.1)
    flapping = [memory(mb) for mb in (500, 520, 500, 520, 500, 520, 520, 505, 520, 505, 510, 505, 400, 400, 400)]
    events = feed(tracker, flapping)
    assert [(e.kind, e.previous, e.status) for e in events] == [
        (AlertKind.ALERT, Status.OK, Status.WARNING),
        (AlertKind.RESOLVED, Status.WARNING, Status.OK),
    ]
    assert events[0].health.value == 520 and events[1].health.value == 400


def test_one_confirmation_alerts_at_once_and_the_margin_alone_stops_flapping() -> None:
    """With K = 1 every crossing upward alerts at once, but 511 after 513 is not yet a recovery."""
    tracker = AlertTracker(confirmations=1, recovery_margin=0.05)
    events = feed(tracker, [memory(mb) for mb in (513, 511, 513, 511, 480, 513)])
    assert [(e.kind, e.status) for e in events] == [
        (AlertKind.ALERT, Status.WARNING),
        (AlertKind.RESOLVED, Status.OK),
        (AlertKind.ALERT, Status.WARNING),
    ]


def test_escalation_and_de_escalation_are_each_announced_once() -> None:
    """ok → warning → critical → warning → ok: four messages, each after K evaluations."""
    tracker = AlertTracker(confirmations=2, recovery_margin=0.1)
    events = feed(tracker, [memory(mb) for mb in (600, 600, 2000, 2000, 2000, 700, 700, 100, 100)])
    assert [(e.previous, e.status) for e in events] == [
        (Status.OK, Status.WARNING),
        (Status.WARNING, Status.CRITICAL),
        (Status.CRITICAL, Status.WARNING),
        (Status.WARNING, Status.OK),
    ]


def test_a_streak_mixing_warning_and_critical_announces_the_level_held_throughout() -> None:
    """warning, critical, warning: worse than ok all along, so 'warning' is announced (not nothing)."""
    tracker = AlertTracker(confirmations=3, recovery_margin=0.1)
    events = feed(tracker, [memory(mb) for mb in (600, 2000, 600)])
    assert [(e.previous, e.status) for e in events] == [(Status.OK, Status.WARNING)]


def test_lower_is_worse_values_recover_past_the_margin_toward_one() -> None:
    """A success rate back at 95.2 % (under 95 % + 10 % of the 5 % headroom) is not yet a recovery."""
    tracker = AlertTracker(confirmations=1, recovery_margin=0.1)
    events = [e for rate in (0.94, 0.952, 0.96) if (e := tracker.observe("orders", success(rate))) is not None]
    assert [(e.kind, e.status) for e in events] == [(AlertKind.ALERT, Status.WARNING), (AlertKind.RESOLVED, Status.OK)]
    assert events[1].health.value == 0.96


def test_components_without_a_value_follow_their_status() -> None:
    """Discord down for two evaluations alerts critical; back up for two resolves."""
    tracker = AlertTracker(confirmations=2, recovery_margin=0.1)
    down, up = ComponentHealth(Status.CRITICAL, "gateway not connected"), ComponentHealth(Status.OK, "connected")
    events = [e for h in (down, down, up, up) if (e := tracker.observe("discord", h)) is not None]
    assert [e.kind for e in events] == [AlertKind.ALERT, AlertKind.RESOLVED]


def test_a_restored_state_is_not_announced_again() -> None:
    """A component announced critical before a restart stays quiet while it is still critical."""
    tracker = AlertTracker(confirmations=1, recovery_margin=0.1, announced={"memory": Status.CRITICAL})
    assert feed(tracker, [memory(2000), memory(2000)]) == []
    assert tracker.announced("memory") is Status.CRITICAL


class Dial:
    """A probe whose readings the test sets, standing in for a real component."""

    def __init__(self) -> None:
        self.readings: Iterator[float] = iter(())
        self.last = 0.0

    async def probe(self) -> ComponentHealth:
        self.last = next(self.readings, self.last)
        return memory(self.last)


def monitor_for(db: Database, dial: Dial, *, channel_id: int | None = 42) -> AlertMonitor:
    health = HealthService()
    health.register("memory", dial.probe)
    return AlertMonitor(
        health, StateRepository(db), interval=60, confirmations=1, recovery_margin=0.1, channel_id=channel_id
    )


async def test_failed_delivery_is_retried_at_the_next_evaluation_in_order(db: Database) -> None:
    """The alert that could not be posted goes out with the next evaluation, before the resolved message."""
    dial = Dial()
    dial.readings = iter((600, 100))
    sent: list[AlertKind] = []
    failures = iter((True, False, False))

    async def send(event: AlertEvent) -> None:
        if next(failures):
            raise ConnectionError("Discord unreachable")
        sent.append(event.kind)

    monitor = monitor_for(db, dial)
    monitor.attach(send)
    await monitor.evaluate()
    assert sent == [] and monitor.pending == 1
    await monitor.evaluate()
    assert sent == [AlertKind.ALERT, AlertKind.RESOLVED] and monitor.pending == 0


async def test_announced_state_survives_a_restart(db: Database) -> None:
    """After a restart with the condition still standing nothing is posted; once it ends, a resolve is."""
    dial = Dial()
    dial.readings = iter((600,))
    sent: list[AlertEvent] = []

    async def send(event: AlertEvent) -> None:
        sent.append(event)

    first = monitor_for(db, dial)
    first.attach(send)
    await first.evaluate()
    assert [e.kind for e in sent] == [AlertKind.ALERT]
    restarted = monitor_for(db, dial)
    restarted.attach(send)
    await restarted.evaluate()
    assert len(sent) == 1
    dial.readings = iter((100,))
    await restarted.evaluate()
    assert [e.kind for e in sent] == [AlertKind.ALERT, AlertKind.RESOLVED]


async def test_without_an_alert_channel_events_are_only_logged_and_remembered(db: Database) -> None:
    """No channel configured: nothing waits for delivery, and the announced state is still saved."""
    dial = Dial()
    dial.readings = iter((600,))
    monitor = monitor_for(db, dial, channel_id=None)
    await monitor.evaluate()
    assert monitor.pending == 0
    assert await StateRepository(db).get("alerts.announced.memory") == "warning"


async def test_inactive_monitor_does_not_evaluate(db: Database) -> None:
    """Before the first connection and catch-up the monitor skips its evaluations."""
    health = HealthService()
    monitor = AlertMonitor(
        health,
        StateRepository(db),
        interval=60,
        confirmations=1,
        recovery_margin=0.1,
        channel_id=1,
        active=lambda: False,
    )
    await monitor.evaluate()
    assert monitor.evaluations == 0 and health.last_report is None


def test_confirmations_must_be_positive() -> None:
    """K = 0 would announce before anything was observed."""
    with pytest.raises(ValueError, match="at least 1"):
        AlertTracker(confirmations=0, recovery_margin=0.1)

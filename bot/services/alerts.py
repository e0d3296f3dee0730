"""When a component's health change is worth a message: a pure state machine with hysteresis.

Each component has an *announced* status (the last one an alert or resolved message was sent for). An
evaluation that differs from it starts a streak; only after `confirmations` evaluations in a row on the
same side of the announced status is the change announced, once. Improvements must also clear a recovery
margin: a value that crossed a threshold must come back past it by `recovery_margin` (a fraction of the
threshold; for lower-is-worse fractions such as a success rate, a fraction of the distance to 1) before it
counts as better. A value flapping around a threshold therefore raises one alert and, once it has really
recovered, one resolved message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from bot.services.health import ComponentHealth, Status


class AlertKind(StrEnum):
    ALERT = "alert"  # a component got worse, or improved but is still not ok
    RESOLVED = "resolved"  # back to ok


@dataclass(frozen=True, slots=True)
class AlertEvent:
    component: str
    previous: Status
    status: Status
    health: ComponentHealth

    @property
    def kind(self) -> AlertKind:
        return AlertKind.RESOLVED if self.status is Status.OK else AlertKind.ALERT


@dataclass(slots=True)
class _Track:
    announced: Status = Status.OK
    streak_status: Status = Status.OK
    streak: int = 0


def past_threshold(value: float, threshold: float, *, lower_is_worse: bool, margin: float) -> bool:
    """Whether `value` is on the good side of `threshold` by at least the recovery margin."""
    if lower_is_worse:
        return value >= threshold + (1 - threshold) * margin
    return value < threshold * (1 - margin)


def with_margin(health: ComponentHealth, margin: float) -> Status:
    """The status `health`'s value has once thresholds are moved toward the good side by `margin`."""
    value, warning, critical = health.value, health.warning, health.critical
    if value is None or warning is None or critical is None:
        return health.status
    side = health.lower_is_worse
    if not past_threshold(value, critical, lower_is_worse=side, margin=margin):
        return Status.CRITICAL
    if not past_threshold(value, warning, lower_is_worse=side, margin=margin):
        return Status.WARNING
    return Status.OK


class AlertTracker:
    def __init__(
        self, *, confirmations: int, recovery_margin: float, announced: Mapping[str, Status] | None = None
    ) -> None:
        if confirmations < 1:
            raise ValueError("confirmations must be at least 1")
        self._confirmations = confirmations
        self._margin = recovery_margin
        self._tracks = {name: _Track(status) for name, status in (announced or {}).items()}

    def announced(self, component: str) -> Status:
        track = self._tracks.get(component)
        return Status.OK if track is None else track.announced

    def restore(self, component: str, announced: Status) -> None:
        """Start from a status announced before a restart (only for a component not seen yet)."""
        self._tracks.setdefault(component, _Track(announced))

    def observe(self, component: str, health: ComponentHealth) -> AlertEvent | None:
        """Feed one evaluation; returns the event to send when a change is confirmed."""
        track = self._tracks.setdefault(component, _Track())
        status = self._effective(track.announced, health)
        if status == track.announced:
            track.streak = 0
            return None
        worse = status > track.announced
        if track.streak and (track.streak_status > track.announced) == worse:
            # Same direction as the running streak: announce the least extreme status seen all along it.
            track.streak_status = min(track.streak_status, status) if worse else max(track.streak_status, status)
            track.streak += 1
        else:
            track.streak_status, track.streak = status, 1
        if track.streak < self._confirmations:
            return None
        event = AlertEvent(component, track.announced, track.streak_status, health)
        track.announced, track.streak = track.streak_status, 0
        return event

    def _effective(self, announced: Status, health: ComponentHealth) -> Status:
        if health.status >= announced:
            return health.status
        return min(announced, with_margin(health, self._margin))

"""`/health` and `/api/health`: each component's status with the value and threshold behind it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import IntEnum

import structlog

log = structlog.get_logger(__name__)


class Status(IntEnum):
    """Ordered so that the worst component decides; the values are `tradecord_health_status`'s."""

    OK = 0
    WARNING = 1
    CRITICAL = 2

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    """A component's status; `value` and the thresholds share a unit (seconds, MB or a 0-1 fraction)."""

    status: Status
    detail: str
    value: float | None = None
    warning: float | None = None
    critical: float | None = None
    threshold: str | None = None  # the thresholds in words, e.g. "warning ≥ 1000 ms · critical ≥ 5000 ms"
    lower_is_worse: bool = False


@dataclass(frozen=True, slots=True)
class HealthReport:
    components: dict[str, ComponentHealth]

    @property
    def status(self) -> Status:
        return max((c.status for c in self.components.values()), default=Status.OK)

    @property
    def overall(self) -> str:
        """`ok`, `degraded` or `critical`, the words of the HTTP contract."""
        return {Status.OK: "ok", Status.WARNING: "degraded", Status.CRITICAL: "critical"}[self.status]


Probe = Callable[[], Awaitable[ComponentHealth]]
Format = Callable[[float], str]


def _plain(value: float) -> str:
    return f"{value:g}"


def threshold_text(warning: float, critical: float, *, fmt: Format = _plain, lower_is_worse: bool = False) -> str:
    sign = "<" if lower_is_worse else "≥"
    return f"warning {sign} {fmt(warning)} · critical {sign} {fmt(critical)}"


def above(value: float, warning: float, critical: float, detail: str, *, fmt: Format = _plain) -> ComponentHealth:
    """Health of a value where higher is worse; `fmt` writes a threshold in the value's unit."""
    status = Status.CRITICAL if value >= critical else Status.WARNING if value >= warning else Status.OK
    return ComponentHealth(status, detail, value, warning, critical, threshold_text(warning, critical, fmt=fmt))


def below(value: float, warning: float, critical: float, detail: str, *, fmt: Format = _plain) -> ComponentHealth:
    """Health of a value where lower is worse."""
    status = Status.CRITICAL if value < critical else Status.WARNING if value < warning else Status.OK
    threshold = threshold_text(warning, critical, fmt=fmt, lower_is_worse=True)
    return ComponentHealth(status, detail, value, warning, critical, threshold, lower_is_worse=True)


class HealthService:
    def __init__(self, probe_timeout: float = 2.0) -> None:
        self._probes: dict[str, Probe] = {}
        self._probe_timeout = probe_timeout
        self.last_report: HealthReport | None = None

    def register(self, name: str, probe: Probe) -> None:
        self._probes[name] = probe

    async def _run(self, name: str, probe: Probe) -> ComponentHealth:
        try:
            return await asyncio.wait_for(probe(), self._probe_timeout)
        except TimeoutError:
            return ComponentHealth(Status.CRITICAL, f"no answer within {self._probe_timeout:g}s")
        except Exception as exc:
            log.warning("health.probe_failed", component=name, error=str(exc))
            return ComponentHealth(Status.CRITICAL, f"check failed: {type(exc).__name__}")

    async def check(self) -> HealthReport:
        names = list(self._probes)
        results = await asyncio.gather(*(self._run(name, self._probes[name]) for name in names))
        self.last_report = HealthReport(dict(zip(names, results, strict=True)))
        return self.last_report


@dataclass(slots=True)
class Readiness:
    """What `/health/ready` waits for: Discord connected, database open, catch-up done."""

    discord_connected: bool = False
    database_open: bool = False
    caught_up: bool = False

    @property
    def ready(self) -> bool:
        return self.discord_connected and self.database_open and self.caught_up

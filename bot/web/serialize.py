"""Service dataclasses as the JSON the side server answers with."""

from __future__ import annotations

from typing import Any

from bot.services.health import HealthReport
from bot.services.stats import StatsReport


def stats_to_json(report: StatsReport) -> dict[str, Any]:
    return {
        "window": report.window.value,
        "since": report.since.isoformat(),
        "messages_seen": report.messages_seen,
        "signals": {"total": report.signals_total, "by_outcome": report.signals_by_outcome},
        "orders": {"total": report.orders_total, "by_status": report.orders_by_status},
        "latency_ms": {
            "p50": report.latency_ms.p50,
            "p95": report.latency_ms.p95,
            "p99": report.latency_ms.p99,
        },
        "pnl": None if report.pnl is None else format(report.pnl, "f"),
        "rate_limits": {"throttled": report.rate_limit_throttled},
        "top_rejections": [{"reason": reason, "count": count} for reason, count in report.top_rejections],
    }


def health_to_json(report: HealthReport) -> dict[str, Any]:
    return {
        "status": report.overall,
        "components": {
            name: {
                "status": component.status.label,
                "detail": component.detail,
                "value": component.value,
                "warning": component.warning,
                "critical": component.critical,
            }
            for name, component in report.components.items()
        },
    }

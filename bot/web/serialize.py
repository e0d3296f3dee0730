"""Service dataclasses as the JSON the side server answers with."""

from __future__ import annotations

from typing import Any

from bot.services.health import HealthReport
from bot.services.series import Series
from bot.services.stats import LatencySummary, StatsReport


def _latency(latency: LatencySummary) -> dict[str, Any]:
    return {"p50": latency.p50, "p95": latency.p95, "p99": latency.p99}


def stats_to_json(report: StatsReport) -> dict[str, Any]:
    return {
        "window": report.window.value,
        "since": report.since.isoformat(),
        "messages_seen": report.messages_seen,
        "signals": {"total": report.signals_total, "by_outcome": report.signals_by_outcome},
        "parse": {
            "valid": report.parsed_valid,
            "invalid": report.parsed_invalid,
            "success_rate": report.parse_success_rate,
        },
        "orders": {
            "total": report.orders_total,
            "by_status": report.orders_by_status,
            "sent": report.orders_sent,
            "filled": report.orders_filled,
            "fill_rate": report.fill_rate,
        },
        "latency_ms": {**_latency(report.latency_ms), "samples": report.latency_ms.samples},
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
                "threshold": component.threshold,
            }
            for name, component in report.components.items()
        },
    }


def series_to_json(series: Series) -> dict[str, Any]:
    """The `/api/series` data; its shape is what the dashboard is written against."""
    return {
        "window": series.window.value,
        "step_seconds": series.step_seconds,
        "points": [
            {
                "t": point.at.isoformat(),
                "messages": point.messages,
                "signals": point.signals,
                "executed": point.executed,
                "rejected": point.rejected,
                "orders": point.orders,
                "orders_failed": point.orders_failed,
                "latency_ms": _latency(point.latency_ms),
                "memory_mb": point.memory_mb,
                "cpu_percent": point.cpu_percent,
                "loop_lag_ms": point.loop_lag_ms,
                "throttled": point.throttled,
            }
            for point in series.points
        ],
    }

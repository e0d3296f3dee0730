"""`make_app(...)`: the side server's routes, embedded in the bot's event loop with AppRunner/TCPSite."""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.metrics import Metrics
from bot.services.health import HealthService, Readiness
from bot.services.series import SeriesService
from bot.services.stats import StatsService, Window
from bot.web.dashboard import dashboard_route
from bot.web.serialize import health_to_json, series_to_json, stats_to_json

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class WebServices:
    stats: StatsService
    health: HealthService
    readiness: Readiness
    metrics: Metrics
    metrics_token: str | None = None
    # POST /webhook/tradingview (absent, so 404, when None) and the `data` of GET /api/rate-limits.
    webhook: Handler | None = None
    rate_limits: Callable[[], dict[str, Any]] | None = None
    series: SeriesService | None = None  # GET /api/series (the dashboard's history)


SERVICES = web.AppKey("services", WebServices)


def envelope(data: Any, *, success: bool = True, status: int = 200, error: str | None = None) -> web.Response:
    body: dict[str, Any] = {"success": success, "timestamp": datetime.now(UTC).isoformat(), "data": data}
    if error is not None:
        body["error"] = error
    return web.json_response(body, status=status)


def _authorized(request: web.Request, token: str | None) -> bool:
    if token is None:
        return True
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count and time every request by its route template (never the raw path: unbounded labels)."""
    services = request.app[SERVICES]
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        services.metrics.http_requests.labels(route, str(status)).inc()
        services.metrics.http_request_seconds.labels(route).observe(time.perf_counter() - started)


@web.middleware
async def require_token(request: web.Request, handler: Handler) -> web.StreamResponse:
    """`/metrics` and `/api/*` take the optional bearer token; health probes stay open for orchestrators."""
    services = request.app[SERVICES]
    if (request.path == "/metrics" or request.path.startswith("/api/")) and not _authorized(
        request, services.metrics_token
    ):
        return envelope(None, success=False, status=401, error="missing or wrong bearer token")
    return await handler(request)


async def metrics_route(request: web.Request) -> web.Response:
    payload = generate_latest(request.app[SERVICES].metrics.registry)
    return web.Response(body=payload, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def health_route(request: web.Request) -> web.Response:
    report = await request.app[SERVICES].health.check()
    return web.json_response(health_to_json(report), status=503 if report.overall == "critical" else 200)


async def live_route(_request: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


async def ready_route(request: web.Request) -> web.Response:
    readiness = request.app[SERVICES].readiness
    body = {
        "ready": readiness.ready,
        "discord_connected": readiness.discord_connected,
        "database_open": readiness.database_open,
        "caught_up": readiness.caught_up,
    }
    return web.json_response(body, status=200 if readiness.ready else 503)


def _window(request: web.Request, default: Window) -> Window | web.Response:
    """The `window` query parameter, or the 400 answer naming the allowed values."""
    raw = request.query.get("window", default.value)
    try:
        return Window(raw)
    except ValueError:
        allowed = ", ".join(w.value for w in Window)
        return envelope(None, success=False, status=400, error=f"window must be one of {allowed} (got {raw!r})")


async def api_stats_route(request: web.Request) -> web.Response:
    window = _window(request, Window.DAY)
    if isinstance(window, web.Response):
        return window
    report = await request.app[SERVICES].stats.report(window)
    return envelope(stats_to_json(report))


async def api_series_route(request: web.Request) -> web.Response:
    window = _window(request, Window.HOUR)
    if isinstance(window, web.Response):
        return window
    series = request.app[SERVICES].series
    if series is None:
        return envelope(None, success=False, status=404, error="history is not available in this process")
    return envelope(series_to_json(await series.series(window)))


async def api_health_route(request: web.Request) -> web.Response:
    report = await request.app[SERVICES].health.check()
    return envelope(health_to_json(report))


async def api_rate_limits_route(request: web.Request) -> web.Response:
    report = request.app[SERVICES].rate_limits
    return envelope(None if report is None else report())


def make_app(services: WebServices) -> web.Application:
    app = web.Application(middlewares=[observe, require_token], client_max_size=1024 * 1024)
    app[SERVICES] = services
    app.router.add_get("/metrics", metrics_route)
    app.router.add_get("/health", health_route)
    app.router.add_get("/health/live", live_route)
    app.router.add_get("/health/ready", ready_route)
    app.router.add_get("/api/stats", api_stats_route)
    app.router.add_get("/api/series", api_series_route)
    app.router.add_get("/api/health", api_health_route)
    app.router.add_get("/api/rate-limits", api_rate_limits_route)
    app.router.add_get("/dashboard", dashboard_route)
    if services.webhook is not None:
        app.router.add_post("/webhook/tradingview", services.webhook)
    return app


class SideServer:
    """Runs the app on host:port inside the bot's loop; `port` is the bound port (0 picks a free one)."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self._runner = web.AppRunner(app, access_log=None)
        self._host = host
        self._port = port
        self.port = port

    async def __aenter__(self) -> SideServer:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        if self._runner.addresses:
            self.port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._runner.cleanup()

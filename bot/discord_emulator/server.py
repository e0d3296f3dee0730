"""The aiohttp application: gateway websocket, REST routes, and the middleware every REST call passes.

The middleware does what Discord's edge does before any route runs: bot-token authentication (except for
interaction callbacks and webhook-token routes, which Discord authenticates by the token in the path),
scripted failures for resilience tests, rate-limit headers so discord.py's limiter has real buckets to
track, Discord-style JSON errors, and the request log tests assert on.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from . import routes_apps, routes_interactions, routes_messages
from .core import Core, RecordedRequest, ScriptedFailure
from .state import UnknownEntityError
from .web_util import API_PREFIX, BODY_KEY, CORE, DiscordHTTPError, json_response

_log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Routes Discord authenticates by the token in the URL rather than the Authorization header.
_TOKEN_IN_PATH = re.compile(r"^/(interactions/\d+/[^/]+/callback|webhooks/\d+/[^/]+(/.*)?)$")


def make_app(core: Core) -> web.Application:
    """The fake's aiohttp application: ``/gateway`` (+ the resume URL), ``/api/v10/...``, catch-all 404."""
    app = web.Application(middlewares=[discord_edge])
    app[CORE] = core
    app.router.add_get("/gateway", core.gateway.handle)
    app.router.add_get("/gateway-resume", core.gateway.handle)
    app.add_routes(routes_apps.routes)
    app.add_routes(routes_messages.routes)
    app.add_routes(routes_interactions.routes)
    app.router.add_route("*", API_PREFIX + "/{tail:.*}", unknown_route)
    return app


async def unknown_route(request: web.Request) -> web.StreamResponse:
    """Any path the fake does not implement: recorded so a test can see what the bot tried."""
    core = request.app[CORE]
    core.unknown_routes.append((request.method, request.path.removeprefix(API_PREFIX)))
    return json_response({"message": "404: Not Found", "code": 0}, status=404)


@web.middleware
async def discord_edge(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authenticate, apply scripted failures, convert errors, add rate-limit headers, log the call."""
    if not request.path.startswith(API_PREFIX + "/"):
        return await handler(request)
    core = request.app[CORE]
    path = request.path.removeprefix(API_PREFIX)
    failure = None
    try:
        if not _TOKEN_IN_PATH.match(path) and request.headers.get("Authorization") != f"Bot {core.token}":
            raise DiscordHTTPError(401, 0, "401: Unauthorized")
        failure = core.take_failure(request.method, path)
        response = _failure_response(failure) if failure is not None else await handler(request)
    except DiscordHTTPError as exc:
        response = exc.response()
    except UnknownEntityError as exc:
        response = DiscordHTTPError(404, exc.code, exc.message).response()
    except web.HTTPException:
        raise
    except Exception as exc:
        # A request the fake cannot handle must fail fast and loudly: a 500 would make discord.py retry
        # for 16 s, so answer 400 and keep the error for the test to inspect.
        _log.exception("fake Discord failed on %s %s", request.method, path)
        core.internal_errors.append(f"{request.method} {path}: {exc!r}")
        response = DiscordHTTPError(400, 0, f"Fake Discord could not handle this request: {exc!r}").response()
    if failure is None or failure.status != 429:
        response.headers.update(_ratelimit_headers(request))
    core.request_log.append(
        RecordedRequest(request.method, path, dict(request.query), request.get(BODY_KEY), response.status)
    )
    core.notify()
    return response


def _ratelimit_headers(request: web.Request) -> dict[str, str]:
    """A roomy per-route bucket, which discord.py tracks but never has to wait for; with a `reaction_interval`,
    the bot's own reactions get Discord's bucket for them instead: one, then wait for the interval."""
    resource = request.match_info.route.resource
    template = resource.canonical if resource is not None else request.path
    bucket = hashlib.sha1(f"{request.method} {template}".encode()).hexdigest()[:16]
    limit, remaining, reset_after = "50", "49", 1.0
    interval = request.app[CORE].config.reaction_interval
    if interval is not None and request.method == "PUT" and template == routes_messages.OWN_REACTION:
        limit, remaining, reset_after = "1", "0", interval
    return {
        "X-RateLimit-Bucket": bucket,
        "X-RateLimit-Limit": limit,
        "X-RateLimit-Remaining": remaining,
        "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
    }


def _failure_response(failure: ScriptedFailure) -> web.Response:
    """The scripted error; a 429 carries ``Via`` (without it discord.py assumes a Cloudflare ban)."""
    if failure.status == 429:
        body = failure.body or {
            "message": "You are being rate limited.",
            "retry_after": failure.retry_after,
            "global": False,
        }
        headers = {
            "Via": "1.1 google",
            "Retry-After": str(max(1, round(failure.retry_after))),
            "X-RateLimit-Limit": "50",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset-After": f"{failure.retry_after:.3f}",
            "X-RateLimit-Scope": "user",
        }
        return json_response(body, status=429, headers=headers)
    body = failure.body or {"message": f"{failure.status}: Scripted failure", "code": 0}
    return json_response(body, status=failure.status)

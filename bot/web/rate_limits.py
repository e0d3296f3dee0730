"""The `GET /api/rate-limits` report: the token buckets (as `/ratelimits` shows them) and the webhook's
limits, bans and counts."""

from __future__ import annotations

from typing import Any

from bot.services.rate_limits import RateLimitService
from bot.web.abuse import GuardSnapshot
from bot.web.webhook import WebhookEndpoint


def rate_limits_report(limiters: RateLimitService, webhook: WebhookEndpoint | None) -> dict[str, Any]:
    """The `data` of `/api/rate-limits`; `webhook` is None when the route is disabled."""
    return {
        "limiters": [
            {
                "name": state.name,
                "rate_per_second": state.rate_per_second,
                "burst": state.burst,
                "tokens": round(state.tokens, 3),
                "queued": state.queued,
                "acquired": state.acquired,
                "throttled": state.throttled,
                "waited_seconds": round(state.waited_seconds, 3),
            }
            for state in limiters.report()
        ],
        "webhook": None if webhook is None else _webhook(webhook.guard.snapshot(), webhook),
    }


def _webhook(snapshot: GuardSnapshot, webhook: WebhookEndpoint) -> dict[str, Any]:
    limits = snapshot.limits
    return {
        "enabled": webhook.config.secret is not None,
        "limits": {
            "rate_per_ip_per_minute": limits.rate_per_ip_per_minute,
            "burst_per_ip": limits.burst_per_ip,
            "rate_global_per_minute": limits.rate_global_per_minute,
            "ban_after_violations": limits.ban_after_violations,
            "ban_base_seconds": limits.ban_base_seconds,
            "ban_max_seconds": limits.ban_max_seconds,
            "max_body_bytes": webhook.config.max_body_bytes,
            "max_skew_seconds": webhook.config.max_skew_seconds,
            "ip_allowlist": [str(network) for network in limits.allowlist],
            "ip_denylist": [str(network) for network in limits.denylist],
            "trusted_proxies": [str(network) for network in webhook.config.trusted_proxies],
        },
        "global_tokens": round(snapshot.global_tokens, 3),
        "tracked_clients": snapshot.tracked_clients,
        "rate_limited": {"ip": snapshot.rate_limited_ip_total, "global": snapshot.rate_limited_global_total},
        "forbidden": snapshot.forbidden_total,
        "bans_total": snapshot.bans_total,
        "active_bans": snapshot.active_bans,
        "bans": [
            {"client": ban.client, "remaining_seconds": round(ban.remaining_seconds, 1), "bans": ban.bans}
            for ban in snapshot.bans
        ],
    }

"""`GET /dashboard`: one self-contained page that references nothing outside the bot and embeds no secret."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime

from aiohttp.test_utils import TestClient, TestServer

from bot.metrics import Metrics
from bot.services.health import HealthService, Readiness
from bot.services.stats import StatsService
from bot.web.app import WebServices, make_app
from storage.database import Database
from storage.stats import StatsQueries

TOKEN = "dashboard-secret-token-42"


async def fetch_page(db: Database) -> tuple[int, dict[str, str], str]:
    services = WebServices(
        stats=StatsService(StatsQueries(db), lambda: datetime.now(UTC)),
        health=HealthService(),
        readiness=Readiness(),
        metrics=Metrics(),
        metrics_token=TOKEN,
    )
    async with TestClient(TestServer(make_app(services))) as client:
        response = await client.get("/dashboard")
        return response.status, dict(response.headers), await response.text()


async def test_dashboard_is_served_without_the_token_and_never_contains_it(db: Database) -> None:
    """The page itself is public HTML; it holds no data and not the configured API token."""
    status, headers, page = await fetch_page(db)
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert TOKEN not in page
    assert headers["Cache-Control"] == "no-store" and headers["Referrer-Policy"] == "no-referrer"


async def test_dashboard_references_no_outside_resource(db: Database) -> None:
    """No http(s) URL, no src/href attribute, no CSS import or url(): everything is inline."""
    _status, _headers, page = await fetch_page(db)
    assert re.search(r"https?://", page, re.IGNORECASE) is None
    attributes = re.findall(r"\s(?:src|href|srcset|action)\s*=\s*\"([^\"]*)\"", page, re.IGNORECASE)
    assert attributes == ["data:,"]  # the empty favicon: nothing is fetched for it
    assert "@import" not in page and "url(" not in page
    for route in ("api/health", "api/stats?window=1h", "api/series?window=1h", "api/rate-limits", "api/signals"):
        assert route in page


async def test_content_security_policy_admits_only_the_pages_own_inline_code(db: Database) -> None:
    """The CSP lists the sha256 of each inline script and style block and allows fetches to this server only."""
    _status, headers, page = await fetch_page(db)
    policy = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'none'" and policy["connect-src"] == "'self'"
    for tag in ("script", "style"):
        blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", page, re.DOTALL)
        assert len(blocks) == 1
        digest = base64.b64encode(hashlib.sha256(blocks[0].encode()).digest()).decode()
        assert policy[f"{tag}-src"] == f"'sha256-{digest}'"

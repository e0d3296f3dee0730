"""The live dashboard in Debian's headless Chromium: charts drawn with data, offline, responsive, token-aware.

It also refreshes docs/dashboard.png, the screenshot the README shows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.discord_emulator import FakeDiscord
from tests.cdp import chromium_page, find_chromium
from tests.e2e import e2e_settings, running_tradecord, side_url
from tests.fake_discord.fixtures import BotRunner, DiscordWorld

pytestmark = pytest.mark.slow

SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "dashboard.png"
TOKEN = "dashboard-test-token-7f3a"
CHARTS = ("chart-throughput", "chart-latency", "chart-memory")
RENDERED = """(() => {
  const points = (id) => Number(document.getElementById(id)?.dataset.points || 0);
  return %s.every((id) => points(id) > 0)
    && document.querySelectorAll("#chart-throughput svg rect").length > 0
    && document.querySelectorAll("#chart-latency svg path[d^='M']").length >= 3
    && document.querySelectorAll("#chart-memory svg path[d^='M']").length > 0
    && document.querySelectorAll("#health .component").length > 0
    && document.querySelectorAll("#totals .kpi").length > 0
    && document.querySelectorAll("#ratelimits .row").length > 0
    && document.querySelectorAll("#signals tbody tr[data-outcome]").length >= %d;
})()"""
MESSAGES = [
    ("alice", "BUY AAPL 100 @ 150.25 SL 145 TP 160/165", "✅"),
    ("alice", "SELL TSLA 10 @ MKT", "✅"),
    ("alice", "BUY AAPL 100 @ 150 SL 155 TP 160", "⚠️"),
    ("alice", "BUY NVDA 5 @ MKT", "⛔"),
    ("mallory", "BUY AAPL 5 @ MKT", "🚫"),
    ("alice", "CLOSE AAPL", "✅"),
    ("alice", "BUY AAPL 10 @ MKT", "✅"),
]


@pytest.fixture
def chromium() -> str:
    executable = find_chromium()
    if executable is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium); .ci/run installs it")
    return executable


async def test_dashboard_renders_live_data_offline_and_fits_a_phone(
    tmp_path: Path,
    chromium: str,
    fake_discord: FakeDiscord,
    discord_world: DiscordWorld,
    run_bot: BotRunner,
) -> None:
    """With signals flowing, the page draws every chart and the recent signals, asks nothing of the internet,
    keeps the token out of the address bar, fits 375 px, and asks for the token when it has none."""
    settings = e2e_settings(
        tmp_path,
        fake_discord,
        discord_world,
        server={"metrics_token": TOKEN},
        storage={"system_sample_seconds": 0.2},
        risk={"symbol_denylist": ["NVDA"]},
    )
    authors = {"alice": discord_world.alice_id, "mallory": discord_world.mallory_id}
    async with running_tradecord(settings, run_bot) as runtime:
        for author, text, reaction in MESSAGES:
            message_id = await fake_discord.post_message(discord_world.channel_id, authors[author], text)
            assert await fake_discord.wait_for_reaction(discord_world.channel_id, message_id) == reaction, text
        origin = side_url(runtime, "")
        async with chromium_page(chromium, tmp_path / "profile") as page:
            for domain in ("Page", "Runtime", "Network", "Log"):
                await page.send(f"{domain}.enable")
            await page.set_viewport(1280, 900)
            await page.send("Page.navigate", url=f"{origin}/dashboard?token={TOKEN}")
            await page.wait_for(RENDERED % (list(CHARTS), len(MESSAGES)), what="charts and signals drawn with data")

            assert await page.evaluate("location.search") == ""  # the token left the address bar
            outcomes = await page.evaluate(
                "[...document.querySelectorAll('#signals tbody tr')].map((tr) => tr.dataset.outcome)"
            )
            assert outcomes[0] == "executed" and {"invalid", "risk_rejected", "unauthorized"} <= set(outcomes)
            health = await page.evaluate("document.getElementById('overall').textContent")
            assert health in ("ok", "degraded", "critical")  # drawn from /api/health, not the placeholder
            kpi = await page.evaluate("document.querySelector('[data-kpi=\"signals\"] .value').textContent")
            assert kpi == str(len(MESSAGES))
            height = await page.evaluate("document.documentElement.scrollHeight")
            await page.set_viewport(1280, height)  # the whole page, recent signals included
            SCREENSHOT.parent.mkdir(exist_ok=True)
            await page.screenshot(SCREENSHOT)

            await page.set_viewport(375, 800)
            redrawn = "[...document.querySelectorAll('.chart')].every((c) => Number(c.dataset.width) < 375)"
            await page.wait_for(redrawn, what="the charts redrawn at phone width")
            assert await page.evaluate("document.documentElement.scrollWidth") <= 375
            assert await page.evaluate("document.getElementById('chart-latency').dataset.points") != "0"

            await page.send("Network.setBlockedURLs", urls=["*/api/series*"])  # one route gone: the rest goes on
            polls = await page.evaluate("Number(document.body.dataset.refreshes)")
            await page.evaluate("refresh()")
            await page.wait_for(f"Number(document.body.dataset.refreshes) > {polls}", what="a poll without series")
            for chart in CHARTS:
                text = await page.evaluate(f"document.getElementById('{chart}').textContent")
                assert text == "unavailable: unreachable", chart
            assert await page.evaluate("document.querySelectorAll('#signals tbody tr[data-outcome]').length") >= 7
            assert await page.evaluate("document.getElementById('overall').textContent") == health
            await page.send("Network.setBlockedURLs", urls=[])

            await page.evaluate("sessionStorage.clear(), location.reload()")
            await page.wait_for(
                "!document.getElementById('token-form').hidden"
                " && document.getElementById('totals').textContent.includes('needs the API token')",
                what="the token form after a 401",
            )

        requested = [event["request"]["url"] for event in page.messages("Network.requestWillBeSent")]
        assert requested and all(url.startswith(origin) for url in requested), requested
        assert page.messages("Runtime.exceptionThrown") == []
        errors = [(e["entry"]["text"], e["entry"].get("url")) for e in page.messages("Log.entryAdded")]
        unexpected = [e for e in errors if "401" not in e[0] and "api/series" not in (e[1] or "")]
        assert unexpected == []  # only the blocked route and the token-less polls failed
    assert SCREENSHOT.stat().st_size > 10_000

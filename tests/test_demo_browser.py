"""The /demo page in Debian's headless Chromium: a visitor posts a signal and sees the bot's verdict appear.

It also refreshes docs/demo.png, the screenshot the README shows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.demo.session import DemoOptions, open_demo
from bot.demo.world import VISITOR
from tests.cdp import chromium_page, find_chromium

pytestmark = pytest.mark.slow

SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "demo.png"
SIGNAL = "BUY AAPL 7 @ MKT SL 180 TP 200"
EXECUTED_AND_ANSWERED = """(() => {
  const id = document.getElementById("composer").dataset.lastId;
  const posted = id && document.querySelector(`.msg[data-id="${id}"]`);
  const reply = id && document.querySelector(`.msg.role-bot[data-reply-to="${id}"]`);
  const reactions = posted ? [...posted.querySelectorAll(".reaction")].map((r) => r.textContent) : [];
  if (!reply || !reactions.includes("✅")) return null;
  return {id, reactions, author: posted.querySelector(".author").textContent, reply: reply.textContent};
})()"""


@pytest.fixture
def chromium() -> str:
    executable = find_chromium()
    if executable is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium); .ci/run installs it")
    return executable


async def test_a_visitor_posts_a_signal_and_sees_the_bots_reaction_and_runs_stats(
    tmp_path: Path, chromium: str
) -> None:
    """Through the page only: the signal is posted as the visitor, the bot's ✅ and its reply appear under it,
    and /stats answers with its embed; the page asks nothing of anyone but the demo's own server."""
    options = DemoOptions(seed=3, speed=4, db_path=tmp_path / "demo.db", port=0)
    async with open_demo(options) as demo, chromium_page(chromium, tmp_path / "profile") as page:
        origin = demo.base_url
        for domain in ("Page", "Runtime", "Network", "Log"):
            await page.send(f"{domain}.enable")
        await page.set_viewport(1280, 860)
        await page.send("Page.navigate", url=f"{origin}/demo")
        await page.wait_for(
            "document.getElementById('connection').textContent === 'bot connected'"
            " && document.querySelectorAll('#messages .msg').length >= 8",
            what="the channel drawn from /demo/state, with the feed under way",
        )

        await page.evaluate(f"document.getElementById('text').value = {json.dumps(SIGNAL)}")
        await page.evaluate("document.getElementById('send').click()")
        seen = await page.wait_for(EXECUTED_AND_ANSWERED, what="the posted signal with the bot's ✅ and reply")
        assert seen["author"] == VISITOR and seen["reactions"] == ["✅"] and "Executed" in seen["reply"]
        posted = demo.fake.message(int(seen["id"]))
        assert posted.content == SIGNAL and posted.author_id == demo.world.user_id(VISITOR)
        assert demo.fake.reactions(demo.world.channel_id, posted.id) == ["✅"]

        await page.evaluate("document.querySelector('[data-command=\"stats\"]').click()")
        title = await page.wait_for(
            "document.querySelector('#result .embed .title')?.textContent", what="the /stats embed"
        )
        assert "stats" in title.lower()
        await page.screenshot(SCREENSHOT)

    requested = [event["request"]["url"] for event in page.messages("Network.requestWillBeSent")]
    assert requested and all(url.startswith(origin) for url in requested), requested
    assert page.messages("Runtime.exceptionThrown") == []
    assert [e["entry"]["text"] for e in page.messages("Log.entryAdded")] == []
    assert SCREENSHOT.stat().st_size > 10_000

"""The /demo routes against a real Discord emulator (no bot connected): what they show and what they refuse."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.demo.feed import FeedProgress
from bot.demo.market import Market
from bot.demo.page import DemoRoom, add_demo_routes
from bot.demo.world import VISITOR, DemoWorld, Role, build_world
from bot.discord_emulator import FakeDiscord, FakeReaction

JSON_TYPE = {"Content-Type": "application/json"}


@dataclass
class Demo:
    client: TestClient[web.Request, web.Application]
    fake: FakeDiscord
    world: DemoWorld


@pytest.fixture
async def demo(fake_discord: FakeDiscord) -> AsyncIterator[Demo]:
    world = build_world(fake_discord)
    app = web.Application()
    add_demo_routes(app, DemoRoom(fake_discord, world, Market(random.Random(1)), FeedProgress(posts=3)))
    async with TestClient(TestServer(app)) as client:
        yield Demo(client, fake_discord, world)


async def post_json(demo: Demo, path: str, body: Any) -> tuple[int, dict[str, Any]]:
    response = await demo.client.post(path, json=body)
    return response.status, await response.json()


async def test_the_page_is_self_contained_and_locked_down_by_its_csp(demo: Demo) -> None:
    """Inline script and style only (allowed by hash), requests to this server only, no external resource."""
    response = await demo.client.get("/demo")
    page = await response.text()
    assert response.status == 200 and response.content_type == "text/html"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy and "script-src 'sha256-" in policy
    assert "http://" not in page and "https://" not in page and "<script src" not in page
    assert 'id="composer"' in page and 'data-command="stats"' in page


async def test_state_shows_the_channel_with_authors_roles_replies_and_the_bots_reactions(demo: Demo) -> None:
    """Messages come with string ids (snowflakes overflow JS numbers), the author's role and bot reactions."""
    channel = demo.world.channel_id
    maya = demo.world.user_id("maya")
    signal = await demo.fake.post_message(channel, maya, "BUY AAPL 10 @ MKT")
    demo.fake.world.message(channel, signal).reactions.append(FakeReaction("✅", demo.world.bot_user_id))
    await demo.fake.post_message(channel, demo.world.user_id("sam"), "nice", reply_to=signal)
    response = await demo.client.get("/demo/state")
    data = (await response.json())["data"]
    first, second = data["messages"]
    assert first == first | {"id": str(signal), "author": "maya", "role": "provider", "reactions": ["✅"]}
    assert second["role"] == Role.MEMBER and second["reply_to"] == str(signal)
    assert data["quotes"]["AAPL"] == "189.50" and data["feed"]["posts"] == 3 and data["bot_connected"] is False


async def test_a_visitor_posts_as_the_trusted_visitor_and_can_reply(demo: Demo) -> None:
    """The message lands in #signals from "you", who holds the provider role, optionally as a reply."""
    status, body = await post_json(demo, "/demo/messages", {"text": "BUY TSLA 5 @ MKT"})
    assert status == 200
    posted = demo.fake.message(int(body["data"]["id"]))
    assert (posted.author_id, posted.content) == (demo.world.user_id(VISITOR), "BUY TSLA 5 @ MKT")
    member = demo.fake.world.member(demo.world.guild_id, posted.author_id)
    assert member.role_ids == [demo.world.provider_role_id]
    status, body = await post_json(demo, "/demo/messages", {"text": "SL to BE", "reply_to": str(posted.id)})
    assert status == 200 and demo.fake.message(int(body["data"]["id"])).reference_id == posted.id


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"text": ""}, "text must be a non-empty string"),
        ({"text": 42}, "text must be a non-empty string"),
        ({"text": "x" * 2001}, "Discord allows 2000"),
        ({"text": "hi", "reply_to": 12}, "reply_to must be a message id"),
        ({"text": "hi", "reply_to": "123"}, "no message 123 in #signals"),
        (["not", "an", "object"], "must be a JSON object"),
    ],
)
async def test_bad_posts_are_refused_with_the_reason(demo: Demo, body: Any, error: str) -> None:
    """Never a 500, never a message posted."""
    status, answer = await post_json(demo, "/demo/messages", body)
    assert status == 400 and error in answer["error"] and answer["success"] is False
    assert demo.fake.messages(demo.world.channel_id) == []


async def test_a_body_that_is_not_json_is_a_400(demo: Demo) -> None:
    """Malformed JSON is the sender's mistake, answered as such."""
    response = await demo.client.post("/demo/commands", data=b"{not json", headers=JSON_TYPE)
    assert response.status == 400 and "JSON object" in (await response.json())["error"]


@pytest.mark.parametrize("path", ["/demo/messages", "/demo/commands"])
async def test_a_body_not_sent_as_json_is_refused_so_other_sites_cannot_post_as_the_visitor(
    demo: Demo, path: str
) -> None:
    """A cross-site form sends text/plain or form data; only a same-origin script can send application/json."""
    body = b'{"text": "BUY AAPL 1 @ MKT", "command": "stats"}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        response = await demo.client.post(path, data=body, headers={"Content-Type": content_type})
        assert response.status == 400 and "Content-Type: application/json" in (await response.json())["error"]
    assert demo.fake.messages(demo.world.channel_id) == []


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"command": "pause"}, "command must be one of stats, health, positions, signal parse"),
        ({"command": "stats", "options": {"window": "2h"}}, "window must be one of 1h, 24h, 30d, 7d"),
        ({"command": "health", "options": {"window": "1h"}}, "/health has no option 'window'"),
        ({"command": "stats", "options": "1h"}, "options must be an object"),
        ({"command": "signal parse", "options": {"text": ""}}, "text must be a non-empty string"),
    ],
)
async def test_commands_outside_the_read_only_set_or_with_bad_options_are_refused(
    demo: Demo, body: dict[str, Any], error: str
) -> None:
    """The page runs only read-only commands (no /pause or /close for visitors) with valid options."""
    status, answer = await post_json(demo, "/demo/commands", body)
    assert status == 400 and error in answer["error"]


async def test_a_command_before_the_bot_registered_it_is_a_503_saying_so(demo: Demo) -> None:
    """Without a connected bot nothing is registered: the visitor is told to wait, not shown a crash."""
    status, answer = await post_json(demo, "/demo/commands", {"command": "stats", "options": {"window": "1h"}})
    assert status == 503 and "cannot take /stats right now" in answer["error"]

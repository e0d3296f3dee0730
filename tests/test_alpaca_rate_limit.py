"""The rate-limit proof: our token bucket keeps a burst of 1,000 orders inside the venue's own limit.

The fake Alpaca enforces a token bucket of its own (429 with Retry-After when exceeded) and records when each
request arrived. Our bucket runs at the venue's rate with a burst of under half the venue's: a request takes
its token just before it leaves, but after a pause of our process (GC, CPU contention, a slow callback) one
burst's worth of requests that took tokens before the pause can leave together with the burst that refilled
during it, so the wire sees at most `2 * burst + 1` at once (see `RateLimiter`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from decimal import Decimal

import aiohttp
import pytest

from bot.domain import AssetClass, OrderRequest, OrderStatus, OrderType, Side
from bot.execution.alpaca import AlpacaBroker
from bot.execution.token_bucket import RateLimiter, TokenBucket
from tests.fake_broker import DEFAULT_KEY_ID, DEFAULT_SECRET_KEY, FakeAlpaca, Route

VENUE_RATE, VENUE_BURST = 1000.0, 40
OUR_RATE, OUR_BURST = VENUE_RATE, (VENUE_BURST - 1) // 2 - 3  # 16: a margin of 7 tokens for loop jitter
ORDERS = 1000


def worst_excess(arrivals: Sequence[float], rate: float) -> float:
    """max over every pair i <= j of (requests in [t_i, t_j]) - rate * (t_j - t_i), in one pass.

    For j, the count is j - i + 1, so the excess is (j + 1 - rate * t_j) + (rate * t_i - i), and the best i
    for j is the running maximum of rate * t_i - i over i <= j.
    """
    times = sorted(arrivals)
    worst = best = float("-inf")
    for j, at in enumerate(times):
        best = max(best, rate * at - j)
        worst = max(worst, j + 1 - rate * at + best)
    return worst


def test_worst_excess_counts_every_window() -> None:
    """The one-pass window check agrees with the plain check over all pairs."""
    arrivals = [0.0, 0.0, 0.001, 0.5, 0.5005, 0.501, 0.502, 2.0]
    pairs = max(j - i + 1 - 10.0 * (arrivals[j] - arrivals[i]) for j in range(8) for i in range(j + 1))
    assert worst_excess(arrivals, 10.0) == pytest.approx(pairs)


@pytest.mark.slow
async def test_a_burst_of_1000_orders_never_exceeds_the_venues_limit() -> None:
    """1,000 concurrent orders: the venue answers no 429, and no window t holds more than burst + rate * t."""
    async with (
        FakeAlpaca(prices={"AAPL": "1"}, cash=10**9, rate_per_second=VENUE_RATE, burst=VENUE_BURST) as venue,
        aiohttp.ClientSession() as http,
    ):
        limiter = RateLimiter("broker", TokenBucket(OUR_RATE, OUR_BURST, time.monotonic))
        broker = AlpacaBroker(
            http,
            base_url=venue.base_url,
            key_id=DEFAULT_KEY_ID,
            secret_key=DEFAULT_SECRET_KEY,
            limiter=limiter,
            timeout_seconds=10.0,
        )
        # A running bot's session already holds connections; opening them is not what is measured.
        await asyncio.gather(*(broker.account() for _ in range(OUR_BURST)))
        await asyncio.sleep(VENUE_BURST / VENUE_RATE)  # both buckets full again
        warm_up = len(venue.requests)
        acks = await asyncio.gather(
            *(
                broker.submit_order(
                    OrderRequest(f"tc-burst-{n}", "AAPL", AssetClass.EQUITY, Side.BUY, OrderType.MARKET, Decimal(1))
                )
                for n in range(ORDERS)
            )
        )
    assert venue.throttled_count == 0
    assert all(ack.status is OrderStatus.FILLED for ack in acks)
    orders = venue.requests_for(Route.SUBMIT_ORDER)
    assert len(orders) == ORDERS == len(venue.requests) - warm_up
    assert worst_excess([r.at for r in venue.requests], VENUE_RATE) <= VENUE_BURST


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_after_a_pause_at_most_one_burst_leaves_at_once() -> None:
    """Callers whose turn passed while the process was paused do not all leave together: burst + 1 do."""
    clock = FakeClock()
    rate, burst = 10.0, 5

    async def virtual_sleep(seconds: float) -> None:
        wake_at = clock.now + seconds
        while clock.now < wake_at:  # noqa: ASYNC110 - time moves only when the test moves it
            await asyncio.sleep(0)

    async def settle() -> None:
        for _ in range(100):
            await asyncio.sleep(0)

    limiter = RateLimiter("broker", TokenBucket(rate, burst, clock), sleep=virtual_sleep)
    left: list[float] = []

    async def send() -> None:
        await limiter.acquire()
        left.append(clock.now)

    callers = [asyncio.create_task(send()) for _ in range(50)]
    await settle()
    assert left == [0.0] * burst
    clock.now = 10.0  # a pause 100 turns long
    await settle()
    assert left.count(10.0) == burst + 1
    while len(left) < len(callers):
        clock.now = round(clock.now + 0.01, 2)
        await settle()
    await asyncio.gather(*callers)
    assert worst_excess(left, rate) <= burst + 1 + 1e-9

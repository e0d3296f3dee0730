"""The token bucket: pure scheduling maths, checked against a fake clock."""

from __future__ import annotations

import asyncio
import bisect
import random

import pytest

from bot.execution.token_bucket import RateLimiter, TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def max_in_window(send_times: list[float], window: float) -> int:
    """The most sends inside any closed interval of length `window`."""
    times = sorted(send_times)
    return max(bisect.bisect_right(times, t + window + 1e-9) - i for i, t in enumerate(times))


def schedule(bucket: TokenBucket, clock: FakeClock, arrivals: list[float]) -> list[float]:
    sends = []
    for arrival in sorted(arrivals):
        clock.now = arrival
        sends.append(arrival + bucket.reserve())
    return sends


def test_burst_is_free_then_requests_are_spaced_at_the_rate() -> None:
    """The first `burst` requests go at once; the next ones wait 1/rate each."""
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock)
    waits = [bucket.reserve() for _ in range(5)]
    assert waits == [0.0, 0.0, 0.0, 0.5, 1.0]


@pytest.mark.parametrize("seed", range(5))
def test_never_more_than_burst_plus_rate_times_t_in_any_window(seed: int) -> None:
    """Under 2x oversubscription with random arrivals, no window of length t holds more than burst + rate*t sends."""
    rng = random.Random(seed)
    clock = FakeClock()
    rate, burst = 5.0, 4
    bucket = TokenBucket(rate=rate, burst=burst, clock=clock)
    arrivals = [rng.uniform(0, 100) for _ in range(1000)]  # 10/s offered against 5/s allowed
    sends = schedule(bucket, clock, arrivals)
    for window in (0.0, 0.1, 0.5, 1.0, 3.7, 10.0, 50.0):
        assert max_in_window(sends, window) <= burst + rate * window + 1e-9


def test_drain_pauses_for_retry_after_and_keeps_spacing() -> None:
    """After a 429 with Retry-After, nothing is sent during the pause and queued requests stay spaced."""
    clock = FakeClock()
    bucket = TokenBucket(rate=10.0, burst=5, clock=clock)
    bucket.drain(2.0)
    waits = [bucket.reserve() for _ in range(3)]
    assert waits[0] == pytest.approx(2.1)
    assert waits[1] - waits[0] == pytest.approx(0.1)
    assert waits[2] - waits[1] == pytest.approx(0.1)


def test_tokens_refill_up_to_burst_only() -> None:
    """An idle bucket refills to `burst` and no further."""
    clock = FakeClock()
    bucket = TokenBucket(rate=1.0, burst=2, clock=clock)
    bucket.reserve()
    bucket.reserve()
    clock.now = 100.0
    assert bucket.tokens() == 2.0


def test_rejects_nonsense_configuration() -> None:
    """A bucket with no rate or no burst cannot schedule anything and is refused."""
    with pytest.raises(ValueError, match="rate > 0"):
        TokenBucket(rate=0, burst=1, clock=FakeClock())


async def test_limiter_sleeps_the_reserved_wait_and_counts_throttles() -> None:
    """The async limiter sleeps exactly the bucket's wait and reports throttled acquisitions."""
    clock = FakeClock()
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    waits: list[float] = []
    limiter = RateLimiter("test", TokenBucket(rate=4.0, burst=1, clock=clock), sleep=fake_sleep, on_wait=waits.append)
    for _ in range(3):
        await limiter.acquire()
    assert slept == [0.25, 0.5]
    assert limiter.stats.throttled == 2
    assert waits == [0.0, 0.25, 0.5]


def test_take_spends_a_token_only_when_there_is_one() -> None:
    """`take` never goes into debt: with the bucket empty it answers False and leaves the level alone."""
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, burst=1, clock=clock)
    assert bucket.take() is True
    assert bucket.take() is False
    assert bucket.tokens() == 0.0
    clock.now = 0.5
    assert bucket.take() is True


async def test_a_caller_with_a_token_in_sight_does_not_overtake_one_already_waiting() -> None:
    """Arrival order holds: a request arriving while another waits for its token queues behind it."""
    clock = FakeClock()
    release = asyncio.Event()
    left: list[str] = []

    async def sleep_until_released(_seconds: float) -> None:
        await release.wait()

    limiter = RateLimiter("test", TokenBucket(rate=1.0, burst=1, clock=clock), sleep=sleep_until_released)

    async def request(name: str) -> None:
        await limiter.acquire()
        left.append(name)

    await limiter.acquire()  # the burst is spent
    first = asyncio.create_task(request("first"))
    await asyncio.sleep(0)  # first is now waiting for its token
    clock.now = 5.0  # tokens refilled meanwhile
    second = asyncio.create_task(request("second"))
    await asyncio.sleep(0)
    assert left == []  # second did not take the refilled token ahead of first
    release.set()
    await asyncio.gather(first, second)
    assert left == ["first", "second"]

"""`WaitHistogram`, the hand-kept histogram behind `tradecord_ratelimit_wait_seconds`: the same exposition as
prometheus_client's own Histogram for the same observations."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from bot.metrics import WAIT_BUCKETS, WaitHistogram

WAITS = [0.0, 0.0, 0.0, 0.001, 0.0011, 0.005, 0.3, 60.0, 61.0, 0.0]


def exposition(registry: CollectorRegistry) -> list[str]:
    """The sample lines (no `_created`: a timestamp, and ours has none)."""
    lines = generate_latest(registry).decode().splitlines()
    return [line for line in lines if not line.startswith("#") and "_created" not in line]


def test_same_exposition_as_prometheus_client() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    waits = WaitHistogram("waits_seconds", "Waits.", "limiter", WAIT_BUCKETS, ours)
    reference = Histogram("waits_seconds", "Waits.", ["limiter"], buckets=WAIT_BUCKETS, registry=theirs)
    for limiter in ("broker", "alpaca"):
        for seconds in WAITS:
            waits.labels(limiter).observe(seconds)
            reference.labels(limiter).observe(seconds)
    assert exposition(ours) == exposition(theirs)
    assert 'waits_seconds_bucket{le="0.0",limiter="broker"} 4.0' in exposition(ours)  # `le`: a bound is inclusive
    assert 'waits_seconds_bucket{le="0.001",limiter="broker"} 5.0' in exposition(ours)


def test_a_series_exists_before_its_first_wait() -> None:
    registry = CollectorRegistry()
    WaitHistogram("waits_seconds", "Waits.", "limiter", WAIT_BUCKETS, registry).labels("broker")
    assert 'waits_seconds_count{limiter="broker"} 0.0' in exposition(registry)


def test_the_first_bucket_must_hold_zero_waits() -> None:
    with pytest.raises(ValueError, match="zero waits"):
        WaitHistogram("waits_seconds", "Waits.", "limiter", (0.5, 1.0), CollectorRegistry())

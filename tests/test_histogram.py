"""The stored latency histogram: bucket bounds, percentile interpolation and its documented error bound."""

from __future__ import annotations

import math
from collections import Counter
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from storage.histogram import (
    LATENCY_BOUNDS_MS,
    OVERFLOW_BUCKET,
    bucket_of,
    bucket_range_ms,
    percentile_ms,
    percentiles_ms,
)

BUCKET_RATIO = 10 ** (1 / 20)


def exact_percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile, the definition the histogram estimate is compared with."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def test_bounds_are_log_spaced_twenty_per_decade_from_a_tenth_of_a_millisecond_to_100_seconds() -> None:
    """Each bound is 10^(1/20) times the previous one, from 0.1 ms to 100 000 ms."""
    assert LATENCY_BOUNDS_MS[0] == 0.1 and LATENCY_BOUNDS_MS[-1] == 100_000
    ratios = [b / a for a, b in pairwise(LATENCY_BOUNDS_MS)]
    assert all(math.isclose(r, BUCKET_RATIO, rel_tol=1e-6) for r in ratios)


def test_a_latency_lands_in_the_bucket_whose_upper_bound_it_does_not_exceed() -> None:
    """Bucket i holds (bound[i-1], bound[i]]; 0 and negatives go to bucket 0, beyond 100 s to the overflow."""
    assert bucket_of(0.0) == 0 and bucket_of(-1.0) == 0
    assert bucket_of(0.0001) == 0  # exactly 0.1 ms
    assert bucket_of(0.00010001) == 1
    assert bucket_of(1.0) == LATENCY_BOUNDS_MS.index(1000.0)
    assert bucket_of(100.0) == OVERFLOW_BUCKET - 1
    assert bucket_of(500.0) == OVERFLOW_BUCKET
    lower, upper = bucket_range_ms(bucket_of(0.0042))
    assert lower < 4.2 <= upper


def test_percentile_interpolates_linearly_inside_the_bucket_holding_the_rank() -> None:
    """Ten values in one bucket: the median is halfway through it, the maximum at its upper bound."""
    bucket = bucket_of(0.005)
    lower, upper = bucket_range_ms(bucket)
    counts = {bucket: 10}
    assert percentile_ms(counts, 0.5) == lower + (upper - lower) * 0.5
    assert percentile_ms(counts, 1.0) == upper
    assert percentiles_ms({}) == [None, None, None]


def test_percentile_walks_the_buckets_in_order_of_latency() -> None:
    """90 fast and 10 slow signals: p50 is among the fast, p95 and p99 among the slow."""
    fast, slow = bucket_of(0.002), bucket_of(3.0)
    p50, p95, p99 = percentiles_ms({slow: 10, fast: 90})
    assert p50 is not None and p95 is not None and p99 is not None
    assert bucket_range_ms(fast)[0] < p50 <= bucket_range_ms(fast)[1]
    assert bucket_range_ms(slow)[0] < p95 < p99 <= bucket_range_ms(slow)[1]


def test_overflow_bucket_reports_the_last_bound() -> None:
    """Latencies beyond 100 s are reported as 100 s (the estimate cannot say how far beyond)."""
    assert percentile_ms({OVERFLOW_BUCKET: 3}, 0.99) == LATENCY_BOUNDS_MS[-1]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(min_value=0.0001, max_value=99.0, allow_nan=False), min_size=1, max_size=300),
    st.sampled_from([0.5, 0.95, 0.99]),
)
def test_estimate_is_within_one_bucket_width_of_the_exact_percentile(values: list[float], fraction: float) -> None:
    """The documented error: at most one bucket's width, 12.2 % of the exact nearest-rank percentile (or
    0.1 ms when that is under 0.1 ms)."""
    counts = Counter(bucket_of(v) for v in values)
    estimate = percentile_ms(counts, fraction)
    exact = exact_percentile(values, fraction) * 1000
    assert estimate is not None
    assert abs(estimate - exact) <= max(exact * (BUCKET_RATIO - 1), LATENCY_BOUNDS_MS[0]) + 1e-9

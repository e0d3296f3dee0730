"""The stored signal-to-order latency histogram: fixed bucket bounds and percentiles estimated from counts.

Latencies are kept as counts per (minute or hour, bucket), so a 30-day p99 sums a few thousand small rows
instead of sorting a million latencies. The bounds are log-spaced, 20 per decade from 0.1 ms to 100 s:
each bucket's upper bound is 10^(1/20) ≈ 1.122 times its lower bound.

Error: a percentile is interpolated linearly inside the bucket that holds its rank, so the estimate and
the exact (nearest-rank) percentile lie in the same bucket; the estimate is off by at most one bucket
width, i.e. at most 12.2 % of the true value (less than 0.1 ms below 0.1 ms). Above the last bound
(100 s) the estimate is the last bound. The bounds are part of the stored data: changing them needs a
migration that re-buckets (or drops) the `latency_histogram` rows.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping

BUCKETS_PER_DECADE = 20
LOWEST_BOUND_MS = 0.1
DECADES = 6
# Upper bounds in milliseconds; bucket i holds (bound[i-1], bound[i]], bucket 0 holds [0, 0.1 ms], and
# bucket len(LATENCY_BOUNDS_MS) holds everything above the last bound.
LATENCY_BOUNDS_MS: tuple[float, ...] = tuple(
    round(LOWEST_BOUND_MS * 10 ** (k / BUCKETS_PER_DECADE), 9) for k in range(BUCKETS_PER_DECADE * DECADES + 1)
)
OVERFLOW_BUCKET = len(LATENCY_BOUNDS_MS)


def bucket_of(seconds: float) -> int:
    """The bucket index a latency (in seconds) is counted in."""
    return bisect.bisect_left(LATENCY_BOUNDS_MS, max(seconds, 0.0) * 1000)


def bucket_range_ms(bucket: int) -> tuple[float, float]:
    """(lower, upper) bound of a bucket in milliseconds; the overflow bucket is (last bound, last bound)."""
    if bucket >= OVERFLOW_BUCKET:
        return LATENCY_BOUNDS_MS[-1], LATENCY_BOUNDS_MS[-1]
    lower = 0.0 if bucket == 0 else LATENCY_BOUNDS_MS[bucket - 1]
    return lower, LATENCY_BOUNDS_MS[bucket]


def percentile_ms(counts: Mapping[int, int], fraction: float) -> float | None:
    """The `fraction` percentile (0 < fraction <= 1) in milliseconds, from {bucket: count}; None when empty."""
    total = sum(n for n in counts.values() if n > 0)
    if total == 0:
        return None
    rank = fraction * total
    seen = 0
    for bucket in sorted(counts):
        n = counts[bucket]
        if n <= 0:
            continue
        if seen + n >= rank:
            lower, upper = bucket_range_ms(bucket)
            return lower + (upper - lower) * max(rank - seen, 0.0) / n
        seen += n
    return bucket_range_ms(max(counts))[1]  # pragma: no cover - rank <= total always lands in a bucket


def percentiles_ms(counts: Mapping[int, int], fractions: Iterable[float] = (0.5, 0.95, 0.99)) -> list[float | None]:
    return [percentile_ms(counts, fraction) for fraction in fractions]

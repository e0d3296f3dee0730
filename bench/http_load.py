"""A loopback HTTP load generator in its own process: GET one URL for a while, print the latencies as JSON.

    python bench/http_load.py URL --seconds 10 --concurrency 1 [--interval 0]

`--concurrency` clients each send their next request as soon as the last one is answered (a closed loop),
or every `--interval` seconds when one is given (a scraper). Prints one JSON line: requests, requests per
second, p50/p99/max latency in ms, and the statuses seen.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter

import aiohttp


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


async def client(
    http: aiohttp.ClientSession, url: str, until: float, interval: float, latencies: list[float], statuses: Counter[int]
) -> None:
    while (now := time.perf_counter()) < until:
        async with http.get(url) as response:
            await response.read()
            statuses[response.status] += 1
        latencies.append((time.perf_counter() - now) * 1000)
        if interval:
            await asyncio.sleep(max(0.0, now + interval - time.perf_counter()))


async def main(url: str, seconds: float, concurrency: int, interval: float) -> None:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        async with http.get(url) as response:  # warm the connection
            await response.read()
        started = time.perf_counter()
        until = started + seconds
        await asyncio.gather(*(client(http, url, until, interval, latencies, statuses) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    print(
        json.dumps(
            {
                "requests": len(latencies),
                "per_second": len(latencies) / elapsed,
                "p50": percentile(latencies, 0.5),
                "p99": percentile(latencies, 0.99),
                "max": max(latencies),
                "statuses": {str(k): v for k, v in statuses.items()},
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--interval", type=float, default=0.0)
    args = parser.parse_args()
    asyncio.run(main(args.url, args.seconds, args.concurrency, args.interval))

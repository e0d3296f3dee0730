"""Run a FakeAlpaca for a bot in another process (or a person): `python -m tests.fake_broker.alpaca_serve`.

Options: `--port N` (0 = any free port), `--price AAPL=150` (repeatable), `--key-id`, `--secret-key`,
`--rate R --burst B` (the venue's own limit). Prints `base_url=<url>` once listening; stops on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Mapping
from decimal import Decimal

from .alpaca import DEFAULT_KEY_ID, DEFAULT_SECRET_KEY, FakeAlpaca


async def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    prices: Mapping[str, Decimal | str | int] | None = None,
    key_id: str = DEFAULT_KEY_ID,
    secret_key: str = DEFAULT_SECRET_KEY,
    rate_per_second: float | None = None,
    burst: int | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM (or cancellation); prints `base_url=<url>` once listening."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with FakeAlpaca(
        host=host,
        port=port,
        prices=prices,
        key_id=key_id,
        secret_key=secret_key,
        rate_per_second=rate_per_second,
        burst=burst,
    ) as venue:
        print(f"base_url={venue.base_url}", flush=True)
        await stop.wait()


def _price(text: str) -> tuple[str, Decimal]:
    symbol, _, price = text.partition("=")
    if not symbol or not price:
        raise argparse.ArgumentTypeError("expected SYMBOL=PRICE, e.g. AAPL=150")
    return symbol, Decimal(price)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_broker.alpaca_serve", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = any free port (printed as base_url=...)")
    parser.add_argument("--price", type=_price, action="append", default=[], help="SYMBOL=PRICE, repeatable")
    parser.add_argument("--key-id", default=DEFAULT_KEY_ID)
    parser.add_argument("--secret-key", default=DEFAULT_SECRET_KEY)
    parser.add_argument("--rate", type=float, default=None, help="venue rate limit, requests per second")
    parser.add_argument("--burst", type=int, default=None, help="venue burst (with --rate)")
    args = parser.parse_args()
    asyncio.run(
        serve(
            host=args.host,
            port=args.port,
            prices=dict(args.price),
            key_id=args.key_id,
            secret_key=args.secret_key,
            rate_per_second=args.rate,
            burst=args.burst,
        )
    )


if __name__ == "__main__":
    main()

"""Log line: what the line every signal logs (`signal.processed`) costs, from the call to the written line.

Run from the repository root:

    python bench/bench_log_line.py        # 5 rounds of 20,000 lines, print the median µs a line

Logging is configured as in production (`configure_logging`, JSON lines, INFO, a redactor holding a bot token
and a webhook secret) into a file, inside the log context a signal's handling binds. The line has the fields
`SignalIntake` gives it. Timed alone, so warmer than among a signal's other work; it says what a change to
the processors saves, not a signal's share of the CPU (py-spy in a `bench_signals.py` run says that).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.logs import configure_logging, get_logger, log_context

LINES = 20_000
SECRETS = ("MTA1NjQ3ODk2NTQzMjEwNTY3OA.GabcDe.abcdefghijklmnopqrstuvwxyz0123456789AB", "whsec_abcdefghijkl")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tradecord-bench-") as tmp, (Path(tmp) / "bot.log").open("w") as stream:
        configure_logging("INFO", json=True, secrets=SECRETS, stream=stream)
        log = get_logger("bot.services.intake")

        def line() -> None:
            log.info(
                "signal.processed",
                signal_id="s-ims4puelzbyj6",
                source="discord",
                channel_id="1573743357870604290",
                message_id="1573743358650744832",
                author_id="1573743357870604295",
                outcome="executed",
                reason=None,
                replayed=False,
                latency_ms=1.496,
            )

        with log_context(source="discord", channel_id="1573743357870604290", message_id="1573743358650744832"):
            rounds = [timeit.timeit(line, number=LINES) / LINES * 1e6 for _ in range(args.rounds)]
    each = ", ".join(f"{r:.1f}" for r in rounds)
    print(f"signal.processed: {statistics.median(rounds):.1f} µs a line (rounds: {each})")


if __name__ == "__main__":
    main()

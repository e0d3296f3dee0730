"""Keeping the garbage collector off the objects that live as long as the process.

CPython's cyclic collector walks every tracked object of a generation each time it collects it, and the
oldest generation holds everything built at start-up (modules, settings, discord.py's guild and member cache,
compiled patterns): tens of thousands of objects that will never be garbage, walked again on every full
collection, which the constant allocation of a busy gateway triggers often. `gc.freeze()` moves them out of
the collector's sight; it is done once, when the bot is first ready.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

import structlog

# Net new container objects between two young collections (CPython's default is 700; the older generations
# keep their defaults: a middle-aged collection every 10 young ones, a full one every 10 of those). A young
# collection walks every young object still alive. When signals queue (a burst, or 2,000 a second), those
# are the signals in flight, none of them garbage: at 10,000, collections ran ~10 times a second, freed
# nothing and took 7-12 % of the CPU, slowing the bot most when it was behind. At 100,000 they are rare
# during a backlog, and one walk stays under ~0.1 s. What the collector is for, reference cycles, the
# message and signal paths make none (tests/test_intake_read.py), so garbage does not pile up between.
YOUNG_GENERATION_THRESHOLD = 100_000

if TYPE_CHECKING:
    from discord.ext import commands

log = structlog.get_logger(__name__)


def freeze_after_start_up(bot: commands.Bot) -> None:
    """At the bot's first `on_ready`, collect once, freeze what is left and space out the collections (later
    reconnects change nothing)."""
    frozen = False

    async def on_ready() -> None:
        nonlocal frozen
        if frozen:
            return
        frozen = True
        gc.collect()  # the start-up's own garbage goes first: only what is alive is frozen
        gc.freeze()
        gc.set_threshold(YOUNG_GENERATION_THRESHOLD, *gc.get_threshold()[1:])
        log.info("gc.frozen", objects=gc.get_freeze_count(), thresholds=gc.get_threshold())

    bot.add_listener(on_ready, "on_ready")

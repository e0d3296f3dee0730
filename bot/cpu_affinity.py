"""One CPU for the event loop's thread and the database writer's thread (`storage.writer_cpu = "loop"`, the
default; `"any"` leaves them to the kernel).

Both threads run Python, so they take turns holding the GIL, and the writer lets go of it around every SQLite
statement. On two CPUs each hand-off wakes a thread on the other core, and at 2,000 signals a second the
writer's thread took ~600 µs of wall time per signal for ~200 µs of CPU; on one CPU a hand-off is a switch
between two threads of a core. The price: the writer's SQLite work no longer runs beside the event loop, so a
burst drains slower. Measured on 2 CPUs, same day, medians of 3 (docs/benchmarks.md, "One CPU by default"):
offered 3,000 signals a second, 2,188/s sustained against 1,817/s unpinned; offered 2,000, 1,922/s kept up
with against 1,559/s; answering every signal at 500/s, a p99 of 14.7 ms against 69.6 ms; a burst of 5,000
drains ~9 % slower. The default, because keeping up when a server is busy is what its users need most; an
operator who shares the machine with other busy processes sets `"any"`, so the kernel may move the bot off a
CPU they keep busy.

Linux only (`os.sched_setaffinity`); elsewhere, with one CPU to choose from, or where the kernel refuses,
nothing is pinned and the log (`cpu.not_pinned`) says why.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import structlog

from storage.database import Database

log = structlog.get_logger(__name__)


def shared_cpu() -> int | str:
    """The CPU both threads get: the highest-numbered this process may use (the first ones are where
    interrupts and most other work land); or why there is none to pin to."""
    if not hasattr(os, "sched_setaffinity"):
        return "this platform sets no CPU affinity"
    allowed = os.sched_getaffinity(0)
    return max(allowed) if len(allowed) > 1 else f"this process may use one CPU only ({min(allowed)})"


def pin_current_thread(cpu: int) -> Callable[[], None]:
    """Run the calling thread (and threads it starts from now on) on `cpu` only; returns what undoes it."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    return lambda: os.sched_setaffinity(0, before)


def _unpinned() -> None:
    return None


async def pin_loop_and_writer(db: Database) -> Callable[[], None]:
    """Pin the calling (event loop) thread and the database writer's thread to one CPU; returns what gives
    the event loop's thread its CPUs back (the writer's thread ends with its connection). Where that cannot be
    done the bot runs unpinned, and says why."""
    cpu = shared_cpu()
    if isinstance(cpu, str):
        log.info("cpu.not_pinned", reason=cpu)
        return _unpinned
    try:  # a container's seccomp or cpuset can refuse either
        restore_writer = await db.in_writer_thread(lambda: pin_current_thread(cpu))
        try:
            restore = pin_current_thread(cpu)
        except OSError:
            await db.in_writer_thread(restore_writer)
            raise
    except OSError as exc:
        log.warning("cpu.not_pinned", cpu=cpu, reason=f"the kernel refused: {exc}")
        return _unpinned
    log.info("cpu.pinned", cpu=cpu, threads="event loop, database writer")
    return restore

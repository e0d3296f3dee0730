"""Which event loop runs the bot: uvloop when it is installed (the `speed` extra), else asyncio's own.

uvloop's loop is written in Cython over libuv; every message, database answer and HTTP request passes
through the loop several times, and docs/benchmarks.md measures what that is worth here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_name() -> str:
    """`uvloop` or `asyncio`: what `run` will use."""
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, on uvloop when it is installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)

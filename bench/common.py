"""Helpers shared by the benchmarks: the machine line, percentiles, medians, result files, docs sections."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
from collections.abc import Coroutine, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from bot import event_loop
from bot.event_loop import loop_name

T = TypeVar("T")
LOOPS = ("auto", "asyncio")

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks.md"
BASELINES = ROOT / "bench" / "baselines"


def run_on(loop: str, main: Coroutine[Any, Any, T]) -> T:
    """Run a benchmark: `auto` on the loop `python -m bot run` picks (uvloop when installed), `asyncio` on
    asyncio's own."""
    return asyncio.run(main) if loop == "asyncio" else event_loop.run(main)


def loop_used(loop: str) -> str:
    return "asyncio" if loop == "asyncio" else loop_name()


def machine(loop: str = "auto") -> str:
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return f"{python}, {platform.machine()}, {os.cpu_count()} CPUs, {loop_used(loop)} event loop"


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (`fraction` 0.99 for p99)."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Every number in the runs' (equally shaped) result dicts as its median over the runs."""
    first = runs[0]
    merged: dict[str, Any] = {}
    for key, value in first.items():
        if isinstance(value, dict):
            merged[key] = median_of([run[key] for run in runs])
        elif isinstance(value, bool) or not isinstance(value, int | float):
            merged[key] = value
        else:
            merged[key] = median(run[key] for run in runs)
    return merged


def save(name: str, results: dict[str, Any], path: Path | None = None) -> Path:
    """Write a run's results as JSON (to `bench/baselines/<name>.json` unless a path is given)."""
    target = path or BASELINES / f"{name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return target


def load(path: Path | None) -> dict[str, Any] | None:
    if path is None or not path.exists():
        return None
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def add_report_options(parser: argparse.ArgumentParser, heading: str) -> None:
    """The options every benchmark has for its figures (see `publish`)."""
    parser.add_argument("--save", type=Path, help="write the results as JSON to this file")
    parser.add_argument("--baseline", type=Path, help="results JSON of an earlier run, shown as 'before'")
    parser.add_argument("--update-docs", action="store_true", help=f"rewrite '{heading}' in docs/benchmarks.md")


def publish(args: argparse.Namespace, name: str, heading: str, results: dict[str, Any], section: str) -> None:
    """`--save` the results as JSON, print the docs section, and with `--update-docs` rewrite it in place."""
    if args.save:
        save(name, results, args.save)
    print(section)
    if args.update_docs:
        update_docs(heading, section)


def update_docs(heading: str, section: str) -> None:
    """Replace the section starting at `heading` (a `## ` line) in docs/benchmarks.md, or append it."""
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    start = text.find(heading + "\n")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        following = text.find("\n## ", start + 1)
        rest = "" if following == -1 else "\n" + text[following + 1 :]
        text = text[:start] + section + rest
    DOCS.write_text(text, encoding="utf-8")


def command(script: str, args: Any, *options: str) -> str:
    """The command line that reproduces a run (what docs/benchmarks.md shows next to its figures)."""
    parts = [f"python bench/{script} --update-docs", *options]
    if getattr(args, "loop", "auto") == "asyncio":
        parts.append("--loop asyncio")
    if getattr(args, "baseline", None):
        parts.append(f"--baseline {args.baseline}")
    return " ".join(parts)


BEFORE_NOTE = (
    "Before: the same benchmark on the tree of commit 50d3744, ahead of the performance work (which also"
    " brought uvloop: that run used asyncio's loop)."
)

"""`python -m bot demo [--seed N] [--speed X] [--db PATH] [--port P]`: run the demo until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.demo.defaults import DEFAULT_PORT, DEFAULT_SEED, DEFAULT_SPEED

if TYPE_CHECKING:
    from bot.demo.session import DemoOptions, DemoSession

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
MAX_SPEED = 1000.0

DESCRIPTION = """\
Try Tradecord with no Discord account, no token and no network: the real bot connects to a Discord
emulator running in this process, trades on the paper broker, and a scripted community posts signals
while quotes move. Open the printed /demo page to watch the channel, post your own signals and run slash
commands; /dashboard shows the monitoring. Nothing is written outside the database (a temporary one,
removed at exit, unless --db is given). Stop with Ctrl-C."""


def _speed(value: str) -> float:
    try:
        speed = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 0 < speed <= MAX_SPEED:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most {MAX_SPEED:g} (got {value})")
    return speed


def _port(value: str) -> int:
    if not value.isdigit() or int(value) > 65535:
        raise argparse.ArgumentTypeError(f"must be a TCP port number from 0 to 65535 (got {value!r})")
    return int(value)


def add_demo_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser(
        "demo",
        help="try it with no Discord account: an embedded Discord, a scripted community, the paper broker",
        description=DESCRIPTION,
    )
    demo.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"the feed's random seed (default {DEFAULT_SEED})")
    demo.add_argument(
        "--speed",
        type=_speed,
        default=DEFAULT_SPEED,
        help="feed speed: 2 plays the script twice as fast, 0.5 half as fast (default 1)",
    )
    demo.add_argument(
        "--db", type=Path, metavar="PATH", help="keep the SQLite database at PATH (default: temporary, removed at exit)"
    )
    demo.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help=f"side server port on 127.0.0.1 (default {DEFAULT_PORT}; 0 picks a free one)",
    )


def demo_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from bot.logs import configure_logging, get_logger

    configure_logging("WARNING")
    # discord.py warns at every start that voice libraries are missing: noise in a demo's first screen.
    logging.getLogger("discord.client").setLevel(logging.ERROR)
    try:
        # Imported here: the demo's modules import the whole bot, which other commands do not need, and a
        # Ctrl-C while they load is an ordinary stop.
        from bot.demo.session import DemoOptions

        options = DemoOptions(seed=args.seed, speed=args.speed, db_path=args.db, port=args.port)
        return asyncio.run(run_demo(options, out))
    except KeyboardInterrupt:
        return EXIT_OK
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(f"demo: port {args.port} on 127.0.0.1 is in use; pick another with --port (0: any)", file=err)
            return EXIT_USAGE
        get_logger(__name__).exception("demo.crashed")
        return EXIT_FAILED
    except Exception:
        get_logger(__name__).exception("demo.crashed")
        return EXIT_FAILED


async def run_demo(options: DemoOptions, out: TextIO) -> int:
    """Run until SIGINT/SIGTERM (then shut down cleanly, exit 0) or until the bot stops by itself (exit 1)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
            handled.append(signum)
    started = asyncio.Event()
    serving = asyncio.create_task(_serve(options, out, stop, started), name="demo")
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not started.is_set() and not serving.done():
            serving.cancel()  # stopped while starting: unwind whatever was already open
        try:
            code = await serving
        except asyncio.CancelledError:
            if not stop.is_set():
                raise
            code = EXIT_OK
    finally:
        stopping.cancel()
        for signum in handled:
            loop.remove_signal_handler(signum)
    out.write("Demo stopped.\n")
    return code


async def _serve(options: DemoOptions, out: TextIO, stop: asyncio.Event, started: asyncio.Event) -> int:
    from bot.demo.session import open_demo

    async with open_demo(options) as session:
        started.set()
        out.write(guide(session))
        out.flush()
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({stopped, session.bot_task}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        crashed = not stop.is_set()
        out.write("The bot stopped by itself; shutting down.\n" if crashed else "Stopping the demo...\n")
        out.flush()
    return EXIT_FAILED if crashed else EXIT_OK


def guide(session: DemoSession) -> str:
    """What the visitor sees first: where to look and what is going on."""
    url = session.base_url
    options = session.options
    keep = "kept" if options.db_path is not None else "temporary, removed at exit; keep one with --db PATH"
    return f"""
Tradecord demo: the real bot, trading on paper, connected to a Discord emulator on this machine.
No Discord account, no token, no network.

  Demo channel  {url}/demo       watch #signals, post your own signals, run /stats /health /positions
  Dashboard     {url}/dashboard  live monitoring (the same page a real deployment serves)
  Metrics       {url}/metrics    Prometheus text; JSON under {url}/api/signals, /api/stats

In #signals, maya (stocks), kenji (crypto) and lena (forex) post signals in their own styles; sam and
priya chat; mallory is not trusted and gets 🚫. Watch for ✅ executed, ⚠️ invalid (then fixed by an edit),
⛔ refused by the risk limits, a stop moved to breakeven, a close and a cancel. Quotes move, so paper
targets fill and stops trigger. Seed {options.seed}, speed {options.speed:g}x.
Database: {session.db_path} ({keep})
To run against real Discord, see "Discord setup" in README.md.
Press Ctrl-C to stop.
"""

"""Logging: structlog for our code, stdlib loggers (discord, aiohttp, asyncio) through the same formatter.

Every line, whoever wrote it, passes one `SecretRedactor` before it is rendered: as JSON lines when asked
or when the stream is not a terminal, otherwise with structlog's console renderer.

Our own lines skip the standard library: a structlog logger renders its line itself and writes it to the one
handler's stream under the handler's lock (a `LogRecord`, a caller look-up and a formatter per line cost
more than the rest of a signal's handling). Loggers are cached on first use, so the processor chain is one
list changed in place and the output one object: a reconfiguration reaches loggers made before it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import re
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from contextvars import ContextVar, Token
from decimal import Decimal
from types import MappingProxyType, TracebackType
from typing import Any, TextIO

import orjson
import structlog
from structlog.typing import EventDict, FilteringBoundLogger, Processor, WrappedLogger

REDACTED = "**********"
# Secrets shorter than this are ignored: replacing "abc" everywhere would garble every line and hide nothing.
MIN_SECRET_LENGTH = 4
HANDLER_NAME = "tradecord"
ROUTED_LOGGERS = ("discord", "aiohttp", "asyncio")

# A Discord bot token: base64 user id, base64 timestamp, HMAC (also catches JWT-shaped strings).
_DISCORD_TOKEN = r"[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{20,}"
_BEARER = r"(?P<scheme>\b[Bb][Ee][Aa][Rr][Ee][Rr]\s+)[A-Za-z0-9._~+/-]+=*"
_SECRET_WORDS = re.compile(
    r"(?:^|_)(?:token|secret|password|passphrase|authorization|api_?key|key_id|secret_key|private_key|"
    r"access_key)(?:_|$)"
)
_PLAIN_TYPES = (int, float, Decimal, type(None))  # bool is an int
_PLAIN_EXACT = frozenset({int, float, bool, Decimal})
_SHORTEST_BEARER = len("Bearer x")
_SHORTEST_TOKEN = 20 + 1 + 6 + 1 + 20  # what _DISCORD_TOKEN matches at the least


@functools.lru_cache(maxsize=4096)
def _is_secret_key(key: str) -> bool:
    """`metrics_token`, `X-Tradecord-Secret`, `apiKey`, `APCA-API-KEY-ID` yes; `tokens`, `signal_id` no."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key).lower().replace("-", "_").replace(" ", "_")
    return _SECRET_WORDS.search(words) is not None


class SecretRedactor:
    """structlog processor replacing secrets anywhere in an event dict with "**********".

    It replaces configured secret values, Discord-token-shaped strings, `Bearer <credential>`, and the whole
    value of any key named like a credential (token, secret, password, api_key, key_id, authorization),
    recursing into dicts, lists and tuples. Other objects are rendered with `str()` first so what is
    checked is what gets printed. One instance serves every handler, so `add_secret` applies at once.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = {s for s in secrets if len(s) >= MIN_SECRET_LENGTH}
        self._pattern = self._compile()

    def add_secret(self, value: str) -> None:
        """Also redact `value` (learned later, e.g. loaded from the encrypted store) from now on."""
        if len(value) >= MIN_SECRET_LENGTH and value not in self._secrets:
            self._secrets.add(value)
            self._pattern = self._compile()

    def _compile(self) -> re.Pattern[str]:
        # Longest first, so a secret that contains another is replaced whole.
        literals = [re.escape(s) for s in sorted(self._secrets, key=len, reverse=True)]
        # A string shorter than every secret and than "Bearer x" holds nothing to replace (token shapes are longer).
        self._shortest = min([_SHORTEST_BEARER, *map(len, self._secrets)])
        return re.compile("|".join([*literals, _BEARER, _DISCORD_TOKEN]))

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        return self._redact_mapping(event_dict)

    def redact(self, text: str) -> str:
        """`text` with every secret, token and bearer credential replaced."""
        if len(text) < self._shortest:
            return text
        # Most of a line's values are ids and names too short for a token and without whitespace for a
        # bearer credential (every whitespace character but the space is unprintable): only a configured
        # secret could be in them, and a substring test per secret is cheaper than the pattern's search
        # (0.5 -> 0.2 µs a value, timed alone; docs/benchmarks.md, "Reactions and log lines").
        if len(text) < _SHORTEST_TOKEN and " " not in text and text.isprintable():
            for secret in self._secrets:
                if secret in text:
                    break
            else:
                return text
        return self._pattern.sub(_replacement, text)

    def _redact_mapping(self, mapping: Mapping[Any, Any]) -> dict[Any, Any]:
        redacted: dict[Any, Any] = {}
        for key, value in mapping.items():  # a loop, not a call per value: this runs for every line
            if value is not None and isinstance(key, str) and _is_secret_key(key):
                redacted[key] = REDACTED
            elif type(value) is str:
                redacted[key] = self.redact(value)
            elif value is None or type(value) in _PLAIN_EXACT:
                redacted[key] = value
            else:
                redacted[key] = self._redact_value(value)
        return redacted

    def _redact_value(self, value: object) -> object:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, _PLAIN_TYPES):
            return value
        if isinstance(value, Mapping):
            return self._redact_mapping(value)
        if isinstance(value, list | tuple | set | frozenset):
            return [self._redact_value(item) for item in value]
        return self.redact(str(value))


def _replacement(match: re.Match[str]) -> str:
    scheme = match.group("scheme")
    return f"{scheme}{REDACTED}" if scheme else REDACTED


class _Output:
    """Where our lines go: the installed handler (the stdlib's records go there too) and the level."""

    handler: _QuietFailureHandler | None = None
    level: int = logging.INFO


_OUTPUT = _Output()
_PROCESSORS: list[Processor] = []  # changed in place by configure_logging (see the module's docstring)
_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "msg": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "exception": logging.ERROR,
    "critical": logging.CRITICAL,
    "fatal": logging.CRITICAL,
}
_ANY_LEVEL = structlog.make_filtering_bound_logger(logging.DEBUG)  # the level is checked in the chain instead
_JSON = json.JSONEncoder(default=str)  # one encoder: json.dumps(default=...) builds a new one per line


# What `log_context` binds: one variable holding every bound key, replaced (never changed) by each binding.
_CONTEXT: ContextVar[Mapping[str, Any]] = ContextVar("tradecord_log_context", default=MappingProxyType({}))


class log_context:
    """Every line logged inside the block, by any module and by tasks started in it, carries `values`.

    Leaving the block restores what was bound before. One variable for all keys: structlog's own
    `bound_contextvars` reads every context variable of the task to save what it replaces (a message's two
    bindings: 8.8 µs with it, 1.9 µs with this; docs/benchmarks.md).
    """

    __slots__ = ("_token", "_values")

    def __init__(self, **values: Any) -> None:
        self._values = values
        self._token: Token[Mapping[str, Any]] | None = None

    def __enter__(self) -> None:
        self._token = _CONTEXT.set({**_CONTEXT.get(), **self._values})

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._token is not None:
            _CONTEXT.reset(self._token)
            self._token = None


def bound_log_context() -> Mapping[str, Any]:
    """What `log_context` has bound here (empty outside every block)."""
    return _CONTEXT.get()


def _merge_log_context(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    for key, value in _CONTEXT.get().items():
        event_dict.setdefault(key, value)
    return event_dict


def _drop_below_level(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    if _LEVELS.get(method_name, logging.INFO) < _OUTPUT.level:
        raise structlog.DropEvent
    return event_dict


class _UtcTimestamp:
    """structlog processor: `timestamp` as ISO 8601 UTC with microseconds and "Z", like structlog's
    `TimeStamper(fmt="iso", utc=True)` but with the date and time of the current second formatted once a
    second (0.5 µs a line instead of 2: a line is logged for every signal)."""

    __slots__ = ("_second",)

    def __init__(self) -> None:
        self._second: tuple[int, str] = (-1, "")  # one tuple, so a thread never sees half of an update

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        seconds, nanoseconds = divmod(time.time_ns(), 1_000_000_000)
        second, text = self._second
        if second != seconds:
            text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
            self._second = (seconds, text)
        event_dict["timestamp"] = f"{text}.{nanoseconds // 1000:06d}Z"
        return event_dict


def _render_json(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> str:
    """orjson (0.4 µs a line against the standard library's 3.2); the standard library for what orjson refuses
    (an integer past 64 bits) and for a line with non-ASCII text, which stays escaped for any stream."""
    try:
        line = orjson.dumps(event_dict, default=str).decode()
    except TypeError:  # orjson.JSONEncodeError is one
        return _JSON.encode(event_dict)
    return line if line.isascii() else _JSON.encode(event_dict)


class _LineLogger:
    """Writes rendered lines to the installed handler's stream, flushed, under the handler's lock."""

    __slots__ = ("name",)

    def __init__(self, name: str = "tradecord") -> None:
        self.name = name

    def _write(self, line: str) -> None:
        handler = _OUTPUT.handler
        if handler is None:
            return
        with handler.lock or contextlib.nullcontext():
            try:
                handler.stream.write(line + "\n")
                handler.stream.flush()
            except Exception as exc:  # a closed or full stream: say so, never fall back to the raw event
                handler.report_dropped(self.name, exc)

    debug = info = warning = warn = error = exception = critical = fatal = msg = _write


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def configure_logging(
    level: str = "INFO",
    *,
    json: bool | None = None,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
    redactor: SecretRedactor | None = None,
) -> None:
    """Send structlog and stdlib logging to `stream` (default stderr) in one redacted format.

    `json=None` means JSON lines when the stream is not a terminal. Pass your own `redactor` to keep a
    handle for `add_secret`. Calling this again replaces the previous handler instead of adding one.
    """
    out = sys.stderr if stream is None else stream
    numeric_level = logging.getLevelName(level.upper())
    if not isinstance(numeric_level, int):
        raise ValueError(f"unknown log level {level!r}")
    guard = SecretRedactor() if redactor is None else redactor
    for secret in secrets:
        guard.add_secret(secret)
    use_json = not _isatty(out) if json is None else json
    renderer: Processor = (
        _render_json
        if use_json
        else structlog.dev.ConsoleRenderer(colors=_isatty(out), exception_formatter=structlog.dev.plain_traceback)
    )
    shared: list[Processor] = [
        _merge_log_context,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        _UtcTimestamp(),
    ]
    # Tracebacks become text before the redactor, so it sees (and cleans) them before rendering.
    finish: list[Processor] = [structlog.processors.format_exc_info, guard, renderer]
    _PROCESSORS[:] = [_drop_below_level, *shared, structlog.processors.StackInfoRenderer(), *finish]
    structlog.configure(
        processors=_PROCESSORS,
        logger_factory=_LineLogger,
        wrapper_class=_ANY_LEVEL,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *finish],
    )
    _install_handler(out, formatter, numeric_level)
    threading.excepthook = _log_thread_exception


def _log_thread_exception(args: threading.ExceptHookArgs) -> None:
    """An exception no thread caught (an aiosqlite worker, say) is logged, so it passes the redactor.

    Python's default hook would print the traceback straight to stderr, secrets and all.
    """
    if args.exc_type is SystemExit:
        return
    thread = None if args.thread is None else args.thread.name
    logging.getLogger("threading").error("thread.crashed", exc_info=args.exc_value, extra={"thread_name": thread})


class _QuietFailureHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler whose formatting failures never print the raw (unredacted) record."""

    def handleError(self, record: logging.LogRecord) -> None:
        self.report_dropped(record.name, sys.exc_info()[1])

    def report_dropped(self, logger_name: str, exc: BaseException | None) -> None:
        """One line saying a line was lost and why, never the line itself."""
        with contextlib.suppress(Exception):  # nowhere left to report to
            self.stream.write(f"tradecord: dropped a log line from {logger_name}: {type(exc).__name__}\n")


def _install_handler(stream: TextIO, formatter: logging.Formatter, level: int) -> None:
    handler = _QuietFailureHandler(stream)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)
    _OUTPUT.handler, _OUTPUT.level = handler, level
    for name in ROUTED_LOGGERS:
        # Their records reach our root handler, and only it: no handler of their own, level from root.
        routed = logging.getLogger(name)
        for own in list(routed.handlers):
            routed.removeHandler(own)
        routed.propagate = True
        routed.setLevel(logging.NOTSET)


def get_logger(name: str = "tradecord") -> FilteringBoundLogger:
    """A structlog logger; name it after the module (`get_logger(__name__)`)."""
    logger: FilteringBoundLogger = structlog.get_logger(name)
    return logger

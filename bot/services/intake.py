"""The front door of the pipeline: every message (Discord or webhook) is counted, parsed, authorized and
handed to the executor here, and ends with one summary log line.

Most messages are chatter, so reading one is kept cheap: `read` counts and parses a message's text without
an await or an allocation when it is chatter; only what may be a signal goes on to `handle`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import structlog

from bot.domain import (
    CancelSignal,
    CloseSignal,
    ExecutionResult,
    Outcome,
    Signal,
    SignalEnvelope,
    SignalSource,
    UpdateSignal,
)
from bot.errors import NotASignal, SignalParseError
from bot.execution.executor import Executor
from bot.execution.ids import signal_id as make_signal_id
from bot.execution.trace import SignalTrace
from bot.logs import log_context
from bot.metrics import Metrics
from bot.services.stats import PARSE_INVALID, PARSE_VALID
from bot.signals.parser import DEFAULT_OPTIONS, ParseOptions, parse_signal
from storage.signals import SignalRepository
from storage.stats import REJECTED_OUTCOMES
from storage.writer import BatchWriter

log = structlog.get_logger(__name__)
Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class ChannelPolicy:
    """How messages of one channel are read."""

    parse_options: ParseOptions = DEFAULT_OPTIONS
    management_applies_to_last_signal: bool = True


DEFAULT_POLICY = ChannelPolicy()
PolicyFor = Callable[[str], ChannelPolicy]
# Reads a message as a signal or raises SignalParseError; the webhook passes one for TradingView JSON bodies.
Reader = Callable[[SignalEnvelope, ChannelPolicy], Signal]


def read_text(envelope: SignalEnvelope, policy: ChannelPolicy) -> Signal:
    """The message's text in the signal grammar: how every Discord message (and text webhook body) is read."""
    return parse_signal(envelope.text, now=envelope.received_at, options=policy.parse_options)


ManagementSignal = CloseSignal | UpdateSignal | CancelSignal
_OUTCOME_COUNTERS = {outcome: "outcome." + outcome.value for outcome in Outcome}


@dataclass(frozen=True, slots=True)
class Reading:
    """What the parser made of a message that may be a signal, and how long it took (for the trace)."""

    parsed: Signal | SignalParseError
    parse_seconds: float


class SignalIntake:
    def __init__(
        self,
        *,
        executor: Executor,
        signals: SignalRepository,
        metrics: Metrics,
        writer: BatchWriter,
        clock: Clock,
        policy_for: PolicyFor = lambda _channel: DEFAULT_POLICY,
    ) -> None:
        self._executor = executor
        self._signals = signals
        self._metrics = metrics
        self._writer = writer
        self._clock = clock
        self._policy_for = policy_for
        # Metric children bound once: a label look-up per message would cost more than the count itself.
        self._seen = {source.value: metrics.messages_seen.labels(source.value) for source in SignalSource}
        self._outcomes = {
            (source.value, outcome): metrics.signals.labels(source.value, outcome.value)
            for source in SignalSource
            for outcome in Outcome
        }

    def preview(self, text: str, channel_id: str) -> Signal | SignalParseError:
        """What the parser makes of `text` in this channel, without recording or trading anything."""
        options = self._policy_for(channel_id).parse_options
        return _answer(lambda: parse_signal(text, now=self._clock(), options=options))

    def _count(self, source: str, outcome: Outcome) -> None:
        self._outcomes[(source, outcome)].inc()
        self._writer.count(source, _OUTCOME_COUNTERS[outcome])

    def _count_seen(self, source: str) -> None:
        self._seen[source].inc()
        self._writer.count(source, "messages_seen")

    def _tally(self, source: str, parsed: Signal | SignalParseError, parse_seconds: float) -> None:
        """Count what the parser said (chatter is then done with)."""
        self._metrics.signal_parse_seconds.observe(parse_seconds)
        if isinstance(parsed, NotASignal):
            self._count(source, Outcome.NOT_A_SIGNAL)
        else:
            # The parse success rate's two terms (/stats): read as a signal, or refused as an inconsistent one.
            self._writer.count(source, PARSE_INVALID if isinstance(parsed, SignalParseError) else PARSE_VALID)

    def read(self, source: SignalSource, channel_id: str, text: str, received_at: datetime) -> Reading | None:
        """Count a message and parse its text (the channel's reading rules). None means chatter, counted as
        `not_a_signal` and done with; otherwise pass the reading to `handle` with the message's envelope."""
        options = self._policy_for(channel_id).parse_options
        reading = self._take_reading(source.value, lambda: parse_signal(text, now=received_at, options=options))
        return None if isinstance(reading.parsed, NotASignal) else reading

    def _take_reading(self, source: str, read: Callable[[], Signal]) -> Reading:
        """Count the message as seen, parse it (timed) and count what the parser said."""
        started = time.perf_counter()
        reading = Reading(_answer(read), time.perf_counter() - started)
        self._count_seen(source)
        self._tally(source, reading.parsed, reading.parse_seconds)
        return reading

    def _record_history(self, result: ExecutionResult) -> None:
        """The stored latency histogram and rejection reasons behind /stats (batched, no commit here)."""
        if result.outcome is Outcome.EXECUTED and result.latency_seconds is not None:
            self._writer.observe_latency(result.latency_seconds)
        if result.outcome in REJECTED_OUTCOMES and result.reason:
            self._writer.count_rejection(result.reason)

    async def handle(
        self, envelope: SignalEnvelope, *, reader: Reader = read_text, reading: Reading | None = None
    ) -> ExecutionResult:
        """Count, parse, authorize and execute one message; `reading` is what `read` already made of it."""
        # Every line logged while this message is handled, by any module, says which message it is about
        # (and, once it reads as a signal, carries its id).
        with log_context(
            source=envelope.source.value, channel_id=envelope.channel_id, message_id=envelope.message_id
        ):
            return await self._handle(envelope, reader, reading)

    async def _handle(self, envelope: SignalEnvelope, reader: Reader, reading: Reading | None) -> ExecutionResult:
        source = envelope.source.value
        policy = self._policy_for(envelope.channel_id)
        if reading is None:
            reading = self._take_reading(source, lambda: reader(envelope, policy))
            if isinstance(reading.parsed, NotASignal):
                return ExecutionResult(Outcome.NOT_A_SIGNAL, reason=reading.parsed.message)
        parsed = reading.parsed
        trace = SignalTrace.received(envelope)
        trace.parsed(self._clock(), parsed, reading.parse_seconds)
        with log_context(signal_id=trace.signal_id):
            return await self._finish(envelope, await self._decide(envelope, parsed, policy, trace))

    async def _decide(
        self, envelope: SignalEnvelope, parsed: Signal | SignalParseError, policy: ChannelPolicy, trace: SignalTrace
    ) -> ExecutionResult:
        if isinstance(parsed, SignalParseError):
            outcome = Outcome.INVALID if envelope.authorized else Outcome.UNAUTHORIZED
            reason = parsed.message if envelope.authorized else envelope.unauthorized_reason or "unauthorized"
            return await self._executor.record_refusal(envelope, None, outcome, reason, trace=trace)
        if not envelope.authorized:
            reason = envelope.unauthorized_reason or "unauthorized"
            return await self._executor.record_refusal(envelope, parsed, Outcome.UNAUTHORIZED, reason, trace=trace)
        signal = await self._resolve_symbol(envelope, parsed, policy)
        return await self._executor.execute(envelope, signal, trace=trace)

    async def submit(self, envelope: SignalEnvelope, signal: Signal) -> ExecutionResult:
        """A signal that is not a message (an admin's `/close`): executed, recorded and counted like one,
        without being parsed or counted as a message seen."""
        with log_context(
            source=envelope.source.value,
            channel_id=envelope.channel_id,
            message_id=envelope.message_id,
            signal_id=make_signal_id(envelope.source, envelope.channel_id, envelope.message_id),
        ):
            return await self._finish(envelope, await self._executor.execute(envelope, signal))

    async def _resolve_symbol(self, envelope: SignalEnvelope, signal: Signal, policy: ChannelPolicy) -> Signal:
        """A management message without a symbol applies to the signal it replies to, else (when the channel
        allows it) to the author's last executed signal there."""
        if not isinstance(signal, ManagementSignal) or signal.symbol is not None:
            return signal
        symbol = None
        if envelope.reply_to_message_id is not None:
            parent = await self._signals.get_by_message(
                envelope.source, envelope.channel_id, envelope.reply_to_message_id
            )
            symbol = None if parent is None or parent.signal is None else parent.signal.symbol
        elif policy.management_applies_to_last_signal:
            symbol = await self._signals.last_executed_symbol(envelope.source, envelope.channel_id, envelope.author_id)
        return signal if symbol is None else dataclasses.replace(signal, symbol=symbol)

    async def _finish(self, envelope: SignalEnvelope, result: ExecutionResult) -> ExecutionResult:
        if not result.replayed:
            self._count(envelope.source.value, result.outcome)
            self._record_history(result)
        latency_ms = (time.perf_counter() - envelope.received_monotonic) * 1000
        log.info(
            "signal.processed",
            signal_id=result.signal_id,
            source=envelope.source.value,
            channel_id=envelope.channel_id,
            message_id=envelope.message_id,
            author_id=envelope.author_id,
            outcome=result.outcome.value,
            reason=result.reason,
            replayed=result.replayed,
            latency_ms=round(latency_ms, 3),
        )
        return result


def _answer(read: Callable[[], Signal]) -> Signal | SignalParseError:
    """The parser's answer as a value, so callers branch on it instead of repeating the try. A parse error is
    kept without its traceback: the traceback holds the frames of the stack it was raised through, and those
    hold the variable the error is kept in, a reference cycle that only the cyclic collector frees. Every
    chatter message made one (~7 frames and 4 tracebacks of garbage a message)."""
    try:
        return read()
    except SignalParseError as exc:
        return exc.with_traceback(None)

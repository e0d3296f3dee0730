"""The executor: risk, then the signal and its order intents in one transaction, then the broker.

A message's signal row and order rows are committed before any broker request, keyed by the message and
by deterministic client order ids, so a replayed event, a restart or a retry can never place a second
order for the same signal.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from itertools import chain

import structlog

from bot.domain import (
    AssetClass,
    CancelSignal,
    CloseSignal,
    ExecutionResult,
    OpenSignal,
    OrderAck,
    OrderRequest,
    OrderStatus,
    Outcome,
    Signal,
    SignalEnvelope,
    UpdateSignal,
)
from bot.errors import BrokerError, ExitsClosed, OrderRejected, TemporaryBrokerError
from bot.execution.broker import Broker, LocalVenue, Placement, PlaceOrder, local_venue_of
from bot.execution.day_start import DayStartEquity
from bot.execution.ids import signal_id as make_signal_id
from bot.execution.kill_switch import KillSwitch
from bot.execution.management import Action, CancelEntry, MoveExits, entry_legs, plan_cancel, plan_update
from bot.execution.orders import close_leg, open_legs
from bot.execution.pending import PendingOrders
from bot.execution.risk import RiskContext, RiskLimits, Sizing, daily_loss_reached, evaluate_close, evaluate_open
from bot.execution.submitter import Lookup, OrderSubmitter, Submission
from bot.execution.trace import SignalTrace, leg_events
from bot.metrics import Metrics
from bot.signals.schema import signal_to_dict
from storage.database import Database
from storage.orders import OrderRepository
from storage.signals import SignalRecord, SignalRepository
from storage.trace import TraceEvent, TraceRepository

log = structlog.get_logger(__name__)
# A signal waits this long at most for a rate-limited venue to answer the risk look-ups once more.
_MAX_RISK_RETRY_WAIT = 2.0
Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class ExecutionSettings:
    time_in_force: str = "gtc"
    duplicate_window_seconds: float = 30.0


def fingerprint(signal: Signal, manages: str | None = None) -> str:
    """The same normalized signal always has the same fingerprint (for the duplicate window). A message that
    manages a signal is only a repeat when it manages the same one: "SL to BE" on two trades is two moves."""
    fields = signal_to_dict(signal) | ({"manages": manages} if manages is not None else {})
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class _Answer:
    """The venue's answer to one leg, and when it was sent and answered (for its trace steps)."""

    leg: int
    request: OrderRequest
    submission: Submission
    sent_at: datetime
    acked_at: datetime
    answered: float  # perf_counter, for the signal's latency


@dataclass(frozen=True, slots=True)
class _Plan:
    outcome: Outcome | None  # None: approved, orders to send
    reason: str | None
    legs: tuple[OrderRequest, ...] = ()
    actions: tuple[Action, ...] = ()  # for a signal that manages an earlier one
    target_signal_id: str | None = None


@dataclass(frozen=True, slots=True)
class _Settlement:
    """What a signal's answers come to: its outcome and the trace steps of each leg."""

    signal_id: str
    outcome: Outcome
    reason: str | None
    settled: bool  # False while a leg's outcome is unknown: start-up recovery settles both
    latency: float  # from the message to the venue's last answer
    steps: list[list[TraceEvent]]
    finished_at: datetime


def _settle(record: SignalRecord, answers: list[_Answer], started: float, finished_at: datetime) -> _Settlement:
    latency = (answers[-1].answered if answers else time.perf_counter()) - started
    acks = [answer.submission.ack for answer in answers]
    outcome, reason = _outcome_of(acks)
    steps = [
        leg_events(
            record.id,
            answer.leg,
            answer.request,
            answer.submission.ack,
            sent_at=answer.sent_at,
            acked_at=answer.acked_at,
            attempts=answer.submission.attempts,
        )
        for answer in answers
    ]
    settled = not any(ack.status is OrderStatus.UNKNOWN for ack in acks)
    return _Settlement(record.id, outcome, reason, settled, latency, steps, finished_at)


class Executor:
    def __init__(
        self,
        *,
        db: Database,
        signals: SignalRepository,
        orders: OrderRepository,
        broker: Broker,
        submitter: OrderSubmitter,
        limits: RiskLimits,
        sizing: Sizing,
        kill_switch: KillSwitch,
        day_start: DayStartEquity,
        metrics: Metrics,
        clock: Clock,
        settings: ExecutionSettings,
    ) -> None:
        self._day_start = day_start
        self._db = db
        self._signals = signals
        self._orders = orders
        self._broker = broker
        self._submitter = submitter
        self._limits = limits
        self._sizing = sizing
        self._kill_switch = kill_switch
        self._metrics = metrics
        self._clock = clock
        self._settings = settings
        self._gate = asyncio.Lock()  # one risk check at a time (see `execute`)
        self._pending = PendingOrders()
        self._venue = local_venue_of(broker)

    async def record_refusal(
        self,
        envelope: SignalEnvelope,
        signal: Signal | None,
        outcome: Outcome,
        reason: str,
        *,
        trace: SignalTrace | None = None,
    ) -> ExecutionResult:
        """Record a message that will not trade (invalid, unauthorized) so it can be traced and counted."""
        record = self._record(envelope, signal, outcome, reason)
        trace = trace or SignalTrace.received(envelope)
        decided_at = self._clock()

        def store(conn: sqlite3.Connection) -> bool:
            if not self._signals.insert_now(conn, record):
                return False
            if signal is not None:
                trace.decided(decided_at, outcome, reason, 0)
            TraceRepository.insert_now(conn, trace.take())
            return True

        if not await self._db.write(store):
            return await self._replayed(envelope)
        return ExecutionResult(outcome, record.id, reason, signal)

    async def execute(
        self,
        envelope: SignalEnvelope,
        signal: Signal,
        *,
        manages: SignalRecord | None = None,
        trace: SignalTrace | None = None,
    ) -> ExecutionResult:
        """Take an authorized, parsed signal to the broker (or to a recorded rejection).

        `manages` is the signal an update or cancel applies to when the caller knows it (an edit);
        otherwise it is the one replied to, else the author's last executed signal in that symbol.
        """
        # A message read again (catch-up, a webhook's retry) skips the risk look-ups. A live gateway message
        # cannot have been recorded but in a rare race (catch-up reading it too); the UNIQUE key below is
        # what actually guards, so it spares the look-up.
        if not envelope.live and (seen := await self._recorded(envelope)) is not None:
            return seen
        # Risk checks run one at a time, each counting the orders approved before it that the venue has not
        # answered yet (`bot.execution.pending`): signals in flight together cannot both pass a limit (open
        # positions, position size, a close of what is held) that only one of them fits.
        async with self._gate:
            plan = await self._checked_plan(envelope, signal, manages)
            ticket = self._pending.add(plan.legs if plan.outcome is None else ())
        try:
            record = self._record(envelope, signal, plan.outcome, plan.reason, plan.target_signal_id)
            trace = trace or SignalTrace.received(envelope)
            if self._venue is not None and plan.outcome is None and not plan.actions:
                return await self._execute_at_local_venue(self._venue, envelope, signal, plan, record, trace)
            store = partial(self._store, envelope, signal, plan, record, trace, self._clock())
            inserted, plan, record = await self._db.write(store)
            if not inserted:
                return await self._replayed(envelope)
            if plan.outcome is not None:
                return ExecutionResult(plan.outcome, record.id, plan.reason, signal)
            if plan.actions:
                return await self._manage(record, plan.actions, envelope.received_monotonic)
            answers = await self._submit(plan.legs)
        finally:
            self._pending.discard(ticket)  # answered: the venue's positions now carry the fills
        return await self._record_answers(record, answers, envelope.received_monotonic)

    def _store(
        self,
        envelope: SignalEnvelope,
        signal: Signal,
        plan: _Plan,
        record: SignalRecord,
        trace: SignalTrace,
        now: datetime,
        conn: sqlite3.Connection,
    ) -> tuple[bool, _Plan, SignalRecord]:
        """One write unit: the signal (or the duplicate it turns out to be), its early trace steps and its
        order intents, committed before anything reaches the broker. False when the message was recorded."""
        inserted, plan, record = self._insert_signal(envelope, signal, plan, record, conn)
        if not inserted:
            return False, plan, record
        trace.decided(now, plan.outcome, plan.reason, len(plan.legs) + len(plan.actions))
        TraceRepository.insert_now(conn, trace.take())
        for leg, request in enumerate(plan.legs if plan.outcome is None else (), start=1):
            self._orders.insert_intent_now(conn, record.id, leg, self._broker.name, request, now)
        return True, plan, record

    def _insert_signal(
        self, envelope: SignalEnvelope, signal: Signal, plan: _Plan, record: SignalRecord, conn: sqlite3.Connection
    ) -> tuple[bool, _Plan, SignalRecord]:
        """The signal's row, as a duplicate when the author sent the same one within the window; False when the
        message was recorded already."""
        since = envelope.received_at - timedelta(seconds=self._settings.duplicate_window_seconds)
        author, fingerprint_ = envelope.author_id, record.fingerprint or ""
        duplicate_of = self._signals.find_recent_duplicate_now(conn, author, fingerprint_, since)
        if duplicate_of is not None:
            plan = _Plan(Outcome.DUPLICATE, f"same signal as {duplicate_of} from the same author")
            record = self._record(envelope, signal, plan.outcome, plan.reason, plan.target_signal_id)
        return self._signals.insert_now(conn, record), plan, record

    async def _execute_at_local_venue(
        self,
        venue: LocalVenue,
        envelope: SignalEnvelope,
        signal: Signal,
        plan: _Plan,
        record: SignalRecord,
        trace: SignalTrace,
    ) -> ExecutionResult:
        """A venue in our own database (paper): the signal, its intents, the venue's orders and their answers
        are one transaction. It commits whole or not at all (then nothing happened, and the message is read
        again at catch-up), so no order is ever in flight and nothing is left to reconcile after a crash."""
        orders = [(request, await self._submitter.prepare(venue, request)) for request in plan.legs]
        unit = partial(self._store_and_place, envelope, signal, plan, record, trace, self._clock(), orders)
        inserted, plan, record, placed = await self._db.write(unit)
        if not inserted:
            return await self._replayed(envelope)
        if plan.outcome is not None:  # a duplicate after all: nothing was placed
            return ExecutionResult(plan.outcome, record.id, plan.reason, signal)
        assert placed is not None  # an approved plan that was recorded is always placed
        answers, settlement, placements = placed
        for placement in placements:
            placement.committed()
        return self._announce(record, answers, settlement)

    def _store_and_place(
        self,
        envelope: SignalEnvelope,
        signal: Signal,
        plan: _Plan,
        record: SignalRecord,
        trace: SignalTrace,
        now: datetime,
        orders: list[tuple[OrderRequest, PlaceOrder | OrderAck]],
        conn: sqlite3.Connection,
    ) -> tuple[bool, _Plan, SignalRecord, tuple[list[_Answer], _Settlement, list[Placement]] | None]:
        """The signal, each order placed at the local venue, the orders with their answers and the whole trace,
        in one write unit; None in place of the answers when nothing was placed (a replay, or a duplicate).

        Each order's row is written once, with its answer, and the trace in one statement: every statement is
        a wait for the GIL in the writer's thread (docs/benchmarks.md)."""
        inserted, plan, record = self._insert_signal(envelope, signal, plan, record, conn)
        if not inserted:
            return False, plan, record, None
        trace.decided(now, plan.outcome, plan.reason, len(plan.legs))
        if plan.outcome is not None:  # a duplicate after all: nothing is placed
            TraceRepository.insert_now(conn, trace.take())
            return True, plan, record, None
        answers: list[_Answer] = []
        placements: list[Placement] = []
        for leg, (request, order) in enumerate(orders, start=1):
            sent_at = self._clock()
            if isinstance(order, OrderAck):  # refused before it was placed
                ack = order
            else:
                try:
                    placement = order(conn)
                except OrderRejected as exc:
                    ack = OrderAck(request.client_order_id, OrderStatus.REJECTED, reason=str(exc))
                else:
                    ack = placement.ack
                    placements.append(placement)
            answers.append(_Answer(leg, request, Submission(ack, 1), sent_at, self._clock(), time.perf_counter()))
        settlement = _settle(record, answers, envelope.received_monotonic, self._clock())
        for answer in answers:
            ack, attempts = answer.submission.ack, answer.submission.attempts
            self._orders.insert_answered_now(
                conn,
                record.id,
                answer.leg,
                self._broker.name,
                answer.request,
                now,
                ack=ack,
                acked_at=answer.acked_at,
                attempts=attempts,
            )
        TraceRepository.insert_now(conn, [*trace.take(), *chain.from_iterable(settlement.steps)])
        self._finish_now(settlement, conn)
        return True, plan, record, (answers, settlement, placements)

    async def _checked_plan(self, envelope: SignalEnvelope, signal: Signal, manages: SignalRecord | None) -> _Plan:
        """The plan, with the risk look-ups retried once when the venue asks us to wait; a venue that
        still cannot answer them fails the signal with the reason (recorded: nothing is sent blind)."""
        try:
            return await self._plan(envelope, signal, manages)
        except TemporaryBrokerError as exc:
            await asyncio.sleep(min(exc.retry_after or 0.25, _MAX_RISK_RETRY_WAIT))
        except BrokerError as exc:
            return _Plan(Outcome.FAILED, f"the broker could not answer the risk check: {exc}")
        try:
            return await self._plan(envelope, signal, manages)
        except BrokerError as exc:
            return _Plan(Outcome.FAILED, f"the broker could not answer the risk check: {exc}")

    async def _managed(
        self, envelope: SignalEnvelope, symbol: str, manages: SignalRecord | None
    ) -> SignalRecord | None:
        if manages is not None:
            return manages
        if envelope.reply_to_message_id is not None:
            parent = await self._signals.get_by_message(
                envelope.source, envelope.channel_id, envelope.reply_to_message_id
            )
            if parent is not None and isinstance(parent.signal, OpenSignal) and parent.signal.symbol == symbol:
                return parent
        return await self._signals.last_executed_open(envelope.source, envelope.channel_id, envelope.author_id, symbol)

    async def _management_plan(self, signal: UpdateSignal | CancelSignal, target: SignalRecord) -> _Plan:
        if not isinstance(target.signal, OpenSignal):
            return _Plan(
                Outcome.RISK_REJECTED, f"signal {target.id} opened nothing to manage", target_signal_id=target.id
            )
        legs = entry_legs(await self._orders.for_signal(target.id))
        planned = (
            plan_update(signal, target.signal, legs)
            if isinstance(signal, UpdateSignal)
            else plan_cancel(signal, target.signal, legs)
        )
        if isinstance(planned, str):
            return _Plan(Outcome.RISK_REJECTED, planned, target_signal_id=target.id)
        return _Plan(None, None, actions=planned, target_signal_id=target.id)

    async def _manage(self, record: SignalRecord, actions: tuple[Action, ...], started: float) -> ExecutionResult:
        """Send each change; they are idempotent, so a retry or a recovery re-run never does harm."""
        acks: list[OrderAck] = []
        problems: list[str] = []
        closed_legs: list[str] = []
        for action in actions:
            cid = action.client_order_id
            if isinstance(action, CancelEntry):
                ack = await self._submitter.modify("cancel_order", cid, partial(self._broker.cancel_order, cid))
                if ack.status is OrderStatus.CANCELED:
                    await self._orders.record_ack(ack, self._clock(), attempts=0)
                elif ack.status is OrderStatus.FILLED:
                    problems.append(f"{cid} had already filled: use CLOSE to exit the position")
            else:
                try:
                    ack = await self._submitter.modify("replace_exits", cid, partial(self._move_exits, action))
                except ExitsClosed as exc:  # "TP1 hit, SL to BE": the closed leg has nothing left to protect
                    log.info("order.exits_closed", client_order_id=cid, reason=str(exc))
                    closed_legs.append(cid)
                    continue
                if ack.status.is_success:
                    await self._orders.set_exits(cid, action.stop_loss, action.take_profit, self._clock())
            if not (ack.status.is_success or ack.status is OrderStatus.CANCELED):
                problems.append(ack.reason or f"{cid} {ack.status.value}")
            log.info("order.managed", client_order_id=cid, action=type(action).__name__, status=ack.status.value)
            acks.append(ack)
        outcome, reason = (Outcome.FAILED, problems[0]) if problems else (Outcome.EXECUTED, None)
        if not acks and closed_legs:
            outcome, reason = Outcome.RISK_REJECTED, "every leg of the signal is already closed: nothing to move"
        latency = time.perf_counter() - started
        await self._signals.finish(record.id, outcome, reason, latency, self._clock())
        return ExecutionResult(outcome, record.id, reason, record.signal, tuple(acks))

    async def _move_exits(self, action: MoveExits) -> OrderAck:
        return await self._broker.replace_exits(
            action.client_order_id, stop_loss=action.stop_loss, take_profit=action.take_profit
        )

    async def _plan(self, envelope: SignalEnvelope, signal: Signal, manages: SignalRecord | None = None) -> _Plan:
        tif = self._settings.time_in_force
        match signal:
            case OpenSignal():
                ctx = await self._context(envelope, signal.symbol, entry=True)
                decision = evaluate_open(signal, self._limits, self._sizing, ctx)
                if daily_loss_reached(self._limits, ctx) and not self._kill_switch.engaged:
                    await self._kill_switch.set(True)  # the limit pauses trading until an admin's /resume
                    log.warning(
                        "risk.daily_loss_paused", daily_pnl=str(ctx.daily_pnl), limit=str(self._limits.max_daily_loss)
                    )
                if not decision.approved or decision.quantity is None:
                    return _Plan(Outcome.RISK_REJECTED, decision.reason)
                return _Plan(None, None, tuple(open_legs(signal, decision.quantity, tif=tif, origin=envelope)))
            case CloseSignal(symbol=str(symbol)):
                ctx = await self._context(envelope, symbol, entry=False)
                decision = evaluate_close(signal, symbol, self._limits, ctx)
                if not decision.approved or decision.quantity is None or ctx.position is None:
                    return _Plan(Outcome.RISK_REJECTED, decision.reason)
                asset_class = await self._orders.asset_class_of(symbol) or AssetClass.EQUITY
                leg = close_leg(symbol, asset_class, ctx.position.quantity, decision.quantity, tif=tif, origin=envelope)
                return _Plan(None, None, (leg,))
            case UpdateSignal(symbol=str(symbol)) | CancelSignal(symbol=str(symbol)):
                # Moving a stop or cancelling an entry only lowers risk: the kill switch does not block it.
                target = await self._managed(envelope, symbol, manages)
                if target is None:
                    return _Plan(Outcome.RISK_REJECTED, f"no executed {symbol} signal from this author to manage")
                return await self._management_plan(signal, target)
        return _Plan(Outcome.INVALID, f"this {signal.kind.value} names no symbol and replies to no signal")

    async def _context(self, envelope: SignalEnvelope, symbol: str, *, entry: bool) -> RiskContext:
        """The account as the check must see it: an entry counts every pending order as filled, a close only
        what pending orders already sell (`PendingOrders`)."""
        positions = await self._broker.positions()
        account = await self._broker.account()
        if entry:
            position, open_positions = self._pending.for_entry(positions, symbol)
        else:
            position, open_positions = self._pending.for_exit(positions, symbol), 0
        return RiskContext(
            now=self._clock(),
            received_at=envelope.received_at,
            kill_switch=self._kill_switch.engaged,
            price=await self._broker.last_price(symbol),
            position=position,
            open_positions=open_positions,
            equity=account.equity,
            daily_pnl=await self._day_start.pnl(account.equity),
            last_entry_at=await self._signals.last_entry_at(symbol) if self._limits.cooldown_seconds else None,
        )

    async def _submit(self, legs: tuple[OrderRequest, ...]) -> list[_Answer]:
        answers = []
        for leg, request in enumerate(legs, start=1):
            sent_at = self._clock()
            submission = await self._submitter.submit(request)
            answers.append(_Answer(leg, request, submission, sent_at, self._clock(), time.perf_counter()))
        return answers

    async def _record_answers(self, record: SignalRecord, answers: list[_Answer], started: float) -> ExecutionResult:
        """Every leg's answer and the signal's outcome, in one commit."""
        settlement = _settle(record, answers, started, self._clock())
        await self._db.write(partial(self._store_answers, answers, settlement))
        return self._announce(record, answers, settlement)

    def _store_answers(self, answers: list[_Answer], settlement: _Settlement, conn: sqlite3.Connection) -> None:
        for answer, events in zip(answers, settlement.steps, strict=True):
            ack, attempts = answer.submission.ack, answer.submission.attempts
            self._orders.record_ack_now(conn, ack=ack, at=answer.acked_at, attempts=attempts, events=events)
        self._finish_now(settlement, conn)

    def _finish_now(self, settlement: _Settlement, conn: sqlite3.Connection) -> None:
        """The signal's outcome, once no leg's is unknown (start-up recovery settles those)."""
        if settlement.settled:
            self._signals.finish_now(
                conn,
                settlement.signal_id,
                settlement.outcome,
                settlement.reason,
                settlement.latency,
                settlement.finished_at,
            )

    def _announce(self, record: SignalRecord, answers: list[_Answer], settlement: _Settlement) -> ExecutionResult:
        """Count and log the recorded answers; the signal's result."""
        for answer in answers:
            ack = answer.submission.ack
            self._metrics.orders.labels(self._broker.name, ack.status.value).inc()
            # A venue's plain yes is in the signal's own line (`signal.processed`) and its trace; a refusal or
            # an unknown outcome gets a line of its own.
            (log.debug if ack.status.is_success else log.info)(
                "order.acknowledged",
                client_order_id=ack.client_order_id,
                status=ack.status.value,
                reason=ack.reason,
                attempts=answer.submission.attempts,
            )
        outcome, latency = settlement.outcome, settlement.latency
        if outcome is Outcome.EXECUTED:
            self._metrics.signal_to_order_seconds.observe(latency)
        acks = tuple(answer.submission.ack for answer in answers)
        return ExecutionResult(outcome, record.id, settlement.reason, record.signal, acks, latency_seconds=latency)

    async def recover(self) -> int:
        """Settle what a crash left in flight, before new signals are taken; returns the orders settled.

        Each unresolved order is looked up at the venue by client id: found, its answer is recorded;
        confirmed absent, it is sent (with the same id, so the venue would refuse a copy); unanswered, it
        stays `unknown` for the next start. Then each pending signal takes the outcome of its orders.
        """
        settled = 0
        for order in await self._orders.unresolved():
            found = await self._submitter.look_up(order.client_order_id)
            if found is Lookup.UNANSWERED:
                continue
            sent_at = self._clock() if found is Lookup.ABSENT else None  # None: the venue's record answered
            if found is Lookup.ABSENT:
                submission = await self._submitter.submit(order.request)
                ack, attempts = submission.ack, order.attempts + submission.attempts
            else:
                ack, attempts = found, order.attempts
            at = self._clock()
            steps = leg_events(
                order.signal_id, order.leg, order.request, ack, sent_at=sent_at, acked_at=at, attempts=attempts
            )
            await self._orders.record_ack(ack, at, attempts=attempts, events=steps)
            self._metrics.orders.labels(self._broker.name, ack.status.value).inc()
            log.info("order.reconciled", client_order_id=ack.client_order_id, status=ack.status.value)
            settled += 1
        for record in await self._signals.pending():
            if isinstance(record.signal, UpdateSignal | CancelSignal):
                await self._finish_management(record)
                continue
            orders = await self._orders.for_signal(record.id)
            statuses = [OrderAck(o.client_order_id, o.status, reason=o.reason) for o in orders]
            if any(o.status in (OrderStatus.PENDING_SUBMIT, OrderStatus.UNKNOWN) for o in orders):
                continue
            outcome, reason = _outcome_of(statuses)
            await self._signals.finish(record.id, outcome, reason, None, self._clock())
            log.info("signal.reconciled", signal_id=record.id, outcome=outcome.value)
        return settled

    async def _finish_management(self, record: SignalRecord) -> None:
        """Re-send an interrupted stop move or cancel: both set a state, so doing it twice is harmless."""
        assert isinstance(record.signal, UpdateSignal | CancelSignal)
        target = None if record.target_signal_id is None else await self._signals.get(record.target_signal_id)
        if target is None:
            await self._signals.finish(record.id, Outcome.FAILED, "the managed signal is gone", None, self._clock())
            return
        plan = await self._management_plan(record.signal, target)
        if plan.outcome is not None:
            await self._signals.finish(record.id, plan.outcome, plan.reason, None, self._clock())
        else:
            await self._manage(record, plan.actions, time.perf_counter())
        log.info("signal.reconciled", signal_id=record.id, kind=record.signal.kind.value)

    def _record(
        self,
        envelope: SignalEnvelope,
        signal: Signal | None,
        outcome: Outcome | None,
        reason: str | None,
        target_signal_id: str | None = None,
    ) -> SignalRecord:
        return SignalRecord(
            id=make_signal_id(envelope.source, envelope.channel_id, envelope.message_id),
            source=envelope.source,
            channel_id=envelope.channel_id,
            message_id=envelope.message_id,
            author_id=envelope.author_id,
            received_at=envelope.received_at,
            text=envelope.text,
            signal=signal,
            fingerprint=None if signal is None else fingerprint(signal, target_signal_id),
            outcome=outcome,
            reason=reason,
            target_signal_id=target_signal_id,
        )

    async def _recorded(self, envelope: SignalEnvelope) -> ExecutionResult | None:
        """The result already recorded for this message, as a replay; None when it is new."""
        record = await self._signals.get_by_message(envelope.source, envelope.channel_id, envelope.message_id)
        if record is None:
            return None
        outcome = record.outcome if record.outcome is not None else Outcome.EXECUTED
        return ExecutionResult(outcome, record.id, record.reason, record.signal, replayed=True)

    async def _replayed(self, envelope: SignalEnvelope) -> ExecutionResult:
        seen = await self._recorded(envelope)
        if seen is None:  # pragma: no cover - the row that conflicted cannot vanish
            raise RuntimeError("signal row conflicted but cannot be read back")
        return seen


def _outcome_of(acks: list[OrderAck]) -> tuple[Outcome, str | None]:
    """Executed when every leg reached the venue; otherwise failed with the first leg's reason."""
    failed = [ack for ack in acks if not (ack.status.is_success or ack.status is OrderStatus.UNKNOWN)]
    if not failed:
        unknown = [ack for ack in acks if ack.status is OrderStatus.UNKNOWN]
        if unknown:
            return Outcome.FAILED, f"outcome unknown, reconciling: {unknown[0].reason}"
        return Outcome.EXECUTED, None
    return Outcome.FAILED, failed[0].reason or failed[0].status.value

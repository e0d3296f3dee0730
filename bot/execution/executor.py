"""The executor: risk, then the signal and its order intents in one transaction, then the broker.

A message's signal row and order rows are committed before any broker request, keyed by the message and
by deterministic client order ids, so a replayed event, a restart or a retry can never place a second
order for the same signal.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

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
from bot.errors import BrokerError, TemporaryBrokerError
from bot.execution.broker import Broker
from bot.execution.day_start import DayStartEquity
from bot.execution.ids import signal_id as make_signal_id
from bot.execution.kill_switch import KillSwitch
from bot.execution.management import Action, CancelEntry, MoveExits, entry_legs, plan_cancel, plan_update
from bot.execution.orders import close_leg, open_legs
from bot.execution.risk import RiskContext, RiskLimits, Sizing, daily_loss_reached, evaluate_close, evaluate_open
from bot.execution.submitter import Lookup, OrderSubmitter
from bot.execution.trace import SignalTrace, leg_events
from bot.metrics import Metrics
from bot.signals.schema import signal_to_dict
from storage.database import Database
from storage.orders import OrderRepository
from storage.signals import SignalRecord, SignalRepository
from storage.trace import TraceRepository

log = structlog.get_logger(__name__)
# A signal waits this long at most for a rate-limited venue to answer the risk look-ups once more.
_MAX_RISK_RETRY_WAIT = 2.0
Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class ExecutionSettings:
    time_in_force: str = "gtc"
    duplicate_window_seconds: float = 30.0


def fingerprint(signal: Signal) -> str:
    """The same normalized signal always has the same fingerprint (for the duplicate window)."""
    canonical = json.dumps(signal_to_dict(signal), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class _Plan:
    outcome: Outcome | None  # None: approved, orders to send
    reason: str | None
    legs: tuple[OrderRequest, ...] = ()
    actions: tuple[Action, ...] = ()  # for a signal that manages an earlier one
    target_signal_id: str | None = None


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
        async with self._db.transaction() as conn:
            inserted = await self._signals.insert(conn, record)
            if inserted:
                if signal is not None:
                    trace.decided(self._clock(), outcome, reason, 0)
                await TraceRepository.insert(conn, trace.take())
        if not inserted:
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
        if (seen := await self._recorded(envelope)) is not None:
            return seen  # skip the risk look-ups; the UNIQUE key below is what actually guards
        plan = await self._checked_plan(envelope, signal, manages)
        record = self._record(envelope, signal, plan.outcome, plan.reason, plan.target_signal_id)
        async with self._db.transaction() as conn:
            duplicate_of = await self._signals.find_recent_duplicate(
                conn,
                envelope.author_id,
                record.fingerprint or "",
                envelope.received_at - timedelta(seconds=self._settings.duplicate_window_seconds),
            )
            if duplicate_of is not None:
                plan = _Plan(Outcome.DUPLICATE, f"same signal as {duplicate_of} from the same author")
                record = self._record(envelope, signal, plan.outcome, plan.reason, plan.target_signal_id)
            inserted = await self._signals.insert(conn, record)
            if inserted:  # the early steps ride in this commit, before anything reaches the broker
                trace = trace or SignalTrace.received(envelope)
                trace.decided(self._clock(), plan.outcome, plan.reason, len(plan.legs) + len(plan.actions))
                await TraceRepository.insert(conn, trace.take())
            for leg, request in enumerate(plan.legs if inserted and plan.outcome is None else (), start=1):
                await self._orders.insert_intent(conn, record.id, leg, self._broker.name, request, self._clock())
        if not inserted:
            return await self._replayed(envelope)
        if plan.outcome is not None:
            return ExecutionResult(plan.outcome, record.id, plan.reason, signal)
        if plan.actions:
            return await self._manage(record, plan.actions, envelope.received_monotonic)
        return await self._send(record, plan.legs, envelope.received_monotonic)

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
        for action in actions:
            cid = action.client_order_id
            if isinstance(action, CancelEntry):
                ack = await self._submitter.modify("cancel_order", cid, partial(self._broker.cancel_order, cid))
                if ack.status is OrderStatus.CANCELED:
                    await self._orders.record_ack(ack, self._clock(), attempts=0)
                elif ack.status is OrderStatus.FILLED:
                    problems.append(f"{cid} had already filled: use CLOSE to exit the position")
            else:
                ack = await self._submitter.modify("replace_exits", cid, partial(self._move_exits, action))
                if ack.status.is_success:
                    await self._orders.set_exits(cid, action.stop_loss, action.take_profit, self._clock())
            if not (ack.status.is_success or ack.status is OrderStatus.CANCELED):
                problems.append(ack.reason or f"{cid} {ack.status.value}")
            log.info("order.managed", client_order_id=cid, action=type(action).__name__, status=ack.status.value)
            acks.append(ack)
        outcome, reason = (Outcome.FAILED, problems[0]) if problems else (Outcome.EXECUTED, None)
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
                ctx = await self._context(envelope, signal.symbol)
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
                ctx = await self._context(envelope, symbol)
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

    async def _context(self, envelope: SignalEnvelope, symbol: str) -> RiskContext:
        positions = await self._broker.positions()
        account = await self._broker.account()
        position = next((p for p in positions if p.symbol == symbol), None)
        return RiskContext(
            now=self._clock(),
            received_at=envelope.received_at,
            kill_switch=self._kill_switch.engaged,
            price=await self._broker.last_price(symbol),
            position=position,
            open_positions=sum(1 for p in positions if p.quantity != 0),
            equity=account.equity,
            daily_pnl=await self._day_start.pnl(account.equity),
            last_entry_at=await self._signals.last_entry_at(symbol) if self._limits.cooldown_seconds else None,
        )

    async def _send(self, record: SignalRecord, legs: tuple[OrderRequest, ...], started: float) -> ExecutionResult:
        acks: list[OrderAck] = []
        for leg, request in enumerate(legs, start=1):
            sent_at = self._clock()
            submission = await self._submitter.submit(request)
            ack, acked_at = submission.ack, self._clock()
            steps = leg_events(
                record.id, leg, request, ack, sent_at=sent_at, acked_at=acked_at, attempts=submission.attempts
            )
            await self._orders.record_ack(ack, acked_at, attempts=submission.attempts, events=steps)
            self._metrics.orders.labels(self._broker.name, ack.status.value).inc()
            log.info(
                "order.acknowledged",
                client_order_id=ack.client_order_id,
                status=ack.status.value,
                reason=ack.reason,
                attempts=submission.attempts,
            )
            acks.append(ack)
        latency = time.perf_counter() - started
        outcome, reason = _outcome_of(acks)
        if outcome is Outcome.EXECUTED:
            self._metrics.signal_to_order_seconds.observe(latency)
        if not any(ack.status is OrderStatus.UNKNOWN for ack in acks):
            # A leg whose outcome is unknown keeps the signal pending: start-up recovery settles both.
            await self._signals.finish(record.id, outcome, reason, latency, self._clock())
        return ExecutionResult(outcome, record.id, reason, record.signal, tuple(acks), latency_seconds=latency)

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
            fingerprint=None if signal is None else fingerprint(signal),
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

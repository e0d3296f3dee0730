"""The metric catalog: buckets as the design asks, and the series that exist from the start."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bot.domain import OrderStatus, Outcome
from bot.execution.submitter import _error_kind
from bot.metrics import BROKER_ERROR_KINDS, SIGNAL_TO_ORDER_BUCKETS, Metrics


def samples(metrics: Metrics, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    text = generate_latest(metrics.registry).decode()
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def test_signal_outcomes_of_both_sources_exist_at_zero_before_any_message() -> None:
    """rate() over signals_total sees the first signal of each outcome: every series starts at 0."""
    signals = samples(Metrics(), "tradecord_signals_total")
    expected = {(("outcome", o.value), ("source", s)) for s in ("discord", "webhook") for o in Outcome}
    assert set(signals) == expected
    assert set(signals.values()) == {0.0}
    assert samples(Metrics(), "tradecord_messages_seen_total") == {
        (("source", "discord"),): 0.0,
        (("source", "webhook"),): 0.0,
    }


def test_a_started_broker_and_limiter_have_zero_series_for_their_ratios() -> None:
    """Order statuses, error kinds and the limiter's throttle count exist at 0 once the broker is known."""
    metrics = Metrics()
    metrics.start_broker("paper")
    metrics.start_limiter("broker")
    orders = samples(metrics, "tradecord_orders_total")
    assert {dict(labels)["status"] for labels in orders} == {s.value for s in OrderStatus} - {"pending_submit"}
    assert {dict(labels)["kind"] for labels in samples(metrics, "tradecord_broker_errors_total")} == set(
        BROKER_ERROR_KINDS
    )
    assert samples(metrics, "tradecord_ratelimit_throttled_total") == {(("limiter", "broker"),): 0.0}
    assert samples(metrics, "tradecord_ratelimit_wait_seconds_count") == {(("limiter", "broker"),): 0.0}


def test_every_error_kind_the_submitter_can_report_is_pre_initialised() -> None:
    """The classification of broker errors never yields a kind outside the pre-initialised set."""
    names = [*BROKER_ERROR_KINDS, "OrderRejected", "InsufficientQuote", "AmbiguousOrderOutcome", "SomethingNew"]
    assert {_error_kind(name) for name in names} <= set(BROKER_ERROR_KINDS)


def test_signal_to_order_buckets_include_the_design_minimum() -> None:
    """DESIGN.md's signal_to_order_seconds buckets are all present, from 0.5 ms to 10 s."""
    required = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
    assert required <= set(SIGNAL_TO_ORDER_BUCKETS)

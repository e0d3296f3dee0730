"""Every Prometheus metric Tradecord exports, on an injected registry (DESIGN.md "Metrics").

Labels are low-cardinality by contract: never ids or symbols. Values that are cheaper to read than to keep
up to date (open positions, bucket tokens, queue depth, health) are collected at scrape time.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from bot import __version__
from bot.domain import OrderStatus, Outcome

SIGNAL_SOURCES = ("discord", "webhook")
# Every value the submitter's error classification can give `broker_errors_total{kind}`.
BROKER_ERROR_KINDS = (
    "rate_limited", "server_error", "timeout", "network", "temporary", "rejected", "ambiguous", "other",
)  # fmt: skip

# Message received -> broker acknowledgement: sub-millisecond on the paper broker, seconds on a slow venue.
SIGNAL_TO_ORDER_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip
PARSE_BUCKETS = (0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005)
# Broker calls: tens to hundreds of milliseconds over the internet, microseconds on paper.
BROKER_BUCKETS = (0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
WAIT_BUCKETS = (0.0, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
HTTP_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
DB_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)

GaugeSource = Callable[[], Iterable[tuple[tuple[str, ...], float]]]


class ScrapeTimeGauges(Collector):
    """Gauges whose values are read from live objects when Prometheus scrapes."""

    def __init__(self) -> None:
        self._sources: list[tuple[str, str, tuple[str, ...], GaugeSource]] = []

    def add(self, name: str, documentation: str, labels: tuple[str, ...], source: GaugeSource) -> None:
        self._sources.append((name, documentation, labels, source))

    def collect(self) -> Iterable[Metric]:
        for name, documentation, labels, source in self._sources:
            family = GaugeMetricFamily(name, documentation, labels=list(labels))
            for label_values, value in source():
                family.add_metric(list(label_values), value)
            yield family

    def describe(self) -> Iterable[Metric]:
        return []


class WaitSeries:
    """One limiter's waits: bucket counts, a separate count of the zero waits (most of them), the sum."""

    __slots__ = ("_bounds", "_counts", "_les", "_total", "zero")

    def __init__(self, bounds: tuple[float, ...], les: tuple[str, ...]) -> None:
        self._bounds, self._les = bounds, les
        self._counts = [0] * len(bounds)
        self._total = 0.0
        self.zero = 0

    def observe(self, seconds: float) -> None:
        if seconds <= 0:
            self.zero += 1
            return
        self._counts[bisect.bisect_left(self._bounds, seconds)] += 1  # Prometheus buckets are `le`
        self._total += seconds

    def buckets(self) -> list[tuple[str, float]]:
        cumulative, running = [], self.zero
        for le, count in zip(self._les, self._counts, strict=True):
            running += count
            cumulative.append((le, float(running)))
        return cumulative

    @property
    def total(self) -> float:
        return self._total


class WaitHistogram(Collector):
    """A labelled histogram for the rate limiters' waits, observed on every broker request.

    prometheus_client's Histogram takes a lock and searches the buckets on each observation, about 0.8 µs:
    more than the acquire it measures. Here a wait of 0 (the usual one) is an integer increment. Observed
    only from the event loop; the scrape reads plain integers.
    """

    def __init__(
        self, name: str, documentation: str, label: str, buckets: Iterable[float], registry: CollectorRegistry
    ):
        self._name, self._documentation, self._label = name, documentation, label
        self._bounds = (*sorted(b for b in buckets if b != math.inf), math.inf)
        if self._bounds[0] > 0:
            raise ValueError("the first bucket must hold the zero waits (0.0)")
        # The exposition's own spelling of each bound ("0.0", "0.001", "+Inf").
        self._les = tuple(floatToGoString(bound) for bound in self._bounds)  # type: ignore[no-untyped-call]
        self._series: dict[str, WaitSeries] = {}
        registry.register(self)

    def labels(self, value: str) -> WaitSeries:
        series = self._series.get(value)
        if series is None:
            series = self._series[value] = WaitSeries(self._bounds, self._les)
        return series

    def collect(self) -> Iterable[Metric]:
        family = HistogramMetricFamily(self._name, self._documentation, labels=[self._label])
        for value, series in self._series.items():
            family.add_metric([value], series.buckets(), series.total)
        yield family

    def describe(self) -> Iterable[Metric]:
        return [HistogramMetricFamily(self._name, self._documentation, labels=[self._label])]


class Metrics:
    """The metric objects; composition root creates one per process (tests create one per test)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        self.scrape_time = ScrapeTimeGauges()
        r.register(self.scrape_time)
        p = "tradecord_"
        self.build_info = Info(p + "build", "Tradecord version.", registry=r)
        self.build_info.info({"version": __version__})
        self.messages_seen = Counter(
            p + "messages_seen",
            "Messages received from each source (bot's own excluded).",
            ["source"],
            registry=r,
        )
        self.signals = Counter(p + "signals", "Messages by how they ended.", ["source", "outcome"], registry=r)
        self.signal_parse_seconds = Histogram(
            p + "signal_parse_seconds", "Time to parse one message.", buckets=PARSE_BUCKETS, registry=r
        )
        self.signal_to_order_seconds = Histogram(
            p + "signal_to_order_seconds",
            "From the moment the listener got a signal to the broker's acknowledgement of its orders.",
            buckets=SIGNAL_TO_ORDER_BUCKETS,
            registry=r,
        )
        self.orders = Counter(p + "orders", "Orders by broker and resulting status.", ["broker", "status"], registry=r)
        self.broker_request_seconds = Histogram(
            p + "broker_request_seconds",
            "Duration of one broker request.",
            ["broker", "operation"],
            buckets=BROKER_BUCKETS,
            registry=r,
        )
        self.broker_errors = Counter(
            p + "broker_errors", "Broker request failures by kind.", ["broker", "kind"], registry=r
        )
        self.ratelimit_wait_seconds = WaitHistogram(
            p + "ratelimit_wait_seconds", "Time a request waited for its rate limiter.", "limiter", WAIT_BUCKETS, r
        )
        self.ratelimit_throttled = Counter(
            p + "ratelimit_throttled", "Requests that had to wait for a token.", ["limiter"], registry=r
        )
        self.http_requests = Counter(
            p + "http_requests", "Side-server requests by route and status.", ["route", "status"], registry=r
        )
        self.http_request_seconds = Histogram(
            p + "http_request_seconds",
            "Side-server request duration.",
            ["route"],
            buckets=HTTP_BUCKETS,
            registry=r,
        )
        self.webhook_requests = Counter(p + "webhook_requests", "Webhook calls by outcome.", ["outcome"], registry=r)
        self.webhook_rate_limited = Counter(
            p + "webhook_rate_limited",
            "Webhook calls refused by a rate limit, by scope (ip, global).",
            ["scope"],
            registry=r,
        )
        self.webhook_bans = Counter(p + "webhook_bans", "Temporary bans imposed on webhook clients.", registry=r)
        self.discord_connected = Gauge(p + "discord_connected", "1 while the gateway is connected.", registry=r)
        self.discord_latency_seconds = Gauge(p + "discord_latency_seconds", "Gateway heartbeat latency.", registry=r)
        self.event_loop_lag_seconds = Gauge(
            p + "event_loop_lag_seconds", "How late the event loop ran a timer, last sample.", registry=r
        )
        self.kill_switch_engaged = Gauge(p + "kill_switch_engaged", "1 while trading is paused.", registry=r)
        self.open_positions = Gauge(
            p + "open_positions", "Symbols with a non-zero position (last position read plus fills since).", registry=r
        )
        self.db_write_seconds = Histogram(
            p + "db_write_seconds",
            "Duration of one database write transaction.",
            buckets=DB_BUCKETS,
            registry=r,
        )
        # Series that exist from the start: rate() and ratio alerts then see the first increment too.
        for source in SIGNAL_SOURCES:
            self.messages_seen.labels(source)
            for outcome in Outcome:
                self.signals.labels(source, outcome.value)

    def start_broker(self, broker: str) -> None:
        """Zero series for a broker's order statuses and error kinds (`pending_submit` is never acknowledged)."""
        for status in OrderStatus:
            if status is not OrderStatus.PENDING_SUBMIT:
                self.orders.labels(broker, status.value)
        for kind in BROKER_ERROR_KINDS:
            self.broker_errors.labels(broker, kind)

    def start_limiter(self, limiter: str) -> None:
        """Zero series for a rate limiter, so its block rate is 0 rather than absent before any wait."""
        self.ratelimit_throttled.labels(limiter)
        self.ratelimit_wait_seconds.labels(limiter)

    def observe_db_flush(self, seconds: float, _rows: int) -> None:
        self.db_write_seconds.observe(seconds)

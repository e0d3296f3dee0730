"""Every Prometheus metric Tradecord exports, on an injected registry (DESIGN.md "Metrics").

Labels are low-cardinality by contract: never ids or symbols. Values that are cheaper to read than to keep
up to date (open positions, bucket tokens, queue depth, health) are collected at scrape time.
"""

from __future__ import annotations

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
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

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
        self.ratelimit_wait_seconds = Histogram(
            p + "ratelimit_wait_seconds",
            "Time a request waited for its rate limiter.",
            ["limiter"],
            buckets=WAIT_BUCKETS,
            registry=r,
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

"""Our `/metrics` against the real Prometheus tools: promtool's linter and a Prometheus server scraping the bot."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import Runtime
from bot.discord_emulator import FakeDiscord
from tests.e2e import e2e_settings, running_tradecord, wait_until
from tests.fake_discord.fixtures import BotRunner, DiscordWorld
from tests.prometheus_tools import (
    DEPLOY,
    PrometheusServer,
    metrics_text,
    needs_prometheus,
    needs_promtool,
    poll,
    post_signals,
    promtool,
)

pytestmark = pytest.mark.slow

TOKEN = "metrics-token-for-tests"
StartPrometheus = Callable[[dict[str, Any]], Awaitable[PrometheusServer]]

# DESIGN.md "Metrics": family name (as the parser reports it) -> (type, label names).
DESIGN_METRICS = {
    "tradecord_messages_seen": ("counter", {"source"}),
    "tradecord_signals": ("counter", {"source", "outcome"}),
    "tradecord_signal_parse_seconds": ("histogram", set()),
    "tradecord_signal_to_order_seconds": ("histogram", set()),
    "tradecord_orders": ("counter", {"broker", "status"}),
    "tradecord_broker_request_seconds": ("histogram", {"broker", "operation"}),
    "tradecord_broker_errors": ("counter", {"broker", "kind"}),
    "tradecord_ratelimit_wait_seconds": ("histogram", {"limiter"}),
    "tradecord_ratelimit_tokens": ("gauge", {"limiter"}),
    "tradecord_ratelimit_throttled": ("counter", {"limiter"}),
    "tradecord_http_requests": ("counter", {"route", "status"}),
    "tradecord_http_request_seconds": ("histogram", {"route"}),
    "tradecord_webhook_requests": ("counter", {"outcome"}),
    "tradecord_discord_connected": ("gauge", set()),
    "tradecord_discord_latency_seconds": ("gauge", set()),
    "tradecord_event_loop_lag_seconds": ("gauge", set()),
    "tradecord_open_positions": ("gauge", set()),
    "tradecord_kill_switch_engaged": ("gauge", set()),
    "tradecord_db_write_seconds": ("histogram", set()),
    "tradecord_db_queue_depth": ("gauge", set()),
    "tradecord_health_status": ("gauge", {"component"}),
    "tradecord_build_info": ("gauge", {"version"}),
    "process_resident_memory_bytes": ("gauge", set()),
    "process_cpu_seconds": ("counter", set()),
    "python_info": ("gauge", {"implementation", "major", "minor", "patchlevel", "version"}),
}


async def exercised_bot_metrics(runtime: Runtime, fake: FakeDiscord, world: DiscordWorld) -> None:
    """Signals of several outcomes, one health check: histograms and labelled counters get series."""
    await post_signals(fake, world)
    chatter = runtime.services.metrics.signals.labels("discord", "not_a_signal")
    await wait_until(lambda: chatter._value.get() == 1, what="the chatter message counted")
    await runtime.services.health.check()


@needs_promtool
async def test_promtool_finds_nothing_wrong_with_the_real_metrics_output(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """`promtool check metrics` accepts a running bot's /metrics, with no lint remark at all."""
    settings = e2e_settings(tmp_path, fake_discord, discord_world)
    async with running_tradecord(settings, run_bot) as runtime:
        await exercised_bot_metrics(runtime, fake_discord, discord_world)
        text = await metrics_text(runtime)
    result = await asyncio.to_thread(promtool, "check", "metrics", stdin=text)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (result.stdout + result.stderr).strip() == ""


async def test_every_metric_of_the_design_is_exported_with_its_type_and_labels(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """Each DESIGN.md metric has help text, its type and exactly its labels; start-up values exist at 0."""
    settings = e2e_settings(tmp_path, fake_discord, discord_world)
    async with running_tradecord(settings, run_bot) as runtime:
        at_start = {family.name: family for family in text_string_to_metric_families(await metrics_text(runtime))}
        await exercised_bot_metrics(runtime, fake_discord, discord_world)
        exercised = {family.name: family for family in text_string_to_metric_families(await metrics_text(runtime))}
    for name, (kind, labels) in DESIGN_METRICS.items():
        family = exercised[name]
        assert family.type == kind, name
        assert family.documentation, name
        label_sets = {frozenset(sample.labels) - {"le"} for sample in family.samples}
        assert label_sets <= {frozenset(labels)}, name
    signals_at_start = {tuple(sorted(s.labels.values())) for s in at_start["tradecord_signals"].samples}
    assert len(signals_at_start) == 2 * 7  # both sources x every outcome, before any message
    assert all(s.value == 0 for s in at_start["tradecord_signals"].samples)
    assert {s.labels["status"] for s in at_start["tradecord_orders"].samples} >= {"filled", "rejected", "failed"}
    assert len(at_start["tradecord_broker_errors"].samples) == 8
    assert [s.value for s in at_start["tradecord_ratelimit_throttled"].samples] == [0.0]
    positions = exercised["tradecord_open_positions"].samples
    assert [s.value for s in positions] == [2.0]  # long AAPL, short TSLA


@pytest.fixture
async def start_prometheus(tmp_path: Path) -> AsyncIterator[StartPrometheus]:
    """Starts real Prometheus servers on loopback; every one is terminated at teardown, whatever happened."""
    started: list[PrometheusServer] = []

    async def start(config: dict[str, Any]) -> PrometheusServer:
        server = PrometheusServer(tmp_path / f"prometheus-{len(started)}", config)
        started.append(server)
        await server.start()
        return server

    try:
        yield start
    finally:
        for server in started:
            await server.stop()


def scrape_config(bot_port: int) -> dict[str, Any]:
    target = {"targets": [f"127.0.0.1:{bot_port}"]}
    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(DEPLOY / "prometheus" / "alerts.yml")],
        "scrape_configs": [
            {"job_name": "tradecord", "static_configs": [target], "authorization": {"credentials": TOKEN}},
            {"job_name": "tradecord_without_token", "static_configs": [target]},
        ],
    }


def histogram_quantile(q: float, cumulative: dict[float, float]) -> float:
    """Prometheus' histogram_quantile over {upper bound: cumulative count} (linear within a bucket)."""
    bounds = sorted(cumulative)
    rank = q * cumulative[math.inf]
    lower, below = 0.0, 0.0
    for bound in bounds:
        if cumulative[bound] >= rank:
            if bound == math.inf:
                return lower
            return lower + (bound - lower) * (rank - below) / (cumulative[bound] - below)
        lower, below = bound, cumulative[bound]
    raise AssertionError("no +Inf bucket")


def series_values(text: str, family_name: str) -> dict[tuple[tuple[str, str], ...], float]:
    family = next(f for f in text_string_to_metric_families(text) if f.name == family_name)
    return {tuple(sorted(s.labels.items())): s.value for s in family.samples if s.name == family_name + "_total"}


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana" / "tradecord.json").read_text())
    variables = {"$job": ".*", "$instance": ".*", "$__rate_interval": "1m"}
    expressions = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in variables.items():
                expr = expr.replace(variable, value)
            expressions.append(expr)
    return expressions


@needs_prometheus
async def test_a_real_prometheus_scrapes_the_bot_with_its_token_and_evaluates_our_rules(
    tmp_path: Path,
    fake_discord: FakeDiscord,
    discord_world: DiscordWorld,
    run_bot: BotRunner,
    start_prometheus: StartPrometheus,
) -> None:
    """Prometheus scrapes /metrics with the bearer token (401 without), stores our values, loads every rule."""
    settings = e2e_settings(tmp_path, fake_discord, discord_world, server={"metrics_token": TOKEN})
    async with running_tradecord(settings, run_bot) as runtime:
        await exercised_bot_metrics(runtime, fake_discord, discord_world)
        ours = await metrics_text(runtime, TOKEN)
        assert runtime.server is not None
        prometheus = await start_prometheus(scrape_config(runtime.server.port))

        with_token = await poll(lambda: prometheus.target("tradecord"), timeout=30, what="the first scrape")
        assert with_token["health"] == "up", with_token["lastError"]
        without = await poll(lambda: prometheus.target("tradecord_without_token"), timeout=30, what="a scrape")
        assert without["health"] == "down" and "401" in without["lastError"]

        stored = {
            (r["metric"]["source"], r["metric"]["outcome"]): float(r["value"][1])
            for r in await prometheus.query('tradecord_signals_total{job="tradecord"}')
        }
        expected = {
            (labels["source"], labels["outcome"]): value
            for labels, value in ((dict(k), v) for k, v in series_values(ours, "tradecord_signals").items())
        }
        assert stored == expected
        assert stored[("discord", "executed")] == 2 and stored[("discord", "not_a_signal")] == 1
        assert stored[("webhook", "executed")] == 0

        buckets = {
            float(s.labels["le"]): s.value
            for f in text_string_to_metric_families(ours)
            if f.name == "tradecord_signal_to_order_seconds"
            for s in f.samples
            if s.name.endswith("_bucket")
        }
        median = await prometheus.query(
            'histogram_quantile(0.5, sum by (le) (tradecord_signal_to_order_seconds_bucket{job="tradecord"}))'
        )
        assert len(median) == 1
        assert math.isclose(float(median[0]["value"][1]), histogram_quantile(0.5, buckets), rel_tol=1e-9)
        assert 0 < float(median[0]["value"][1]) <= 10

        positions = await prometheus.query('tradecord_open_positions{job="tradecord"}')
        assert [float(r["value"][1]) for r in positions] == [2.0]

        for expr in dashboard_expressions():
            await prometheus.query(expr)  # asserts Prometheus accepted the expression

        async def rules_evaluated() -> list[dict[str, Any]] | None:
            groups = (await prometheus.api("rules"))["groups"]
            rules = [rule for group in groups for rule in group["rules"]]
            return rules if rules and all(rule["health"] != "unknown" for rule in rules) else None

        rules = await poll(rules_evaluated, timeout=30, what="every alert rule to be evaluated")
    assert len(rules) == 15
    for rule in rules:
        assert rule["health"] == "ok", (rule["name"], rule.get("lastError"))
        assert rule["type"] == "alerting" and rule["duration"] > 0, rule["name"]
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["name"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["name"]

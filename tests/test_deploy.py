"""The files in deploy/: Prometheus config and alert rules pass promtool, the Grafana dashboard imports,
and everything they query is a metric the bot really exports (a rename breaks these tests)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from bot.discord_emulator import FakeDiscord
from tests.e2e import e2e_settings, running_tradecord, wait_until
from tests.fake_discord.fixtures import BotRunner, DiscordWorld
from tests.prometheus_tools import (
    DEPLOY,
    METRIC_NAME,
    exposed_names,
    metrics_text,
    needs_promtool,
    post_signals,
    promtool,
)

PROMETHEUS_DIR = DEPLOY / "prometheus"
# An alert_rule_test entry whose expected alerts are listed (the quiet cases say `exp_alerts: []`).
FIRING_CASE = re.compile(r"alertname: (\w+)\s*\n\s*exp_alerts:\s*\n\s*- exp_labels")
DASHBOARD = DEPLOY / "grafana" / "tradecord.json"
# The panels the dashboard promises, by the metric each one reads.
DASHBOARD_METRICS = {
    "tradecord_signals_total",
    "tradecord_orders_total",
    "tradecord_signal_to_order_seconds_bucket",
    "tradecord_signal_parse_seconds_bucket",
    "tradecord_broker_request_seconds_bucket",
    "tradecord_broker_errors_total",
    "tradecord_ratelimit_tokens",
    "tradecord_ratelimit_throttled_total",
    "tradecord_ratelimit_wait_seconds_bucket",
    "tradecord_webhook_requests_total",
    "tradecord_discord_connected",
    "tradecord_discord_latency_seconds",
    "tradecord_event_loop_lag_seconds",
    "tradecord_health_status",
    "process_resident_memory_bytes",
    "process_cpu_seconds_total",
    "tradecord_kill_switch_engaged",
}


def dashboard() -> dict[str, Any]:
    loaded = json.loads(DASHBOARD.read_text())
    assert isinstance(loaded, dict)
    return loaded


def dashboard_expressions() -> list[str]:
    return [target["expr"] for panel in dashboard()["panels"] for target in panel.get("targets", [])]


@pytest.mark.slow
@needs_promtool
def test_prometheus_config_and_its_rule_file_pass_promtool() -> None:
    """`promtool check config` accepts prometheus.yml and finds alerts.yml through its relative rule_files path."""
    result = promtool("check", "config", str(PROMETHEUS_DIR / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rule files found" in result.stdout
    assert "alerts.yml" in result.stdout and "15 rules found" in result.stdout


@pytest.mark.slow
@needs_promtool
def test_alert_rules_pass_promtool_check_rules() -> None:
    """`promtool check rules` finds every alert rule valid."""
    result = promtool("check", "rules", str(PROMETHEUS_DIR / "alerts.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 15 rules found" in result.stdout


@pytest.mark.slow
@needs_promtool
def test_alert_rule_unit_tests_pass() -> None:
    """`promtool test rules alerts_test.yml`: each rule fires on bad series and stays quiet on healthy ones."""
    result = promtool("test", "rules", str(PROMETHEUS_DIR / "alerts_test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_rule_has_a_unit_test_that_fires_it() -> None:
    """Each alert name in alerts.yml is expected to fire (non-empty exp_alerts) somewhere in alerts_test.yml."""
    rules = (PROMETHEUS_DIR / "alerts.yml").read_text()
    tests = (PROMETHEUS_DIR / "alerts_test.yml").read_text()
    names = {line.split(":", 1)[1].strip() for line in rules.splitlines() if line.strip().startswith("- alert:")}
    assert len(names) == 10
    fired = set(FIRING_CASE.findall(tests))
    assert names <= fired, names - fired


def test_dashboard_is_an_importable_grafana_dashboard() -> None:
    """The JSON has Grafana's dashboard shape: a datasource variable every panel uses, unique ids, a 24-column grid."""
    board = dashboard()
    assert board["schemaVersion"] >= 36 and board["title"] == "Tradecord" and board["uid"]
    variables = {variable["name"]: variable for variable in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"] and all(target["expr"] for target in panel["targets"]), panel["title"]
        assert len({target["refId"] for target in panel["targets"]}) == len(panel["targets"]), panel["title"]


def test_dashboard_has_a_panel_for_every_promised_metric() -> None:
    """Panels for signals, orders, latency, parsing, broker, rate limits, webhook, Discord, loop, health, process."""
    used = {name for expr in dashboard_expressions() for name in METRIC_NAME.findall(expr)}
    assert used >= DASHBOARD_METRICS, DASHBOARD_METRICS - used


@pytest.mark.slow
async def test_alerts_and_dashboard_only_query_metrics_the_bot_exports(
    tmp_path: Path, fake_discord: FakeDiscord, discord_world: DiscordWorld, run_bot: BotRunner
) -> None:
    """Every metric name in alerts.yml, alerts_test.yml and the dashboard is in a running bot's /metrics."""
    settings = e2e_settings(tmp_path, fake_discord, discord_world)
    async with running_tradecord(settings, run_bot) as runtime:
        await post_signals(fake_discord, discord_world)
        chatter = runtime.services.metrics.signals.labels("discord", "not_a_signal")
        await wait_until(lambda: chatter._value.get() == 1, what="the chatter message counted")
        await runtime.services.health.check()
        exported = exposed_names(await metrics_text(runtime))
    texts = await asyncio.to_thread(
        lambda: {
            path.name: path.read_text()
            for path in (PROMETHEUS_DIR / "alerts.yml", PROMETHEUS_DIR / "alerts_test.yml", DASHBOARD)
        }
    )
    for name, text in texts.items():
        used = set(METRIC_NAME.findall(text))
        assert used, name
        assert used <= exported, f"{name} names metrics the bot does not export: {sorted(used - exported)}"

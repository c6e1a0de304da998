"""The Grafana dashboard: valid, deterministic JSON whose queries parse and read only
metrics the daemons really export."""

from __future__ import annotations

import json
import re
from pathlib import Path

import promql_parser
import pytest
from click.testing import CliRunner
from prometheus_client import CollectorRegistry
from syrupy.assertion import SnapshotAssertion

from converge.compiler import dashboard
from converge.compiler.commands import main as cli
from converge.reconciler.core import metrics as core_metrics
from converge.reconciler.healer.metrics import HealerMetrics
from converge.reconciler.notifier.metrics import NotifierMetrics
from converge.reconciler.scaler.metrics import ScalerMetrics
from converge.reconciler.server.metrics import ServerMetrics
from converge.reconciler.sidecar.metrics import SidecarMetrics

_GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"),
             "gauge": ("",), "info": ("_info",)}


def _exported_names() -> set[str]:
    """Every series name the daemons' metric definitions export."""
    registry = CollectorRegistry()
    SidecarMetrics(registry, "prometheus")
    ServerMetrics(registry)
    NotifierMetrics(registry)
    HealerMetrics(registry)
    ScalerMetrics(registry)
    for daemon in ("sidecar", "server", "notifier", "healer", "scaler"):
        core_metrics.LoopMetrics(registry, daemon)
        core_metrics.HttpMetrics(registry, daemon)
        core_metrics.LoopLag(registry, daemon)
        core_metrics.build_info(registry, daemon, "0")
    return {family.name + suffix for family in registry.collect()
            for suffix in _SUFFIXES[family.type]}


def _substituted(expr: str) -> str:
    for variable, value in _GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


EXPRESSIONS = dashboard.expressions(dashboard.dashboard())


def test_dashboard_is_deterministic_json(snapshot: SnapshotAssertion) -> None:
    text = dashboard.render()
    assert text == dashboard.render()
    data = json.loads(text)
    assert data["uid"] == dashboard.UID
    assert data["schemaVersion"] == dashboard.SCHEMA_VERSION
    assert text == snapshot


def test_datasource_is_a_prometheus_template_variable() -> None:
    data = dashboard.dashboard()
    [variable] = data["templating"]["list"]
    assert (variable["name"], variable["type"], variable["query"]) == (
        "datasource", "datasource", "prometheus")
    for panel in data["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert all(t["datasource"] == panel["datasource"] for t in panel["targets"])


def test_panel_ids_are_unique_and_panels_fit_the_grid() -> None:
    panels = dashboard.dashboard()["panels"]
    assert [p["id"] for p in panels] == list(range(1, len(panels) + 1))
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
    positions = [(p["gridPos"]["x"], p["gridPos"]["y"]) for p in panels]
    assert len(set(positions)) == len(positions)


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_every_expression_parses(expr: str) -> None:
    promql_parser.parse(_substituted(expr))


def test_every_metric_exists() -> None:
    exported = _exported_names()
    referenced = {name for expr in EXPRESSIONS for name in re.findall(r"\bconverge_\w+", expr)}
    assert referenced, "the dashboard reads no converge metric"
    assert referenced <= exported, sorted(referenced - exported)


@pytest.mark.parametrize("needle", [
    "converge_sidecar_syncs_total", "converge_sidecar_converged",
    "histogram_quantile(0.95, sum by (target, le) "
    "(rate(converge_sidecar_reload_duration_seconds_bucket",
    "converge_sidecar_bundle_info", "converge_server_compiles_total",
    "converge_notifier_delivered_total", "converge_notifier_retried_total",
    "converge_notifier_dead_lettered_total", "converge_notifier_queue_depth",
    "converge_notifier_delivery_latency_seconds_bucket", "converge_healer_restarts_total",
    "converge_healer_checks_total", "converge_healer_budget_exhausted_total",
    "converge_healer_mtbf_seconds", "converge_scaler_desired_replicas",
    "converge_scaler_current_replicas", "converge_scaler_decisions_total",
])
def test_covers(needle: str) -> None:
    assert any(needle in expr for expr in EXPRESSIONS)


def test_cli_writes_the_dashboard(tmp_path: Path, runner: CliRunner) -> None:
    out = tmp_path / "grafana" / "converge.json"
    result = runner.invoke(cli.main, ["dashboard", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == dashboard.render()
    printed = runner.invoke(cli.main, ["dashboard"])
    assert printed.exit_code == 0
    assert printed.output == dashboard.render()

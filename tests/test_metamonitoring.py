"""The `metaMonitoring` switch: alert rules for converge's own daemons."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import realtools
import valid_repo
import yaml

from converge.compiler import pipeline, render
from converge.compiler.sources import SourceFile

META_ALERTS = ["ConvergeSidecarDown", "ConvergeServerDown", "ConvergeSyncFailing",
               "ConvergeTargetNotConverged", "ConvergeConfigStale", "ConvergeCompileFailing",
               "ConvergeNotifierDown", "ConvergeHealerDown", "ConvergeScalerDown",
               "ConvergeDaemonRestarting", "ConvergeNotifierBacklog",
               "ConvergeNotifierDeadLetters", "ConvergeEscalationsPending",
               "ConvergeHealerBudgetExhausted", "ConvergeScalerHolding"]


def _compile(meta: dict[str, Any] | None) -> tuple[pipeline.CheckResult, dict[str, str]]:
    docs = valid_repo.documents()
    if meta is not None:
        docs[0]["spec"]["metaMonitoring"] = meta
    result = pipeline.check([SourceFile("converge.yaml", valid_repo.dump(docs))])
    assert result.model is not None
    return result, render.render(result.model) if result.ok else {}


def test_off_by_default() -> None:
    _, files = _compile(None)
    assert not [path for path in files if "converge-meta" in path]


def test_on_renders_one_prometheus_group_with_every_alert() -> None:
    result, files = _compile({"enabled": True, "labels": {"team": "sre"}, "for": "15m",
                              "sidecarJob": "sidecars", "staleAfter": "2h"})
    # valid_repo routes everything to DingTalk: the notifier-down alert would go through
    # the notifier it reports on
    assert [d.code for d in result.diagnostics] == ["route/meta-through-notifier"]
    assert "vmalert/rules/converge-meta.yaml" not in files  # evaluated once, by Prometheus
    group = yaml.safe_load(files["prometheus/rules/converge-meta.yaml"])["groups"][0]
    rules = {rule["alert"]: rule for rule in group["rules"]}
    assert list(rules) == META_ALERTS
    for rule in rules.values():
        assert rule["labels"]["team"] == "sre"
        assert rule["labels"]["source"] == "converge-meta-monitoring"
        assert rule["labels"]["severity"] in {"warning", "critical"}
    assert rules["ConvergeSyncFailing"]["for"] == "15m"
    assert 'job="sidecars"' in rules["ConvergeTargetNotConverged"]["expr"]
    assert rules["ConvergeConfigStale"]["expr"].endswith("> 7200")
    assert 'job="converge-notifier"' in rules["ConvergeNotifierDeadLetters"]["expr"]
    assert rules["ConvergeNotifierBacklog"]["expr"].endswith("> 600")
    assert "converge_healer_start_time_seconds" in rules["ConvergeDaemonRestarting"]["expr"]


def test_the_daemon_metrics_the_rules_read_exist() -> None:
    """Every converge_* metric the meta rules read is one a daemon exports."""
    import re

    from converge.reconciler import docgen

    _, files = _compile({"enabled": True})
    text = files["prometheus/rules/converge-meta.yaml"]
    read = {name for name in re.findall(r"converge_[a-z_]+", text)
            if not name.endswith("_start_time_seconds")}  # every daemon's, in daemons.md
    read -= {"converge_meta_monitoring"}
    exported = set(re.findall(r"converge_[a-z_]+", docgen.reference()))
    assert read <= exported, sorted(read - exported)


def test_group_name_clash_is_reported_at_the_switch() -> None:
    docs = valid_repo.documents()
    docs[0]["spec"]["metaMonitoring"] = {"enabled": True, "group": "system"}
    result = pipeline.check([SourceFile("converge.yaml", valid_repo.dump(docs))])
    clashes = [d for d in result.diagnostics if d.code == "name/duplicate"]
    assert clashes, result.diagnostics


def test_job_names_are_escaped_into_valid_promql(tmp_path: Path) -> None:
    result, files = _compile({"enabled": True, "sidecarJob": 'side"car\\x'})
    assert result.ok, result.diagnostics
    path = tmp_path / "meta.yaml"
    path.write_text(files["prometheus/rules/converge-meta.yaml"])
    checked = realtools.run("promtool", "check", "rules", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr

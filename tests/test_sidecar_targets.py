"""The sidecar against the real Prometheus, Alertmanager and vmalert: first sync, a change,
a bundle the target rejects (rolled back, old rules kept), a corrupted source (refused
before writing), secrets, a restart, and a target that restarts after a failed reload."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sidecar_bundles
from sidecar_harness import (
    Rig,
    alertmanager_rig,
    metric,
    prometheus_rig,
    rule_files,
    start_alertmanager,
    sync,
    vmalert_rig,
)

from converge.reconciler.sidecar import expect

__all__ = ["alertmanager_rig", "prometheus_rig", "vmalert_rig"]  # fixtures used by name

pytestmark = pytest.mark.realtools


def _groups(n: int) -> dict[str, int]:
    files = rule_files(sidecar_bundles.compiled(n), "prometheus")
    return {group: len(rules) for (_, group), rules in expect.rule_groups(
        files, with_query=False).items()}


def _bad_rules(n: int, target: str) -> dict[str, bytes]:
    """Bundle `n` with an expression the target cannot parse, hashes recomputed."""
    files = sidecar_bundles.compiled(n)
    path = f"{target}/rules/g1.yaml"
    files[path] = files[path].replace(b'== 0"', b'== "', 1)
    return sidecar_bundles.rehashed(files)


@pytest.mark.parametrize("rig_name", ["prometheus_rig", "vmalert_rig"])
def test_first_sync_then_a_change_reach_the_rule_target(
        rig_name: str, request: pytest.FixtureRequest) -> None:
    rig: Rig = request.getfixturevalue(rig_name)
    assert rig.process is not None
    rig.publish_source(sidecar_bundles.compiled(1))
    sidecar = rig.sidecar(validate=True)

    first = sync(sidecar)
    assert (first.result, first.step.value) == ("success", "apply"), first.reason
    assert rig.process.groups() == _groups(1)
    assert rig.published() == rule_files(sidecar_bundles.compiled(1), rig.target)
    assert metric(sidecar, "converge_sidecar_converged") == 1
    assert sync(sidecar).result == "unchanged"

    rig.publish_source(sidecar_bundles.compiled(3))
    changed = sync(sidecar)
    assert changed.result == "success", changed.reason
    assert rig.process.groups() == _groups(3)
    assert metric(sidecar, "converge_sidecar_syncs_total", result="success") == 2
    assert metric(sidecar, "converge_sidecar_syncs_total", result="unchanged") == 1
    hash3 = sidecar_bundles.target_hash(sidecar_bundles.compiled(3), rig.target)
    assert metric(sidecar, "converge_sidecar_bundle_info", hash=hash3, commit="") == 1
    assert metric(sidecar, "converge_sidecar_reload_duration_seconds_count") == 2


def test_first_sync_then_a_change_reach_alertmanager(alertmanager_rig: Rig) -> None:
    rig = alertmanager_rig
    rig.publish_source(sidecar_bundles.compiled(1))
    sidecar = rig.sidecar(validate=True)
    early = sync(sidecar)  # Alertmanager is not running yet: the checked set stays on disk
    assert early.result == "failure" and "reload request" in early.reason
    assert (rig.dest / "alertmanager.yaml").is_file()

    process = start_alertmanager(rig)
    first = sync(sidecar)
    assert (first.result, first.step.value) == ("success", "reload"), first.reason
    config = sidecar_bundles.compiled(1)["alertmanager/alertmanager.yaml"]
    assert process.metric("alertmanager_config_hash") == expect.alertmanager_config_hash(config)

    rig.publish_source(sidecar_bundles.compiled(2))
    changed = sync(sidecar)
    assert changed.result == "success", changed.reason
    assert "hook/2" in process.get("/api/v2/status").json()["config"]["original"]
    assert metric(sidecar, "converge_sidecar_converged") == 1


@pytest.mark.parametrize("rig_name", ["prometheus_rig", "vmalert_rig"])
def test_a_rejected_bundle_is_rolled_back_and_a_fix_picked_up(
        rig_name: str, request: pytest.FixtureRequest) -> None:
    rig: Rig = request.getfixturevalue(rig_name)
    assert rig.process is not None
    rig.publish_source(sidecar_bundles.compiled(1))
    sidecar = rig.sidecar(validate=False)  # let the bad bundle reach the target
    assert sync(sidecar).result == "success"
    good = rig.published()

    rig.publish_source(_bad_rules(2, rig.target))
    failed = sync(sidecar)
    assert failed.result == "failure" and failed.rolled_back, failed.reason
    assert "rolled back" in failed.reason
    assert rig.process.groups() == _groups(1)
    assert rig.published() == good  # a target restarting now reads the good set
    assert metric(sidecar, "converge_sidecar_converged") == 0
    assert (metric(sidecar, "converge_sidecar_last_failure_timestamp_seconds") or 0) > 0

    again = sync(sidecar)  # the same bad hash is retried, not skipped as unchanged
    assert again.result == "failure" and again.attempted == failed.attempted

    rig.publish_source(sidecar_bundles.compiled(3))
    fixed = sync(sidecar)
    assert fixed.result == "success", fixed.reason
    assert rig.process.groups() == _groups(3)
    assert metric(sidecar, "converge_sidecar_converged") == 1


def test_a_rejected_alertmanager_config_is_rolled_back(alertmanager_rig: Rig) -> None:
    rig = alertmanager_rig
    rig.publish_source(sidecar_bundles.compiled(1))
    sidecar = rig.sidecar(validate=False)
    sync(sidecar)
    process = start_alertmanager(rig)
    assert sync(sidecar).result == "success"
    good = process.metric("alertmanager_config_hash")

    files = sidecar_bundles.compiled(2)
    files["alertmanager/alertmanager.yaml"] += b"no_such_field: true\n"
    rig.publish_source(sidecar_bundles.rehashed(files))
    failed = sync(sidecar)
    assert failed.result == "failure" and failed.rolled_back, failed.reason
    assert process.metric("alertmanager_config_hash") == good
    assert process.metric("alertmanager_config_last_reload_successful") == 1


@pytest.mark.parametrize("rig_name", ["prometheus_rig", "vmalert_rig"])
def test_the_targets_checker_refuses_before_publishing(
        rig_name: str, request: pytest.FixtureRequest) -> None:
    rig: Rig = request.getfixturevalue(rig_name)
    rig.publish_source(sidecar_bundles.compiled(1))
    sidecar = rig.sidecar(validate=True)
    assert sync(sidecar).result == "success"
    link = os.readlink(rig.dest)

    rig.publish_source(_bad_rules(2, rig.target))
    refused = sync(sidecar)
    assert refused.result == "failure" and "not published" in refused.reason
    assert ("promtool" if rig.target == "prometheus" else "vmalert") in refused.reason
    assert os.readlink(rig.dest) == link


def test_a_corrupted_file_is_refused_before_writing(prometheus_rig: Rig) -> None:
    rig = prometheus_rig
    rig.publish_source(sidecar_bundles.compiled(1))
    sidecar = rig.sidecar()
    assert sync(sidecar).result == "success"
    versions = sorted(p.name for p in (sidecar.syncer.publisher.versions).iterdir())

    files = sidecar_bundles.compiled(2)
    files["prometheus/rules/g2.yaml"] = files["prometheus/rules/g2.yaml"].replace(
        b"job2", b"evil")
    rig.publish_source(files)
    refused = sync(sidecar)
    assert refused.result == "failure" and "SHA-256" in refused.reason
    assert sorted(p.name for p in (sidecar.syncer.publisher.versions).iterdir()) == versions
    assert metric(sidecar, "converge_sidecar_source_up") == 1


def test_secrets_are_resolved_on_the_host_and_a_missing_one_publishes_nothing(
        alertmanager_rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    rig = alertmanager_rig
    rig.publish_source(sidecar_bundles.compiled(1, secret_env="HOOK_URL"))
    monkeypatch.delenv("HOOK_URL", raising=False)
    sidecar = rig.sidecar(validate=True)
    missing = sync(sidecar)
    assert missing.result == "failure" and "HOOK_URL" in missing.reason
    assert not rig.dest.exists()

    monkeypatch.setenv("HOOK_URL", "http://127.0.0.1:9/secret-hook")
    sync(sidecar)
    process = start_alertmanager(rig)
    assert sync(sidecar).result == "success"
    assert (rig.dest / "alertmanager.yaml").stat().st_mode & 0o777 == 0o600
    original = process.get("/api/v2/status").json()["config"]["original"]
    assert "converge-secret.invalid" not in original
    assert "<secret>" in original or "secret-hook" in original


def test_a_restarted_sidecar_reloads_once_at_start_up(prometheus_rig: Rig) -> None:
    rig = prometheus_rig
    rig.publish_source(sidecar_bundles.compiled(2))
    first = rig.sidecar()
    assert sync(first).result == "success"
    rig.close_sidecars()

    second = rig.sidecar()
    startup = sync(second)
    assert (startup.result, startup.step.value) == ("success", "reload"), startup.reason
    assert sync(second).result == "unchanged"


def test_a_target_restarting_after_a_failed_reload_comes_back_on_the_good_set(
        prometheus_rig: Rig, tmp_path: Path) -> None:
    rig = prometheus_rig
    assert rig.process is not None
    rig.publish_source(sidecar_bundles.compiled(1))
    sidecar = rig.sidecar()
    assert sync(sidecar).result == "success"
    rig.publish_source(_bad_rules(2, "prometheus"))
    assert sync(sidecar).result == "failure"

    rig.process.stop()
    import realtargets

    rig.process = realtargets.start_prometheus(tmp_path / "prometheus", rig.dest)
    assert rig.process.groups() == _groups(1)

"""Conditions: Kubernetes semantics for lastTransitionTime; the thread-safe Status."""

from __future__ import annotations

from converge.reconciler.core import Status, conditions


def test_transition_time_moves_only_when_the_status_changes() -> None:
    start = conditions.initial(100.0)
    assert [c.status for c in start] == ["Unknown"] * 3
    ready = conditions.set_condition(start, type="Ready", status=True, reason="Synced", now=200.0)
    again = conditions.set_condition(ready, type="Ready", status=True, reason="StillSynced",
                                     message="new words", now=300.0)
    found = conditions.find(again, "Ready")
    assert found is not None
    assert (found.reason, found.message, found.last_transition_time) == (
        "StillSynced", "new words", 200.0)
    flipped = conditions.set_condition(again, type="Ready", status=False, reason="Lost", now=400.0)
    assert conditions.find(flipped, "Ready").last_transition_time == 400.0  # type: ignore[union-attr]


def test_an_unknown_type_is_appended() -> None:
    result = conditions.set_condition((), type="Converged", status=None, reason="Waiting", now=1.0)
    assert [c.to_json()["status"] for c in result] == ["Unknown"]


def test_json_shape_is_kubernetes_like() -> None:
    condition = conditions.Condition("Ready", "True", "Synced", "ok", 0.5)
    assert condition.to_json() == {"type": "Ready", "status": "True", "reason": "Synced",
                                   "message": "ok",
                                   "lastTransitionTime": "1970-01-01T00:00:00.500Z"}


def test_status_ready_follows_the_ready_condition_and_snapshots_facts() -> None:
    now = [1000.0]
    status = Status("server", clock=lambda: now[0])
    assert not status.ready
    status.set("Ready", True, "BundleServed", "abc")
    status.update({"commit": "abc"})
    now[0] = 1010.0
    snapshot = status.snapshot()
    assert status.ready and snapshot["ready"]
    assert snapshot["facts"] == {"commit": "abc"}
    assert snapshot["uptimeSeconds"] == 10.0
    assert [c["type"] for c in snapshot["conditions"]] == ["Ready", "Reconciling", "Stalled"]

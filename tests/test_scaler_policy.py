"""The scaler's pure decision and container plan, as tables on a virtual clock.

Each case starts from `valid_pool()` (min 1, max 10, one average metric with target 10,
tolerance 0.1, scale-up 0 s window, scale-down 300 s window) and changes one thing.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from converge.reconciler.scaler import config, policy, pools
from converge.reconciler.scaler.config import Direction, Fallback, Metric, Pool
from converge.reconciler.scaler.metrics_source import parse_result
from converge.reconciler.scaler.policy import PoolState, Reading

EXAMPLE_OUT = Path(__file__).resolve().parent.parent / "repo-example"


def valid_pool(**changes: object) -> Pool:
    pool = Pool(name="jobs", spec_hash="h1", image="img", min=1, max=10,
                metrics=(Metric("sum(q)", 10.0),), interval=15.0, tolerance=0.1,
                scale_up=Direction(0.0, 100, 15.0), scale_down=Direction(300.0, 100, 15.0))
    return dataclasses.replace(pool, **changes)  # type: ignore[arg-type]


def at(desired: int) -> PoolState:
    return PoolState(desired=desired, mode="scaling")


def value(v: float | None) -> Reading:
    return Reading(value=v)


FAILED = Reading(error="connection refused")


@pytest.mark.parametrize(("pool", "state", "readings", "current", "expected"), [
    pytest.param(valid_pool(), at(2), [value(50)], 2, 5, id="average-up"),
    pytest.param(valid_pool(), at(4), [value(41)], 4, 4, id="average-within-tolerance"),
    pytest.param(valid_pool(), at(4), [value(45)], 4, 5, id="average-just-outside-tolerance"),
    pytest.param(valid_pool(tolerance=0.5), at(4), [value(55)], 4, 4, id="per-pool-tolerance"),
    pytest.param(valid_pool(metrics=(Metric("avg(cpu)", 0.5, "total"),)), at(4),
                 [value(0.75)], 4, 6, id="total-ceil-current-times-ratio"),
    pytest.param(valid_pool(metrics=(Metric("a", 10.0), Metric("b", 1.0))), at(2),
                 [value(20), value(7)], 2, 7, id="max-over-metrics"),
    pytest.param(valid_pool(), at(2), [value(500)], 2, 10, id="clamped-to-max"),
    pytest.param(valid_pool(min=3), PoolState(), [value(0)], 0, 3, id="clamped-to-min"),
    pytest.param(valid_pool(min=0), at(0), [value(25)], 0, 3, id="from-zero"),
    pytest.param(valid_pool(scale_up=Direction(0.0, 2, 15.0)), at(2), [value(100)], 2, 4,
                 id="max-step-up"),
    pytest.param(valid_pool(), at(5), [value(10)], 5, 5,
                 id="down-waits-for-window-at-any-count"),
    pytest.param(valid_pool(scale_down=Direction(0.0, 1, 15.0)), at(5), [value(10)], 5, 4,
                 id="max-step-down"),
    pytest.param(valid_pool(), at(3), [FAILED], 3, 3, id="failed-query-holds"),
    pytest.param(valid_pool(), at(3), [value(None)], 3, 3, id="empty-result-holds"),
    pytest.param(valid_pool(metrics=(Metric("q", 10.0, empty_as_zero=True),),
                            scale_down=Direction(0.0, 10, 15.0)), at(3), [value(None)], 3, 1,
                 id="empty-as-zero-scales"),
    pytest.param(valid_pool(metrics=(Metric("a", 10.0), Metric("b", 1.0)),
                            scale_down=Direction(0.0, 10, 15.0)), at(5),
                 [value(10), FAILED], 5, 5, id="failing-metric-blocks-scale-down"),
    pytest.param(valid_pool(metrics=(Metric("a", 10.0), Metric("b", 1.0))), at(2),
                 [value(60), FAILED], 2, 6, id="failing-metric-allows-scale-up"),
    pytest.param(valid_pool(fallback=Fallback(4, 3)), dataclasses.replace(at(2), failures=2),
                 [FAILED], 2, 4, id="fallback-after-n-failures"),
    pytest.param(valid_pool(fallback=Fallback(4, 3)), dataclasses.replace(at(2), failures=1),
                 [FAILED], 2, 2, id="no-fallback-before-n-failures"),
    pytest.param(valid_pool(), PoolState(), [value(30)], 7, 7,
                 id="first-decision-starts-the-down-window-at-current"),
    pytest.param(valid_pool(), PoolState(), [value(50)], 2, 5, id="first-decision-up"),
    pytest.param(valid_pool(metrics=()), at(5), [], 5, 1, id="unscaled-pool-kept-at-min"),
])
def test_decide(pool: Pool, state: PoolState, readings: Sequence[Reading], current: int,
                expected: int) -> None:
    decision = policy.decide(pool, state, readings, current=current, now=1000.0)
    assert decision.desired == expected, decision.reason


def run(pool: Pool, steps: Sequence[tuple[float, Reading]], *, start: int) -> list[int]:
    """The desired count after each (time, reading), folding the state through."""
    state, out = at(start), []
    for now, reading in steps:
        decision = policy.decide(pool, state, [reading], current=state.desired or 0, now=now)
        state = decision.state
        out.append(decision.desired)
    return out


def test_scale_down_window_highest_recommendation_wins() -> None:
    pool = valid_pool(scale_down=Direction(60.0, 100, 15.0))
    steps = [(0, value(80)), (15, value(20)), (30, value(40)), (59, value(20)),
             (61, value(20)), (76, value(20)), (91, value(20))]
    # 8 at t=0 holds for 60 s; then the highest in the last 60 s (4 at t=30) until t=90.
    assert run(pool, steps, start=8) == [8, 8, 8, 8, 4, 4, 2]


def test_scale_up_window_lowest_recommendation_wins() -> None:
    pool = valid_pool(scale_up=Direction(30.0, 100, 15.0))
    steps = [(0, value(20)), (10, value(80)), (20, value(60)), (41, value(80))]
    assert run(pool, steps, start=2) == [2, 2, 2, 6]


def test_step_limit_counts_changes_in_the_period() -> None:
    pool = valid_pool(scale_up=Direction(0.0, 2, 60.0))
    steps = [(0, value(100)), (15, value(100)), (59, value(100)), (61, value(100))]
    assert run(pool, steps, start=1) == [3, 3, 3, 5]


def test_a_cooldown_applies_to_n_minus_one() -> None:
    """KEDA's cooldown only guards scaling to zero; here 3 → 2 waits the window too."""
    pool = valid_pool(scale_down=Direction(120.0, 1, 15.0))
    steps = [(0, value(30)), (30, value(20)), (119, value(20)), (121, value(20))]
    assert run(pool, steps, start=3) == [3, 3, 3, 2]


def test_metrics_outage_holds_then_fallback_then_recovers_without_flapping() -> None:
    pool = valid_pool(fallback=Fallback(2, 3), scale_down=Direction(60.0, 1, 15.0))
    state = at(6)
    modes, counts = [], []
    for now, reading in [(0, FAILED), (15, FAILED), (30, FAILED), (45, FAILED),
                         (60, FAILED), (75, value(60)), (90, value(60))]:
        decision = policy.decide(pool, state, [reading], current=state.desired or 0, now=now)
        state = decision.state
        modes.append(decision.mode)
        counts.append(decision.desired)
    assert modes == ["hold", "hold", "fallback", "fallback", "fallback", "scaling", "scaling"]
    # the fallback (2) is below 6: it waits the scale-down window, so a short outage
    # never drops the pool, and recovery goes straight back.
    assert counts == [6, 6, 6, 6, 6, 6, 6]
    assert state.failures == 0


def test_hold_reason_names_the_failure() -> None:
    decision = policy.decide(valid_pool(), at(3), [FAILED], current=3, now=0)
    assert decision.mode == "hold" and "connection refused" in decision.reason
    assert decision.state.failures == 1


@pytest.mark.parametrize(("document", "expected"), [
    pytest.param({"status": "success", "data": {"resultType": "vector", "result": []}},
                 Reading(), id="empty"),
    pytest.param({"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {}, "value": [1, "3"]}, {"metric": {}, "value": [1, "4.5"]}]}},
        Reading(value=7.5), id="sum-of-series"),
    pytest.param({"status": "success", "data": {"resultType": "scalar", "result": [1, "2"]}},
                 Reading(value=2.0), id="scalar"),
    pytest.param({"status": "error", "error": "parse error"},
                 Reading(error="query failed: parse error"), id="error"),
])
def test_prometheus_results(document: object, expected: Reading) -> None:
    assert parse_result(document) == expected


def replica(n: int, *, status: str = "running", spec_hash: str = "h1", health: str = "",
            exit_code: int = 0, finished_at: float | None = None) -> pools.Replica:
    return pools.Replica(id=f"id{n}", name=f"c{n}", status=status, created=float(n),
                         labels={pools.POOL_LABEL: "jobs", pools.HASH_LABEL: spec_hash},
                         health=health, exit_code=exit_code, finished_at=finished_at)


@pytest.mark.parametrize(("healed", "replicas", "desired", "create", "removed"), [
    pytest.param(False, [replica(1)], 3, 2, [], id="create-missing"),
    pytest.param(False, [replica(1), replica(2), replica(3)], 1, 0, ["c3", "c2"],
                 id="remove-newest-first"),
    pytest.param(False, [replica(1, spec_hash="old"), replica(2)], 2, 1, [],
                 id="rolling-surge-first"),
    pytest.param(False, [replica(1, spec_hash="old"), replica(2), replica(3)], 2, 0, ["c1"],
                 id="rolling-removes-old-once-surplus"),
    pytest.param(False, [replica(1, status="exited", exit_code=143, finished_at=0.0)], 1, 1,
                 ["c1"], id="stopped-by-hand-replaced"),
    pytest.param(False, [replica(1, status="exited", exit_code=143, finished_at=95.0)], 1, 1,
                 [], id="stopped-moments-ago-left-to-settle"),
    pytest.param(True, [replica(1, status="exited", exit_code=1, finished_at=0.0)], 1, 1, [],
                 id="healer-owned-not-capacity-not-removed"),
    pytest.param(True, [replica(1, status="restarting"), replica(2), replica(3)], 1, 0,
                 ["c3"], id="restarting-never-chosen"),
    pytest.param(False, [replica(1, status="dead")], 1, 1, ["c1"], id="dead-replaced"),
    pytest.param(False, [replica(1, health="starting")], 1, 0, [], id="starting-counts"),
])
def test_plan(healed: bool, replicas: list[pools.Replica], desired: int, create: int,
              removed: list[str]) -> None:
    pool = valid_pool(healing_policy="p" if healed else None)
    planned = pools.plan(pool, replicas, desired, now=100.0)
    assert planned.create == create
    assert [r.replica.name for r in planned.remove] == removed


def test_example_pools_parse(tmp_path: Path) -> None:
    import yaml

    from converge.compiler.render import reconciler_data
    from converge.specs.worker_pool import WorkerPoolSpec
    entries = []
    for path in sorted((EXAMPLE_OUT / "pools").glob("*.yaml")):
        document = yaml.safe_load(path.read_text())
        spec = WorkerPoolSpec.model_validate(document["spec"])
        dumped = spec.model_dump(mode="json", by_alias=True)
        entries.append({"name": document["metadata"]["name"], "spec": dumped,
                        "specHash": reconciler_data.spec_hash(dumped)})
    parsed = config.parse(json.dumps({"pools": entries}).encode())
    ai = next(p for p in parsed if p.name == "ai-analysis")
    assert (ai.min, ai.max, ai.fallback, ai.scale_down.stabilization) == (1, 5, Fallback(2, 3),
                                                                           300.0)
    assert ai.stop_grace_period == 120.0 and len(ai.spec_hash) == 64
    with pytest.raises(config.ConfigError):
        config.parse(b"{}")

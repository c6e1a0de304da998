"""The scaler's decision, as a pure function of the readings, what it remembers and the time.

`decide(pool, state, readings, current=, now=)` returns the pool's desired replica count,
why, and the new `PoolState` (persisted across scaler restarts). It reads no clock and
touches neither Prometheus nor the engine, so every rule is tested on a virtual clock.

* Each metric recommends a count. `average`: `target` is what one replica carries and the
  query is the pool's whole load, so `ceil(value / target)`; `total`: the query is a
  pool-wide figure that falls as replicas are added (mean CPU, wait time), so
  `ceil(current × value / target)`. Both are `ceil(current × ratio)` with ratio =
  value ÷ (what `current` replicas should show); a ratio within the pool's `tolerance` of 1
  recommends `current`. The largest recommendation wins, clamped to `min`…`max`.
* Stabilization at every replica count (HPA's behaviour, not KEDA's zero-only cooldown):
  the count rises only to the lowest recommendation of the `scaleUp.stabilization` window
  and falls only to the highest of the `scaleDown.stabilization` window. Holding counts as
  recommending the held count, and a pool with no remembered recommendation starts its
  windows at its current count, so neither an outage nor a restart opens the way down.
* At most `maxStep` replicas added (removed) per `period`, counted over the changes made.
* A failed or empty query never scales: the count is held (an empty result is "no data"
  unless the metric says `emptyAsZero`). With several metrics, the working ones may still
  scale up, never down. After `fallback.afterFailures` failed evaluations in a row the
  `fallback.replicas` count is recommended, through the same windows and steps, so it
  never flaps.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Literal

from converge.reconciler.scaler.config import Metric, Pool

Mode = Literal["starting", "static", "scaling", "hold", "fallback"]
DirectionName = Literal["up", "down", "none"]
MetricStatus = Literal["ok", "tolerance", "error", "empty"]

__all__ = ["Decision", "DirectionName", "MetricResult", "Mode", "PoolState", "Reading",
           "decide", "recommend"]

_EPSILON = 1e-9


@dataclasses.dataclass(frozen=True, slots=True)
class Reading:
    """One query's outcome: a value, an error, or neither (an empty result)."""

    value: float | None = None
    error: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class PoolState:
    """What the scaler remembers about one pool."""

    desired: int | None = None
    recommendations: tuple[tuple[float, int], ...] = ()
    """(time, clamped recommendation) inside the longer stabilization window."""
    changes: tuple[tuple[float, int], ...] = ()
    """(time, replicas added or removed) inside the longer step period."""
    failures: int = 0
    """Evaluations in a row with a failed or empty query."""
    mode: Mode = "starting"


@dataclasses.dataclass(frozen=True, slots=True)
class MetricResult:
    status: MetricStatus
    value: float | None = None
    ratio: float | None = None
    recommendation: int | None = None
    message: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Decision:
    desired: int
    previous: int
    direction: DirectionName
    mode: Mode
    reason: str
    state: PoolState
    recommendation: int | None = None
    """The largest recommendation before windows and steps (None when holding)."""
    metrics: tuple[MetricResult, ...] = ()


def recommend(metric: Metric, reading: Reading, *, current: int,
              tolerance: float) -> MetricResult:
    """One metric's recommendation for a pool of `current` replicas."""
    if reading.error is not None:
        return MetricResult("error", message=reading.error)
    if metric.target <= 0:
        return MetricResult("error", message=f"target {metric.target:g} is not above 0")
    value = reading.value
    if value is None:
        if not metric.empty_as_zero:
            return MetricResult("empty", message="empty result (no data)")
        value = 0.0
    if not math.isfinite(value):
        return MetricResult("error", value=value, message=f"value {value} is not finite")
    base = max(current, 1)
    if metric.type == "average":
        ratio = value / (metric.target * base)
    else:
        ratio = value / metric.target
    wanted = max(0, math.ceil(base * ratio - _EPSILON))
    if current > 0 and abs(ratio - 1.0) <= tolerance + _EPSILON:
        return MetricResult("tolerance", value, ratio, current,
                            f"ratio {ratio:.3g} within tolerance {tolerance:g}")
    return MetricResult("ok", value, ratio, wanted)


def decide(pool: Pool, state: PoolState, readings: Sequence[Reading], *, current: int,
           now: float) -> Decision:
    """The pool's desired count now; see the module docstring.

    Args:
        pool: the pool's settings.
        state: what was remembered after the previous decision.
        readings: one per `pool.metrics`, in order.
        current: healthy replicas observed (the base when nothing is remembered).
        now: seconds (any epoch, as long as it is the same for every call).
    """
    base = state.desired if state.desired is not None else _clamp(pool, current)
    if not pool.metrics:
        desired = pool.min
        return _result(pool, state, base, desired, now, mode="static",
                       reason=f"not scaled: kept at min {pool.min}", recommendation=desired)
    results = tuple(recommend(m, r, current=base, tolerance=pool.tolerance)
                    for m, r in zip(pool.metrics, readings, strict=True))
    failed = [(i, r) for i, r in enumerate(results, 1) if r.status in ("error", "empty")]
    working = [r.recommendation for r in results if r.recommendation is not None
               and r.status in ("ok", "tolerance")]
    if not failed:
        state = dataclasses.replace(state, failures=0)
        wanted = max(working)
        return _stabilized(pool, state, base, wanted, now, mode="scaling",
                           why=_describe(results), results=results)
    failures = state.failures + 1
    state = dataclasses.replace(state, failures=failures)
    what = "; ".join(f"metric {i} {r.status}: {r.message}" for i, r in failed)
    fallback = pool.fallback
    if fallback is not None and failures >= fallback.after_failures:
        wanted = max([fallback.replicas, *working])
        return _stabilized(pool, state, base, wanted, now, mode="fallback",
                           why=f"fallback {fallback.replicas} after {failures} failed "
                               f"evaluations ({what})", results=results)
    if working and max(working) > base:
        return _stabilized(pool, state, base, max(working), now, mode="hold",
                           why=f"scale-up only ({what})", results=results)
    state = dataclasses.replace(state, recommendations=(*_window(pool, state, now), (now, base)))
    return _result(pool, state, base, base, now, mode="hold", results=results,
                   reason=f"holding {base}: {what} (failure {failures} in a row)")


def _stabilized(pool: Pool, state: PoolState, base: int, wanted: int, now: float, *,
                mode: Mode, why: str, results: tuple[MetricResult, ...]) -> Decision:
    clamped = _clamp(pool, wanted)
    up, down = pool.scale_up, pool.scale_down
    past = _window(pool, state, now) or ((now, base),)
    up_floor = min([clamped, *(r for t, r in past if now - t < up.stabilization)])
    down_ceiling = max([clamped, *(r for t, r in past if now - t < down.stabilization)])
    history = (*past, (now, clamped))
    notes = [why]
    if clamped != wanted:
        notes.append(f"clamped to {clamped}")
    desired = base
    if desired < up_floor:
        desired = up_floor
    if desired > down_ceiling:
        desired = down_ceiling
    if clamped > base and desired < clamped:
        notes.append(f"scale-up window {up.stabilization:g}s holds {desired}")
    if clamped < base and desired > clamped:
        notes.append(f"scale-down window {down.stabilization:g}s holds {desired}")
    desired, limited = _limit(pool, state, base, desired, now)
    if limited:
        notes.append(limited)
    state = dataclasses.replace(state, recommendations=history)
    return _result(pool, state, base, desired, now, mode=mode, reason="; ".join(notes),
                   recommendation=wanted, results=results)


def _window(pool: Pool, state: PoolState, now: float) -> tuple[tuple[float, int], ...]:
    """The remembered recommendations still inside the longer stabilization window."""
    keep = max(pool.scale_up.stabilization, pool.scale_down.stabilization)
    return tuple((t, r) for t, r in state.recommendations if now - t < keep)


def _limit(pool: Pool, state: PoolState, base: int, desired: int,
           now: float) -> tuple[int, str]:
    """`desired` within the step limits of its direction, and a note when they bit."""
    if desired > base:
        rule = pool.scale_up
        used = sum(d for t, d in state.changes if d > 0 and now - t < rule.period)
        allowed = base + max(0, rule.max_step - used)
        if desired > allowed:
            return allowed, f"scale-up step limit {rule.max_step} per {rule.period:g}s"
    elif desired < base:
        rule = pool.scale_down
        used = sum(-d for t, d in state.changes if d < 0 and now - t < rule.period)
        allowed = base - max(0, rule.max_step - used)
        if desired < allowed:
            return allowed, f"scale-down step limit {rule.max_step} per {rule.period:g}s"
    return desired, ""


def _result(pool: Pool, state: PoolState, base: int, desired: int, now: float, *, mode: Mode,
            reason: str, recommendation: int | None = None,
            results: tuple[MetricResult, ...] = ()) -> Decision:
    desired = _clamp(pool, desired)
    keep = max(pool.scale_up.period, pool.scale_down.period)
    changes = tuple((t, d) for t, d in state.changes if now - t < keep)
    if desired != base:
        changes = (*changes, (now, desired - base))
    direction: DirectionName = ("up" if desired > base else "down" if desired < base
                                else "none")
    state = dataclasses.replace(state, desired=desired, changes=changes, mode=mode)
    return Decision(desired, base, direction, mode, reason, state, recommendation, results)


def _clamp(pool: Pool, count: int) -> int:
    return max(pool.min, min(pool.max, count))


def _describe(results: tuple[MetricResult, ...]) -> str:
    parts = []
    for i, r in enumerate(results, 1):
        if r.status == "tolerance":
            parts.append(f"metric {i} = {r.value:g}: {r.message}")
        else:
            parts.append(f"metric {i} = {r.value:g} (ratio {r.ratio:.3g}) → "
                         f"{r.recommendation}")
    return "; ".join(parts)

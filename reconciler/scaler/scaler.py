"""One pass of the scaler: list the pools' containers, query what is due, decide, act.

The thin shell around the pure `policy.decide` and `pools.plan`. Each pool's queries run
every `scaling.interval` (all due queries of a pass in parallel); its containers are
reconciled on every pass, so drift (a container removed or dead) and rolling replacement
do not wait for the next evaluation. Creations run in parallel and are waited for;
removals (stop with the pool's grace period, then remove) run in the background, and a
container being removed is neither capacity nor removed twice. An engine that cannot be
reached raises `TemporaryError`: the loop backs off and `/status` says why.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from converge.reconciler.core import conditions
from converge.reconciler.core.events import Outbox
from converge.reconciler.core.loop import TemporaryError
from converge.reconciler.core.secretaccess import SecretAccess
from converge.reconciler.core.status import Status
from converge.reconciler.scaler import policy, pools
from converge.reconciler.scaler.config import Pool
from converge.reconciler.scaler.engine import Engine, EngineError, SecretError, resolve_env
from converge.reconciler.scaler.events import Event
from converge.reconciler.scaler.metrics import ScalerMetrics
from converge.reconciler.scaler.metrics_source import MetricsSource
from converge.reconciler.scaler.records import Records

_log = logging.getLogger("converge.scaler.scale")

__all__ = ["Scaler", "Timings"]


@dataclasses.dataclass(slots=True)
class Timings:
    """Seconds spent in the last pass, by part."""

    engine: float = 0.0
    queries: float = 0.0
    decide: float = 0.0
    total: float = 0.0


@dataclasses.dataclass(slots=True)
class _Pool:
    next_evaluation: float = 0.0
    last: policy.Decision | None = None
    readings: tuple[policy.Reading, ...] = ()
    plan: pools.Plan | None = None
    error: str | None = None


class Scaler:
    """The scaler's state between passes and the `step` the loop runs.

    Args:
        engine: the container engine.
        source: where the scaling queries run (Prometheus).
        records: the SQLite memory; pool states are loaded from it at start.
        outbox: events for the notifier.
        metrics: the scaler's metrics.
        status: the daemon's status (`/status` facts, `Ready`).
        pools: the current pools (the bundle loop replaces them).
        clock: wall-clock seconds; injectable for tests.
        settle: seconds a stopped container is left before it is removed and replaced.
        workers: container creations and removals run on this many threads.
        owner: this scaler's identity, the ownership label of its containers (default:
            the one kept in `records`, made on first start); it acts on no other.
    """

    def __init__(self, *, engine: Engine, source: MetricsSource, records: Records,
                 outbox: Outbox, metrics: ScalerMetrics, status: Status,
                 pools: Callable[[], Sequence[Pool]], clock: Callable[[], float] = time.time,
                 settle: float = pools.SETTLE, workers: int = 8,
                 secret_access: SecretAccess | None = None, owner: str | None = None) -> None:
        self.engine, self.source, self.records, self.outbox = engine, source, records, outbox
        self.owner = owner or records.owner()
        self.metrics, self.status, self.pools, self.clock = metrics, status, pools, clock
        self.settle = settle
        self.secret_access = secret_access
        self.states = records.states()
        self._decisions = _recent(records)
        self.watched: dict[str, _Pool] = {}
        self.timings = Timings()
        self._removing: dict[str, concurrent.futures.Future[None]] = {}
        self._workers = concurrent.futures.ThreadPoolExecutor(workers, "scaler-engine")

    def close(self) -> None:
        self._workers.shutdown(wait=False, cancel_futures=True)

    def step(self) -> None:
        """One pass; see the module docstring."""
        started = time.perf_counter()
        now = self.clock()
        configured = {p.name: p for p in self.pools()}
        replicas = self._list()
        engine_time = time.perf_counter() - started
        by_pool: dict[str, list[pools.Replica]] = {name: [] for name in configured}
        orphans: list[pools.Replica] = []
        for replica in replicas:
            if replica.id in self._removing:
                continue
            if replica.pool in by_pool:
                by_pool[replica.pool].append(replica)
            else:
                orphans.append(replica)
        due = [p for p in configured.values() if p.metrics and self._watch(p).next_evaluation
               <= now]
        queries_started = time.perf_counter()
        flat = self.source.query_all([m.query for p in due for m in p.metrics]) if due else []
        queries = time.perf_counter() - queries_started
        readings: dict[str, tuple[policy.Reading, ...]] = {}
        offset = 0
        for pool in due:
            readings[pool.name] = tuple(flat[offset:offset + len(pool.metrics)])
            offset += len(pool.metrics)
        decide_started = time.perf_counter()
        plans = [(pool, self._reconcile(pool, by_pool[pool.name], readings.get(pool.name), now))
                 for pool in configured.values()]
        self._forget(set(configured))
        decide = time.perf_counter() - decide_started
        self.metrics.decide_seconds.observe(decide)
        engine_started = time.perf_counter()
        self._act(plans, orphans, now)
        self.outbox.flush()
        self._publish(configured)
        engine_time += time.perf_counter() - engine_started
        self.timings = Timings(engine_time, queries, decide, time.perf_counter() - started)

    def _list(self) -> list[pools.Replica]:
        for container_id in [i for i, f in self._removing.items() if f.done()]:
            self._removing.pop(container_id)
        try:
            found = self.engine.replicas(owner=self.owner)
        except EngineError as error:
            self.metrics.engine_up.set(0)
            self.status.set(conditions.READY, False, "EngineUnavailable", str(error))
            self.status.update({"engine": {"ok": False, "error": str(error)}})
            raise TemporaryError(f"container engine: {error}") from None
        if not self.status.ready:
            self.status.set(conditions.READY, True, "Scaling", "engine reachable")
        self.metrics.engine_up.set(1)
        return found

    def _watch(self, pool: Pool) -> _Pool:
        return self.watched.setdefault(pool.name, _Pool())

    def _reconcile(self, pool: Pool, replicas: list[pools.Replica],
                   readings: tuple[policy.Reading, ...] | None, now: float) -> pools.Plan:
        watched = self._watch(pool)
        ready = sum(1 for r in replicas
                    if pools.kind(r, healed=pool.healing_policy is not None) == "ready")
        self.metrics.current.labels(pool.name).set(ready)
        state = self.states.get(pool.name, policy.PoolState())
        if readings is not None or not pool.metrics:
            decision = policy.decide(pool, state, readings or (), current=ready, now=now)
            if readings is not None:
                watched.next_evaluation = now + pool.interval
                watched.readings = readings
                self._observe(pool, readings)
            self._decided(pool, watched, decision, ready, now)
        desired = self.states.get(pool.name, state).desired
        plan = pools.plan(pool, replicas, desired if desired is not None else pool.min,
                          now=now, settle=self.settle)
        watched.plan = plan
        return plan

    def _observe(self, pool: Pool, readings: tuple[policy.Reading, ...]) -> None:
        for index, reading in enumerate(readings, 1):
            if reading.value is not None:
                self.metrics.value.labels(pool.name, str(index)).set(reading.value)
            if reading.error is not None or reading.value is None:
                self.metrics.source_errors.labels(pool.name).inc()

    def _decided(self, pool: Pool, watched: _Pool, decision: policy.Decision, ready: int,
                 now: float) -> None:
        before = self.states.get(pool.name)
        self.states[pool.name] = decision.state
        changed = decision.direction != "none" or before is None or before.mode != (
            decision.mode)
        self.metrics.decisions.labels(pool.name, decision.direction).inc()
        self.metrics.desired.labels(pool.name).set(decision.desired)
        self.metrics.set_mode(pool.name, decision.mode)
        inputs = {"current": ready, "readings": [dataclasses.asdict(r) for r in
                                                 watched.readings],
                  "metrics": [dataclasses.asdict(m) for m in decision.metrics]}
        self.records.decide(pool.name, decision, current=ready, now=now, inputs=inputs,
                            record=changed)
        watched.last = decision
        if not changed:
            return
        self._decisions = _recent(self.records)
        _log.info("scaler %s %s: %d → %d (%s): %s", pool.name, decision.direction,
                  decision.previous, decision.desired, decision.mode, decision.reason,
                  extra={"event": "decision", "pool": pool.name,
                         "direction": decision.direction, "mode": decision.mode,
                         "previous": decision.previous, "desired": decision.desired,
                         "reason": decision.reason})
        self.outbox.add(Event(level="info", pool=pool.name, direction=decision.direction,
                              mode=decision.mode, previous=decision.previous,
                              desired=decision.desired, reason=decision.reason, time=now))

    def _act(self, plans: list[tuple[Pool, pools.Plan]], orphans: list[pools.Replica],
             now: float) -> None:
        creations: list[tuple[Pool, concurrent.futures.Future[str]]] = []
        for pool, plan in plans:
            watched = self._watch(pool)
            watched.error = None
            for removal in plan.remove:
                self._remove(pool.name, removal.replica, removal.reason,
                             pool.stop_grace_period, now)
            if plan.create:
                try:
                    env = resolve_env(pool, self.secret_access)
                except SecretError as error:
                    watched.error = str(error)
                    _log.error("scaler %s cannot create containers: %s", pool.name, error,
                               extra={"event": "secret_error", "pool": pool.name})
                    continue
                creations += [(pool, self._workers.submit(self.engine.create, pool, env,
                                                            owner=self.owner))
                              for _ in range(plan.create)]
        for replica in orphans:
            self._remove(replica.pool, replica, "pool no longer in the bundle", 10.0, now)
        for pool, future in creations:
            try:
                container_id = future.result()
            except EngineError as error:
                self._watch(pool).error = str(error)
                self.metrics.actions.labels(pool.name, "create", "failed").inc()
                self.records.act(pool.name, action="create", container="", reason=str(error),
                                 result="failed", now=now)
                _log.error("scaler %s could not create a container: %s", pool.name, error,
                           extra={"event": "create_failed", "pool": pool.name})
                continue
            self.metrics.actions.labels(pool.name, "create", "success").inc()
            self.records.act(pool.name, action="create", container=container_id[:12],
                             reason="below desired count", result="success", now=now)

    def _remove(self, pool: str, replica: pools.Replica, reason: str, grace: float,
                now: float) -> None:
        if replica.id in self._removing:
            return

        def remove() -> None:
            try:
                self.engine.remove(replica, grace=grace, owner=self.owner)
            except EngineError as error:
                self.metrics.actions.labels(pool, "remove", "failed").inc()
                _log.error("scaler %s could not remove %s: %s", pool, replica.name, error,
                           extra={"event": "remove_failed", "pool": pool})
                return
            self.metrics.actions.labels(pool, "remove", "success").inc()

        _log.info("scaler %s removes %s: %s", pool, replica.name, reason,
                  extra={"event": "remove", "pool": pool, "container": replica.name,
                         "reason": reason})
        self.records.act(pool, action="remove", container=replica.name, reason=reason,
                         result="started", now=now)
        self._removing[replica.id] = self._workers.submit(remove)

    def _forget(self, configured: set[str]) -> None:
        gone = [name for name in self.watched if name not in configured]
        for name in gone:
            del self.watched[name]
            self.states.pop(name, None)
            self.metrics.forget(name)
        if gone:
            self.records.forget(gone)

    def _publish(self, configured: dict[str, Pool]) -> None:
        listed: list[dict[str, Any]] = []
        for name, pool in sorted(configured.items()):
            watched = self._watch(pool)
            state = self.states.get(name, policy.PoolState())
            last = watched.last
            listed.append({
                "pool": name, "mode": state.mode, "desired": state.desired,
                "min": pool.min, "max": pool.max, "specHash": pool.spec_hash[:12],
                "failures": state.failures,
                "fallback": pool.fallback.replicas if pool.fallback else None,
                "containers": dict(watched.plan.counts) if watched.plan else {},
                "values": [r.value for r in watched.readings],
                "errors": [r.error or ("empty" if r.value is None else None)
                           for r in watched.readings],
                "lastDecision": last.reason if last else None,
                "nextEvaluation": watched.next_evaluation if pool.metrics else None,
                "error": watched.error})
        self.status.update({"engine": {"ok": True, "error": None}, "owner": self.owner,
                            "pools": listed,
                            "removing": len(self._removing),
                            "pendingEvents": self.outbox.pending,
                            "decisions": self._decisions})


RECENT_DECISIONS = 20
"""Decisions shown in `/status` (the console); all of them are in the scaler's database."""


def _recent(records: Records) -> list[dict[str, Any]]:
    """The latest recorded decisions with their reasons, newest first."""
    return [{"time": r["time"], "pool": r["pool"], "previous": r["previous"],
             "desired": r["desired"], "direction": r["direction"], "mode": r["mode"],
             "reason": r["reason"]} for r in records.history(limit=RECENT_DECISIONS)]

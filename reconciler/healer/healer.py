"""One pass of the healer: list, select, check what is due, decide, act, remember.

The thin shell around the pure `policy.decide`: it asks the engine for the containers,
runs the due checks in a small thread pool (each within its timeout), folds every verdict
into the container's `Track`, restarts what the decisions say, writes records, queues
events and keeps metrics and `/status` current. An engine that cannot be reached raises
`TemporaryError`, so the loop backs off and `/status` says why; nothing else is fatal.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from converge.reconciler.core import conditions
from converge.reconciler.core.loop import TemporaryError
from converge.reconciler.core.status import Status
from converge.reconciler.healer import policy as decisions
from converge.reconciler.healer.config import CheckSettings, Policy
from converge.reconciler.healer.containers import Container, Verdict
from converge.reconciler.healer.engine import Engine, EngineError
from converge.reconciler.healer.events import Event, Outbox
from converge.reconciler.healer.metrics import HealerMetrics, state_of
from converge.reconciler.healer.records import Records
from converge.reconciler.healer.selectors import policy_for, refusal

_log = logging.getLogger("converge.healer.heal")

__all__ = ["Checker", "Healer"]


class Checker(Protocol):
    def check(self, container: Container, settings: CheckSettings) -> Verdict: ...


@dataclasses.dataclass(slots=True)
class _Watched:
    container: Container
    policy: Policy
    next_check: float = 0.0
    last_check: float | None = None


class Healer:
    """The healer's state between passes and the `step` the loop runs.

    Args:
        engine: the container engine.
        checker: runs one check (`probes.Prober`).
        records: the SQLite memory; tracks are loaded from it at start.
        outbox: events for the notifier.
        metrics: the healer's metrics.
        status: the daemon's status (`/status` facts, `Ready`).
        policies: the current policies (the bundle loop replaces them).
        clock: wall-clock seconds; injectable for tests.
        workers: checks and restarts run in parallel on this many threads.
    """

    def __init__(self, *, engine: Engine, checker: Checker, records: Records, outbox: Outbox,
                 metrics: HealerMetrics, status: Status,
                 policies: Callable[[], Sequence[Policy]],
                 clock: Callable[[], float] = time.time, workers: int = 16) -> None:
        self.engine, self.checker, self.records, self.outbox = engine, checker, records, outbox
        self.metrics, self.status, self.policies, self.clock = metrics, status, policies, clock
        self.tracks = records.tracks()
        self.watched: dict[str, _Watched] = {}
        self.engine_error: str | None = None
        self._next_discovery = 0.0
        self._pool = concurrent.futures.ThreadPoolExecutor(workers, "healer-check")
        self.metrics.set_mtbf(records.mtbf())
        self._recent = _recent(records)
        self._refused: dict[str, str] = {}

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def step(self) -> None:
        """One pass; see the module docstring."""
        now = self.clock()
        policies = tuple(self.policies())
        if now < self._next_discovery and not any(
                w.next_check <= now for w in self.watched.values()):
            return
        self._discover(policies, now)
        due = [w for w in self.watched.values() if w.next_check <= now]
        verdicts = self._check_all(due)
        changed: dict[str, _Watched] = {}
        restarts: list[_Watched] = []
        for watched, verdict in zip(due, verdicts, strict=True):
            watched.last_check = now
            watched.next_check = _next(watched.next_check, watched.policy.check.interval, now)
            decision = self._decide(watched, verdict, now)
            if self._apply(watched, decision, now):
                changed[watched.container.id] = watched
            if decision.action == "restart":
                restarts.append(watched)
        for watched, error in zip(restarts, self._restart_all(restarts), strict=True):
            when = self.clock()
            decision = decisions.restarted(self.tracks.get(watched.container.id,
                                                           decisions.Track()),
                                           watched.policy, when, error=error)
            self.metrics.restarts.labels("success" if error is None else "failed").inc()
            self._apply(watched, decision, when)
            changed[watched.container.id] = watched
        if changed:
            self.records.save((w.container, w.policy.name, self.tracks[w.container.id],
                               w.last_check or now) for w in changed.values())
        self.outbox.flush()
        self._publish()

    def _discover(self, policies: Sequence[Policy], now: float) -> None:
        try:
            found = self.engine.containers()
        except EngineError as error:
            self.engine_error = str(error)
            self.metrics.engine_up.set(0)
            self.status.set(conditions.READY, False, "EngineUnavailable", str(error))
            self.status.update({"engine": {"ok": False, "error": str(error)}})
            raise TemporaryError(f"container engine: {error}") from None
        if self.engine_error is not None or not self.status.ready:
            self.status.set(conditions.READY, True, "Watching", "engine reachable")
        self.engine_error = None
        self.metrics.engine_up.set(1)
        intervals = [p.check.interval for p in policies] or [30.0]
        self._next_discovery = now + min(intervals)
        removed = set(self.tracks) - {container.id for container in found}
        if removed:
            self.records.forget(removed)
            for container_id in removed:
                del self.tracks[container_id]
        self._refuse(policies)
        current: dict[str, _Watched] = {}
        for container in found:
            chosen = policy_for(policies, container)
            if chosen is None:
                continue
            old = self.watched.get(container.id)
            if old is not None and old.policy == chosen:
                old.container = container
                current[container.id] = old
            else:
                current[container.id] = _Watched(container, chosen, next_check=now)
        self.watched = current

    def _refuse(self, policies: Sequence[Policy]) -> None:
        """Say (once per policy, in the log and in `/status`) which policies the healer
        will not act on: an empty selector, or an exec check selecting without a label."""
        refused = {p.name: reason for p in policies if (reason := refusal(p)) is not None}
        for name in sorted(set(refused) - set(self._refused)):
            _log.error("healer refuses policy %r: %s", name, refused[name],
                       extra={"event": "policy-refused", "policy": name,
                              "reason": refused[name]})
        self._refused = refused
        self.status.update({"refusedPolicies": dict(sorted(refused.items()))})

    def _check_all(self, due: Sequence[_Watched]) -> list[Verdict]:
        futures = [None if _opted_out(w) else self._pool.submit(
            self.checker.check, w.container, w.policy.check) for w in due]
        verdicts: list[Verdict] = []
        for watched, future in zip(due, futures, strict=True):
            if future is None:
                verdicts.append(Verdict.passed("opted out"))
                continue
            try:
                verdict = future.result(timeout=watched.policy.check.timeout + 1.0)
            except concurrent.futures.TimeoutError:
                verdict = Verdict.failed("health_check_failed",
                                         f"check timed out after {watched.policy.check.timeout:g}s")
            except Exception as error:  # a bug in a probe must not stop the healer
                _log.exception("healer check of %s failed", watched.container.name)
                verdict = Verdict.failed("health_check_failed", f"check error: {error}")
            self.metrics.checks.labels("pass" if verdict.ok else "fail").inc()
            verdicts.append(verdict)
        return verdicts

    def _decide(self, watched: _Watched, verdict: Verdict, now: float) -> decisions.Decision:
        container = watched.container
        seen = decisions.Observation(verdict=verdict, running=container.running,
                                     started_at=container.started_at,
                                     opted_out=_opted_out(watched))
        track = self.tracks.get(container.id, decisions.Track())
        return decisions.decide(track, seen, watched.policy, now)

    def _restart_all(self, restarts: Sequence[_Watched]) -> list[str | None]:
        def restart(watched: _Watched) -> str | None:
            try:
                self.engine.restart(watched.container)
            except EngineError as error:
                return str(error)
            return None
        return list(self._pool.map(restart, restarts))

    def _apply(self, watched: _Watched, decision: decisions.Decision, now: float) -> bool:
        """Remember the decision, write its records, queue its events; True if it changed."""
        container, policy = watched.container, watched.policy
        before = self.tracks.get(container.id)
        self.tracks[container.id] = decision.track
        if any(r.type == "recovered" and r.op == "resolve" for r in decision.records):
            detected = self.records.open_since(container.id)
            if detected is not None:  # failure detected -> healthy again
                self.metrics.recovery.observe(max(0.0, now - detected))
        if decision.records:
            self.records.write(container, policy.name, decision.records, now=now,
                               details=_details(container, policy, decision))
            for record in decision.records:
                if record.op == "open":
                    self.metrics.failures.labels(record.type).inc()
                    self.metrics.set_mtbf(self.records.mtbf())
                if record.type == "restart_limit_exceeded":
                    self.metrics.budget_exhausted.inc()
            self._recent = _recent(self.records)
        for event in decision.events:
            self.outbox.add(Event(level=event.level, type=event.type, message=event.message,
                                  container=container.name, container_id=container.id,
                                  service=container.service, project=container.project,
                                  policy=policy.name, channels=policy.channels, time=now))
        if before is None or before.phase != decision.track.phase or decision.action not in (
                "none", "ignore") or decision.records:
            _log.info("healer %s %s: %s → %s (%s)", container.name, decision.action,
                      before.phase if before else "new", decision.track.phase, decision.reason,
                      extra={"event": "decision", "container": container.name,
                             "policy": policy.name, "action": decision.action,
                             "phase": decision.track.phase, "reason": decision.reason})
        return before != decision.track

    def _publish(self) -> None:
        counts: Counter[str] = Counter()
        listed: list[dict[str, Any]] = []
        now = self.clock()
        for watched in sorted(self.watched.values(), key=lambda w: w.container.name):
            container, policy = watched.container, watched.policy
            track = self.tracks.get(container.id, decisions.Track())
            counts[state_of(track.phase)] += 1
            listed.append({
                "id": container.id[:12], "name": container.name, "service": container.service,
                "policy": policy.name, "phase": track.phase, "failures": track.failures,
                "totalRestarts": track.total_restarts,
                "budgetLeft": decisions.budget_left(track, policy, now),
                "lastRestart": track.last_restart, "lastCheck": watched.last_check,
                "message": track.message})
        self.metrics.set_states(counts)
        self.status.update({"engine": {"ok": True, "error": None},
                            "containers": listed, "states": dict(sorted(counts.items())),
                            "pendingEvents": self.outbox.pending, **self._recent})


RECENT_FAILURES = 20
"""Failure records shown in `/status` (the console's failure history); all of them are in
`converge healer history`."""


def _recent(records: Records) -> dict[str, Any]:
    """MTBF per service and the latest failure records, as `/status` shows them."""
    failures = [{"time": r["detected_at"], "container": r["container_name"],
                 "service": r["service"], "type": r["failure_type"], "action": r["action"],
                 "result": r["action_result"], "message": r["message"]}
                for r in records.history(limit=RECENT_FAILURES)]
    return {"mtbf": records.mtbf(), "failures": failures}


def _next(scheduled: float, interval: float, now: float) -> float:
    """The next check at a fixed rate (no drift from the loop's tick), never in the past."""
    following = scheduled + interval
    return following if following > now else now + interval


def _opted_out(watched: _Watched) -> bool:
    return watched.container.labels.get(watched.policy.opt_out_label, "").lower() == "true"


def _details(container: Container, policy: Policy,
             decision: decisions.Decision) -> dict[str, Any]:
    track = decision.track
    return {"policy": policy.name, "check": policy.check.type, "status": container.status,
            "exitCode": container.exit_code, "oomKilled": container.oom_killed,
            "consecutiveFailures": track.failures, "totalRestarts": track.total_restarts,
            "reason": decision.reason}

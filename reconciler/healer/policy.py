"""The healer's decisions, as a pure function of what it saw, what it remembers and the time.

`decide(track, observation, policy, now)` says what to do about one container after one
check: nothing, wait (grace period, backoff), restart, give up (budget spent), alert only
(`restart.auto: false`), or leave it alone (opted out, stopped on purpose). `restarted`
folds the outcome of a restart back in. Both return the new `Track` (what is remembered
about the container, persisted across healer restarts) and the records and events the
shell must write and send; neither reads a clock or touches the engine, so every rule
below is tested on a virtual clock.

* A failed check counts only outside the start grace period (`startPeriod` after the
  container's last start, while it runs); `failureThreshold` counted failures in a row
  confirm a failure.
* The first restart of an episode is immediate (as Kubernetes); each further one waits
  `backoff.initial` doubled per restart, capped at `backoff.max`. Healthy for
  `backoff.resetAfter` and the next episode starts from the beginning again.
* At most `maxRestarts` restarts (attempts, failed ones too) in any sliding `window`.
  When the next restart would exceed it, the container is marked `budget_exhausted`: no
  more restarts and one event at the policy's alert level (critical by default) until
  it is healthy again (someone fixed it).
* After a restart the container is `verifying`: it must pass a check within
  `verifyTimeout`, else the restart failed and the failure counts as confirmed again.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from converge.reconciler.healer.config import Policy
from converge.reconciler.healer.containers import Verdict

Phase = Literal["unknown", "healthy", "starting", "failing", "waiting", "verifying",
                "unhealthy", "budget_exhausted", "stopped", "ignored"]
Action = Literal["none", "wait", "restart", "give_up", "alert", "ignore"]
Level = Literal["info", "warning", "error", "critical"]
RecordType = Literal["health_check_failed", "container_stopped", "container_error",
                     "restart_limit_exceeded", "restart_failed", "auto_restart", "recovered"]

__all__ = ["Action", "Decision", "Event", "Observation", "Phase", "Record", "Track",
           "backoff_delay", "budget_left", "decide", "restarted"]


@dataclasses.dataclass(frozen=True, slots=True)
class Track:
    """What the healer remembers about one container."""

    phase: Phase = "unknown"
    failures: int = 0
    """Consecutive failed checks that count (outside the grace period)."""
    failure_type: str | None = None
    message: str = ""
    incident: bool = False
    """A failure is confirmed and not resolved yet (its record is open)."""
    restarts: tuple[float, ...] = ()
    """Restart attempts inside the budget window, oldest first."""
    total_restarts: int = 0
    backoff_step: int = 0
    """Restarts since the backoff was last reset."""
    last_restart: float | None = None
    healthy_since: float | None = None
    verify_deadline: float | None = None
    exhausted_alerted: bool = False
    alerted: bool = False
    """The alert-only event of the current incident was sent."""


@dataclasses.dataclass(frozen=True, slots=True)
class Observation:
    """One check of one container."""

    verdict: Verdict
    running: bool
    started_at: float | None = None
    opted_out: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Record:
    """A failure record to write. `open` starts the incident, `resolve` ends it."""

    type: RecordType
    message: str
    action: Literal["restart", "alert", "none"]
    result: Literal["pending", "success", "failed", "skipped"]
    op: Literal["open", "add", "resolve", "restart_done"] = "add"


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    level: Level
    type: RecordType
    message: str


@dataclasses.dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    track: Track
    reason: str
    records: tuple[Record, ...] = ()
    events: tuple[Event, ...] = ()


def backoff_delay(policy: Policy, step: int) -> float:
    """Seconds between the previous restart and the next, `step` restarts into an episode."""
    if step <= 0:
        return 0.0
    return min(policy.backoff_max, policy.backoff_initial * 2.0 ** min(step - 1, 64))


def budget_left(track: Track, policy: Policy, now: float) -> int:
    """Restarts still allowed in the sliding window ending now."""
    used = sum(1 for t in track.restarts if now - t < policy.window)
    return max(0, policy.max_restarts - used)


def decide(track: Track, seen: Observation, policy: Policy, now: float) -> Decision:
    """What to do about one container after one check; see the module docstring."""
    if seen.opted_out:
        return Decision("ignore", _set(track, phase="ignored", failures=0),
                        f"opted out ({policy.opt_out_label}=true)")
    verdict = seen.verdict
    if verdict.on_purpose:
        return _stopped(track, verdict)
    if verdict.ok:
        return _passed(track, policy, now, verdict.message)
    if seen.running and seen.started_at is not None and (
            now - seen.started_at < policy.check.start_period):
        phase: Phase = "verifying" if track.phase == "verifying" else "starting"
        return Decision("wait", _set(track, phase=phase, message=verdict.message),
                        f"in the start period: {verdict.message}")
    failures = track.failures + 1
    track = _set(track, failures=failures, failure_type=verdict.failure,
                 message=verdict.message, healthy_since=None)
    if track.phase == "budget_exhausted":
        return Decision("none", track, f"restart budget spent: {verdict.message}")
    expired = (track.phase == "verifying" and track.verify_deadline is not None
               and now >= track.verify_deadline)
    if failures < policy.failure_threshold and not expired:
        phase = "verifying" if track.phase == "verifying" else "failing"
        return Decision("none", _set(track, phase=phase),
                        f"failed {failures}/{policy.failure_threshold}: {verdict.message}")
    return _confirmed(track, policy, now, verdict, verify_failed=track.phase == "verifying")


def restarted(track: Track, policy: Policy, now: float, *, error: str | None) -> Decision:
    """Fold in the outcome of a restart the shell just made (`error` None on success)."""
    track = _set(track, restarts=(*_in_window(track, policy, now), now),
                 total_restarts=track.total_restarts + 1, backoff_step=track.backoff_step + 1,
                 last_restart=now, failures=0)
    if error is None:
        return Decision(
            "none", _set(track, phase="verifying", verify_deadline=now + policy.verify_timeout),
            "restarted; verifying",
            (Record("auto_restart", f"restarted after: {track.message}", "restart", "pending"),),
            (Event("warning", "auto_restart", f"restarted after: {track.message}"),))
    return Decision("none", _set(track, phase="waiting", verify_deadline=None),
                    f"restart failed: {error}",
                    (Record("restart_failed", f"restart failed: {error}", "restart", "failed"),),
                    (Event("error", "restart_failed", f"restart failed: {error}"),))


def _confirmed(track: Track, policy: Policy, now: float, verdict: Verdict, *,
               verify_failed: bool) -> Decision:
    records: list[Record] = []
    if verify_failed:
        records.append(Record("auto_restart", "did not recover after the restart", "restart",
                              "failed", op="restart_done"))
    if not track.incident:
        action: Literal["restart", "alert", "none"] = "restart" if policy.auto_restart else (
            "alert" if policy.alert_enabled else "none")
        records.append(Record(verdict.failure or "health_check_failed", verdict.message,
                              action, "pending", op="open"))
        track = _set(track, incident=True)
    if not policy.auto_restart:
        events: tuple[Event, ...] = ()
        if policy.alert_enabled and not track.alerted:
            events = (Event(_level(policy), verdict.failure or "health_check_failed",
                            f"unhealthy (restart.auto is false): {verdict.message}"),)
        return Decision("alert" if events else "none",
                        _set(track, phase="unhealthy", alerted=True), "restart.auto is false",
                        tuple(records), events)
    if budget_left(track, policy, now) <= 0:
        return _give_up(track, policy, now, records)
    wait = backoff_delay(policy, track.backoff_step)
    if track.last_restart is not None and now < track.last_restart + wait:
        left = track.last_restart + wait - now
        return Decision("wait", _set(track, phase="waiting"),
                        f"backoff: next restart in {left:.3g}s", tuple(records))
    return Decision("restart", track, f"failure confirmed: {verdict.message}", tuple(records))


def _give_up(track: Track, policy: Policy, now: float, records: list[Record]) -> Decision:
    used = len(_in_window(track, policy, now))
    message = (f"restart budget spent ({used} of {policy.max_restarts} restarts in "
               f"{policy.window:g}s); no more restarts until the container is healthy")
    events: tuple[Event, ...] = ()
    if not track.exhausted_alerted:
        records.append(Record("restart_limit_exceeded", message, "alert",
                              "success" if policy.alert_enabled else "skipped"))
        if policy.alert_enabled:
            events = (Event(_level(policy), "restart_limit_exceeded", message),)
    track = _set(track, phase="budget_exhausted", exhausted_alerted=True, verify_deadline=None)
    return Decision("give_up", track, message, tuple(records), events)


def _passed(track: Track, policy: Policy, now: float, message: str) -> Decision:
    if track.phase == "healthy":
        step = track.backoff_step
        if step and track.healthy_since is not None and now - track.healthy_since >= (
                policy.reset_after):
            step = 0
        return Decision("none", _set(track, backoff_step=step, message=message), "healthy")
    records: tuple[Record, ...] = ()
    events: tuple[Event, ...] = ()
    if track.phase == "verifying":
        records = (Record("auto_restart", "recovered after the restart", "restart", "success",
                          op="restart_done"),)
    if track.incident:
        records = (*records, Record("recovered", f"recovered: {message}", "none", "success",
                                    op="resolve"))
        events = (Event("info", "recovered", f"recovered: {message}"),)
    track = _set(track, phase="healthy", failures=0, failure_type=None, message=message,
                 incident=False, healthy_since=now, verify_deadline=None,
                 exhausted_alerted=False, alerted=False)
    return Decision("none", track, "recovered" if records else "healthy", records, events)


def _stopped(track: Track, verdict: Verdict) -> Decision:
    records: tuple[Record, ...] = ()
    if track.incident:
        records = (Record("recovered", f"closed: {verdict.message}", "none", "skipped",
                          op="resolve"),)
    track = _set(track, phase="stopped", failures=0, message=verdict.message, incident=False,
                 healthy_since=None, verify_deadline=None, exhausted_alerted=False,
                 alerted=False)
    return Decision("ignore", track, f"stopped on purpose: {verdict.message}", records)


def _in_window(track: Track, policy: Policy, now: float) -> tuple[float, ...]:
    return tuple(t for t in track.restarts if now - t < policy.window)


def _level(policy: Policy) -> Level:
    return policy.alert_level


def _set(track: Track, **changes: object) -> Track:
    return dataclasses.replace(track, **changes)  # type: ignore[arg-type]

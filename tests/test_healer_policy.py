"""The healer's pure decisions on a virtual clock: thresholds, grace, backoff, budget, reset."""

from __future__ import annotations

import dataclasses

import pytest

from converge.reconciler.healer.config import CheckSettings, Policy
from converge.reconciler.healer.containers import Container, Verdict, health_verdict, state_verdict
from converge.reconciler.healer.policy import (
    Decision,
    Observation,
    Track,
    backoff_delay,
    decide,
    restarted,
)

FAIL = Verdict.failed("health_check_failed", "GET /: HTTP 500")
OK = Verdict.passed("GET /: HTTP 200")


def policy(**changes: object) -> Policy:
    base = Policy(name="web", check=CheckSettings(type="http", interval=10, port=80),
                  failure_threshold=3, max_restarts=3, window=600, backoff_initial=10,
                  backoff_max=300, reset_after=600, verify_timeout=60)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


class Sim:
    """A container checked every `interval` seconds on a virtual clock; restarts succeed."""

    def __init__(self, p: Policy) -> None:
        self.policy, self.track, self.now = p, Track(), 1000.0
        self.started_at = 0.0
        self.restarts: list[float] = []
        self.events: list[str] = []
        self.records: list[str] = []

    def check(self, verdict: Verdict, *, running: bool = True) -> Decision:
        d = decide(self.track, Observation(verdict, running, self.started_at), self.policy,
                   self.now)
        self._take(d)
        if d.action == "restart":
            self.restarts.append(self.now)
            self.started_at = self.now
            self._take(restarted(self.track, self.policy, self.now, error=None))
        self.now += self.policy.check.interval
        return d

    def _take(self, d: Decision) -> None:
        self.track = d.track
        self.events += [f"{e.level}:{e.type}" for e in d.events]
        self.records += [f"{r.op}:{r.type}:{r.result}" for r in d.records]


def test_acts_after_threshold_consecutive_failures() -> None:
    sim = Sim(policy())
    assert [sim.check(FAIL).action for _ in range(3)] == ["none", "none", "restart"]
    assert sim.track.phase == "verifying"
    assert sim.records == ["open:health_check_failed:pending", "add:auto_restart:pending"]


def test_a_pass_resets_the_count() -> None:
    sim = Sim(policy())
    actions = [sim.check(v).action for v in (FAIL, FAIL, OK, FAIL, FAIL)]
    assert "restart" not in actions
    assert sim.track.failures == 2


def test_recovery_after_restart_resolves_the_incident() -> None:
    sim = Sim(policy())
    for _ in range(3):
        sim.check(FAIL)
    sim.check(OK)
    assert sim.track.phase == "healthy" and not sim.track.incident
    assert sim.records[-2:] == ["restart_done:auto_restart:success", "resolve:recovered:success"]
    assert sim.events == ["warning:auto_restart", "info:recovered"]


def test_start_period_failures_do_not_count() -> None:
    sim = Sim(policy(check=CheckSettings(type="http", interval=10, port=80, start_period=25)))
    sim.started_at = sim.now
    assert [sim.check(FAIL).action for _ in range(3)] == ["wait", "wait", "wait"]
    assert sim.track.failures == 0
    assert [sim.check(FAIL).action for _ in range(3)] == ["none", "none", "restart"]


def test_exited_container_is_not_in_grace() -> None:
    sim = Sim(policy(check=CheckSettings(interval=10, start_period=300), failure_threshold=1))
    sim.started_at = sim.now
    exited = state_verdict(Container("c", "c", {}, "exited", exit_code=1))
    assert sim.check(exited, running=False).action == "restart"


def test_backoff_doubles_to_the_cap() -> None:
    p = policy(backoff_initial=10, backoff_max=300)
    assert [backoff_delay(p, s) for s in range(8)] == [0, 10, 20, 40, 80, 160, 300, 300]


def crash_loop(p: Policy, checks: int) -> Sim:
    sim = Sim(p)
    exited = state_verdict(Container("c", "c", {}, "exited", exit_code=1))
    for _ in range(checks):
        sim.check(exited, running=False)
    return sim


def test_restarts_wait_for_the_backoff() -> None:
    p = policy(failure_threshold=1, max_restarts=100, check=CheckSettings(interval=5),
               backoff_initial=10)
    sim = crash_loop(p, 300)
    gaps = [b - a for a, b in zip(sim.restarts, sim.restarts[1:], strict=False)]
    assert sim.restarts[0] == 1000.0  # the first restart is immediate
    assert gaps[:7] == [10, 20, 40, 80, 160, 300, 300]


def test_budget_spent_gives_up_with_one_critical_event() -> None:
    p = policy(failure_threshold=1, max_restarts=3, window=3600, backoff_initial=0.0,
               check=CheckSettings(interval=5))
    sim = crash_loop(p, 30)
    assert len(sim.restarts) == 3
    assert sim.track.phase == "budget_exhausted"
    assert sim.events.count("critical:restart_limit_exceeded") == 1
    assert sim.records.count("add:restart_limit_exceeded:success") == 1
    assert sim.records.count("restart_done:auto_restart:failed") == 3


def test_exhausted_stays_exhausted_after_the_window_until_healthy() -> None:
    p = policy(failure_threshold=1, max_restarts=2, window=60, backoff_initial=0.0,
               check=CheckSettings(interval=5))
    sim = crash_loop(p, 40)  # 200 s: far past the window
    assert len(sim.restarts) == 2 and sim.track.phase == "budget_exhausted"
    sim.check(OK)  # a person fixed it
    assert sim.track.phase == "healthy" and not sim.track.exhausted_alerted
    sim.check(Verdict.failed("container_stopped", "exited with code 1"), running=False)
    assert len(sim.restarts) == 3  # a new incident, a fresh window


def test_sliding_window_budget() -> None:
    """Restarts spread wider than the window never exhaust the budget."""
    p = policy(failure_threshold=1, max_restarts=2, window=100, backoff_initial=0.0,
               check=CheckSettings(interval=10))
    sim = Sim(p)
    for _ in range(10):
        sim.check(FAIL)
        sim.check(OK)
        for _ in range(6):
            sim.check(OK)
    assert len(sim.restarts) == 10
    assert "critical:restart_limit_exceeded" not in sim.events


def test_backoff_resets_after_a_healthy_period() -> None:
    p = policy(failure_threshold=1, max_restarts=100, backoff_initial=10, reset_after=600,
               check=CheckSettings(interval=10))
    sim = Sim(p)
    for _ in range(3):
        sim.check(FAIL)
        sim.check(OK)
    assert sim.track.backoff_step == 3
    for _ in range(61):
        sim.check(OK)
    assert sim.track.backoff_step == 0
    assert sim.check(FAIL).action == "restart"  # immediate again


def test_verification_deadline() -> None:
    """A restart that never passes a check within verifyTimeout failed."""
    p = policy(failure_threshold=100, verify_timeout=30, check=CheckSettings(interval=10))
    sim = Sim(dataclasses.replace(p, failure_threshold=1))
    sim.check(FAIL)
    assert sim.track.phase == "verifying"
    sim.policy = p
    actions = [sim.check(FAIL).action for _ in range(3)]
    assert actions[-1] in ("restart", "wait")
    assert "restart_done:auto_restart:failed" in sim.records


def test_auto_false_only_alerts_once() -> None:
    sim = Sim(policy(auto_restart=False, alert_level="warning"))
    actions = [sim.check(FAIL).action for _ in range(6)]
    assert actions == ["none", "none", "alert", "none", "none", "none"]
    assert sim.restarts == [] and sim.events == ["warning:health_check_failed"]
    assert sim.track.phase == "unhealthy"


def test_opted_out_is_ignored() -> None:
    d = decide(Track(), Observation(FAIL, True, opted_out=True), policy(), 0.0)
    assert d.action == "ignore" and d.track.phase == "ignored"


def test_stopped_on_purpose_is_left_alone_and_closes_the_incident() -> None:
    sim = Sim(policy(auto_restart=False))
    for _ in range(3):
        sim.check(FAIL)
    stopped = state_verdict(Container("c", "c", {}, "exited", exit_code=143))
    d = sim.check(stopped, running=False)
    assert d.action == "ignore" and sim.track.phase == "stopped"
    assert sim.records[-1] == "resolve:recovered:skipped"


def test_failed_restart_counts_against_the_budget() -> None:
    p = policy(failure_threshold=1, max_restarts=2)
    d = restarted(Track(message="x"), p, 0.0, error="engine API error 500")
    assert d.track.phase == "waiting" and d.track.restarts == (0.0,)
    assert [e.level for e in d.events] == ["error"]
    assert d.records[0].type == "restart_failed"


@pytest.mark.parametrize(("container", "ok", "failure", "on_purpose"), [
    pytest.param(Container("c", "c", {}, "running"), True, None, False, id="running"),
    pytest.param(Container("c", "c", {}, "exited", exit_code=2), False, "container_stopped",
                 False, id="crashed"),
    pytest.param(Container("c", "c", {}, "exited", exit_code=143), False, None, True,
                 id="sigterm"),
    pytest.param(Container("c", "c", {}, "exited", exit_code=137), False, None, True,
                 id="stop-timeout-sigkill"),
    pytest.param(Container("c", "c", {}, "exited", exit_code=0), False, None, True,
                 id="clean-exit"),
    pytest.param(Container("c", "c", {}, "exited", exit_code=137, oom_killed=True), False,
                 "container_error", False, id="oom-killed"),
    pytest.param(Container("c", "c", {}, "dead"), False, "container_error", False, id="dead"),
    pytest.param(Container("c", "c", {}, "restarting", restart_count=9), False,
                 "container_error", False, id="restart-loop"),
    pytest.param(Container("c", "c", {}, "paused"), False, None, True, id="paused"),
    pytest.param(Container("c", "c", {}, "created"), False, None, True, id="created"),
])
def test_state_verdicts(container: Container, ok: bool, failure: str | None,
                        on_purpose: bool) -> None:
    verdict = state_verdict(container)
    assert (verdict.ok, verdict.failure, verdict.on_purpose) == (ok, failure, on_purpose)


@pytest.mark.parametrize(("health", "ok"), [("healthy", True), ("starting", True),
                                            ("", True), ("unhealthy", False)])
def test_docker_health_verdicts(health: str, ok: bool) -> None:
    assert health_verdict(Container("c", "c", {}, "running", health=health)).ok is ok

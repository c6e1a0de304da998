"""The reconcile loop: backoff on errors, never exits, triggers, interruptible sleeps."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator

import pytest

from converge.reconciler.core import (
    BackoffPolicy,
    Loop,
    LoopSettings,
    PermanentError,
    Status,
    TemporaryError,
    Waker,
    metrics,
)

NO_JITTER = LoopSettings(interval=60.0, jitter=0.0, backoff=BackoffPolicy(jitter=0.0))


def _loop(step: object, settings: LoopSettings = NO_JITTER,
          status: Status | None = None) -> Loop:
    return Loop(daemon="test", name="sync", step=step, settings=settings,  # type: ignore[arg-type]
                status=status)


class Flaky:
    """Fails with the given exceptions in turn, then succeeds."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)


@pytest.fixture
def running() -> Iterator[list[tuple[Loop, threading.Thread]]]:
    started: list[tuple[Loop, threading.Thread]] = []
    yield started
    for loop, thread in started:
        loop.stop()
        thread.join(5)
        assert not thread.is_alive()


def _start(loop: Loop, started: list[tuple[Loop, threading.Thread]]) -> threading.Thread:
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    started.append((loop, thread))
    return thread


def _wait_for(predicate: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_errors_back_off_exponentially_and_success_resets() -> None:
    step = Flaky(OSError("fetch failed"), ValueError("bug"), TemporaryError("busy"))
    loop = _loop(step)
    outcomes = [loop.run_once() for _ in range(4)]
    assert [(o.result, o.delay) for o in outcomes] == [
        ("temporary", 1.0), ("temporary", 2.0), ("temporary", 4.0), ("success", 60.0)]
    assert outcomes[0].error == "fetch failed"
    assert loop.run_once().delay == 60.0


def test_a_temporary_error_may_name_its_delay() -> None:
    outcome = _loop(Flaky(TemporaryError("rate limited", delay=7.5))).run_once()
    assert (outcome.result, outcome.delay) == ("temporary", 7.5)


def test_conditions_follow_outcomes() -> None:
    status = Status("test")
    loop = _loop(Flaky(OSError("remote gone"), PermanentError("3 errors", reason="CompileFailed")),
                 status=status)
    loop.run_once()
    reconciling, stalled = status.condition("Reconciling"), status.condition("Stalled")
    assert reconciling is not None and stalled is not None
    assert (reconciling.status, reconciling.reason) == ("True", "Retrying")
    assert "remote gone" in reconciling.message and stalled.status == "False"
    outcome = loop.run_once()
    assert (outcome.result, outcome.delay) == ("permanent", 60.0)
    stalled = status.condition("Stalled")
    assert stalled is not None and (stalled.status, stalled.reason) == ("True", "CompileFailed")
    loop.run_once()
    assert status.condition("Stalled").status == "False"  # type: ignore[union-attr]
    assert status.condition("Reconciling").reason == "Succeeded"  # type: ignore[union-attr]


def test_repeated_temporary_failures_stall_while_still_retrying() -> None:
    status = Status("test")
    loop = _loop(Flaky(*[OSError("reload rejected")] * 3),
                 dataclasses.replace(NO_JITTER, stall_after=3), status=status)
    delays = []
    for _ in range(2):
        delays.append(loop.run_once().delay)
        assert status.condition("Stalled").status == "False"  # type: ignore[union-attr]
    outcome = loop.run_once()
    stalled = status.condition("Stalled")
    assert stalled is not None and (stalled.status, stalled.reason) == ("True", "FailingRepeatedly")
    assert "3 attempts" in stalled.message and "reload rejected" in stalled.message
    assert (outcome.result, [*delays, outcome.delay]) == ("temporary", [1.0, 2.0, 4.0])
    loop.run_once()  # the fix arrives: no longer stalled
    assert status.condition("Stalled").status == "False"  # type: ignore[union-attr]


def test_stall_after_none_never_stalls_on_temporary_failures() -> None:
    status = Status("test")
    loop = _loop(Flaky(*[OSError("down")] * 8),
                 dataclasses.replace(NO_JITTER, stall_after=None), status=status)
    for _ in range(8):
        loop.run_once()
    assert status.condition("Stalled").status == "False"  # type: ignore[union-attr]


def test_never_exits_on_errors(running: list[tuple[Loop, threading.Thread]]) -> None:
    errors = [OSError("a"), RuntimeError("b"), KeyError("c"), ZeroDivisionError()] * 3
    fast = LoopSettings(interval=0.001, jitter=0.0,
                        backoff=BackoffPolicy(initial=0.001, cap=0.002, jitter=0.0))
    step = Flaky(*errors)
    thread = _start(_loop(step, fast), running)
    _wait_for(lambda: step.calls > len(errors) + 2)
    assert thread.is_alive()


def test_a_trigger_runs_at_once_and_stop_interrupts_the_sleep(
        running: list[tuple[Loop, threading.Thread]]) -> None:
    step = Flaky()
    loop = _loop(step)  # interval 60 s
    thread = _start(loop, running)
    _wait_for(lambda: step.calls == 1)
    loop.trigger()
    _wait_for(lambda: step.calls == 2)
    started = time.monotonic()
    loop.stop()
    thread.join(5)
    assert not thread.is_alive() and time.monotonic() - started < 1.0
    assert step.calls == 2


def test_a_trigger_during_a_run_is_not_lost(
        running: list[tuple[Loop, threading.Thread]]) -> None:
    inside, release = threading.Event(), threading.Event()
    calls = []

    def step() -> None:
        calls.append(1)
        if len(calls) == 1:
            inside.set()
            release.wait(5)

    loop = _loop(step)
    _start(loop, running)
    assert inside.wait(5)
    loop.trigger()
    loop.trigger()  # coalesced with the first
    release.set()
    _wait_for(lambda: len(calls) == 2)
    time.sleep(0.05)
    assert len(calls) == 2


def test_stop_during_a_backoff_ends_at_once(running: list[tuple[Loop, threading.Thread]]) -> None:
    step = Flaky(*[OSError("down")] * 100)
    slow = LoopSettings(interval=60.0, backoff=BackoffPolicy(initial=30.0))
    loop = _loop(step, slow)
    thread = _start(loop, running)
    _wait_for(lambda: step.calls == 1)
    loop.stop()
    thread.join(2)
    assert not thread.is_alive()


def test_run_at_start_false_waits_an_interval_first() -> None:
    step = Flaky()
    loop = _loop(step, LoopSettings(interval=0.05, jitter=0.0, run_at_start=False))
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    time.sleep(0.02)
    assert step.calls == 0
    _wait_for(lambda: step.calls >= 1)
    loop.stop()
    thread.join(5)


def test_waker_sleeps_its_time_and_remembers_a_trigger() -> None:
    waker = Waker()
    started = time.monotonic()
    assert waker.sleep(0.05) is False
    assert time.monotonic() - started >= 0.045
    waker.trigger()
    assert waker.sleep(10) is True
    waker.stop()
    assert waker.sleep(10) is True and waker.stopped


def test_loop_metrics_count_runs_by_result() -> None:
    registry = metrics.registry()
    loop_metrics = metrics.LoopMetrics(registry, "test")
    loop = Loop(daemon="test", name="sync", step=Flaky(OSError("x")), settings=NO_JITTER,
                metrics=loop_metrics)
    loop.run_once()
    loop.run_once()
    value = registry.get_sample_value
    assert value("converge_test_reconcile_total", {"loop": "sync", "result": "temporary"}) == 1
    assert value("converge_test_reconcile_total", {"loop": "sync", "result": "success"}) == 1
    assert value("converge_test_reconcile_consecutive_failures", {"loop": "sync"}) == 0
    assert value("converge_test_reconcile_last_success_timestamp_seconds", {"loop": "sync"})

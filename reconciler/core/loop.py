"""The reconcile loop: run a step every interval (jittered), back off on errors, never exit.

A loop is a function plus a frozen behaviour record (`LoopSettings`); each attempt ends
in an `Outcome`. The step signals how it failed by the exception it raises:

* `TemporaryError` (or any other exception): retry with exponential backoff
  (`BackoffPolicy`: 1 s doubling to 30 s), or after the error's own `delay`;
* `PermanentError`: retrying soon will not help (a spec that does not compile); the
  `Stalled` condition turns true and the loop waits the normal interval or a trigger.

The loop runs in a worker thread (`run()`); `trigger()` starts the next run at once and
`stop()` ends the loop after the current step. It keeps the `Reconciling` and `Stalled`
conditions of a `Status` up to date and never touches `Ready`: that is the daemon's call.
"""

from __future__ import annotations

import dataclasses
import logging
import random as _random
import time
from collections.abc import Callable
from typing import Literal

from converge.reconciler.core import conditions
from converge.reconciler.core.backoff import Backoff, BackoffPolicy
from converge.reconciler.core.metrics import LoopMetrics
from converge.reconciler.core.status import Status
from converge.reconciler.core.waker import Waker

Result = Literal["success", "temporary", "permanent"]


class TemporaryError(Exception):
    """A failure worth retrying soon (with backoff, or after `delay` seconds)."""

    def __init__(self, message: str, *, delay: float | None = None) -> None:
        super().__init__(message)
        self.delay = delay


class PermanentError(Exception):
    """A failure that needs a human; `reason` becomes the `Stalled` condition's reason."""

    def __init__(self, message: str, *, reason: str = "Failed") -> None:
        super().__init__(message)
        self.reason = reason


@dataclasses.dataclass(frozen=True, slots=True)
class LoopSettings:
    """How a loop behaves.

    Attributes:
        interval: seconds between successful runs.
        jitter: relative spread of the interval (0.1 → ±10 %), so a fleet of daemons
            does not hit the same server in step.
        backoff: delays after consecutive failures.
        run_at_start: run the first step at once (else after one interval).
        stall_after: consecutive temporary failures after which `Stalled` turns true
            (reason `FailingRepeatedly`) while the loop keeps retrying with backoff;
            `None` never stalls on temporary failures.
    """

    interval: float = 30.0
    jitter: float = 0.1
    backoff: BackoffPolicy = BackoffPolicy()
    run_at_start: bool = True
    stall_after: int | None = 5


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """What one run did and how long the loop waits before the next."""

    result: Result
    delay: float
    duration: float
    error: str | None = None


class Loop:
    """Runs `step()` until stopped. See the module docstring for the error protocol.

    Args:
        daemon: the daemon's name (for logs and metrics).
        name: the loop's name, e.g. `sync` or `compile`.
        step: the work of one run; returns anything (ignored) or raises.
        settings: interval, jitter, backoff.
        status: conditions to keep up to date (optional).
        metrics: run counters and timings (optional).
        random: floats in [0, 1) for jitter; injectable for tests.
        clock: monotonic seconds, for durations and the sleeps; injectable for tests.
    """

    def __init__(self, *, daemon: str, name: str, step: Callable[[], object],
                 settings: LoopSettings | None = None, status: Status | None = None,
                 metrics: LoopMetrics | None = None,
                 random: Callable[[], float] = _random.random,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.daemon = daemon
        self.name = name
        self.settings = settings or LoopSettings()
        self.waker = Waker(clock=clock)
        self._step = step
        self._status = status
        self._metrics = metrics
        self._random = random
        self._clock = clock
        self._backoff = Backoff(self.settings.backoff, random=random)
        self._log = logging.getLogger(f"converge.{daemon}.{name}")
        self.runs = 0

    def run(self) -> None:
        """Run steps until `stop()`; the body of the worker thread. Never raises."""
        if not self.settings.run_at_start:
            self.waker.sleep(self.interval_delay())
        while not self.waker.stopped:
            outcome = self.run_once()
            if self.waker.stopped:
                break
            self.waker.sleep(outcome.delay)
        self._log.info("%s loop '%s' stopped", self.daemon, self.name,
                       extra={"daemon": self.daemon, "loop": self.name, "event": "stopped"})

    def trigger(self) -> None:
        """Start the next run now (after the current one, if a run is in progress)."""
        self.waker.trigger()

    def stop(self) -> None:
        """Stop after the current step; a sleep in progress ends at once."""
        self.waker.stop()

    def interval_delay(self) -> float:
        """The jittered interval."""
        spread = 1.0 + self.settings.jitter * (2.0 * self._random() - 1.0)
        return max(0.0, self.settings.interval * spread)

    def run_once(self) -> Outcome:
        """Run the step once, classify how it ended and update status and metrics."""
        self.runs += 1
        self._set(conditions.RECONCILING, True, "Progressing", f"{self.name} running")
        started = self._clock()
        try:
            self._step()
        except PermanentError as error:
            outcome = self._permanent(error, self._clock() - started)
        except Exception as error:  # any failure is retried, never fatal
            outcome = self._temporary(error, self._clock() - started)
        else:
            outcome = self._success(self._clock() - started)
        if self._metrics is not None:
            self._metrics.observe(self.name, outcome.result, outcome.duration,
                                  failures=self._backoff.failures)
        return outcome

    def _success(self, duration: float) -> Outcome:
        self._backoff.reset()
        self._set(conditions.RECONCILING, False, "Succeeded", "")
        self._set(conditions.STALLED, False, "Succeeded", "")
        return Outcome("success", self.interval_delay(), duration)

    def _temporary(self, error: Exception, duration: float) -> Outcome:
        delay = self._backoff.failure()
        if isinstance(error, TemporaryError) and error.delay is not None:
            delay = error.delay
        text = _describe(error)
        self._log.warning(
            "%s '%s' failed temporarily, retrying in %.3gs: %s", self.daemon, self.name,
            delay, text, exc_info=not isinstance(error, TemporaryError | OSError),
            extra={"daemon": self.daemon, "loop": self.name, "event": "retrying",
                   "delay": round(delay, 3), "failures": self._backoff.failures,
                   "error": text})
        failures = self._backoff.failures
        self._set(conditions.RECONCILING, True, "Retrying", f"attempt {failures} failed: {text}")
        limit = self.settings.stall_after
        if limit is not None and failures >= limit:  # still retrying, but a human should look
            self._set(conditions.STALLED, True, "FailingRepeatedly",
                      f"{failures} attempts in a row failed, the last: {text}")
        else:
            self._set(conditions.STALLED, False, "Retrying", "")
        return Outcome("temporary", delay, duration, text)

    def _permanent(self, error: PermanentError, duration: float) -> Outcome:
        self._backoff.reset()
        text = _describe(error)
        delay = self.interval_delay()
        self._log.error(
            "%s '%s' stalled (%s), next attempt in %.3gs: %s", self.daemon, self.name,
            error.reason, delay, text,
            extra={"daemon": self.daemon, "loop": self.name, "event": "stalled",
                   "reason": error.reason, "delay": round(delay, 3), "error": text})
        self._set(conditions.RECONCILING, False, error.reason, text)
        self._set(conditions.STALLED, True, error.reason, text)
        return Outcome("permanent", delay, duration, text)

    def _set(self, type: str, value: bool, reason: str, message: str) -> None:
        if self._status is not None:
            self._status.set(type, value, reason, message)


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    return text if text else type(error).__name__

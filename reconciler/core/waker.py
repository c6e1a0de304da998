"""An interruptible sleep: a loop's wait between runs ends early on a trigger or on stop.

Shutdown never waits out a backoff, and an operator's trigger or a webhook starts the
next run at once. Thread-safe: the loop sleeps in its worker thread, HTTP handlers and
signal handlers call `trigger()` / `stop()` from the event loop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Waker:
    """A sleep that `trigger()` and `stop()` interrupt.

    A trigger that arrives while nobody sleeps is remembered, so the next `sleep`
    returns at once (triggers during a run are never lost; several coalesce into one).
    `stop()` is permanent: every later `sleep` returns at once.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._condition = threading.Condition()
        self._triggered = False
        self._stopped = False

    @property
    def stopped(self) -> bool:
        with self._condition:
            return self._stopped

    def sleep(self, seconds: float) -> bool:
        """Wait up to `seconds`; True if woken early by `trigger()` or `stop()`."""
        deadline = self._clock() + max(0.0, seconds)
        with self._condition:
            while not (self._triggered or self._stopped):
                remaining = deadline - self._clock()
                if remaining <= 0:
                    return False
                self._condition.wait(remaining)
            self._triggered = False
            return True

    def trigger(self) -> None:
        """End the current (or the next) sleep now."""
        with self._condition:
            self._triggered = True
            self._condition.notify_all()

    def stop(self) -> None:
        """End every sleep now and from now on."""
        with self._condition:
            self._stopped = True
            self._condition.notify_all()

"""Exponential backoff with a cap and jitter: how long to wait after the n-th failure.

Defaults follow what users expect of reloaders (see notes/daemons.md): 1 s doubling to
30 s, never giving up. `BackoffPolicy` is a frozen, pure description; `Backoff` counts
consecutive failures and resets on success.
"""

from __future__ import annotations

import dataclasses
import random as _random
from collections.abc import Callable


@dataclasses.dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """How delays grow: `initial * factor**(failures-1)`, jittered, never above `cap`.

    Attributes:
        initial: delay after the first failure, in seconds.
        factor: growth per further consecutive failure.
        cap: the largest delay, in seconds (jitter never exceeds it).
        jitter: relative spread, e.g. 0.1 gives ±10 %; 0 disables it.
    """

    initial: float = 1.0
    factor: float = 2.0
    cap: float = 30.0
    jitter: float = 0.1

    def delay(self, failures: int, *, random: Callable[[], float] = _random.random) -> float:
        """Seconds to wait after `failures` consecutive failures (0 failures → 0 s).

        Args:
            failures: consecutive failures so far, including the one just seen.
            random: a source of floats in [0, 1), injectable for tests.
        """
        if failures <= 0:
            return 0.0
        exponent = min(failures - 1, 64)  # 2**64 s is far past any cap; avoids overflow
        base = min(self.cap, self.initial * self.factor ** exponent)
        spread = 1.0 + self.jitter * (2.0 * random() - 1.0)
        return max(0.0, min(self.cap, base * spread))


class Backoff:
    """Consecutive-failure counter over a `BackoffPolicy`.

    >>> b = Backoff(BackoffPolicy(jitter=0))
    >>> b.failure(), b.failure(), b.failure()
    (1.0, 2.0, 4.0)
    >>> b.reset(); b.failure()
    1.0
    """

    def __init__(self, policy: BackoffPolicy | None = None, *,
                 random: Callable[[], float] = _random.random) -> None:
        self.policy = policy or BackoffPolicy()
        self.failures = 0
        self._random = random

    def failure(self) -> float:
        """Record one more failure; return the delay before the next attempt."""
        self.failures += 1
        return self.policy.delay(self.failures, random=self._random)

    def reset(self) -> None:
        """Forget past failures (call on success)."""
        self.failures = 0

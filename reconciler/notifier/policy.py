"""What to do after an attempt: next part, retry later, or dead-letter (pure).

Retryable failures back off exponentially (1 s doubling to 5 min, ±10 % jitter), never
sooner than the vendor asked (`Retry-After`), and at least a minute after a vendor's
"too many messages" without one (DingTalk then throttles a robot for minutes). A message
still failing `max_age` after it was received is dead-lettered with its last error, so
nothing waits forever unseen.
"""

from __future__ import annotations

import dataclasses
import random as _random
from collections.abc import Callable
from typing import Literal

from converge.reconciler.core.backoff import BackoffPolicy
from converge.reconciler.notifier.vendors.base import Outcome

Action = Literal["next", "retry", "dead"]


@dataclasses.dataclass(frozen=True, slots=True)
class RetryPolicy:
    backoff: BackoffPolicy = BackoffPolicy(initial=1.0, factor=2.0, cap=300.0, jitter=0.1)
    max_age: float = 24 * 3600.0
    """Seconds after receipt when a message that keeps failing is dead-lettered."""
    rate_limit_delay: float = 60.0
    """Seconds to wait after a rate-limit answer that says no Retry-After."""


@dataclasses.dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    delay: float = 0.0
    reason: str = ""


def decide(outcome: Outcome, *, failures: int, age: float, policy: RetryPolicy,
           random: Callable[[], float] = _random.random) -> Decision:
    """The decision after an attempt.

    Args:
        outcome: how the attempt ended.
        failures: consecutive failed attempts of this message, this one included.
        age: seconds since the message was received.
        policy: backoff and give-up age.
    """
    if outcome.result == "success":
        return Decision("next")
    if outcome.result == "permanent":
        return Decision("dead", reason=outcome.reason)
    asked = outcome.retry_after
    if asked is None and outcome.rate_limited:
        asked = policy.rate_limit_delay
    delay = max(policy.backoff.delay(failures, random=random), asked or 0.0)
    if age + delay > policy.max_age:
        return Decision("dead", reason=f"gave up after {failures} attempts in "
                                       f"{age:.0f}s: {outcome.reason}")
    return Decision("retry", delay, outcome.reason)

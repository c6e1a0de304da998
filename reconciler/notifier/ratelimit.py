"""A token bucket per channel: at most `capacity` messages at once, refilled at `rate`/s.

Pure apart from the clock the caller passes in: `reserve(now)` takes a token and says how
long to wait for it, so messages beyond the limit wait, in order, instead of failing.
"""

from __future__ import annotations


class TokenBucket:
    """`capacity` tokens, one more every `1 / rate` seconds; starts full.

    >>> bucket = TokenBucket(capacity=2, rate=1.0, now=0.0)
    >>> bucket.reserve(0.0), bucket.reserve(0.0), bucket.reserve(0.0)
    (0.0, 0.0, 1.0)
    """

    def __init__(self, *, capacity: int, rate: float, now: float) -> None:
        if capacity < 1 or rate <= 0:
            raise ValueError("a token bucket needs capacity >= 1 and rate > 0")
        self.capacity = capacity
        self.rate = rate
        self._tokens = float(capacity)
        self._updated = now

    @classmethod
    def per(cls, messages: int, seconds: float, *, now: float) -> TokenBucket:
        """`messages` per `seconds` (a burst of `messages`, then one every seconds/messages)."""
        return cls(capacity=messages, rate=messages / seconds, now=now)

    def _refill(self, now: float) -> None:
        if now > self._updated:
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now

    def available(self, now: float) -> float:
        """Tokens available at `now` (negative while reservations are outstanding)."""
        self._refill(now)
        return self._tokens

    def reserve(self, now: float) -> float:
        """Take one token; the seconds to wait before using it (0 when one is there)."""
        self._refill(now)
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def drain(self, now: float) -> None:
        """Spend every token (the vendor said we were too fast: wait a full refill)."""
        self._refill(now)
        self._tokens = min(self._tokens, 0.0)

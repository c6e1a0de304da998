"""Backoff: 1 s doubling to a 30 s cap, jitter within bounds, reset on success."""

from __future__ import annotations

import pytest

from converge.reconciler.core import Backoff, BackoffPolicy


@pytest.mark.parametrize(("failures", "expected"), [
    pytest.param(0, 0.0, id="no-failure"),
    pytest.param(1, 1.0, id="first"),
    pytest.param(2, 2.0, id="second"),
    pytest.param(5, 16.0, id="fifth"),
    pytest.param(6, 30.0, id="capped"),
    pytest.param(10_000, 30.0, id="huge-count-no-overflow"),
])
def test_delays_double_up_to_the_cap(failures: int, expected: float) -> None:
    assert BackoffPolicy(jitter=0).delay(failures) == expected


@pytest.mark.parametrize("draw", [0.0, 0.5, 0.999999])
def test_jitter_stays_within_its_spread_and_under_the_cap(draw: float) -> None:
    policy = BackoffPolicy(jitter=0.1)
    assert 3.6 <= policy.delay(3, random=lambda: draw) <= 4.4
    assert policy.delay(50, random=lambda: draw) <= 30.0


def test_counts_failures_and_resets_on_success() -> None:
    backoff = Backoff(BackoffPolicy(jitter=0))
    assert [backoff.failure() for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    backoff.reset()
    assert backoff.failures == 0
    assert backoff.failure() == 1.0

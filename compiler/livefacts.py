"""What `converge check --prometheus URL` learnt from the server, for the `live/*` checks.

Pure: the facts as values, and the context they are read through (`current()`), which
`converge.compiler.live` fills while the command runs the checks (`using(facts)`).
Without live mode `current()` is None and the live checks report nothing.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from collections.abc import Iterator


@dataclasses.dataclass(frozen=True, slots=True)
class Facts:
    """What the server said."""

    url: str
    names: frozenset[str]
    """Every metric name the server has series for."""
    types: dict[str, str]
    """Metric name → type from its metadata (`counter`, `gauge`, `histogram`, …)."""
    scrape_intervals: dict[str, float]
    """Job → its targets' shortest scrape interval, in seconds."""

    @property
    def longest_scrape_interval(self) -> float | None:
        return max(self.scrape_intervals.values(), default=None)


_current: contextvars.ContextVar[Facts | None] = contextvars.ContextVar("live", default=None)


def current() -> Facts | None:
    """The facts of the running `converge check --prometheus`, else None."""
    return _current.get()


@contextlib.contextmanager
def using(facts: Facts | None) -> Iterator[None]:
    """Within the block, `current()` answers `facts` (None: offline)."""
    token = _current.set(facts)
    try:
        yield
    finally:
        _current.reset(token)

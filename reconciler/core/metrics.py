"""Prometheus metrics for a daemon: its own registry and the metrics every daemon has.

Each daemon gets a fresh `CollectorRegistry` (never the global one), so tests can build
several daemons in one process. Names are `converge_<daemon>_<name>`; `name()` builds
them. Labels stay bounded: loop names, results, route templates, status codes.
"""

from __future__ import annotations

import asyncio
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def name(daemon: str, suffix: str) -> str:
    """`converge_<daemon>_<suffix>`."""
    return f"converge_{daemon}_{suffix}"


def registry() -> CollectorRegistry:
    """A new, empty registry for one daemon."""
    return CollectorRegistry(auto_describe=True)


class LoopMetrics:
    """Runs of every loop of one daemon: counts by result, durations, last success.

    `converge_<daemon>_reconcile_total{loop,result}`,
    `converge_<daemon>_reconcile_duration_seconds{loop}`,
    `converge_<daemon>_reconcile_last_success_timestamp_seconds{loop}`,
    `converge_<daemon>_reconcile_consecutive_failures{loop}`.
    """

    def __init__(self, registry: CollectorRegistry, daemon: str) -> None:
        self.runs = Counter(name(daemon, "reconcile_total"), "Reconcile runs by loop and result.",
                            ["loop", "result"], registry=registry)
        self.duration = Histogram(name(daemon, "reconcile_duration_seconds"),
                                  "Duration of reconcile runs.", ["loop"], registry=registry,
                                  buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
        self.last_success = Gauge(name(daemon, "reconcile_last_success_timestamp_seconds"),
                                  "When a reconcile run last succeeded.", ["loop"],
                                  registry=registry)
        self.failures = Gauge(name(daemon, "reconcile_consecutive_failures"),
                              "Consecutive failed runs (0 after a success).", ["loop"],
                              registry=registry)

    def observe(self, loop: str, result: str, duration: float, *, failures: int) -> None:
        """Record one run."""
        self.runs.labels(loop, result).inc()
        self.duration.labels(loop).observe(duration)
        self.failures.labels(loop).set(failures)
        if result == "success":
            self.last_success.labels(loop).set(time.time())


class HttpMetrics:
    """HTTP requests served: `converge_<daemon>_requests_total{route,code}` and
    `converge_<daemon>_request_duration_seconds{route}` (route = the route template)."""

    def __init__(self, registry: CollectorRegistry, daemon: str) -> None:
        self.requests = Counter(name(daemon, "requests_total"), "HTTP requests by route and code.",
                                ["route", "code"], registry=registry)
        self.duration = Histogram(name(daemon, "request_duration_seconds"),
                                  "HTTP request duration by route.", ["route"],
                                  registry=registry,
                                  buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                           0.1, 0.25, 1))

    def observe(self, route: str, code: int, duration: float) -> None:
        self.requests.labels(route, str(code)).inc()
        self.duration.labels(route).observe(duration)


class LoopLag:
    """How late the HTTP event loop wakes up: `converge_<daemon>_event_loop_lag_seconds`.

    A lag is time every request waits before it is even read: a CPU-starved host, or
    Python work holding the GIL (a compile in a thread), shows here first.
    """

    def __init__(self, registry: CollectorRegistry, daemon: str) -> None:
        self.lag = Histogram(name(daemon, "event_loop_lag_seconds"),
                             "Delay of the HTTP event loop's timer wake-ups.", registry=registry,
                             buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1))

    async def watch(self, *, period: float = 0.25) -> None:
        """Measure forever (run as a task; cancel it to stop)."""
        clock = asyncio.get_running_loop().time
        while True:
            started = clock()
            await asyncio.sleep(period)
            self.lag.observe(max(0.0, clock() - started - period))


def build_info(registry: CollectorRegistry, daemon: str, version: str) -> None:
    """`converge_<daemon>_build_info{version} 1` and `converge_<daemon>_start_time_seconds`
    (the process's start: uptime is `time() -` it, restarts are its `changes()`)."""
    Gauge(name(daemon, "build_info"), "converge build.", ["version"],
          registry=registry).labels(version).set(1)
    Gauge(name(daemon, "start_time_seconds"), "When this process started (Unix time).",
          registry=registry).set(time.time())

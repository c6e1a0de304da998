"""The healer's own metrics, in the daemon's registry (`converge_healer_…`)."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from converge.reconciler.core.metrics import name

STATES = ("healthy", "unhealthy", "starting", "verifying", "budget_exhausted", "stopped",
          "ignored", "unknown")
"""`converge_healer_containers{state}`: the policy phases, grouped."""
_STATE_OF_PHASE = {"failing": "unhealthy", "waiting": "unhealthy", "unhealthy": "unhealthy"}

__all__ = ["STATES", "HealerMetrics", "state_of"]


def state_of(phase: str) -> str:
    """The `state` label of a container in `phase`."""
    return _STATE_OF_PHASE.get(phase, phase if phase in STATES else "unknown")


class HealerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        daemon = "healer"
        self.checks = Counter(name(daemon, "checks_total"), "Container checks by result.",
                              ["result"], registry=registry)
        self.restarts = Counter(name(daemon, "restarts_total"), "Restarts by result.",
                                ["result"], registry=registry)
        self.failures = Counter(name(daemon, "failures_total"),
                                "Confirmed failures (incidents) by failure type.", ["type"],
                                registry=registry)
        self.budget_exhausted = Counter(name(daemon, "budget_exhausted_total"),
                                        "Times a container's restart budget was spent.",
                                        registry=registry)
        self.events = Counter(name(daemon, "events_total"),
                              "Events sent to the notifier, by level and result.",
                              ["level", "result"], registry=registry)
        self.containers = Gauge(name(daemon, "containers"), "Watched containers by state.",
                                ["state"], registry=registry)
        self.mtbf = Gauge(name(daemon, "mtbf_seconds"),
                          "Mean time between failures per service.", ["service"],
                          registry=registry)
        self.recovery = Histogram(name(daemon, "recovery_seconds"),
                                  "Self-healing response time: from a failure detected to "
                                  "the container healthy again.", registry=registry,
                                  buckets=(5, 10, 30, 60, 120, 300, 600, 1800, 3600))
        self.engine_up = Gauge(name(daemon, "engine_up"),
                               "1 when the last engine request succeeded.", registry=registry)
        for state in STATES:
            self.containers.labels(state).set(0)
        for result in ("pass", "fail"):
            self.checks.labels(result)
        for result in ("success", "failed"):
            self.restarts.labels(result)

    def set_states(self, counts: Mapping[str, int]) -> None:
        for state in STATES:
            self.containers.labels(state).set(counts.get(state, 0))

    def set_mtbf(self, mtbf: Mapping[str, float]) -> None:
        self.mtbf.clear()
        for service, seconds in mtbf.items():
            self.mtbf.labels(service).set(seconds)

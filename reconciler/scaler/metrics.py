"""The scaler's own metrics, in the daemon's registry (`converge_scaler_…`)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from converge.reconciler.core.metrics import name

MODES = ("static", "scaling", "hold", "fallback")

__all__ = ["MODES", "ScalerMetrics"]


class ScalerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        daemon = "scaler"
        self.desired = Gauge(name(daemon, "desired_replicas"), "Desired replicas per pool.",
                             ["pool"], registry=registry)
        self.current = Gauge(name(daemon, "current_replicas"),
                             "Ready replicas per pool (healing ones excluded).", ["pool"],
                             registry=registry)
        self.value = Gauge(name(daemon, "metric_value"),
                           "Last value of each scaling query (metric = its index, from 1).",
                           ["pool", "metric"], registry=registry)
        self.decisions = Counter(name(daemon, "decisions_total"),
                                 "Decisions by direction (up, down, none).",
                                 ["pool", "direction"], registry=registry)
        self.source_errors = Counter(name(daemon, "source_errors_total"),
                                     "Failed or empty scaling queries.", ["pool"],
                                     registry=registry)
        self.mode = Gauge(name(daemon, "pool_mode"),
                          "1 for the pool's mode: static, scaling, hold (metrics failing, "
                          "count held) or fallback.", ["pool", "mode"], registry=registry)
        self.actions = Counter(name(daemon, "container_actions_total"),
                               "Containers created and removed, by result.",
                               ["pool", "action", "result"], registry=registry)
        self.events = Counter(name(daemon, "events_total"),
                              "Events sent to the notifier, by level and result.",
                              ["level", "result"], registry=registry)
        self.engine_up = Gauge(name(daemon, "engine_up"),
                               "1 when the last engine request succeeded.", registry=registry)
        self.decide_seconds = Histogram(
            name(daemon, "decide_duration_seconds"),
            "One pass's decisions and plans for every pool (no queries, no engine calls).",
            registry=registry, buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25))

    def set_mode(self, pool: str, mode: str) -> None:
        for each in MODES:
            self.mode.labels(pool, each).set(1 if each == mode else 0)

    def forget(self, pool: str) -> None:
        for gauge in (self.desired, self.current):
            try:
                gauge.remove(pool)
            except KeyError:
                pass
        for each in MODES:
            try:
                self.mode.remove(pool, each)
            except KeyError:
                pass

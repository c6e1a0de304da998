"""`converge scaler`: keep each worker pool's container count right for its load.

* `config` — pools in seconds; `bundle` — read them from a bundle or a URL;
* `policy` — the pure decision (`decide`) on a virtual clock;
* `pools` — the pool's containers by kind and the pure `plan` (create, remove, roll);
* `metrics_source` — the `MetricsSource` Protocol and the Prometheus adapter;
* `engine` — the `Engine` Protocol and the Docker Engine API adapter;
* `records` — decisions, container actions and pool states in SQLite;
* `events` — the scaler's notifier events; `metrics` — its Prometheus metrics;
* `scaler` — one pass; `daemon` — the wiring; `cli` — the commands.
"""

from __future__ import annotations

from converge.reconciler.scaler.config import Pool
from converge.reconciler.scaler.policy import Decision, PoolState, Reading, decide
from converge.reconciler.scaler.pools import Plan, Replica, plan

__all__ = ["Decision", "Plan", "Pool", "PoolState", "Reading", "Replica", "decide", "plan"]

"""`converge healer`: watch containers, restart failed ones within a budget, record every
failure, alert through the notifier.

* `config` — healing policies in seconds; `bundle` — read them from a bundle or a URL;
* `containers`, `selectors` — what a container is, which policy selects it, its state;
* `policy` — the pure decision (`decide`, `restarted`) on a virtual clock;
* `probes` — state, Docker health, HTTP, TCP and exec checks;
* `engine` — the `Engine` Protocol and the Docker Engine API adapter;
* `records` — failure records, health and tracks in SQLite; MTBF;
* `events` — the `EventSink` Protocol, the notifier adapter and the outbox;
* `healer` — one pass; `daemon` — the wiring; `cli` — the commands.
"""

from __future__ import annotations

from converge.reconciler.healer.config import Policy
from converge.reconciler.healer.containers import Container, Verdict
from converge.reconciler.healer.policy import Decision, Observation, Track, decide, restarted

__all__ = ["Container", "Decision", "Observation", "Policy", "Track", "Verdict", "decide",
           "restarted"]

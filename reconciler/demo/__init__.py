"""`converge demo`: the whole loop on one machine, on loopback ports, with proof per step.

* `workspace` — the demo's copy of `repo-example/` (pure text transforms) as a Git repository;
* `local` — the exporter whose gauges the demo sets and the sink standing in for DingTalk;
* `processes` — start children in their own process groups, record their PIDs, stop them all;
* `stack` — bring up the server, the targets with their sidecars and the notifier;
* `steps` — the walk-through, each step returning its `Proof`;
* `containers` — podman's Docker API service, the healer and scaler steps;
* `cli` — the command: the terminal (rich), Ctrl-C and the work directory.
"""

from __future__ import annotations

from converge.reconciler.demo.processes import Supervisor
from converge.reconciler.demo.steps import Proof, StepFailed

__all__ = ["Proof", "StepFailed", "Supervisor"]

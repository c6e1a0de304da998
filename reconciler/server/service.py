"""What the HTTP API and the console need of the running config server.

`daemon.ConfigServer` satisfies `Service`; `api` and `console` are typed against this
protocol, so they sit below the daemon that wires them instead of importing it back.
"""

from __future__ import annotations

from typing import Any, Protocol

from converge.reconciler.server import fleet
from converge.reconciler.server.metrics import ServerMetrics
from converge.reconciler.server.reconcile import Reconciler
from converge.reconciler.server.state import Storage

__all__ = ["Service", "ServiceSettings"]


class ServiceSettings(Protocol):
    """The server's options the console reads."""

    @property
    def daemons(self) -> tuple[tuple[str, str], ...]:
        """(name, base URL) of the daemons whose `/status` the console shows."""
        ...


class Service(Protocol):
    """The config server as its routes see it."""

    @property
    def settings(self) -> ServiceSettings: ...

    @property
    def state(self) -> Storage: ...

    @property
    def metrics(self) -> ServerMetrics: ...

    @property
    def reconciler(self) -> Reconciler: ...

    @property
    def webhook_secret(self) -> bytes | None: ...

    def trigger(self, *, source: str, reason: str | None, requested_by: str | None,
                force: bool) -> int:
        """Record a trigger and start a fetch and compile now; the trigger's id."""
        ...

    def served_ref(self, payload: dict[str, Any]) -> str:
        """`refs/heads/<branch>` served, the push payload's default branch if unset."""
        ...

    def record_report(self, report: fleet.SyncReport) -> dict[str, Any]:
        """Fold a sidecar's report into the fleet (and history); what is served now."""
        ...

    def fleet_json(self, row: fleet.FleetRow) -> dict[str, Any]:
        """One fleet row as the API shows it."""
        ...

    def sync_state(self) -> dict[str, Any]:
        """`GET /api/v1/config/sync`."""
        ...

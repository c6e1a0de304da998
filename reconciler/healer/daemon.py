"""`converge healer`: wire the engine, the checks, the records and the notifier to the runtime.

It runs in the shell it shares with the scaler (`converge.reconciler.core.container_daemon`):
`bundle` re-reads the policies every 30 s (a bad bundle keeps the last good policies), `heal`
runs `Healer.step` every quarter second (it returns at once unless a check is due). HTTP: the
shared `/health*`, `/status` (engine, policies, every watched container's phase and budget),
`/metrics`, plus `/api/v1/healer/history` and `/api/v1/healer/health`.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

from aiohttp import web

from converge.reconciler.core import http
from converge.reconciler.core.container_daemon import Common, ContainerDaemon
from converge.reconciler.core.loop import LoopSettings
from converge.reconciler.healer.bundle import BundleSource
from converge.reconciler.healer.engine import DockerEngine
from converge.reconciler.healer.healer import Healer
from converge.reconciler.healer.metrics import HealerMetrics
from converge.reconciler.healer.probes import Prober
from converge.reconciler.healer.records import Records

TICK = 0.25
RETENTION_EVERY = 3600.0
"""Seconds between two deletions of failure records past the retention."""

_log = logging.getLogger("converge.healer")

__all__ = ["Options", "run"]


@dataclasses.dataclass(frozen=True, slots=True)
class Options:
    common: Common
    workers: int = 16
    retention: float = 30 * 86400.0
    """Seconds failure records are kept (`--retention`)."""


def run(options: Options) -> int:
    """Run the healer until SIGTERM; the exit status."""
    common = options.common
    shell = ContainerDaemon("healer", common,
                            source=BundleSource(common.bundle, token=common.token),
                            noun="healing policies")
    metrics = HealerMetrics(shell.runtime.registry)
    engine = DockerEngine(common.docker_host)
    records = Records(common.db)
    outbox = shell.outbox(sent=lambda level, result: metrics.events.labels(level, result).inc())
    prober = Prober(engine)
    healer = Healer(engine=engine, checker=prober, records=records, outbox=outbox,
                    metrics=metrics, status=shell.runtime.status, policies=shell.current,
                    workers=options.workers)

    def prune() -> None:
        deleted = records.prune(before=time.time() - options.retention)
        if deleted:
            _log.info("healer deleted %d failure records older than the retention", deleted,
                      extra={"event": "retention", "count": deleted})

    shell.runtime.add_loop("retention", prune, LoopSettings(interval=RETENTION_EVERY))
    return shell.run(loop="heal", step=healer.step, interval=TICK, routes=_routes(records),
                     closing=(healer.close, prober.close, engine.close, records.close))


def _routes(records: Records) -> Any:
    async def history(request: web.Request) -> web.Response:
        query = request.query
        limit = http.query_limit(request, default=50)
        found = records.history(container=query.get("container"),
                                service=query.get("service"), limit=limit)
        return web.json_response({"records": found})

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"containers": records.health(), "mtbf": records.mtbf()})

    def add(app: web.Application) -> None:
        app.router.add_get("/api/v1/healer/history", history)
        app.router.add_get("/api/v1/healer/health", health)

    return add

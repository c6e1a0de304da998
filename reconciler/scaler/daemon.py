"""`converge scaler`: wire the engine, Prometheus, the records and the notifier to the runtime.

It runs in the shell it shares with the healer (`converge.reconciler.core.container_daemon`):
`bundle` re-reads the pools every 30 s (a bad bundle keeps the last good pools), `scale` runs
`Scaler.step` every `--interval` (each pool's queries run at its own
`scaling.interval`, rounded up to passes). HTTP: the shared `/health*`, `/status` (every
pool's mode — scaling, hold, fallback —, desired count, containers by kind, last values
and errors), `/metrics`, plus `/api/v1/scaler/history`.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from aiohttp import web

from converge.reconciler.core import http
from converge.reconciler.core.container_daemon import Common, ContainerDaemon
from converge.reconciler.core.secretaccess import SecretAccess
from converge.reconciler.scaler.bundle import BundleSource
from converge.reconciler.scaler.engine import DockerEngine
from converge.reconciler.scaler.metrics import ScalerMetrics
from converge.reconciler.scaler.metrics_source import PrometheusSource
from converge.reconciler.scaler.records import Records
from converge.reconciler.scaler.scaler import Scaler

_log = logging.getLogger("converge.scaler")

__all__ = ["Options", "run"]


@dataclasses.dataclass(frozen=True, slots=True)
class Options:
    common: Common
    prometheus: str
    interval: float = 15.0
    network: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    secret_access: SecretAccess = dataclasses.field(default_factory=SecretAccess)
    """What the pools' secret references may read on this host."""


def run(options: Options) -> int:
    """Run the scaler until SIGTERM; the exit status."""
    common = options.common
    shell = ContainerDaemon("scaler", common,
                            source=BundleSource(common.bundle, token=common.token),
                            noun="worker pools")
    metrics = ScalerMetrics(shell.runtime.registry)
    engine = DockerEngine(common.docker_host, network=options.network,
                          labels=dict(options.labels))
    source = PrometheusSource(options.prometheus)
    records = Records(common.db)
    outbox = shell.outbox(sent=lambda level, result: metrics.events.labels(level, result).inc())
    scaler = Scaler(engine=engine, source=source, records=records, outbox=outbox,
                    metrics=metrics, status=shell.runtime.status, pools=shell.current,
                    secret_access=options.secret_access)
    return shell.run(loop="scale", step=scaler.step, interval=options.interval,
                     routes=_routes(records),
                     closing=(scaler.close, source.close, engine.close, records.close))


def _routes(records: Records) -> Any:
    async def history(request: web.Request) -> web.Response:
        query = request.query
        limit = http.query_limit(request, default=50)
        pool = query.get("pool")
        return web.json_response({"decisions": records.history(pool=pool, limit=limit),
                                  "actions": records.actions(pool=pool, limit=limit)})

    def add(app: web.Application) -> None:
        app.router.add_get("/api/v1/scaler/history", history)

    return add

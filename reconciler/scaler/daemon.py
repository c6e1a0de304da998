"""`converge scaler`: wire the engine, Prometheus, the records and the notifier to the runtime.

Two loops: `bundle` re-reads the pools every 30 s (a bad bundle keeps the last good
pools), `scale` runs `Scaler.step` every `--interval` (each pool's queries run at its own
`scaling.interval`, rounded up to passes). HTTP: the shared `/health*`, `/status` (every
pool's mode — scaling, hold, fallback —, desired count, containers by kind, last values
and errors), `/metrics`, plus `/api/v1/scaler/history`.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from aiohttp import web

from converge.reconciler.core import bundlefile, conditions, http, logs
from converge.reconciler.core.events import EventSink, HttpEventSink, LogSink, Outbox
from converge.reconciler.core.loop import LoopSettings
from converge.reconciler.core.runtime import Runtime, package_version
from converge.reconciler.scaler.bundle import BundleSource
from converge.reconciler.scaler.engine import DockerEngine
from converge.reconciler.scaler.metrics import ScalerMetrics
from converge.reconciler.scaler.metrics_source import PrometheusSource
from converge.reconciler.scaler.records import Records
from converge.reconciler.scaler.scaler import Scaler

BUNDLE_INTERVAL = 30.0

_log = logging.getLogger("converge.scaler")

__all__ = ["Options", "run"]


@dataclasses.dataclass(frozen=True, slots=True)
class Options:
    bundle: str
    prometheus: str
    listen: tuple[str, int]
    db: Path
    interval: float = 15.0
    docker_host: str | None = None
    network: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    notifier_url: str | None = None
    notifier_token_file: Path | None = None
    token: str | None = None
    bundle_interval: float = BUNDLE_INTERVAL
    log_format: str = "json"


def run(options: Options) -> int:
    """Run the scaler until SIGTERM; the exit status."""
    logs.configure(daemon="scaler", json_lines=options.log_format == "json")
    runtime = Runtime("scaler", version=package_version())
    runtime.status.set(conditions.READY, False, "Starting", "reading the bundle")
    metrics = ScalerMetrics(runtime.registry)
    pools = bundlefile.Current(BundleSource(options.bundle, token=options.token),
                                runtime.status, daemon="scaler", noun="worker pools")
    engine = DockerEngine(options.docker_host, network=options.network,
                          labels=dict(options.labels))
    source = PrometheusSource(options.prometheus)
    records = Records(options.db)
    sink: EventSink = LogSink("scaler")
    if options.notifier_url:
        sink = HttpEventSink(options.notifier_url, token_file=options.notifier_token_file)
    outbox = Outbox(sink, daemon="scaler",
                    sent=lambda level, result: metrics.events.labels(level, result).inc())
    scaler = Scaler(engine=engine, source=source, records=records, outbox=outbox,
                    metrics=metrics, status=runtime.status, pools=pools)
    scale_loop = None

    def refresh() -> None:
        first = not pools.loaded
        pools.refresh()
        if first and scale_loop is not None:
            scale_loop.trigger()

    def scale() -> None:
        if pools.loaded:
            scaler.step()

    runtime.add_loop("bundle", refresh, LoopSettings(interval=options.bundle_interval))
    scale_loop = runtime.add_loop("scale", scale,
                                  LoopSettings(interval=options.interval, jitter=0.0))
    try:
        return runtime.run(runtime.app(routes=_routes(records)), listen=options.listen)
    finally:
        scaler.close()
        source.close()
        engine.close()
        if isinstance(sink, HttpEventSink):
            sink.close()
        records.close()


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

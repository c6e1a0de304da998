"""`converge healer`: wire the engine, the checks, the records and the notifier to the runtime.

Two loops: `bundle` re-reads the policies every 30 s (a bad bundle keeps the last good
policies), `heal` runs `Healer.step` every quarter second (it returns at once unless a
check is due). HTTP: the shared `/health*`, `/status` (engine, policies, every watched
container's phase and budget), `/metrics`, plus `/api/v1/healer/history` and
`/api/v1/healer/health`.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from aiohttp import web

from converge.reconciler.core import bundlefile, conditions, http, logs
from converge.reconciler.core.loop import LoopSettings
from converge.reconciler.core.runtime import Runtime, package_version
from converge.reconciler.healer.bundle import BundleSource
from converge.reconciler.healer.engine import DockerEngine
from converge.reconciler.healer.events import EventSink, HttpEventSink, LogSink, Outbox
from converge.reconciler.healer.healer import Healer
from converge.reconciler.healer.metrics import HealerMetrics
from converge.reconciler.healer.probes import Prober
from converge.reconciler.healer.records import Records

TICK = 0.25
BUNDLE_INTERVAL = 30.0

_log = logging.getLogger("converge.healer")

__all__ = ["Options", "run"]


@dataclasses.dataclass(frozen=True, slots=True)
class Options:
    bundle: str
    listen: tuple[str, int]
    db: Path
    docker_host: str | None = None
    notifier_url: str | None = None
    notifier_token_file: Path | None = None
    token: str | None = None
    workers: int = 16
    log_format: str = "json"


def run(options: Options) -> int:
    """Run the healer until SIGTERM; the exit status."""
    logs.configure(daemon="healer", json_lines=options.log_format == "json")
    runtime = Runtime("healer", version=package_version())
    runtime.status.set(conditions.READY, False, "Starting", "reading the bundle")
    metrics = HealerMetrics(runtime.registry)
    policies = bundlefile.Current(BundleSource(options.bundle, token=options.token),
                                runtime.status, daemon="healer", noun="healing policies")
    engine = DockerEngine(options.docker_host)
    records = Records(options.db)
    sink: EventSink = LogSink()
    if options.notifier_url:
        sink = HttpEventSink(options.notifier_url, token_file=options.notifier_token_file)
    outbox = Outbox(sink, sent=lambda level, result: metrics.events.labels(level, result).inc())
    prober = Prober(engine)
    healer = Healer(engine=engine, checker=prober, records=records, outbox=outbox,
                    metrics=metrics, status=runtime.status, policies=policies,
                    workers=options.workers)

    def heal() -> None:
        if not policies.loaded:
            return
        healer.step()

    runtime.add_loop("bundle", policies.refresh, LoopSettings(interval=BUNDLE_INTERVAL))
    runtime.add_loop("heal", heal, LoopSettings(interval=TICK, jitter=0.0))
    try:
        return runtime.run(runtime.app(routes=_routes(records)), listen=options.listen)
    finally:
        healer.close()
        prober.close()
        engine.close()
        if isinstance(sink, HttpEventSink):
            sink.close()
        records.close()


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

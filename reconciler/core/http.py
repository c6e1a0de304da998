"""The HTTP face every daemon shares: health, status and metrics, plus the daemon's routes.

`make_app` returns an aiohttp application with

* `GET /health`: a JSON summary (200 when ready, 503 otherwise);
* `GET /health/live`: 200 while the process and its loops run;
* `GET /health/ready`: 200 once the daemon has what it needs (`Ready` is true), else 503;
* `GET /status`: conditions `Ready` / `Reconciling` / `Stalled` and the daemon's facts;
* `GET /metrics`: the daemon's own Prometheus registry;

and calls `routes(app)` so the daemon adds its own. None of these are authenticated; a
daemon guards its own routes with a middleware.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import CollectorRegistry, generate_latest

from converge.reconciler.core import metrics as _metrics
from converge.reconciler.core.status import Status

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

STATUS_KEY = web.AppKey("converge_status", Status)
UNMATCHED = "unmatched"


def route_of(request: web.Request) -> str:
    """The route template that matched (`/api/v1/bundles/{target}`), for bounded labels."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None and resource.canonical else UNMATCHED


def query_limit(request: web.Request, *, default: int, high: int = 1000) -> int:
    """`?limit=` of a listing: `default` when absent, else clamped to 1…`high`.

    Raises:
        web.HTTPBadRequest: not a whole number (a JSON `{"error": …}` answer).
    """
    text = request.query.get("limit")
    if text is None:
        return default
    try:
        return max(1, min(high, int(text)))
    except ValueError:
        raise web.HTTPBadRequest(text='{"error": "limit must be a whole number"}',
                                 content_type="application/json") from None


def make_app(*, status: Status, registry: CollectorRegistry,
             http_metrics: _metrics.HttpMetrics | None = None,
             routes: Callable[[web.Application], None] | None = None,
             middlewares: Sequence[Middleware] = (),
             live: Callable[[], bool] | None = None,
             client_max_size: int = 1024**2) -> web.Application:
    """Build the daemon's application.

    Args:
        status: conditions and facts behind `/health*` and `/status`.
        registry: the daemon's metrics registry, served at `/metrics`.
        http_metrics: when given, every request is counted by route template and code.
        routes: called with the app to add the daemon's own routes.
        middlewares: the daemon's middlewares (auth, …), run inside the metrics one.
        live: extra liveness check (e.g. "the worker threads are alive").
        client_max_size: the largest request body accepted, in bytes.
    """
    chain: list[Middleware] = []
    if http_metrics is not None:
        chain.append(_metrics_middleware(http_metrics))
    chain.extend(middlewares)
    app = web.Application(middlewares=chain, client_max_size=client_max_size)
    app[STATUS_KEY] = status

    async def health(request: web.Request) -> web.Response:
        snapshot = status.snapshot()
        summary = {"status": "ok" if snapshot["ready"] else "unavailable",
                   "daemon": snapshot["daemon"], "ready": snapshot["ready"],
                   "uptimeSeconds": snapshot["uptimeSeconds"],
                   "conditions": {c["type"]: c["status"] for c in snapshot["conditions"]},
                   "facts": snapshot["facts"]}
        return web.json_response(summary, status=200 if snapshot["ready"] else 503)

    async def health_live(request: web.Request) -> web.Response:
        alive = live() if live is not None else True
        return web.json_response({"status": "alive" if alive else "dead"},
                                 status=200 if alive else 503)

    async def health_ready(request: web.Request) -> web.Response:
        ready = status.condition("Ready")
        body: dict[str, Any] = {"status": "ready" if status.ready else "not ready"}
        if ready is not None:
            body.update(reason=ready.reason, message=ready.message)
        return web.json_response(body, status=200 if status.ready else 503)

    async def status_route(request: web.Request) -> web.Response:
        return web.json_response(status.snapshot())

    async def metrics_route(request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry),
                            headers={"Content-Type": _metrics.CONTENT_TYPE})

    app.router.add_get("/health", health)
    app.router.add_get("/health/live", health_live)
    app.router.add_get("/health/ready", health_ready)
    app.router.add_get("/status", status_route)
    app.router.add_get("/metrics", metrics_route)
    if routes is not None:
        routes(app)
    return app


def _metrics_middleware(http_metrics: _metrics.HttpMetrics) -> Middleware:
    @web.middleware
    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        code = 500
        try:
            response = await handler(request)
            code = response.status
            return response
        except web.HTTPException as error:
            code = error.status
            raise
        finally:
            http_metrics.observe(route_of(request), code, time.perf_counter() - started)

    return count

"""The HTTP face every daemon shares: health, status and metrics, plus the daemon's routes.

`make_app` returns an aiohttp application with

* `GET /health`: a JSON summary (200 when ready, 503 otherwise);
* `GET /health/live`: 200 while the process and its loops run;
* `GET /health/ready`: 200 once the daemon has what it needs (`Ready` is true), else 503;
* `GET /status`: conditions `Ready` / `Reconciling` / `Stalled` and the daemon's facts;
* `GET /metrics`: the daemon's own Prometheus registry;

and calls `routes(app)` so the daemon adds its own. None of these are authenticated; a
daemon guards its own routes with a middleware.

Every app is bounded by its `Limits`, whatever a client sends: at most `max_requests`
requests in handlers at once and `max_readers` bodies being read at once (beyond either:
503 with `Retry-After`, never a queue); a body larger than its route's limit is refused
(413) from its `Content-Length` before a byte is read, or as soon as it grows past it; a
body not received within `read_timeout` is refused (408). The body is read after the
daemon's own middlewares (authentication), so an unauthenticated request to a guarded
route is refused before anything is buffered. `read_json` decodes a body: an unknown
charset, invalid UTF-8, bad or too deeply nested JSON answer 4xx with a message (never
500), and a large body is parsed off the event loop.
"""

from __future__ import annotations

import asyncio
import codecs
import dataclasses
import json
import re
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import CollectorRegistry, generate_latest

from converge.reconciler.core import metrics as _metrics
from converge.reconciler.core import tokens as _tokens
from converge.reconciler.core.status import Status

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

STATUS_KEY = web.AppKey("converge_status", Status)
UNMATCHED = "unmatched"
OFF_LOOP = 256 * 1024
"""Bodies larger than this are decoded and parsed in a worker thread."""
MAX_DEPTH = 64
"""The deepest nesting of JSON arrays and objects `read_json` accepts."""
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(r"[\[\]{}]")


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    """What one client can make a daemon hold: bodies, time, concurrency."""

    body: int = 1024**2
    """The largest body, in bytes, of a route not in `routes`."""
    routes: tuple[tuple[str, int], ...] = ()
    """(path prefix, largest body in bytes); the longest matching prefix wins."""
    read_timeout: float = 10.0
    """Seconds a client has to send the whole body once its handler runs."""
    max_requests: int = 256
    """Requests in handlers at once; more are answered 503."""
    max_readers: int = 8
    """Bodies being read at once; more are answered 503 (so memory held by bodies stays
    below `max_readers` × the largest route limit)."""

    def body_for(self, path: str) -> int:
        """The body limit of a request to `path`."""
        found = [(len(prefix), size) for prefix, size in self.routes if path.startswith(prefix)]
        return max(found)[1] if found else self.body

    @property
    def largest(self) -> int:
        return max([self.body, *(size for _, size in self.routes)])


def bearer_guard(tokens: Sequence[str], *, prefix: str = "/api/",
                 open_paths: Collection[str] = ()) -> Middleware:
    """Require `Authorization: Bearer <one of tokens>` on routes under `prefix` (except
    `open_paths`): 401 with `WWW-Authenticate` otherwise. The guard every daemon's API
    uses; health, status and metrics stay open."""
    encoded = [token.encode("utf-8") for token in tokens]

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if (request.path.startswith(prefix) and request.path not in open_paths
                and not _tokens.bearer_ok(request.headers.get("Authorization"), encoded)):
            return error_response(401, "missing or wrong bearer token",
                                  **{"WWW-Authenticate": 'Bearer realm="converge"'})
        return await handler(request)

    return guard


def error_response(status: int, message: str, **headers: str) -> web.Response:
    """`{"error": message}` with `status`: how every daemon refuses a request."""
    return web.json_response({"error": message}, status=status, headers=headers or None)


def _bad(status: int, message: str) -> web.HTTPException:
    kind = web.HTTPUnsupportedMediaType if status == 415 else web.HTTPBadRequest
    return kind(text=json.dumps({"error": message}), content_type="application/json")


def decode_json(raw: bytes, *, charset: str | None = None) -> Any:
    """The JSON document in `raw` (declared `charset`, UTF-8 by default).

    Raises:
        web.HTTPUnsupportedMediaType: an unknown charset.
        web.HTTPBadRequest: not text in that charset, not JSON, or nested deeper than
            `MAX_DEPTH` (a JSON `{"error": …}` answer each).
    """
    encoding = charset or "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise _bad(415, f"unknown charset {encoding[:40]!r}: send UTF-8") from None
    try:
        text = raw.decode(encoding)
    except (UnicodeDecodeError, ValueError):
        raise _bad(400, f"the body is not valid {encoding[:40]}") from None
    if _depth_over(text, MAX_DEPTH):
        raise _bad(400, f"the JSON is nested more than {MAX_DEPTH} levels deep")
    try:
        return json.loads(text)
    except RecursionError:
        raise _bad(400, f"the JSON is nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as error:
        raise _bad(400, f"the body is not JSON: {error}") from None


def _depth_over(text: str, limit: int) -> bool:
    """Whether arrays and objects (outside strings) nest deeper than `limit`."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for match in _BRACKETS.finditer(_STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


async def read_json(request: web.Request) -> Any:
    """The request's JSON body (see `decode_json`); a large one is parsed off the loop."""
    raw = await request.read()
    if len(raw) > OFF_LOOP:
        return await asyncio.to_thread(decode_json, raw, charset=request.charset)
    return decode_json(raw, charset=request.charset)


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
             limits: Limits | None = None) -> web.Application:
    """Build the daemon's application.

    Args:
        status: conditions and facts behind `/health*` and `/status`.
        registry: the daemon's metrics registry, served at `/metrics`.
        http_metrics: when given, every request is counted by route template and code.
        routes: called with the app to add the daemon's own routes.
        middlewares: the daemon's middlewares (auth, …), run inside the metrics one.
        live: extra liveness check (e.g. "the worker threads are alive").
        limits: body sizes, read timeout and concurrency caps (default: `Limits()`).
    """
    limits = limits or Limits()
    chain: list[Middleware] = []
    if http_metrics is not None:
        chain.append(_metrics_middleware(http_metrics))
    chain.append(_concurrency_middleware(limits))
    chain.extend(middlewares)
    chain.append(_body_middleware(limits))
    app = web.Application(middlewares=chain, client_max_size=limits.largest)
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


def _concurrency_middleware(limits: Limits) -> Middleware:
    active = [0]

    @web.middleware
    async def cap(request: web.Request, handler: Handler) -> web.StreamResponse:
        if active[0] >= limits.max_requests:
            return error_response(503, f"busy: {limits.max_requests} requests in progress",
                                  **{"Retry-After": "1"})
        active[0] += 1
        try:
            return await handler(request)
        finally:
            active[0] -= 1

    return cap


def _body_middleware(limits: Limits) -> Middleware:
    readers = [0]

    @web.middleware
    async def bounded(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.body_exists:
            return await handler(request)
        limit = limits.body_for(request.path)
        length = request.content_length
        if length is not None and length > limit:
            return error_response(413, f"a body of {length} bytes is over this route's "
                                       f"limit of {limit} bytes")
        if readers[0] >= limits.max_readers:
            return error_response(503, "busy: too many request bodies being received",
                                  **{"Retry-After": "1"})
        readers[0] += 1
        bounded_request = request.clone(client_max_size=limit)
        try:
            await asyncio.wait_for(bounded_request.read(), limits.read_timeout)
        except TimeoutError:
            return error_response(408, f"the body was not received within "
                                       f"{limits.read_timeout:g}s")
        except web.HTTPRequestEntityTooLarge:
            return error_response(413, f"the body is over this route's limit of {limit} "
                                       "bytes")
        finally:
            readers[0] -= 1
        return await handler(bounded_request)

    return bounded


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

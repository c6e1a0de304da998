"""The server's HTTP API (docs/openapi.yaml): bundles for sidecars, sync reports, history,
the fleet view, the operator trigger, compile attempts and the GitHub webhook.

The bundle routes answer from the precomputed `Published` snapshot: no database, no
serialisation, no lock on that path.
"""

from __future__ import annotations

import hashlib
import logging
import time
import urllib.parse
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import ValidationError

from converge.reconciler.core import http
from converge.reconciler.core.conditions import rfc3339
from converge.reconciler.server import auth, fleet
from converge.reconciler.server.published import etag_matches
from converge.reconciler.server.state import Attempt

if TYPE_CHECKING:
    from converge.reconciler.server.service import Service

WEBHOOK_PATH = "/api/v1/webhooks/github"
REPLAY_WINDOW = 7 * 24 * 3600.0
"""Seconds a webhook delivery is remembered: a delivery id or a signed body seen again
within it is a replay and refused."""
_CONTENT_TYPES = {"yaml": "application/yaml", "yml": "application/yaml",
                  "json": "application/json"}
_log = logging.getLogger("converge.server.api")


def add_routes(app: web.Application, server: Service) -> None:
    """Register every API route of `server` on `app`."""
    routes = _Routes(server)
    router = app.router
    router.add_get("/api/v1/bundles", routes.index)
    router.add_get("/api/v1/bundles/{target}", routes.bundle)
    router.add_get("/api/v1/bundles/{target}/files/{path:.+}", routes.file)
    router.add_get("/api/v1/config/sync", routes.sync_state)
    router.add_post("/api/v1/config/sync/status", routes.report)
    router.add_get("/api/v1/config/sync/history", routes.history)
    router.add_post("/api/v1/config/sync/trigger", routes.trigger)
    router.add_get("/api/v1/clusters", routes.clusters)
    router.add_get("/api/v1/compiles", routes.compiles)
    router.add_post(WEBHOOK_PATH, routes.webhook)


def _error(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers or None)


_NOTHING = {"Retry-After": "5"}


class _Routes:
    def __init__(self, server: Service) -> None:
        self.server = server

    def _nothing(self) -> web.Response:
        if not self.server.reconciler.reachable:
            return _error(503, "this replica cannot reach the database: ask another",
                          **_NOTHING)
        return _error(503, "no commit has compiled yet", **_NOTHING)

    async def index(self, request: web.Request) -> web.Response:
        snapshot = self.server.reconciler.published
        if snapshot is None:
            return self._nothing()
        if etag_matches(request.headers.get("If-None-Match", ""), snapshot.index_etag):
            return web.Response(status=304, headers={"ETag": snapshot.index_etag})
        return web.Response(body=snapshot.index, content_type="application/json",
                            headers={"ETag": snapshot.index_etag, "Cache-Control": "no-cache"})

    async def bundle(self, request: web.Request) -> web.Response:
        snapshot = self.server.reconciler.published
        if snapshot is None:
            return self._nothing()
        found = snapshot.targets.get(request.match_info["target"])
        if found is None:
            return _error(404, f"no target {request.match_info['target']!r} in the bundle "
                               f"served (targets: {', '.join(snapshot.targets)})")
        if etag_matches(request.headers.get("If-None-Match", ""), found.etag):
            return web.Response(status=304, headers={"ETag": found.etag})
        headers = {"ETag": found.etag, "X-Converge-Hash": found.hash,
                   "X-Converge-Commit": found.commit or "", "Cache-Control": "no-cache",
                   "X-Converge-Serial": f"{self.server.reconciler.identity}.{snapshot.serial}",
                   "Vary": "Accept-Encoding"}
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            headers["Content-Encoding"] = "gzip"
            return web.Response(body=found.gzipped, content_type="application/json",
                                headers=headers)
        return web.Response(body=found.body, content_type="application/json", headers=headers)

    async def file(self, request: web.Request) -> web.Response:
        snapshot = self.server.reconciler.published
        if snapshot is None:
            return self._nothing()
        found = snapshot.targets.get(request.match_info["target"])
        path = request.match_info["path"]
        if found is None or path not in found.files:
            return _error(404, f"no file {path!r} in target {request.match_info['target']!r}")
        etag = found.file_etags[path]
        if etag_matches(request.headers.get("If-None-Match", ""), etag):
            return web.Response(status=304, headers={"ETag": etag})
        kind = _CONTENT_TYPES.get(path.rsplit(".", 1)[-1], "text/plain")
        return web.Response(body=found.files[path], content_type=kind, charset="utf-8",
                            headers={"ETag": etag, "X-Converge-Sha256": etag.strip('"'),
                                     "Cache-Control": "no-cache"})

    async def sync_state(self, request: web.Request) -> web.Response:
        return web.json_response(self.server.sync_state())

    async def report(self, request: web.Request) -> web.Response:
        try:
            data = await http.read_json(request)
            report = fleet.SyncReport.model_validate(data)
        except ValueError as error:  # bad JSON or ValidationError (a ValueError)
            return _error(400, _validation_message(error))
        grant = request.get(auth.GRANT)
        if grant is not None and not grant.may_report(report.cluster_id):
            return _error(403, f"this token may not report for cluster {report.cluster_id!r}")
        serving = self.server.record_report(report)
        return web.json_response({"accepted": True, "serving": serving})

    async def history(self, request: web.Request) -> web.Response:
        query = request.query
        try:
            limit = _int(query.get("limit"), default=100, low=1, high=1000)
            before = _int(query.get("before"), default=None, low=1, high=2**62)
        except ValueError as error:
            return _error(400, str(error))
        rows = self.server.state.history(cluster_id=query.get("clusterId"),
                                         target=query.get("target"), limit=limit, before=before)
        entries = [{"id": r["id"], "receivedAt": rfc3339(r["received_at"]),
                    "clusterId": r["cluster_id"], "target": r["target"],
                    "commit": r["commit_sha"], "hash": r["hash"],
                    "attemptedHash": r["attempted_hash"], "result": r["result"],
                    "error": r["error"], "converged": bool(r["converged"]),
                    "durationSeconds": r["duration"], "instance": r["instance"]} for r in rows]
        return web.json_response({"history": entries,
                                  "next": entries[-1]["id"] if len(entries) == limit else None})

    async def trigger(self, request: web.Request) -> web.Response:
        data: Any = {}
        if request.body_exists:
            data = await http.read_json(request) or {}
        if not isinstance(data, dict):
            return _error(400, "the body must be a JSON object")
        reason, by = data.get("reason"), data.get("requestedBy")
        if not all(v is None or isinstance(v, str) for v in (reason, by)):
            return _error(400, "reason and requestedBy must be strings")
        number = self.server.trigger(source="operator", reason=(reason or None) and reason[:255],
                                     requested_by=(by or None) and by[:100], force=True)
        return web.json_response({"triggered": True, "id": number}, status=202)

    async def clusters(self, request: web.Request) -> web.Response:
        rows = self.server.state.fleet(cluster_id=request.query.get("clusterId"),
                                       target=request.query.get("target"))
        return web.json_response({"clusters": [self.server.fleet_json(row) for row in rows]})

    async def compiles(self, request: web.Request) -> web.Response:
        try:
            limit = _int(request.query.get("limit"), default=20, low=1, high=1000)
        except ValueError as error:
            return _error(400, str(error))
        attempts = self.server.state.attempts(limit)
        return web.json_response({"compiles": [attempt_json(a) for a in attempts]})

    async def webhook(self, request: web.Request) -> web.Response:
        secret = self.server.webhook_secret
        if secret is None:
            return _error(404, "the GitHub webhook is not configured (--webhook-secret-file)")
        body = await request.read()
        if not auth.signature_ok(secret, body, request.headers.get("X-Hub-Signature-256")):
            self.server.metrics.webhooks.labels("unauthorized").inc()
            _log.warning("webhook delivery %s refused: missing or wrong signature",
                         request.headers.get("X-GitHub-Delivery", "?"),
                         extra={"event": "webhook-unauthorized"})
            return _error(401, "missing or wrong X-Hub-Signature-256")
        delivery = request.headers.get("X-GitHub-Delivery", "").strip()
        if not delivery or len(delivery) > 100:
            self.server.metrics.webhooks.labels("unauthorized").inc()
            return _error(400, "missing or malformed X-GitHub-Delivery")
        fresh = self.server.state.record_delivery(
            delivery=delivery, body_sha256=hashlib.sha256(body).hexdigest(), at=time.time(),
            window=REPLAY_WINDOW)
        if not fresh:
            self.server.metrics.webhooks.labels("replayed").inc()
            _log.warning("webhook delivery %s refused: a replay (its id or its body was "
                         "received before)", delivery[:40],
                         extra={"event": "webhook-replayed", "delivery": delivery[:40]})
            return _error(409, f"delivery {delivery[:40]} (or the same payload) was already "
                               "received: replays are refused")
        event = request.headers.get("X-GitHub-Event", "")
        if event == "ping":
            self.server.metrics.webhooks.labels("ignored").inc()
            return web.json_response({"triggered": False, "reason": "pong"})
        if event != "push":
            self.server.metrics.webhooks.labels("ignored").inc()
            return web.json_response({"triggered": False, "reason": f"event {event!r} ignored"})
        try:
            payload = _webhook_payload(body, request.content_type, request.charset)
        except ValueError:
            return _error(400, "the push payload is not JSON")
        ref = payload.get("ref") if isinstance(payload, dict) else None
        served = self.server.served_ref(payload if isinstance(payload, dict) else {})
        if ref != served:
            self.server.metrics.webhooks.labels("ignored").inc()
            return web.json_response({"triggered": False,
                                      "reason": f"push to {ref}, serving {served}"})
        self.server.metrics.webhooks.labels("triggered").inc()
        self.server.trigger(source="webhook", reason=f"push {delivery}".strip(),
                            requested_by=_pusher(payload), force=False)
        return web.json_response({"triggered": True, "reason": f"push to {ref}"}, status=202)


def attempt_json(attempt: Attempt) -> dict[str, Any]:
    return {"id": attempt.id, "commit": attempt.commit, "at": rfc3339(attempt.at),
            "result": attempt.result, "bundleHash": attempt.bundle_hash,
            "durationSeconds": round(attempt.duration, 3), "error": attempt.error,
            "diagnostics": attempt.diagnostics}


def _webhook_payload(body: bytes, content_type: str, charset: str | None) -> Any:
    if content_type == "application/x-www-form-urlencoded":
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        return http.decode_json(form.get("payload", [""])[0].encode("utf-8"))
    return http.decode_json(body, charset=charset)


def _pusher(payload: Any) -> str | None:
    pusher = payload.get("pusher") if isinstance(payload, dict) else None
    name = pusher.get("name") if isinstance(pusher, dict) else None
    return name[:100] if isinstance(name, str) else None


def _int(text: str | None, *, default: int | None, low: int, high: int) -> Any:
    if text is None:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"expected an integer from {low} to {high}, got {text!r}")
    return int(text)


def _validation_message(error: ValueError) -> str:
    if isinstance(error, ValidationError):
        parts = [f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
                 for e in error.errors()[:5]]
        return "invalid report: " + "; ".join(parts)
    return "the body is not JSON"

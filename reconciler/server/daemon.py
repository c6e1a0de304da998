"""`ConfigServer`: the config server wired together — runtime, state, repository, the
reconcile loop and the HTTP API. The CLI builds one from its options and runs it.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from converge.reconciler.core import LoopSettings, Runtime, StoreError, http, tokens
from converge.reconciler.core.conditions import rfc3339
from converge.reconciler.server import api, auth, compilers, console, fleet, leader, storage
from converge.reconciler.server.metrics import DAEMON, ServerMetrics
from converge.reconciler.server.reconcile import Compiler, Reconciler
from converge.reconciler.server.repository import GitMirror, Repository, redact

_log = logging.getLogger("converge.server")

WATCH_INTERVAL = 1.0
"""Seconds between a replica's checks of the shared database (readiness, triggers)."""

LIMITS = http.Limits(body=64 * 1024, routes=(
    (api.WEBHOOK_PATH, 1024**2),
    ("/api/v1/config/sync/status", 64 * 1024),
    ("/api/v1/config/sync/trigger", 16 * 1024)))
"""Bodies the server takes: a GitHub push payload is far below 1 MiB (it lists at most 20
commits; a refused one only delays a change to the next fetch), a sync report a few
hundred bytes. At most `max_readers` bodies are read at once, each within the read
timeout, so unauthenticated webhook traffic holds at most 8 MiB."""


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    """Everything `converge serve` was told."""

    repo: str
    branch: str | None
    path: str
    db: Path | str
    """A SQLite file, or a `postgresql://` URL (replicas sharing one database)."""
    cache_dir: Path
    interval: float = 30.0
    tokens: tuple[str | tokens.Credential, ...] | None = None
    """Plain tokens (admin) or scoped credentials; None: no authentication
    (`--insecure-no-auth`)."""
    webhook_secret: bytes | None = None
    version: str = "0.0.0"
    compile_in: str = "process"
    """`process` (a child process, the HTTP loop keeps its CPU) or `thread`."""
    daemons: tuple[tuple[str, str], ...] = ()
    """(name, base URL) of the daemons whose `/status` the console shows (`--daemon`)."""
    listen: tuple[str, int] | None = None
    """Where it listens (for the warning `--insecure-no-auth` logs)."""
    cookie_secure: bool = False
    """Always mark the console's session cookie `Secure` (TLS ends in front of us)."""
    trusted_proxies: tuple[str, ...] = ()
    """Addresses whose `X-Forwarded-Proto` is believed (the TLS-terminating proxy)."""


class ConfigServer:
    """The config server. `app()` is its HTTP application, `runtime.serve` runs it.

    Args:
        settings: the options.
        repository: overrides the Git mirror (tests).
        compiler: overrides the compiler (tests).
    """

    def __init__(self, settings: Settings, *, repository: Repository | None = None,
                 compiler: Compiler | None = None) -> None:
        self.settings = settings
        self.runtime = Runtime(DAEMON, version=settings.version)
        self.metrics = ServerMetrics(self.runtime.registry)
        self.state = storage.open_state(settings.db)
        self.webhook_secret = settings.webhook_secret
        self._mirror = repository or GitMirror(url=settings.repo, branch=settings.branch,
                                               path=settings.path, cache=settings.cache_dir)
        compile_cache = (settings.cache_dir.parent if storage.is_url(settings.db)
                         else Path(settings.db).parent) / "compile-cache"  # beside the state
        self._compiler = (compilers.ProcessCompiler(compile_cache)
                          if settings.compile_in == "process"
                          else compilers.ThreadCompiler(compile_cache))
        replicas = storage.is_url(settings.db)
        name = f"{socket.gethostname()}:{settings.listen[1] if settings.listen else '?'}"
        self._leadership: leader.Leadership = (
            leader.AdvisoryLock(str(settings.db), name=name) if replicas else leader.Sole())
        self.reconciler = Reconciler(repository=self._mirror, state=self.state,
                                     metrics=self.metrics, status=self.runtime.status,
                                     version=settings.version, prefix=settings.path.strip("/"),
                                     compiler=compiler or self._compiler,
                                     leadership=self._leadership)
        self.loop = self.runtime.add_loop(
            "compile", self.reconciler.step, LoopSettings(interval=settings.interval))
        self._triggers_lock = threading.Lock()
        self._own_triggers: set[int] = set()
        self._seen_trigger = self._last_trigger() if replicas else 0
        if replicas:
            self.runtime.add_loop("replicas", self._watch,
                                  LoopSettings(interval=WATCH_INTERVAL, jitter=0.0,
                                               stall_after=None))
        self.runtime.status.update({"repo": redact(settings.repo), "branch": settings.branch,
                                    "role": "leader" if self.reconciler.leading
                                    else "follower"})

    def _last_trigger(self) -> int:
        seen = 0
        while found := self.state.triggers_after(seen):
            seen = found[-1][0]
        return seen

    def _watch(self) -> None:
        """Replicas: check the database (serving nothing while it does not answer), and
        as the leader pick up the triggers other replicas recorded."""
        if not self.state.ping():
            self.reconciler.unreachable("no connection")
            return
        try:
            if not self.reconciler.reachable:
                self.reconciler.reached()
            with self._triggers_lock:
                batch = self.state.triggers_after(self._seen_trigger)
                found = [(n, source) for n, source in batch if n not in self._own_triggers]
                if batch:
                    self._seen_trigger = batch[-1][0]
                self._own_triggers = {n for n in self._own_triggers if n > self._seen_trigger}
        except StoreError as error:
            self.reconciler.unreachable(str(error))
            return
        if found and self.reconciler.leading:
            if any(source == "operator" for _, source in found):
                self.reconciler.force()
            self.loop.trigger()

    def app(self) -> web.Application:
        """The HTTP application: the runtime's routes, the API and the console."""
        if self.settings.tokens is None:
            tokens.warn_insecure("server", routes="/api/ and the console /ui/",
                                 listen=self.settings.listen)
        middlewares = [auth.bearer_middleware(self.settings.tokens,
                                              open_paths={api.WEBHOOK_PATH}),
                       auth.console_middleware(
                           self.settings.tokens, cookie_secure=self.settings.cookie_secure,
                           trusted_proxies=self.settings.trusted_proxies)]
        return self.runtime.app(routes=self._routes, middlewares=middlewares, limits=LIMITS)

    def _routes(self, app: web.Application) -> None:
        api.add_routes(app, self)
        console.add_routes(app, self)

    def close(self) -> None:
        """Release the compiler, Git processes and the database (after the loop stopped)."""
        self._compiler.close()
        self._leadership.close()
        close = getattr(self._mirror, "close", None)
        if callable(close):
            close()
        self.state.close()

    def trigger(self, *, source: str, reason: str | None, requested_by: str | None,
                force: bool) -> int:
        """Record a trigger and start a fetch and compile now; the trigger's id."""
        with self._triggers_lock:
            number = self.state.record_trigger(at=time.time(), source=source, reason=reason,
                                               requested_by=requested_by)
            self._own_triggers.add(number)
        if force and self.reconciler.leading:  # the leader picks it up from the database
            self.reconciler.force()
        self.loop.trigger()
        _log.info("sync triggered by %s (%s)", source, reason or "no reason given",
                  extra={"event": "triggered", "source": source, "triggerId": number,
                         "requestedBy": requested_by})
        return number

    def served_ref(self, payload: dict[str, Any]) -> str:
        """`refs/heads/<branch>` served, the push payload's default branch if unset."""
        branch = self.settings.branch
        if branch is None:
            repository = payload.get("repository")
            found = repository.get("default_branch") if isinstance(repository, dict) else None
            branch = found if isinstance(found, str) else "main"
        return f"refs/heads/{branch}"

    def record_report(self, report: fleet.SyncReport) -> dict[str, Any]:
        """Fold a sidecar's report into the fleet (and history); what is served now."""
        now = time.time()
        previous = self.state.fleet_row(report.cluster_id, report.target)
        row, changed = fleet.apply(previous, report, now=now)
        self.state.record_report(row, history=changed, duration=report.duration_seconds)
        self.metrics.sidecar_reports.labels(report.result).inc()
        if changed:
            _log.info("%s/%s reports %s at %s%s", report.cluster_id, report.target,
                      report.result, (report.hash or "?")[:12],
                      f": {report.error}" if report.error else "",
                      extra={"event": "sync-report", "clusterId": report.cluster_id,
                             "target": report.target, "result": report.result,
                             "hash": report.hash, "converged": report.converged})
        serving = self._serving(report.target)
        return {**serving, "upToDate": serving["hash"] is not None
                and serving["hash"] == report.hash}

    def fleet_json(self, row: fleet.FleetRow) -> dict[str, Any]:
        serving = self._serving(row.target)
        return {"clusterId": row.cluster_id, "target": row.target, "commit": row.commit,
                "hash": row.hash, "since": rfc3339(row.since),
                "lastReportAt": rfc3339(row.last_report_at), "result": row.result,
                "error": row.error, "converged": row.converged,
                "upToDate": serving["hash"] is not None and serving["hash"] == row.hash,
                "lastError": row.last_error,
                "lastErrorAt": rfc3339(row.last_error_at) if row.last_error_at else None,
                "instance": row.instance}

    def sync_state(self) -> dict[str, Any]:
        """`GET /api/v1/config/sync`."""
        reconciler = self.reconciler
        snapshot = reconciler.published
        attempt = reconciler.last_attempt
        last_error = reconciler.last_fetch_error or (
            attempt.error if attempt and attempt.result != "success" else None)
        return {
            "repo": redact(self.settings.repo), "branch": self.settings.branch,
            "path": self.settings.path,
            "commit": snapshot.commit if snapshot else None,
            "bundleHash": snapshot.bundle_hash if snapshot else None,
            "targets": {t: b.hash for t, b in snapshot.targets.items()} if snapshot else {},
            "compiledAt": rfc3339(snapshot.compiled_at) if snapshot else None,
            "lastAttempt": api.attempt_json(attempt) if attempt else None,
            "lastError": last_error,
            "lastFetchAt": rfc3339(reconciler.last_fetch_at) if reconciler.last_fetch_at
            else None,
            "lastFetchError": reconciler.last_fetch_error,
            "conditions": [c.to_json() for c in self.runtime.status.conditions()],
        }

    def _serving(self, target: str) -> dict[str, Any]:
        snapshot = self.reconciler.published
        found = snapshot.targets.get(target) if snapshot else None
        return {"hash": found.hash if found else None, "commit": found.commit if found else None}

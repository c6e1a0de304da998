"""One run of the server's loop: fetch the branch, compile a new commit, publish it.

`decide` is the pure policy; `Reconciler.step` the thin shell around the repository,
the compiler and the state. A fetch failure is temporary (the loop backs off and the last
good bundle stays served); a commit that does not compile is recorded with its
diagnostics and is permanent for that commit (`Stalled`, reason `CompileFailed`) until a
new commit arrives or an operator forces a recompile.

Replicas sharing one database: every step first follows the shared state (a bundle
another replica saved is loaded and served, its last attempt adopted), and only the
leader (`leader.Leadership`) fetches and compiles. A replica that cannot reach the
database serves nothing (`unreachable`) until it can again.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Literal, Protocol

from converge.compiler.gitsource import GitSourceError
from converge.compiler.sources import SourceFile
from converge.reconciler.core import PermanentError, Status, StoreError, TemporaryError, conditions
from converge.reconciler.server import leader as _leader
from converge.reconciler.server import published as _published
from converge.reconciler.server.compile import CompileResult, compile_sources
from converge.reconciler.server.metrics import ServerMetrics
from converge.reconciler.server.repository import FetchError, Repository
from converge.reconciler.server.state import Attempt, GoodBundle, Storage

Action = Literal["compile", "unchanged", "still-failing"]

_log = logging.getLogger("converge.server.compile")


class Compiler(Protocol):
    def __call__(self, files: Sequence[SourceFile], *, commit: str, version: str,
                 prefix: str = "") -> CompileResult: ...


def decide(*, fetched: str, last: Attempt | None, version: str, serving: bool,
           forced: bool) -> Action:
    """Whether the fetched commit needs compiling.

    A commit is compiled once per compiler version: again only when forced (an operator's
    trigger) or when nothing is served although it compiled (a lost database row).
    """
    if forced or last is None or last.commit != fetched or last.version != version:
        return "compile"
    if last.result == "success":
        return "unchanged" if serving else "compile"
    return "still-failing"


class Reconciler:
    """The server's state in memory and the step that moves it forward.

    Args:
        repository: where commits come from.
        state: the database.
        metrics: the server's metrics.
        status: the daemon's conditions (`Ready` is set here).
        version: the compiler version stamped in manifests.
        prefix: the specs folder inside the repository.
        compiler: compiles files (injectable for tests).
        clock: wall-clock seconds.
        leadership: whether this replica compiles (always, without replicas).
    """

    def __init__(self, *, repository: Repository, state: Storage, metrics: ServerMetrics,
                 status: Status, version: str, prefix: str = "",
                 compiler: Compiler = compile_sources,
                 clock: Callable[[], float] = time.time,
                 leadership: _leader.Leadership | None = None) -> None:
        self.repository = repository
        self.state = state
        self.metrics = metrics
        self.status = status
        self.version = version
        self.prefix = prefix
        self._compiler = compiler
        self._clock = clock
        self.leadership = leadership or _leader.Sole()
        self._lock = threading.Lock()
        self._follow_lock = threading.Lock()
        self._forced = False
        self._marker: tuple[str, float] | None = None
        """(hash, compiled at) of the saved bundle served now."""
        self.identity = state.identity()
        """The database's id, sent with serials (`X-Converge-Serial: <id>.<serial>`)."""
        self.leading = isinstance(self.leadership, _leader.Sole)
        self.reachable = True
        self.published: _published.Published | None = None
        """The snapshot served now; replaced as a whole, read without locks."""
        self.last_attempt = state.last_attempt()
        self.last_fetch_at: float | None = None
        self.last_fetch_error: str | None = None
        self._load_good()

    def force(self) -> None:
        """Make the next step recompile even an unchanged commit."""
        with self._lock:
            self._forced = True

    def step(self) -> None:
        """Follow the shared state; as the leader, fetch and compile and publish a new
        commit. Raises per the loop's protocol."""
        try:
            self.follow()
        except StoreError as error:
            self.unreachable(str(error))
            raise TemporaryError(f"the database does not answer: {error}") from None
        leading = self.leadership.held()
        if leading != self.leading:
            self.leading = leading
            self.status.update({"role": "leader" if leading else "follower"})
        if not leading:
            return
        with self._lock:
            forced, self._forced = self._forced, False
        commit = self._fetch()
        served = self.published
        action = decide(fetched=commit, last=self.last_attempt, version=self.version,
                        serving=served is not None and self.last_attempt is not None
                        and served.bundle_hash == self.last_attempt.bundle_hash,
                        forced=forced)
        if action == "unchanged":
            return
        if action == "still-failing" and self.last_attempt is not None:
            raise PermanentError(_failure_message(self.last_attempt), reason="CompileFailed")
        self._compile(commit)

    def _fetch(self) -> str:
        try:
            commit = self.repository.fetch()
        except FetchError as error:
            self.last_fetch_error = str(error)
            self.metrics.fetches.labels("error").inc()
            self.status.update({"lastFetchError": self.last_fetch_error})
            raise TemporaryError(f"fetch failed: {error}") from None
        self.last_fetch_at, self.last_fetch_error = self._clock(), None
        self.metrics.fetches.labels("success").inc()
        self.status.update({"fetchedCommit": commit, "lastFetchError": None})
        return commit

    def _compile(self, commit: str) -> None:
        started, ticks = self._clock(), time.perf_counter()
        try:
            files = self.repository.sources(commit)
        except GitSourceError as error:
            result, outcome = CompileResult(None, [], str(error)), "failure"
        else:
            try:
                result = self._compiler(files, commit=commit, version=self.version,
                                        prefix=self.prefix)
            except TemporaryError:
                raise
            except Exception as error:  # a compiler bug: record it, keep serving
                _log.exception("compiling %s crashed", commit[:12])
                result = CompileResult(None, [], f"internal error: {type(error).__name__}: "
                                                 f"{error}")
                outcome = "error"
            else:
                outcome = "success" if result.ok else "failure"
        snapshot = good = None
        if result.bundle is not None:
            snapshot = _published.publish(result.bundle, compiled_at=started,
                                          previous=self.published)
            good = GoodBundle(result.bundle, started,
                              {t: b.commit for t, b in snapshot.targets.items()})
        attempt = self.state.record_attempt(  # with its bundle, in one transaction
            commit=commit, at=started, duration=time.perf_counter() - ticks, result=outcome,
            bundle_hash=result.bundle.hash if result.bundle else None, version=self.version,
            error=result.error, diagnostics=result.diagnostics, good=good)
        self.last_attempt = attempt
        self.metrics.compiles.labels(outcome).inc()
        if result.bundle is None or snapshot is None:
            _log.error("commit %s does not compile: %s", commit[:12], result.error,
                       extra={"event": "compile-failed", "commit": commit,
                              "errors": sum(d["severity"] == "error"
                                            for d in result.diagnostics)})
            if self.published is None:
                self.status.set(conditions.READY, False, "NothingCompiled",
                                _failure_message(attempt))
            raise PermanentError(_failure_message(attempt), reason="CompileFailed")
        with self._follow_lock:
            self._marker = (result.bundle.hash, started)
            self._serve(dataclasses.replace(snapshot, serial=attempt.id))
        self.metrics.last_compile_success.set(started)
        _log.info("compiled %s: bundle %s", commit[:12], result.bundle.hash[:12],
                  extra={"event": "compiled", "commit": commit,
                         "bundleHash": result.bundle.hash,
                         "durationSeconds": round(attempt.duration, 3)})

    def _serve(self, snapshot: _published.Published) -> None:
        self.published = snapshot
        self.metrics.serving(commit=snapshot.commit, bundle_hash=snapshot.bundle_hash)
        self.status.set(conditions.READY, True, "BundleServed",
                        f"serving commit {(snapshot.commit or '?')[:12]}, "
                        f"bundle {snapshot.bundle_hash[:12]}")
        self.status.update({"commit": snapshot.commit, "bundleHash": snapshot.bundle_hash,
                            "targets": {t: b.hash for t, b in snapshot.targets.items()}})

    def follow(self) -> None:
        """Serve the bundle saved in the database when it is not the one served (another
        replica compiled it, or the database came back), and adopt its last attempt.

        Raises:
            StoreError: the database does not answer.
        """
        with self._follow_lock:
            marker = self.state.good_marker()
            if marker is not None and marker != self._marker:
                self._load_good()
            self.last_attempt = self.state.last_attempt() or self.last_attempt

    def unreachable(self, error: str) -> None:
        """The database does not answer: serve nothing (nothing stale passes for new)
        and say so in `Ready` until `follow` succeeds again."""
        with self._follow_lock:
            if self.reachable:
                _log.error("the database does not answer: stopped serving until it does: %s",
                           error, extra={"event": "database-unreachable"})
            self.reachable = False
            self.published = None
            self._marker = None
            self.status.set(conditions.READY, False, "DatabaseUnreachable",
                            f"the database does not answer: {error}")

    def reached(self) -> None:
        """The database answers again: serve what it holds."""
        if not self.reachable:
            _log.info("the database answers again", extra={"event": "database-reachable"})
        self.reachable = True
        self.follow()
        if self.published is None:
            self.status.set(conditions.READY, False, "NothingCompiled",
                            "no commit has compiled yet")

    def _load_good(self) -> None:
        good = self.state.load_good()
        if good is None:
            self.status.set(conditions.READY, False, "NothingCompiled",
                            "no commit has compiled yet")
            return
        self._marker = (good.bundle.hash, good.compiled_at)
        self._serve(_published.publish(good.bundle, compiled_at=good.compiled_at,
                                       previous=self.published,
                                       first_commits=good.first_commits, serial=good.serial))
        self.metrics.last_compile_success.set(good.compiled_at)
        _log.info("serving the last good bundle %s from the database",
                  good.bundle.hash[:12], extra={"event": "loaded",
                                                "bundleHash": good.bundle.hash})


def _failure_message(attempt: Attempt) -> str:
    return f"commit {attempt.commit[:12]} does not compile: {attempt.error}"

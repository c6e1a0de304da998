"""`Runtime`: what one daemon needs from the shared runtime, in one object.

    runtime = Runtime("sidecar", version="0.1.0")
    sync = runtime.add_loop("sync", step, LoopSettings(interval=30))
    app = runtime.app(routes=add_my_routes)
    raise SystemExit(runtime.run(app, listen=("127.0.0.1", 9401)))

It holds the daemon's `Status` (conditions `Ready` / `Reconciling` / `Stalled`), its own
metrics registry with the loop and HTTP metrics every daemon has, and its loops.
`/health/live` fails once a loop thread has died.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import Callable, Sequence

from aiohttp import web
from aiohttp.typedefs import Middleware

from converge.reconciler.core import http, metrics, runner
from converge.reconciler.core.loop import Loop, LoopSettings
from converge.reconciler.core.status import Status


def package_version() -> str:
    """converge's installed version (`/status`, `converge_<daemon>_build_info`), or `0.0.0`
    when it runs from a source tree that is not installed."""
    from importlib import metadata

    try:
        return metadata.version("converge-gitops")
    except metadata.PackageNotFoundError:
        return "0.0.0"


class Runtime:
    """Status, metrics and loops of one daemon named `daemon` (`converge_<daemon>_…`).

    Args:
        daemon: the daemon's name: `server`, `sidecar`, `scaler`, `healer`, `notifier`.
        version: shown in `converge_<daemon>_build_info{version}`.
        clock: wall clock for condition times; injectable for tests.
    """

    def __init__(self, daemon: str, *, version: str = "",
                 clock: Callable[[], float] = time.time) -> None:
        self.daemon = daemon
        self.status = Status(daemon, clock=clock)
        self.registry = metrics.registry()
        self.loop_metrics = metrics.LoopMetrics(self.registry, daemon)
        self.http_metrics = metrics.HttpMetrics(self.registry, daemon)
        self.loop_lag = metrics.LoopLag(self.registry, daemon)
        metrics.build_info(self.registry, daemon, version)
        self.loops: list[Loop] = []
        self.threads: list[threading.Thread] = []

    def add_loop(self, name: str, step: Callable[[], object],
                 settings: LoopSettings | None = None) -> Loop:
        """A loop that keeps this daemon's status and metrics; run by `run`/`serve`."""
        loop = Loop(daemon=self.daemon, name=name, step=step, settings=settings,
                    status=self.status, metrics=self.loop_metrics)
        self.loops.append(loop)
        return loop

    def alive(self) -> bool:
        """False once any started loop thread has died (a bug: loops never raise)."""
        return all(thread.is_alive() for thread in self.threads) or not self.threads

    def app(self, *, routes: Callable[[web.Application], None] | None = None,
            middlewares: Sequence[Middleware] = (),
            limits: http.Limits | None = None) -> web.Application:
        """The HTTP app with `/health*`, `/status`, `/metrics` and the daemon's routes."""
        return http.make_app(status=self.status, registry=self.registry,
                             http_metrics=self.http_metrics, routes=routes,
                             middlewares=middlewares, live=self.alive,
                             limits=limits)

    async def serve(self, app: web.Application, *, listen: tuple[str, int],
                    grace: float = 30.0, stop: asyncio.Event | None = None,
                    on_listening: Callable[[list[str]], None] | None = None) -> int:
        """Serve and run the loops until a signal or `stop`; see `runner.serve`."""
        return await runner.serve(daemon=self.daemon, app=app, listen=listen,
                                  loops=self.loops, grace=grace, stop=stop,
                                  on_listening=on_listening, threads_out=self.threads,
                                  background=[self.loop_lag.watch])

    def run(self, app: web.Application, *, listen: tuple[str, int],
            grace: float = 30.0) -> int:
        """`serve` in a new event loop; the exit status (0 after a graceful stop).

        For a daemon's process: what start-up built (modules, models, the app) lives as
        long as the process, so it is moved out of the collector's generations first,
        which keeps full collections short on the request path.
        """
        gc.freeze()
        return asyncio.run(self.serve(app, listen=listen, grace=grace))

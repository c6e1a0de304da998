"""The shell the healer and the scaler both run in: logs, the runtime, the bundle file they
follow, the outbox for their events, and their two loops.

Each daemon brings its own decisions (`Healer.step`, `Scaler.step`) and routes; the shell
re-reads the bundle every 30 s (a bad one keeps the last good content), runs the step
loop only once something was loaded (and at once after the first load), and closes what
the daemon opened, then its event sink, when it stops.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Generic

from converge.reconciler.core import bundlefile, conditions, http, logs, tokens
from converge.reconciler.core.bundlefile import T
from converge.reconciler.core.events import EventSink, HttpEventSink, LogSink, Outbox
from converge.reconciler.core.loop import LoopSettings
from converge.reconciler.core.runtime import Runtime, package_version

BUNDLE_INTERVAL = 30.0
"""Seconds between two reads of the bundle file."""


__all__ = ["BUNDLE_INTERVAL", "Common", "ContainerDaemon"]


@dataclasses.dataclass(frozen=True, slots=True)
class Common:
    """What the healer and the scaler are both told (`container_cli.options`)."""

    bundle: str
    listen: tuple[str, int]
    db: Path
    docker_host: str | None = None
    notifier_url: str | None = None
    notifier_token_file: Path | None = None
    tokens: tuple[str, ...] = ()
    """Bearer tokens for `/api/` (from `--token-file`, never argv); none with
    `--insecure-no-auth`. The first is also sent to the config server."""
    log_format: str = "json"
    log_level: str = "info"
    bundle_interval: float = BUNDLE_INTERVAL

    @property
    def token(self) -> str | None:
        """The token sent to the config server, when `--bundle` is its URL."""
        return self.tokens[0] if self.tokens else None


class ContainerDaemon(Generic[T]):
    """One container daemon's runtime, bundle content and event outbox.

    Args:
        name: `healer` or `scaler` (logs, metrics, status).
        common: the shared options.
        source: reads the daemon's file of the bundle.
        noun: what the file holds, for status messages (`worker pools`).
    """

    def __init__(self, name: str, common: Common, *, source: bundlefile.Source[T],
                 noun: str) -> None:
        logs.configure(daemon=name, level=common.log_level,
                       json_lines=common.log_format == "json")
        self.name = name
        self.common = common
        self.runtime = Runtime(name, version=package_version())
        self.runtime.status.set(conditions.READY, False, "Starting", "reading the bundle")
        self.current = bundlefile.Current(source, self.runtime.status, daemon=name, noun=noun)
        self._sink: EventSink = LogSink(name)
        if common.notifier_url:
            self._sink = HttpEventSink(common.notifier_url,
                                       token_file=common.notifier_token_file)

    def outbox(self, *, sent: Callable[[str, str], object] | None = None) -> Outbox:
        """The outbox for this daemon's events (`sent` counts each attempt)."""
        return Outbox(self._sink, daemon=self.name, sent=sent)

    def run(self, *, loop: str, step: Callable[[], None], interval: float,
            routes: Callable[[Any], None] | None = None,
            closing: Iterable[Callable[[], object]] = ()) -> int:
        """Run the `bundle` loop and the `loop` loop (`step` every `interval` seconds once
        content is loaded) until SIGTERM; then call `closing` in order. The exit status."""
        step_loop = None

        def refresh() -> None:
            first = not self.current.loaded
            self.current.refresh()
            if first and self.current.loaded and step_loop is not None:
                step_loop.trigger()

        def guarded_step() -> None:
            if self.current.loaded:
                step()

        self.runtime.add_loop("bundle", refresh,
                              LoopSettings(interval=self.common.bundle_interval))
        step_loop = self.runtime.add_loop(loop, guarded_step,
                                          LoopSettings(interval=interval, jitter=0.0))
        if self.common.tokens:
            guards = [http.bearer_guard(self.common.tokens)]
        else:
            guards = []
            tokens.warn_insecure(self.name, listen=self.common.listen)
        try:
            return self.runtime.run(self.runtime.app(routes=routes, middlewares=guards),
                                    listen=self.common.listen)
        finally:
            for close in closing:
                close()
            if isinstance(self._sink, HttpEventSink):
                self._sink.close()

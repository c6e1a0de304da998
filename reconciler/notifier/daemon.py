"""`converge notifier`: wire the outbox, the senders, the workers and the HTTP routes.

Thin: the decisions live in `intake`, `policy`, the vendor modules and `delivery`. Start:
open the outbox, read the bundle's channels, recover interrupted sends, start a worker per
channel, then listen. A `bundle` loop re-reads the channels every `reload_interval` (a
changed bundle or a secret that appeared takes effect without a restart). Stop (SIGTERM):
stop listening, let each worker finish its request in flight, close the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import ssl
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from aiohttp import web

from converge.reconciler.core import conditions, http, tokens
from converge.reconciler.core.backoff import BackoffPolicy
from converge.reconciler.core.loop import LoopSettings
from converge.reconciler.core.runtime import Runtime
from converge.reconciler.core.secretaccess import SecretAccess
from converge.reconciler.notifier import api, channels, policy, silences, source
from converge.reconciler.notifier.metrics import DAEMON, NotifierMetrics
from converge.reconciler.notifier.outbox import Outbox
from converge.reconciler.notifier.senders import HttpSender, SmtpSender
from converge.reconciler.notifier.service import Notifier
from converge.reconciler.notifier.vendors import alertmanager

log = logging.getLogger("converge.notifier")

DEFAULT_LISTEN = ("127.0.0.1", 9095)
"""Matches the Project's default `notifierURL`."""


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    bundle: str
    """A compiled bundle directory or the config server's URL."""
    db: Path
    listen: tuple[str, int] = DEFAULT_LISTEN
    tokens: tuple[str, ...] = ()
    """Bearer tokens accepted on `/api/`; the first is sent to the config server. Empty:
    `/api/` is open (the CLI allows it only with `--insecure-no-auth`, and it is logged)."""
    dedup_window: float = 300.0
    max_age: float = 24 * 3600.0
    base_urls: Mapping[str, str] = dataclasses.field(default_factory=dict)
    reload_interval: float = 30.0
    retention: float = 3600.0
    """Seconds delivered messages are kept (at least the dedup window)."""
    history_retention: float = 30 * 86400.0
    """Seconds dead letters are kept (`--history-retention`)."""
    alertmanager_url: str | None = None
    """Alertmanager, asked for silences before an escalation (`--alertmanager-url`)."""
    grace: float = 20.0
    """Seconds a stopping worker may finish its request in flight."""
    http_timeout: float = 15.0
    backoff: BackoffPolicy = policy.RetryPolicy().backoff
    rate_limit_delay: float = policy.RetryPolicy().rate_limit_delay
    version: str = ""


class NotifierDaemon:
    """One notifier process (see the module docstring)."""

    def __init__(self, settings: Settings, *, environ: Mapping[str, str] = os.environ,
                 smtp_context: ssl.SSLContext | None = None,
                 http_verify: ssl.SSLContext | bool = True,
                 secret_access: SecretAccess | None = None) -> None:
        self.settings = settings
        self.runtime = Runtime(DAEMON, version=settings.version)
        self.metrics = NotifierMetrics(self.runtime.registry)
        self._environ = environ
        self._secrets = (secret_access if secret_access is not None
                         else SecretAccess(environ=environ))
        """What the channels' secret references may read (default: no variable)."""
        self._source = source.BundleSource(settings.bundle,
                                           token=settings.tokens[0] if settings.tokens else None)
        self._http = HttpSender(timeout=settings.http_timeout, verify=http_verify)
        self._mail = SmtpSender(context=smtp_context)
        self._loop: asyncio.AbstractEventLoop | None = None
        self.outbox: Outbox | None = None
        self.notifier: Notifier | None = None
        self._defaults = channels.Defaults()

    def _load(self) -> dict[str, channels.Channel]:
        data, version = self._source.fetch()
        found = channels.parse(data, env=self._secrets.env, file=self._secrets.file,
                               base_urls=self.settings.base_urls)
        self._defaults = channels.parse_defaults(data)
        if self._defaults.events_to_alertmanager:
            if self.settings.alertmanager_url:
                found[alertmanager.CHANNEL] = channels.Channel(
                    name=alertmanager.CHANNEL, type="alertmanager", spec={}, secrets={},
                    delivered_by="alertmanager",
                    base_url=self.settings.alertmanager_url.rstrip("/"))
            else:
                log.warning("notifier: the Project sends daemon events to Alertmanager, but "
                            "no --alertmanager-url is given; delivering them to channels",
                            extra={"event": "no-alertmanager-url"})
        self.runtime.status.update({"bundle": self.settings.bundle, "bundleHash": version})
        broken = {name: c.problem for name, c in found.items() if c.problem}
        self.runtime.status.set("ChannelsReady", not broken,
                                "SecretsMissing" if broken else "Resolved",
                                "; ".join(f"{n}: {p}" for n, p in sorted(broken.items())))
        return found

    def _reload_step(self) -> None:
        """The `bundle` loop's step (a worker thread)."""
        found = self._load()
        loop, notifier = self._loop, self.notifier
        defaults = self._defaults
        if loop is None or notifier is None or (found == notifier.channels
                                                and defaults == notifier.defaults):
            return

        async def apply() -> None:
            notifier.defaults = defaults
            notifier.set_channels(found)
            log.info("notifier loaded %d channels", len(found),
                     extra={"event": "channels", "channels": sorted(found)})

        asyncio.run_coroutine_threadsafe(apply(), loop).result(timeout=30)
        self.runtime.status.set(conditions.READY, True, "ChannelsLoaded",
                                f"{len(found)} channels")

    async def _housekeeping(self) -> None:
        assert self.notifier is not None and self.outbox is not None
        last_prune = 0.0
        while True:
            self.notifier.refresh_status()
            try:
                await self.notifier.escalate()
            except Exception as error:  # a busy store: the next second tries again
                log.warning("notifier 'escalate' failed, retrying in 1s: %s", error,
                            extra={"event": "escalate-failed", "error": str(error)})
            with contextlib.suppress(Exception):  # a busy store only delays the listing
                await self.notifier.refresh_listing()
                await self.notifier.refresh_escalations()
                await self.notifier.refresh_backlog()
            if time.monotonic() - last_prune > 60:
                last_prune = time.monotonic()
                with contextlib.suppress(Exception):
                    await self.outbox.prune(keep=self.settings.retention)
                with contextlib.suppress(Exception):
                    pruned = await self.outbox.prune_history(
                        keep=self.settings.history_retention)
                    if pruned:
                        log.info("notifier deleted %d dead letters older than the history "
                                 "retention", pruned, extra={"event": "retention",
                                                             "count": pruned})
            await asyncio.sleep(1.0)

    async def serve(self, *, stop: asyncio.Event | None = None,
                    on_listening: Callable[[list[str]], None] | None = None) -> int:
        """Run until SIGTERM, SIGINT or `stop`; the exit status."""
        settings = self.settings
        self._loop = asyncio.get_running_loop()
        status = self.runtime.status
        self.outbox = Outbox(settings.db, dedup_window=settings.dedup_window)
        self.notifier = Notifier(outbox=self.outbox, http=self._http, mail=self._mail,
                                 metrics=self.metrics, status=status,
                                 retry=policy.RetryPolicy(
                                     backoff=settings.backoff, max_age=settings.max_age,
                                     rate_limit_delay=settings.rate_limit_delay))
        try:
            found = await asyncio.to_thread(self._load)
            status.set(conditions.READY, True, "ChannelsLoaded", f"{len(found)} channels")
        except (source.SourceError, channels.ChannelsError) as error:
            found = {}
            status.set(conditions.READY, False, "NoChannels", str(error))
            log.error("notifier cannot read its channels yet: %s", error,
                      extra={"event": "no-channels", "error": str(error)})
        self.notifier.defaults = self._defaults
        if settings.alertmanager_url:
            self.notifier.silences = silences.AlertmanagerSilences(settings.alertmanager_url)
        await self.notifier.start(found)
        self.runtime.add_loop("bundle", self._reload_step,
                              LoopSettings(interval=settings.reload_interval,
                                           run_at_start=False))
        notifier = self.notifier

        def add_routes(app: web.Application) -> None:
            app.add_routes(api.routes(notifier))

        if not settings.tokens:
            tokens.warn_insecure("notifier", routes="/api/ (events, dead letters)",
                                 listen=settings.listen)
        app = self.runtime.app(
            routes=add_routes,
            middlewares=[http.bearer_guard(settings.tokens)] if settings.tokens else [],
            limits=api.LIMITS)
        housekeeping = asyncio.create_task(self._housekeeping(), name="notifier-housekeeping")
        try:
            return await self.runtime.serve(app, listen=settings.listen, grace=5.0, stop=stop,
                                            on_listening=on_listening)
        finally:
            housekeeping.cancel()
            await asyncio.gather(housekeeping, return_exceptions=True)
            await notifier.stop(grace=settings.grace)
            notifier.refresh_status()
            await self._http.aclose()
            self.outbox.close()

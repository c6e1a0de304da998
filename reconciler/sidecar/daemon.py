"""`converge sidecar` wired together: source, target, publisher and syncer behind the
shared runtime's loop, status and metrics, plus sync-status reports to the server.

Only this module knows about every part; each part knows only its own Protocols.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import time
from pathlib import Path

import httpx

from converge.reconciler.core import LoopSettings, Runtime, TemporaryError, conditions
from converge.reconciler.core.events import EventSink, HttpEventSink, LogSink, Outbox
from converge.reconciler.core.secretaccess import SecretAccess
from converge.reconciler.sidecar import events as sync_events
from converge.reconciler.sidecar import metrics, targets
from converge.reconciler.sidecar.publish import Publisher, default_state_dir
from converge.reconciler.sidecar.sources import BundleSource, SourceError, parse
from converge.reconciler.sidecar.sources.server import ServerSource
from converge.reconciler.sidecar.sync import Report, Syncer

HEARTBEAT = 60.0
"""Seconds between status reports to the server when nothing changes."""
_log = logging.getLogger("converge.sidecar")


@dataclasses.dataclass(frozen=True, slots=True)
class Options:
    source: str
    target: str
    dest: Path
    reload_url: str
    cluster_id: str = "default"
    interval: float = 30.0
    token: str | None = None
    state_dir: Path | None = None
    target_dest: str | None = None
    """DEST as the target sees it, when it mounts the directory elsewhere."""
    validate: bool = True
    instance: str = dataclasses.field(default_factory=socket.gethostname)
    secret_access: SecretAccess = dataclasses.field(default_factory=SecretAccess)
    """What secret references may read on this host (none but DEFAULT_DIR's files)."""
    notifier_url: str | None = None
    """`converge notifier`: sync failures, rollbacks and recoveries are sent as events
    (only logged when None)."""
    notifier_token_file: Path | None = None


def make_source(options: Options, *, state_dir: Path, client: httpx.Client) -> BundleSource:
    """The source `--source` names."""
    spec = parse(options.source)
    if spec.kind == "dir":
        from converge.reconciler.sidecar.sources.directory import DirectorySource

        return DirectorySource(Path(spec.location), target=options.target)
    if spec.kind == "git":
        from converge.reconciler.sidecar.sources.git import GitSource

        return GitSource(url=spec.location, branch=spec.branch, subdir=spec.subdir,
                         workdir=state_dir / "git", target=options.target)
    return ServerSource(spec.location, target=options.target, token=options.token,
                        client=client)


class Sidecar:
    """One sidecar: its runtime (status, metrics, loop) and its syncer."""

    def __init__(self, options: Options, *, version: str = "") -> None:
        self.options = options
        state_dir = options.state_dir or default_state_dir(options.dest.absolute())
        self.client = httpx.Client(timeout=httpx.Timeout(10.0))
        self.source = make_source(options, state_dir=state_dir, client=self.client)
        publisher = Publisher(dest=options.dest, state_dir=state_dir, target=options.target)
        target = targets.build(options.target, reload_url=options.reload_url,
                               dest_seen=options.target_dest or str(publisher.dest),
                               client=self.client, validate=options.validate)
        self.syncer = Syncer(source=self.source, target=target, publisher=publisher,
                             env=options.secret_access.env,
                             files=options.secret_access.file)
        self.runtime = Runtime("sidecar", version=version)
        self.metrics = metrics.SidecarMetrics(self.runtime.registry, options.target)
        self.loop = self.runtime.add_loop("sync", self.step,
                                          LoopSettings(interval=options.interval))
        self.runtime.status.set(conditions.READY, False, "Starting", "no bundle loaded yet")
        self._last_report = 0.0
        sink: EventSink = (HttpEventSink(options.notifier_url,
                                         token_file=options.notifier_token_file)
                           if options.notifier_url else LogSink("sidecar"))
        self.events = Outbox(sink, daemon="sidecar")
        self._failing = False
        self.last: Report | None = None

    def start(self) -> None:
        """Take the state directory (raises `PublishError` when it is not ours)."""
        self.syncer.start()

    def step(self) -> Report:
        """One sync; raises `TemporaryError` on failure so the loop backs off."""
        report = self.syncer.sync()
        self.last = report
        self.metrics.observe(report, converged=self.syncer.converged,
                             source_up=self.syncer.source_up, now=time.time())
        self._update_status(report)
        self._report_to_server(report)
        self._send_event(report)
        if report.result == "failure":
            raise TemporaryError(report.reason)
        if report.result == "success":
            _log.info("sidecar 'sync' %s: %s", report.step.value, report.reason,
                      extra={"loop": "sync", "result": report.result, "hash": report.hash})
        return report

    def _send_event(self, report: Report) -> None:
        options = self.options
        event, self._failing = sync_events.event_for(
            self._failing, report, target=options.target, cluster=options.cluster_id,
            instance=options.instance, now=time.time())
        if event is not None:
            self.events.add(event)
        if self.events.pending:
            self.events.flush()

    def close(self) -> None:
        self.syncer.publisher.close()
        self.source.close()
        self.client.close()

    def _update_status(self, report: Report) -> None:
        state = self.syncer.state
        status = self.runtime.status
        if state.good is not None or state.verified:
            status.set(conditions.READY, True, "Loaded",
                       f"{self.options.target} runs {(state.active or '')[:12]}"
                       if state.verified else "serving the last good bundle")
        else:
            status.set(conditions.READY, False, "NoBundle", report.reason)
        status.update({"target": self.options.target, "dest": str(self.options.dest),
                       "source": self.source.description, "clusterId": self.options.cluster_id,
                       "activeHash": state.active, "goodHash": state.good,
                       "verified": state.verified, "offeredHash": self.syncer.offered,
                       "converged": self.syncer.converged, "sourceUp": self.syncer.source_up,
                       "lastResult": report.result, "lastStep": report.step.value,
                       "lastReason": report.reason,
                       "lastError": report.reason if report.result == "failure" else None})

    def _report_to_server(self, report: Report) -> None:
        if not isinstance(self.source, ServerSource):
            return
        now = time.monotonic()
        if report.result == "unchanged" and now - self._last_report < HEARTBEAT:
            return
        try:
            self.source.report({
                "clusterId": self.options.cluster_id, "target": self.options.target,
                "commit": report.commit, "hash": report.hash,
                "attemptedHash": report.attempted, "result": report.result,
                "error": report.reason if report.result == "failure" else None,
                "converged": self.syncer.converged,
                "durationSeconds": report.reload_seconds, "instance": self.options.instance})
            self._last_report = now
        except SourceError as error:  # a lost report never stops a sync
            _log.warning("sidecar: status report to %s failed: %s",
                         self.source.description, error)

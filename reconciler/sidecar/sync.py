"""One sync: fetch, decide, then publish, reload, verify and roll back as decided.

The thin shell around `decide`: the source, the target and the publisher are passed in,
so tests run it against fakes or the real things. `sync()` never raises for a failure
of the source, the bundle or the target: it returns a `Report` with the reason, and the
daemon counts it, reports it and backs off.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Literal

from converge.reconciler.sidecar import decide, secrets
from converge.reconciler.sidecar.bundles import BundleError, Candidate
from converge.reconciler.sidecar.decide import State, Step
from converge.reconciler.sidecar.publish import Publisher, PublishError, Version
from converge.reconciler.sidecar.sources.base import BundleSource, SourceError
from converge.reconciler.sidecar.targets.base import Target, TargetError

Result = Literal["success", "failure", "unchanged"]
_log = logging.getLogger("converge.sidecar.sync")


@dataclasses.dataclass(frozen=True, slots=True)
class Report:
    """What one sync did."""

    result: Result
    step: Step
    reason: str
    hash: str | None
    """The bundle the target verifiably runs after this sync (None: not known)."""
    commit: str | None
    attempted: str | None = None
    """The bundle this sync tried to publish, if any."""
    reload_seconds: float | None = None
    rolled_back: bool = False


class Syncer:
    """Keeps one target converged to one source.

    Args:
        source: where bundles come from.
        target: the target adapter.
        publisher: DEST and STATE.
        env, files: lookups for secrets (what this host's operator allows).
        clock: monotonic seconds, for reload durations.
    """

    def __init__(self, *, source: BundleSource, target: Target, publisher: Publisher,
                 env: secrets.Lookup, files: secrets.Lookup,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.source = source
        self.target = target
        self.publisher = publisher
        self._env = env
        self._files = files
        self._clock = clock
        self.state = State()
        self.pending: Candidate | None = None
        """The last offered bundle not yet running: retried while the source is down."""
        self.offered: str | None = None
        """The hash the source last offered (for `converged`)."""
        self.source_up: bool | None = None
        self._secrets: set[str] = set()
        """Every secret value resolved here: redacted from whatever leaves the host."""

    def start(self) -> None:
        """Take STATE, and pick up what a previous run published."""
        self.publisher.prepare()
        active, good = self.publisher.active(), self.publisher.good()
        self.state = State(active=active.hash if active and active.intact else None,
                           good=good.hash if good and good.intact else None)

    @property
    def converged(self) -> bool:
        return decide.converged(self.state, self.offered)

    def sync(self) -> Report:
        """Fetch once and act on it."""
        problem = self._fetch()
        decision = decide.decide(self.state, self.pending.hash if self.pending else None)
        try:
            report = self._act(decision)
        except (OSError, PublishError) as error:
            self.state = dataclasses.replace(self.state, verified=False)
            report = Report("failure", decision.step,
                            f"cannot publish to {self.publisher.dest}: {error}", None, None)
        if problem is not None and report.result != "failure":
            report = dataclasses.replace(report, result="failure", reason=problem)
        # A checker or a target may quote a resolved secret back (amtool does, for a
        # malformed one); the reason reaches the server, /status and the logs.
        return dataclasses.replace(report, reason=self.redact(report.reason))

    def redact(self, text: str) -> str:
        """`text` without any secret this sidecar resolved."""
        return secrets.redact(text, self._secrets) if self._secrets else text

    def _act(self, decision: decide.Decision) -> Report:
        if decision.step is Step.APPLY:
            assert self.pending is not None
            return self._apply(self.pending)
        if decision.step is Step.RELOAD:
            return self._reload(decision.reason)
        if decision.step is Step.VERIFY:
            return self._verify(decision.reason)
        return Report("unchanged", Step.WAIT, decision.reason, None, None)

    def _fetch(self) -> str | None:
        """Ask the source; keep what it offers in `pending`. The problem, if any."""
        known = self.pending.hash if self.pending else self.state.active
        try:
            offered = self.source.fetch(known)
        except SourceError as error:
            self.source_up = False
            return f"source {self.source.description} is unavailable: {error}"
        except BundleError as error:
            self.source_up = True
            self.offered = None  # what the source offers is not what the target runs
            return f"refused the bundle from {self.source.description}: {error}"
        self.source_up = True
        if offered is None:  # still `known`
            self.offered = known
            return None
        self.offered = offered.hash
        self.pending = None if offered.hash == self.state.active else offered
        return None

    def _apply(self, candidate: Candidate) -> Report:
        short = candidate.hash[:12]
        try:
            resolved = secrets.resolve(candidate.files, candidate.secrets, env=self._env,
                                       file=self._files)
        except secrets.SecretError as error:
            return self._not_published(candidate, f"cannot resolve secrets: {error}")
        self._secrets |= resolved.values
        version = self.publisher.stage(candidate=candidate, resolved=resolved)
        refusal = self.target.check(version)
        if refusal is not None:
            self.publisher.discard(version)
            return self._not_published(candidate, refusal)
        self.publisher.activate(version)
        started = self._clock()
        try:
            self.target.reload(version)
            self.target.verify(version)
        except TargetError as error:
            duration = self._clock() - started
            return self._roll_back(candidate.hash, f"{short} did not load: {error}",
                                   duration=duration, error=error)
        duration = self._clock() - started
        self.publisher.mark_good(version)
        self.publisher.prune()
        self.state = decide.applied(self.state, candidate.hash)
        self.pending = None
        _log.info("sidecar applied %s to %s", short, self.target.name,
                  extra={"hash": candidate.hash, "commit": candidate.commit,
                         "reload_seconds": round(duration, 3)})
        return Report("success", Step.APPLY, f"{short} loaded and verified", candidate.hash,
                      candidate.commit, attempted=candidate.hash, reload_seconds=duration)

    def _reload(self, reason: str) -> Report:
        version = self.publisher.active()
        assert version is not None
        started = self._clock()
        try:
            self.target.reload(version)
            self.target.verify(version)
        except TargetError as error:
            return self._roll_back(version.hash, f"reload of {_short(version.hash)} failed: "
                                   f"{error}", duration=self._clock() - started,
                                   step=Step.RELOAD, error=error)
        duration = self._clock() - started
        self.publisher.mark_good(version)
        self.publisher.prune()
        self.state = decide.applied(self.state, version.hash)
        if self.pending is not None and self.pending.hash == version.hash:
            self.pending = None
        return Report("success", Step.RELOAD, reason, version.hash, version.commit,
                      attempted=version.hash, reload_seconds=duration)

    def _verify(self, reason: str) -> Report:
        version = self.publisher.active()
        if version is None or not version.intact:
            self.state = dataclasses.replace(self.state, active=None, verified=False)
            return Report("failure", Step.VERIFY, "the published set was changed or removed "
                          "behind the sidecar's back; republishing", None, None)
        try:
            self.target.verify(version)
        except TargetError as error:
            _log.warning("sidecar: %s drifted (%s); reloading", self.target.name,
                         self.redact(str(error)))
            return self._reload(f"target drifted ({error}); reloaded")
        return Report("unchanged", Step.VERIFY, reason, version.hash, version.commit)

    def _not_published(self, candidate: Candidate, reason: str) -> Report:
        self.state = dataclasses.replace(self.state, failed=candidate.hash)
        return Report("failure", Step.APPLY, f"{candidate.hash[:12]} not published: {reason}",
                      self.state.active if self.state.verified else None,
                      None, attempted=candidate.hash)

    def _roll_back(self, failing: str | None, reason: str, *, duration: float,
                   error: TargetError, step: Step = Step.APPLY) -> Report:
        """Restore the last good set (or the empty one), reload it, and report `reason`.

        A target that cannot be reached loads DEST when it starts: with no good set to
        restore, the checked candidate stays rather than nothing at all.
        """
        choice = decide.fallback(self.state, failing)
        if choice == "empty" and error.unreachable:
            choice = None
        restore: Version | None = None
        if choice == "good":
            restore = self.publisher.good()
        if choice == "empty" or (choice == "good" and (restore is None or not restore.intact)):
            restore = self.publisher.empty()
        if restore is None:  # nothing better to restore: retry this one later as it is
            self.state = decide.failed(self.state, failing, active=failing, verified=False)
            return Report("failure", step, reason, None, None, attempted=failing,
                          reload_seconds=duration)
        self.publisher.activate(restore)
        try:
            self.target.reload(restore)
            self.target.verify(restore)
            verified, note = True, f"; rolled back to {_short(restore.hash)}"
        except TargetError as error:
            verified, note = False, f"; rollback to {_short(restore.hash)} failed too: {error}"
        self.state = decide.failed(self.state, failing, active=restore.hash, verified=verified)
        self.publisher.prune()  # the failed set goes; a retry writes it anew
        _log.warning("sidecar: %s", self.redact(reason + note),
                     extra={"hash": failing, "restored": restore.hash, "verified": verified})
        return Report("failure", step, reason + note, restore.hash if verified else None,
                      restore.commit if verified else None, attempted=failing,
                      reload_seconds=duration, rolled_back=verified)


def _short(hash: str | None) -> str:
    return hash[:12] if hash else "the empty set"

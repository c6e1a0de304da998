"""vmalert: `/-/reload` answers 200 before reloading, so the reload is polled for.

Before posting, the reload counters are read; afterwards the adapter polls until vmalert
counted a new reload and `/api/v1/rules` lists exactly the published groups and rules
(with their expressions, which vmalert reports as written), or until a new reload error
shows up, or until the wait runs out. vmalert hands a changed group to the group's own
goroutine, which does not take it while it waits out its randomised start delay (up to
one evaluation interval), so the wait is the reload timeout plus the longest group
interval of the set.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from converge.reconciler.sidecar import expect
from converge.reconciler.sidecar.publish import Version
from converge.reconciler.sidecar.targets import checkers
from converge.reconciler.sidecar.targets.base import RELOAD_TIMEOUT, Http, TargetError

_TOTAL = "vmalert_config_last_reload_total"
_ERRORS = "vmalert_config_last_reload_errors_total"
_SUCCESSFUL = "vmalert_config_last_reload_successful"


class VMAlert:
    """Rule files under DEST, loaded through `-rule=DEST/*.yaml`."""

    name = "vmalert"

    def __init__(self, http: Http, *, dest_seen: str, validate: bool,
                 sleep: Callable[[float], None] | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        self.http = http
        self.dest_seen = dest_seen
        self.validate = validate
        self._sleep = sleep or time.sleep
        self._clock = clock or time.monotonic

    def check(self, version: Version) -> str | None:
        files = checkers.rule_files(version.path, list(version.files))
        if not self.validate or not files:
            return None
        return checkers.run("vmalert", ["-dryRun", "-loggerLevel=WARN",
                                        *(f"-rule={path}" for path in files)])

    def reload(self, version: Version) -> None:
        before = self.http.get_text("/metrics")
        total, errors = expect.metric(before, _TOTAL) or 0, expect.metric(before, _ERRORS) or 0
        self.http.post_reload()
        try:
            longest = expect.longest_interval(version.read())
        except OSError:
            longest = 60.0
        wait = RELOAD_TIMEOUT + longest
        deadline = self._clock() + wait
        pause = 0.05
        while True:
            now = self.http.get_text("/metrics")
            if (expect.metric(now, _ERRORS) or 0) > errors:
                raise TargetError("vmalert refused the rules (vmalert_config_last_reload_"
                                  "errors_total went up; its log says why)")
            if (expect.metric(now, _TOTAL) or 0) > total:
                try:
                    self.verify(version)
                    return
                except TargetError as error:
                    if self._clock() >= deadline:
                        raise TargetError(f"vmalert did not load the rules within "
                                          f"{wait:g}s: {error}") from None
            elif self._clock() >= deadline:
                raise TargetError(f"vmalert did not reload within {wait:g}s")
            self._sleep(pause)
            pause = min(pause * 2, 0.5)

    def verify(self, version: Version) -> None:
        metrics = self.http.get_text("/metrics")
        if expect.metric(metrics, _SUCCESSFUL) != 1:
            raise TargetError(f"vmalert reports its last reload failed ({_SUCCESSFUL} != 1)")
        try:
            expected = expect.rule_groups(version.read(), with_query=True)
        except (OSError, ValueError) as error:
            raise TargetError(f"cannot read the published rules: {error}") from None
        loaded = expect.loaded_groups(self.http.get_json("/api/v1/rules"),
                                      dest=self.dest_seen, with_query=True)
        difference = expect.compare_groups(expected, loaded)
        if difference is not None:
            raise TargetError(f"vmalert did not load the published rules: {difference}")

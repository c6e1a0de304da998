"""Prometheus: `/-/reload` is synchronous; verified by its reload metric and `/api/v1/rules`."""

from __future__ import annotations

from converge.reconciler.sidecar import expect
from converge.reconciler.sidecar.publish import Version
from converge.reconciler.sidecar.targets import checkers
from converge.reconciler.sidecar.targets.base import Http, TargetError


class Prometheus:
    """Rule files under DEST, loaded through `rule_files: [DEST/*.yaml]`."""

    name = "prometheus"

    def __init__(self, http: Http, *, dest_seen: str, validate: bool) -> None:
        self.http = http
        self.dest_seen = dest_seen
        self.validate = validate

    def check(self, version: Version) -> str | None:
        files = checkers.rule_files(version.path, list(version.files))
        if not self.validate or not files:
            return None
        return checkers.run("promtool", ["check", "rules", *files])

    def reload(self, version: Version) -> None:
        self.http.post_reload()

    def verify(self, version: Version) -> None:
        metrics = self.http.get_text("/metrics")
        if expect.metric(metrics, "prometheus_config_last_reload_successful") != 1:
            raise TargetError("Prometheus reports its last reload failed "
                              "(prometheus_config_last_reload_successful != 1)")
        try:
            expected = expect.rule_groups(version.read(), with_query=False)
        except (OSError, ValueError) as error:
            raise TargetError(f"cannot read the published rules: {error}") from None
        loaded = expect.loaded_groups(self.http.get_json("/api/v1/rules"),
                                      dest=self.dest_seen, with_query=False)
        difference = expect.compare_groups(expected, loaded)
        if difference is not None:
            raise TargetError(f"Prometheus did not load the published rules: {difference}")

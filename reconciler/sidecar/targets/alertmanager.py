"""Alertmanager: `/-/reload` is synchronous; verified by `alertmanager_config_hash`."""

from __future__ import annotations

from converge.reconciler.sidecar import expect
from converge.reconciler.sidecar.publish import Version
from converge.reconciler.sidecar.targets import checkers
from converge.reconciler.sidecar.targets.base import Http, TargetError

CONFIG = "alertmanager.yaml"


class Alertmanager:
    """`--config.file=DEST/alertmanager.yaml`, templates beside it under `templates/`."""

    name = "alertmanager"

    def __init__(self, http: Http, *, validate: bool) -> None:
        self.http = http
        self.validate = validate

    def check(self, version: Version) -> str | None:
        if not self.validate or CONFIG not in version.files:
            return None
        return checkers.run("amtool", ["check-config", str(version.path / CONFIG)])

    def reload(self, version: Version) -> None:
        self.http.post_reload()

    def verify(self, version: Version) -> None:
        try:
            expected = expect.alertmanager_config_hash((version.path / CONFIG).read_bytes())
        except OSError as error:
            raise TargetError(f"cannot read the published {CONFIG}: {error}") from None
        metrics = self.http.get_text("/metrics")
        if expect.metric(metrics, "alertmanager_config_last_reload_successful") != 1:
            raise TargetError("Alertmanager reports its last reload failed "
                              "(alertmanager_config_last_reload_successful != 1)")
        loaded = expect.metric(metrics, "alertmanager_config_hash")
        if loaded != expected:
            raise TargetError(f"Alertmanager runs another configuration "
                              f"(alertmanager_config_hash {loaded!r}, expected {expected!r})")

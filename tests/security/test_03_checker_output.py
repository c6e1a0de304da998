"""Finding 3: a malformed secret value was quoted back by amtool's error, and the sidecar
reported it to the server (fleet API, sync history, logs, console). Whatever leaves the
host now has every resolved secret, and its usual encodings, replaced by `<redacted>`."""

from __future__ import annotations

import logging

import pytest
import sidecar_bundles
from sidecar_harness import Rig, alertmanager_rig, sync

from converge.reconciler.sidecar import secrets

__all__ = ["alertmanager_rig"]  # a fixture, used by name

pytestmark = pytest.mark.realtools  # the real amtool

SECRET = "hunter2-very-secret-hook"


def test_amtool_quoting_a_secret_back_is_redacted(
        alertmanager_rig: Rig, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    rig = alertmanager_rig
    monkeypatch.setenv("HOOK_URL", f"::{SECRET}")  # no URL: amtool quotes it back
    rig.publish_source(sidecar_bundles.compiled(1, secret_env="HOOK_URL"))
    sidecar = rig.sidecar(validate=True)
    with caplog.at_level(logging.DEBUG):
        report = sync(sidecar)
    assert report.result == "failure"
    assert "<redacted>" in report.reason, report.reason  # amtool did quote it
    facts = sidecar.runtime.status.snapshot()
    assert facts["facts"]["lastError"] == report.reason
    for text in (report.reason, str(facts), caplog.text):
        assert SECRET not in text


@pytest.mark.parametrize("quoted", [
    pytest.param(SECRET, id="plain"),
    pytest.param(f'"{SECRET}\\n"', id="json"),
    pytest.param("hunter2-very-secret-hook%2Fx", id="url-quoted-part"),
])
def test_redact_covers_encodings(quoted: str) -> None:
    values = frozenset({SECRET, f"{SECRET}/x"})
    assert SECRET not in secrets.redact(f"error: {quoted}", values)

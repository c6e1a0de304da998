"""Finding 4: the sidecar's version file (`.converge-version.json`, in DEST) held an
unsalted SHA-256 of every file as written, secrets resolved, readable by everyone: an
offline guess check of each secret. It is now readable by the sidecar's user only, and a
set published before is tightened at start-up."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import sidecar_bundles
from sidecar_harness import Rig, alertmanager_rig, start_alertmanager, sync

from converge.reconciler.sidecar.publish import METADATA

__all__ = ["alertmanager_rig"]  # a fixture, used by name

pytestmark = pytest.mark.realtools  # the real Alertmanager


def test_the_version_file_is_private(alertmanager_rig: Rig,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    rig = alertmanager_rig
    monkeypatch.setenv("HOOK_URL", "http://127.0.0.1:9/secret-hook")
    rig.publish_source(sidecar_bundles.compiled(1, secret_env="HOOK_URL"))
    sidecar = rig.sidecar(validate=True)
    sync(sidecar)
    start_alertmanager(rig)
    assert sync(sidecar).result == "success"
    metadata = rig.dest / METADATA
    assert "alertmanager.yaml" in json.loads(metadata.read_bytes())["sensitive"]
    assert metadata.stat().st_mode & 0o777 == 0o600
    assert (rig.dest / "alertmanager.yaml").stat().st_mode & 0o777 == 0o600

    rig.close_sidecars()  # a set written by an older sidecar, 0644
    os.chmod(metadata, 0o644)
    rig.sidecar(validate=True)
    assert metadata.stat().st_mode & 0o777 == 0o600
    assert all(path.stat().st_mode & 0o077 == 0 for path in
               Path(os.path.realpath(rig.dest)).parent.glob(f"*/{METADATA}"))

"""Fixtures for the sidecar tests against the real targets.

A `Rig` is one target process reading DEST, a bundle directory the `dir:` source reads,
and an in-process `Sidecar` (the same object `converge sidecar` runs) that a test steps
one sync at a time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import realtargets
import sidecar_bundles

from converge.reconciler.core import TemporaryError
from converge.reconciler.core.secretaccess import SecretAccess
from converge.reconciler.sidecar import daemon
from converge.reconciler.sidecar.sync import Report


@dataclasses.dataclass
class Rig:
    target: str
    tmp: Path
    dest: Path
    source: Path
    process: realtargets.Process | None = None
    port: int = 0
    """The target's port (chosen before it starts, for Alertmanager)."""
    sidecars: list[daemon.Sidecar] = dataclasses.field(default_factory=list)

    def publish_source(self, files: Mapping[str, bytes]) -> None:
        """What `converge compile -o SOURCE` would do."""
        sidecar_bundles.write(files, self.source)

    @property
    def reload_url(self) -> str:
        return self.process.reload_url if self.process else (
            f"http://127.0.0.1:{self.port}/-/reload")

    def sidecar(self, *, validate: bool = False, source: str | None = None,
                token: str | None = None,
                secret_access: SecretAccess | None = None) -> daemon.Sidecar:
        """A started sidecar on this rig (closed at teardown); it may read the secret
        variable HOOK_URL unless `secret_access` says otherwise."""
        options = daemon.Options(
            source=source or f"dir:{self.source}", target=self.target, dest=self.dest,
            reload_url=self.reload_url, interval=1.0, validate=validate, token=token,
            secret_access=secret_access or SecretAccess(env_names=frozenset({"HOOK_URL"})))
        sidecar = daemon.Sidecar(options)
        self.sidecars.append(sidecar)
        sidecar.start()
        return sidecar

    def close_sidecars(self) -> None:
        while self.sidecars:
            self.sidecars.pop().close()

    def published(self) -> dict[str, bytes]:
        """The files a target reads under DEST now (the version metadata left out)."""
        return {p.name if p.parent == self.dest else p.relative_to(self.dest).as_posix():
                p.read_bytes() for p in sorted(self.dest.rglob("*"))
                if p.is_file() and not p.name.startswith(".")}


def sync(sidecar: daemon.Sidecar) -> Report:
    """One loop step; the report whether it failed or not."""
    try:
        sidecar.step()
    except TemporaryError:
        pass
    assert sidecar.last is not None
    return sidecar.last


def metric(sidecar: daemon.Sidecar, name: str, **labels: str) -> float | None:
    value = sidecar.runtime.registry.get_sample_value(name, {"target": sidecar.options.target,
                                                            **labels})
    return value


def rule_files(files: Mapping[str, bytes], target: str) -> dict[str, bytes]:
    prefix = f"{target}/rules/"
    return {p[len(prefix):]: d for p, d in files.items() if p.startswith(prefix)}


@pytest.fixture
def prometheus_rig(tmp_path: Path) -> Iterator[Rig]:
    rig = Rig("prometheus", tmp_path, tmp_path / "dest", tmp_path / "bundle")
    rig.process = realtargets.start_prometheus(tmp_path / "prometheus", rig.dest)
    yield rig
    rig.close_sidecars()
    rig.process.stop()


@pytest.fixture
def vmalert_rig(tmp_path: Path) -> Iterator[Rig]:
    rig = Rig("vmalert", tmp_path, tmp_path / "dest", tmp_path / "bundle")
    prometheus = realtargets.start_prometheus(tmp_path / "prometheus", tmp_path / "unused")
    try:
        rig.process = realtargets.start_vmalert(tmp_path / "vmalert", rig.dest,
                                                datasource=prometheus.url,
                                                notifier="http://127.0.0.1:9")
        yield rig
    finally:
        rig.close_sidecars()
        if rig.process is not None:
            rig.process.stop()
        prometheus.stop()


@pytest.fixture
def alertmanager_rig(tmp_path: Path) -> Iterator[Rig]:
    """Alertmanager needs its config to exist before it starts: the test publishes the
    first bundle (the target unreachable) and then calls `start_alertmanager(rig)`."""
    rig = Rig("alertmanager", tmp_path, tmp_path / "dest", tmp_path / "bundle",
              port=realtargets.free_port())
    yield rig
    rig.close_sidecars()
    if rig.process is not None:
        rig.process.stop()


def start_alertmanager(rig: Rig) -> realtargets.Process:
    rig.process = realtargets.start_alertmanager(rig.tmp / "alertmanager", rig.dest,
                                                 port=rig.port)
    return rig.process

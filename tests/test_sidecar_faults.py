"""Fault injection: `converge sidecar` killed with SIGKILL at random points while it
publishes, over many seeded iterations. After every kill DEST holds exactly one complete
bundle (all files of one manifest, hashes verified), and a restarted sidecar picks up."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import realtargets
import sidecar_bundles

from converge.compiler.bundle import sha256
from converge.reconciler.sidecar.publish import METADATA

pytestmark = pytest.mark.realtools

ITERATIONS = 24
SEED = 20240501


def _sidecar(source: Path, dest: Path, reload_url: str) -> list[str]:
    return [sys.executable, "-c", "from converge.compiler.commands.main import main; main()",
            "sidecar", "--once",
            "--no-validate", "--source", f"dir:{source}", "--target", "prometheus",
            "--dest", str(dest), "--reload-url", reload_url, "--log-format", "text"]


def _prometheus_part(files: dict[str, bytes]) -> dict[str, str]:
    prefix = "prometheus/rules/"
    return {p[len(prefix):]: sha256(d) for p, d in files.items() if p.startswith(prefix)}


def _published(dest: Path) -> dict[str, str] | None:
    """Name → SHA-256 of what DEST holds, after checking it against its set's record."""
    if not dest.exists() and not dest.is_symlink():
        return None
    meta = json.loads((dest / METADATA).read_bytes())
    found = {p.relative_to(dest).as_posix(): sha256(p.read_bytes())
             for p in dest.rglob("*") if p.is_file() and p.name != METADATA}
    assert found == meta["files"], "DEST does not hold exactly the files of its set"
    return found


def _wait_for_staging(versions: Path, process: subprocess.Popen[bytes], *,
                     timeout: float) -> None:
    """Return once the sidecar starts writing a set (or has exited)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if versions.is_dir() and any(p.name.startswith(".staging-")
                                     for p in versions.iterdir()):
            return
        time.sleep(0.001)


def test_sigkill_during_publish_always_leaves_one_complete_bundle(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    dest, source, state = tmp_path / "dest", tmp_path / "bundle", tmp_path / ".dest.converge"
    prometheus = realtargets.start_prometheus(tmp_path / "prometheus", dest)
    try:
        bundle_a, bundle_b = sidecar_bundles.compiled(40), sidecar_bundles.compiled(41)
        sets = [_prometheus_part(bundle_a), _prometheus_part(bundle_b)]

        sidecar_bundles.write(bundle_a, source)
        started = time.monotonic()
        subprocess.run(_sidecar(source, dest, prometheus.reload_url), check=True,
                       capture_output=True, timeout=60)
        full_run = time.monotonic() - started
        assert _published(dest) == sets[0]

        interrupted = 0
        for iteration in range(ITERATIONS):
            sidecar_bundles.write(bundle_b if iteration % 2 == 0 else bundle_a, source)
            process = subprocess.Popen(_sidecar(source, dest, prometheus.reload_url),
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if iteration % 4 == 3:  # anywhere in the run
                time.sleep(rng.uniform(0.0, 1.1 * full_run))
            else:  # somewhere in writing, swapping, reloading or rolling back
                _wait_for_staging(state / "versions", process, timeout=2 * full_run + 5)
                time.sleep(rng.uniform(0.0, 0.08))
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            interrupted += any(p.name.startswith(".staging-")
                               for p in (state / "versions").iterdir())
            published = _published(dest)
            assert published in sets, f"iteration {iteration}: DEST holds a mix"

        assert interrupted > 0, "no kill landed while a set was being written"
        done = subprocess.run(_sidecar(source, dest, prometheus.reload_url),
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        expected = sets[0] if (ITERATIONS - 1) % 2 else sets[1]
        assert _published(dest) == expected
        assert len(prometheus.groups()) == len(expected)
        assert not [p for p in (state / "versions").iterdir() if p.name.startswith(".")]
        assert not list(tmp_path.glob(".dest.link-*"))
    finally:
        prometheus.stop()

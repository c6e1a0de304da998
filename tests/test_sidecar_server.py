"""The sidecar against the real `converge serve` and a real Prometheus: conditional GETs
(304 while nothing changed), status reports in the fleet view, a wrong token, and the
daemon keeping the last good bundle (ready) while the server is down."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import realtargets
import sidecar_bundles
from sidecar_harness import Rig, metric, prometheus_rig, sync
from test_sidecar_git import _commit, _git

__all__ = ["prometheus_rig"]

pytestmark = pytest.mark.realtools

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[Path, realtargets.Process]]:
    """One server for the module (starting one compiles): the tests run in order, the
    last one stops it."""
    tmp = tmp_path_factory.mktemp("served")
    repo = tmp / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _commit(repo, sidecar_bundles.documents(1), "one")
    server = realtargets.start_server(tmp / "server", repo=repo, path="specs", token=TOKEN)
    yield repo, server
    server.stop()


def _requests(server: realtargets.Process, code: int) -> float:
    total = 0.0
    for line in server.get("/metrics").text.splitlines():
        if line.startswith("converge_server_requests_total{") and (
                f'code="{code}"' in line and "/api/v1/bundles/{target}" in line):
            total += float(line.split()[-1])
    return total


def test_a_wrong_token_is_refused(prometheus_rig: Rig,
                                  served: tuple[Path, realtargets.Process]) -> None:
    _, server = served
    sidecar = prometheus_rig.sidecar(source=server.url, token="wrong")
    refused = sync(sidecar)
    assert refused.result == "failure" and "refused the token" in refused.reason
    assert metric(sidecar, "converge_sidecar_source_up") == 0
    assert not prometheus_rig.dest.exists()


def test_conditional_gets_reports_and_a_new_commit(
        prometheus_rig: Rig, served: tuple[Path, realtargets.Process]) -> None:
    repo, server = served
    rig = prometheus_rig
    assert rig.process is not None
    sidecar = rig.sidecar(source=server.url, token=TOKEN)

    first = sync(sidecar)
    assert first.result == "success", first.reason
    assert set(rig.process.groups()) == {"g1"}
    assert sync(sidecar).result == "unchanged"
    assert _requests(server, 304) >= 1

    fleet = httpx.get(f"{server.url}/api/v1/clusters",
                      headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert first.hash is not None and first.hash in str(fleet)

    _commit(repo, sidecar_bundles.documents(2), "two")
    deadline = time.monotonic() + 30
    while set(rig.process.groups()) != {"g1", "g2"}:
        assert time.monotonic() < deadline, sidecar.last
        sync(sidecar)
        time.sleep(0.2)
    assert metric(sidecar, "converge_sidecar_converged") == 1


def test_the_daemon_keeps_the_last_good_bundle_while_the_server_is_down(
        prometheus_rig: Rig, served: tuple[Path, realtargets.Process], tmp_path: Path) -> None:
    """Runs last: it stops the module's server."""
    _, server = served
    rig = prometheus_rig
    assert rig.process is not None
    token_file = tmp_path / "sidecar-token"
    token_file.write_text(TOKEN + "\n")
    port = realtargets.free_port()
    sidecar = subprocess.Popen(
        [sys.executable, "-c", "from converge.compiler.commands.main import main; main()",
         "sidecar",
         "--source", server.url, "--token-file", str(token_file), "--target", "prometheus",
         "--dest", str(rig.dest), "--reload-url", rig.reload_url, "--interval", "1s",
         "--listen", f"127.0.0.1:{port}", "--cluster-id", "test"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: httpx.get(f"{url}/health/ready").status_code == 200, sidecar)
        assert set(rig.process.groups()) == {"g1", "g2"}  # the previous test's commit
        server.stop()
        _wait(lambda: 'converge_sidecar_source_up{target="prometheus"} 0.0'
              in httpx.get(f"{url}/metrics").text, sidecar)
        time.sleep(2)
        assert httpx.get(f"{url}/health/ready").status_code == 200
        status = httpx.get(f"{url}/status").json()
        reconciling = {c["type"]: c for c in status["conditions"]}["Reconciling"]
        assert reconciling["reason"] == "Retrying" and "unavailable" in reconciling["message"]
        assert set(rig.process.groups()) == {"g1", "g2"}
    finally:
        sidecar.terminate()
        assert sidecar.wait(15) == 0
        assert sidecar.stderr is not None
        sidecar.stderr.close()


def _wait(condition: object, process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, "the sidecar exited"
        try:
            if condition():
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)

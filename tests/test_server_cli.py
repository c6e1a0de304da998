"""`converge serve` as a real process: refusing to start without auth, serving, and a
graceful exit 0 on SIGTERM with the state kept."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import server_harness as h
from click.testing import CliRunner

from converge.compiler.commands.main import main

CONVERGE = [sys.executable, "-c", "from converge.compiler.commands.main import main; main()"]


@pytest.fixture
def specs(tmp_path: Path) -> Iterator[h.SpecsRepo]:
    repo = h.SpecsRepo(tmp_path / "specs")
    yield repo
    repo.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _serve(tmp: Path, specs: h.SpecsRepo, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    process = subprocess.Popen(
        [*CONVERGE, "serve", "--repo", str(specs.root), "--listen", f"127.0.0.1:{port}",
         "--db", str(tmp / "state.db"), "--cache-dir", str(tmp / "git"), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "CI": "1"})
    return process, f"http://127.0.0.1:{port}"


def _wait_ready(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + 30
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            try:
                if client.get(f"{url}/health/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    raise AssertionError("converge serve never became ready")


@pytest.mark.parametrize(("args", "message"), [
    pytest.param([], "refusing to serve the API without authentication", id="no-token"),
    pytest.param(["--token-file", "{empty}"], "holds no token", id="empty-token-file"),
    pytest.param(["--token-file", "{missing}"], "No such file", id="missing-token-file"),
    pytest.param(["--insecure-no-auth", "--listen", "nowhere"], "is not HOST:PORT",
                 id="bad-listen"),
    pytest.param(["--insecure-no-auth", "--interval", "soon"], "not a duration",
                 id="bad-interval"),
])
def test_refuses_to_start(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "empty").write_text("# no token yet\n", encoding="utf-8")
    args = [a.format(empty=tmp_path / "empty", missing=tmp_path / "missing") for a in args]
    result = CliRunner().invoke(main, ["serve", "--repo", str(tmp_path), "--db",
                                       str(tmp_path / "s.db"), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "s.db").exists()


def test_sigterm_stops_gracefully_and_a_restart_keeps_the_state(
        tmp_path: Path, specs: h.SpecsRepo) -> None:
    (tmp_path / "token").write_text(f"{h.TOKEN}\n", encoding="utf-8")
    process, url = _serve(tmp_path, specs, "--token-file", str(tmp_path / "token"))
    try:
        _wait_ready(process, url)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {h.TOKEN}"}) as client:
            served = client.get("/api/v1/bundles/vmalert")
            assert served.status_code == 200
            client.post("/api/v1/config/sync/status", json={
                "clusterId": "edge-1", "target": "vmalert", "hash": served.json()["hash"],
                "result": "success", "converged": True})
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr.decode()
    events = [json.loads(line) for line in stderr.decode().splitlines() if line.startswith("{")]
    assert [e["event"] for e in events if e.get("event") in ("stopping", "stopped")][-1] == \
        "stopped"
    assert any(e.get("reason") == "received SIGTERM" for e in events)
    assert all(e["daemon"] == "server" for e in events)

    process, url = _serve(tmp_path, specs, "--insecure-no-auth")
    try:
        _wait_ready(process, url)
        with httpx.Client(base_url=url) as client:
            fleet = client.get("/api/v1/clusters").json()["clusters"]
            assert [(e["clusterId"], e["upToDate"]) for e in fleet] == [("edge-1", True)]
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    assert process.returncode == 0

"""Finding 7 of issue 15, for the healer and the scaler: like the server and the notifier,
they serve their history API only with a bearer token from `--token-file` (or
`$CONVERGE_TOKEN`), refuse to start without one unless told `--insecure-no-auth`, and then
say so at every start. Health, status and metrics stay open.

Run for real: `converge healer` and `converge scaler` as processes on a compiled bundle
(an engine that does not answer is fine: the HTTP side starts regardless).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import bundles
import httpx
import pytest
import valid_repo
from engine import free_port

from security.cli import stop, wait_live

TOKEN = "container-daemon-token"
API = {"healer": "/api/v1/healer/history", "scaler": "/api/v1/scaler/history"}
CONVERGE = [sys.executable, "-c",
            "import sys; from converge.compiler.commands.main import main; sys.exit(main())"]


def _start(daemon: str, tmp_path: Path, *options: str,
           env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    bundle = tmp_path / "out"
    if not bundle.exists():
        bundles.write_tree(bundle, bundles.build_docs(valid_repo.documents()).files)
    port = free_port()
    extra = ["--prometheus", "http://127.0.0.1:1"] if daemon == "scaler" else []
    command = [*CONVERGE, daemon, "--bundle", str(bundle), "--db", str(tmp_path / f"{port}.db"),
               "--docker-host", f"unix://{tmp_path}/no-engine.sock", "--listen",
               f"127.0.0.1:{port}", "--log-format", "text", *extra, *options]
    environment = {k: v for k, v in os.environ.items() if k != "CONVERGE_TOKEN"}
    process = subprocess.Popen(command, env={**environment, **(env or {})},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return process, f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("daemon", ["healer", "scaler"])
def test_the_history_api_needs_a_token_from_the_token_file(daemon: str, tmp_path: Path) -> None:
    token_file = tmp_path / "tokens"
    token_file.write_text(f"# rotate monthly\n{TOKEN}\n", encoding="utf-8")
    process, url = _start(daemon, tmp_path, "--token-file", str(token_file))
    try:
        wait_live(process, url)
        anonymous = httpx.get(url + API[daemon], timeout=5)
        comment = httpx.get(url + API[daemon], timeout=5,
                            headers={"Authorization": "Bearer # rotate monthly"})
        allowed = httpx.get(url + API[daemon], timeout=5,
                            headers={"Authorization": f"Bearer {TOKEN}"})
        status = httpx.get(url + "/status", timeout=5)
    finally:
        err = stop(process)
    assert anonymous.status_code == 401 and comment.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert allowed.status_code == 200, allowed.text
    assert status.status_code == 200
    assert "WITHOUT AUTHENTICATION" not in err


@pytest.mark.parametrize("daemon", ["healer", "scaler"])
def test_without_a_token_the_daemon_refuses_to_start(daemon: str, tmp_path: Path) -> None:
    process, _ = _start(daemon, tmp_path)
    try:
        code = process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        stop(process)
        raise AssertionError(f"the {daemon} started with an open /api/") from None
    err = stop(process)
    assert code == 2 and "--token-file" in err and "--insecure-no-auth" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("daemon", ["healer", "scaler"])
def test_the_environment_fallback_guards_the_api_too(daemon: str, tmp_path: Path) -> None:
    process, url = _start(daemon, tmp_path, env={"CONVERGE_TOKEN": TOKEN})
    try:
        wait_live(process, url)
        anonymous = httpx.get(url + API[daemon], timeout=5)
        allowed = httpx.get(url + API[daemon], timeout=5,
                            headers={"Authorization": f"Bearer {TOKEN}"})
    finally:
        stop(process)
    assert (anonymous.status_code, allowed.status_code) == (401, 200)


@pytest.mark.parametrize("daemon", ["healer", "scaler"])
def test_insecure_no_auth_opens_the_api_and_says_so(daemon: str, tmp_path: Path) -> None:
    process, url = _start(daemon, tmp_path, "--insecure-no-auth")
    try:
        wait_live(process, url)
        answer = httpx.get(url + API[daemon], timeout=5)
    finally:
        err = stop(process)
    assert answer.status_code == 200
    assert f"{daemon} serves /api/ WITHOUT AUTHENTICATION" in err

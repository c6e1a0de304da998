"""What the sidecar benchmarks share: real Prometheus, `converge serve` and `converge
sidecar` processes on loopback ports, a Git repository of `repo-example/`, and polling.

Not a package: the scripts put this directory on `sys.path` and `import sidecar_rig`.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXAMPLE = ROOT / "repo-example"
CONVERGE = [sys.executable, "-c", "from converge.compiler.commands.main import main; main()"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait(condition: Callable[[], bool], *, timeout: float, what: str,
         pause: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if condition():
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(pause)


@contextlib.contextmanager
def process(argv: list[str], *, log: Path, ready: str | None = None,
            timeout: float = 60) -> Iterator[subprocess.Popen[bytes]]:
    """Run `argv` (output to `log`) until the block ends; wait for `ready` to answer 200."""
    with open(log, "wb") as out:
        popen = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL)
        try:
            if ready is not None:
                def up() -> bool:
                    if popen.poll() is not None:
                        raise RuntimeError(f"{argv[0]} exited; see {log}")
                    return httpx.get(ready, timeout=2).status_code == 200
                wait(up, timeout=timeout, what=ready)
            yield popen
        finally:
            popen.terminate()
            try:
                popen.wait(15)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait()


def prometheus(workdir: Path, dest: Path) -> tuple[list[str], str]:
    """Prometheus reading `DEST/*.yaml`: its argv and base URL."""
    config = workdir / "prometheus.yml"
    config.write_text(f"global:\n  evaluation_interval: 15s\nrule_files:\n  - {dest}/*.yaml\n")
    port = free_port()
    binary = shutil.which("prometheus") or "/usr/bin/prometheus"
    return ([binary, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle",
             "--log.level=warn"], f"http://127.0.0.1:{port}")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=bench",
                           "-c", "user.email=bench@example.com", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


def example_repo(repo: Path) -> None:
    """A Git repository holding a copy of `repo-example/` on branch `main`."""
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("out", ".converge*"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "example")


def server(workdir: Path, repo: Path, *, token: str, interval: str = "1s"
           ) -> tuple[list[str], str]:
    token_file = workdir / "server-token"
    token_file.write_text(token + "\n")
    port = free_port()
    return ([*CONVERGE, "serve", "--repo", str(repo), "--branch", "main",
             "--listen", f"127.0.0.1:{port}", "--interval", interval,
             "--token-file", str(token_file), "--db", str(workdir / "server.db"),
             "--cache-dir", str(workdir / "server-git"), "--log-format", "text"],
            f"http://127.0.0.1:{port}")


def sidecar(workdir: Path, *, source: str, dest: Path, reload_url: str,
            token: str | None = None, interval: str = "1s") -> tuple[list[str], str]:
    port = free_port()
    argv = [*CONVERGE, "sidecar", "--source", source, "--target", "prometheus",
            "--dest", str(dest), "--reload-url", reload_url, "--interval", interval,
            "--listen", f"127.0.0.1:{port}", "--log-format", "text"]
    if token is not None:
        token_file = workdir / "sidecar-token"
        token_file.write_text(token + "\n")
        argv += ["--token-file", str(token_file)]
    return argv, f"http://127.0.0.1:{port}"


def converged(sidecar_url: str) -> bool:
    text = httpx.get(f"{sidecar_url}/metrics", timeout=5).text
    return 'converge_sidecar_converged{target="prometheus"} 1.0' in text

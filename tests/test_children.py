"""No process outlives its parent, however the parent dies (`converge.compiler.children`).

Each test starts a parent for real with a marker in its environment, lets it start its
children, SIGKILLs it and asserts that no process carrying the marker is left after a
few seconds: first the helper in a small parent of our own (a fork, a Popen, a spawned
pool worker with its resource tracker, a Git command, `git cat-file`), then every
process that starts children: `converge serve`, `converge sidecar` with a Git source,
`converge compile` and `converge demo`.
"""

from __future__ import annotations

import select
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import leftovers
import pytest
import server_harness
from leftovers import Process

pytestmark = leftovers.needs_proc

ROOT = Path(__file__).resolve().parent.parent
CONVERGE = [sys.executable, "-c", "from converge.compiler.commands.main import run; run()"]
GONE_WITHIN = 3.0
"""What the issue asks: nothing carrying the marker 3 s after the parent's SIGKILL."""

_PARENT = textwrap.dedent("""
    import os, subprocess, sys, threading, time
    from concurrent.futures import ProcessPoolExecutor
    import multiprocessing
    from converge.compiler import children

    mode, where = sys.argv[1], sys.argv[2]
    if mode == "fork":
        parent = os.getpid()
        if os.fork() == 0:
            children.die_with_parent(parent)
            time.sleep(60)
            os._exit(0)
    elif mode == "popen":
        subprocess.Popen(["sleep", "60"], preexec_fn=children.preexec())
    elif mode == "pool":
        pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=children.die_with_parent,
                                   initargs=(os.getpid(),))
        pool.submit(os.getpid).result()
    elif mode in ("git-command", "cat-file"):
        from converge.reconciler.core import gitrepo
        repo = gitrepo.Repo(where)
        if mode == "git-command":  # from a thread that waits for it, as the daemons do
            threading.Thread(target=repo.git.execute, args=(["sleep", "60"],)).start()
        else:
            repo.commit("HEAD").tree.blobs[0].data_stream.read()
    print("ready", flush=True)
    time.sleep(60)
""")


def _line(process: subprocess.Popen[str], *, timeout: float) -> str:
    """The next line `process` prints, '' if none comes within `timeout` seconds."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    return process.stdout.readline() if ready else ""


@pytest.fixture
def marker() -> Iterator[str]:
    marker = leftovers.new_marker()
    with leftovers.cleanup(marker):
        yield marker


@pytest.fixture(scope="module")
def specs_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[server_harness.SpecsRepo]:
    repo = server_harness.SpecsRepo(tmp_path_factory.mktemp("specs"))
    yield repo
    repo.close()


@pytest.fixture(scope="module")
def big_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10,000 rules committed to Git: big enough that `converge compile` forks its check
    and render workers (`MIN_BYTES`, `MIN_GROUPS`) and runs for about a second."""
    root = tmp_path_factory.mktemp("big") / "repo"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate.py"), "10000",
                    str(root), "--promtool-dir", str(root.with_name("promtool"))],
                   check=True, capture_output=True, timeout=120)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "big"]):
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)
    return root


def _is(process: Process, *words: str) -> bool:
    return any(word in process.command for word in words)


@pytest.mark.parametrize(("mode", "child"), [
    pytest.param("fork", "-c", id="forked-child"),
    pytest.param("popen", "sleep 60", id="popen-child"),
    pytest.param("pool", "spawn_main", id="spawned-pool-worker"),
    pytest.param("git-command", "sleep 60", id="gitpython-command"),
    pytest.param("cat-file", "cat-file", id="gitpython-cat-file"),
])
def test_a_child_dies_with_its_killed_parent(marker: str, specs_repo: server_harness.SpecsRepo,
                                             mode: str, child: str) -> None:
    parent = subprocess.Popen([sys.executable, "-c", _PARENT, mode, str(specs_repo.root)],
                              stdout=subprocess.PIPE, text=True,
                              env=leftovers.environment(marker))
    try:
        assert _line(parent, timeout=30) == "ready\n"
        leftovers.wait_for(marker, lambda found: any(
            p.ppid == parent.pid and _is(p, child) for p in found), parent=parent, timeout=10)
        if mode == "pool":  # the resource tracker, a child of the parent too, must go
            assert any(_is(p, "resource_tracker") for p in leftovers.marked(marker))
    finally:
        leftovers.kill(parent)
    leftovers.assert_none_left(marker, within=2.0)


@pytest.mark.parametrize(("parent", "code"), [
    pytest.param("os.getppid()", 0, id="parent-alive"),
    pytest.param("1 if os.getppid() != 1 else 2", 70, id="parent-already-gone"),
])
def test_a_child_whose_parent_is_already_gone_exits_at_once(parent: str, code: int) -> None:
    script = ("import os; from converge.compiler import children; "
              f"children.die_with_parent({parent})")
    done = subprocess.run([sys.executable, "-c", script], timeout=30, check=False)
    assert done.returncode == code


def test_converge_serve_killed_leaves_no_compiler_tracker_or_git(
        marker: str, specs_repo: server_harness.SpecsRepo, tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    server = _start(["serve", "--repo", str(specs_repo.root), "--insecure-no-auth",
                     "--listen", f"127.0.0.1:{_free_port()}", "--db", str(tmp_path / "state.db"),
                     "--cache-dir", str(tmp_path / "git"), "--compile-in", "process"],
                    marker=marker, log=log)
    try:  # once it has compiled and read the commit: worker, tracker and cat-file
        found = leftovers.wait_for(marker, lambda found: all(
            any(p.ppid == server.pid and _is(p, word) for p in found)
            for word in ("spawn_main", "resource_tracker", "cat-file")),
            parent=server, log=log, timeout=30)
    finally:
        leftovers.kill(server)
    assert found
    leftovers.assert_none_left(marker, within=GONE_WITHIN)


def test_converge_sidecar_killed_while_compiling_leaves_nothing(
        marker: str, big_repo: Path, tmp_path: Path) -> None:
    log = tmp_path / "sidecar.log"
    sidecar = _start(["sidecar", "--source", f"git+file://{big_repo}#main",
                      "--target", "prometheus", "--dest", str(tmp_path / "rules"),
                      "--reload-url", "http://127.0.0.1:9/-/reload",
                      "--listen", f"127.0.0.1:{_free_port()}", "--log-format", "text"],
                     marker=marker, log=log)
    try:  # sidecar → `converge compile` → its forked worker: kill the top one
        leftovers.wait_for(marker, lambda found: any(
            _is(p, " compile ") and _forked(found, p.pid)
            for p in found if p.ppid == sidecar.pid), parent=sidecar, log=log, timeout=60)
    finally:
        leftovers.kill(sidecar)
    # Left alone, the compile would finish in a second or more: a tighter bound than the
    # issue's 3 s, so that this test fails without the parent-death signal.
    leftovers.assert_none_left(marker, within=0.8)


def test_converge_compile_killed_leaves_no_forked_worker(
        marker: str, big_repo: Path, tmp_path: Path) -> None:
    log = tmp_path / "compile.log"
    compile_ = _start(["compile", str(big_repo), "-o", str(tmp_path / "out")],
                      marker=marker, log=log)
    try:
        leftovers.wait_for(marker, lambda found: _forked(found, compile_.pid),
                           parent=compile_, log=log, timeout=30)
    finally:
        leftovers.kill(compile_)
    leftovers.assert_none_left(marker, within=GONE_WITHIN)


@pytest.mark.realtools
def test_converge_demo_killed_leaves_no_target_or_daemon(marker: str, tmp_path: Path) -> None:
    from test_demo_e2e import _need, _read_until

    _need("prometheus", "prometheus-alertmanager", "vmalert")
    demo = subprocess.Popen([*CONVERGE, "demo", "--no-containers",
                             "--workdir", str(tmp_path / "demo")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=leftovers.environment(marker))
    try:
        output = _read_until(demo, "✓ step 1 proved", timeout=90)
        assert "✓ step 1 proved" in output, output
        running = leftovers.marked(marker)
    finally:
        leftovers.kill(demo)
    assert any(_is(p, "prometheus") for p in running), running
    leftovers.assert_none_left(marker, within=GONE_WITHIN)


def _forked(found: list[Process], parent: int) -> bool:
    """Whether `parent` has a forked worker now: a child running the same command line
    (its `git` children run other commands)."""
    command = next((p.command for p in found if p.pid == parent), None)
    return any(p.ppid == parent and p.command == command for p in found)


def _start(args: list[str], *, marker: str, log: Path) -> subprocess.Popen[bytes]:
    """`converge ARGS…` with the marker in its environment, its output in `log`."""
    with open(log, "wb") as output:  # the child keeps its own copy
        return subprocess.Popen([*CONVERGE, *args], stdin=subprocess.DEVNULL, stdout=output,
                                stderr=subprocess.STDOUT, env=leftovers.environment(marker))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port

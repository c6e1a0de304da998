"""`converge demo` end to end, as a user runs it: a subprocess with a time limit, every step's
proof in its output, exit 0, and afterwards no process (nor container) it started.

Needs Prometheus, Alertmanager and vmalert (scripts/install-tools); the container steps
need podman (scripts/install-tools --with-podman). Missing tools skip the test locally and
fail it in CI, like the other real-tool tests.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reconciler.demo import containers

pytestmark = pytest.mark.realtools

_CONVERGE = [sys.executable, "-c", "from compiler.cli import run; run()"]
_CORE_PROOFS = (
    "step 1: first sync",
    "✓ step 1 proved",
    "DemoQueueBacklog expr = sum(demo_queue_length) > 40",
    "alertmanager  /api/v2/status: demo route group_interval: 7s",
    "✓ step 2 proved",
    "server's last error: rules/demo.yaml:10: promql/syntax: unclosed left parenthesis",
    "✓ step 3 proved",
    "sink received a DingTalk markdown message titled '[FIRING] DemoQueueBacklog'",
    "✓ step 4 proved",
)


def _need(*binaries: str) -> None:
    missing = [b for b in binaries if shutil.which(b) is None
               and not Path("/usr/bin", b).exists()]
    if missing:
        message = f"not installed: {', '.join(missing)} (scripts/install-tools)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def _survivors(workdir: Path) -> list[str]:
    """Recorded PIDs still alive, and any live process still in one of their groups."""
    pids = {int(line.split()[0]): line.split()[1]
            for line in (workdir / "pids").read_text().splitlines()}
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, pgid = fields[0], int(fields[2])
        if state != "Z" and (int(entry.name) in pids or pgid in pids):
            alive.append(f"{entry.name} (group of {pids.get(pgid, '?')})")
    return alive


def test_demo_without_containers_then_ctrl_c(tmp_path: Path) -> None:
    _need("prometheus", "prometheus-alertmanager", "vmalert")
    workdir = tmp_path / "demo"
    demo = subprocess.Popen([*_CONVERGE, "demo", "--no-containers", "--keep",
                             "--workdir", str(workdir)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert demo.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 90
    try:
        for line in demo.stdout:
            lines.append(line)
            if "press Ctrl-C to stop" in line or time.monotonic() > deadline:
                break
        output = "".join(lines)
        assert "press Ctrl-C to stop" in output, output
        demo.send_signal(signal.SIGINT)
        rest, _ = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    output += rest
    assert demo.returncode == 0, output
    for proof in _CORE_PROOFS:
        assert proof in output, f"missing {proof!r} in:\n{output}"
    assert "steps 5 and 6 skipped (healer and scaler): --no-containers was given" in output
    assert "stopped every process the demo started" in output
    assert len((workdir / "pids").read_text().splitlines()) >= 8
    assert _survivors(workdir) == []


def test_demo_with_containers(tmp_path: Path) -> None:
    _need("prometheus", "prometheus-alertmanager", "vmalert", "podman", "busybox")
    workdir = tmp_path / "demo"
    done = subprocess.run([*_CONVERGE, "demo", "--workdir", str(workdir)],
                          capture_output=True, text=True, timeout=150)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    for proof in (*_CORE_PROOFS, "healer restarted it 3 times", "phase now budget_exhausted",
                  "sink received the healer's event: '[FIRING] ",
                  "✓ step 5 proved", "running now: 4", "✓ step 6 proved"):
        assert proof in output, f"missing {proof!r} in:\n{output}"
    assert _survivors(workdir) == []
    listed = subprocess.run(["podman", "ps", "-aq", "--filter",
                             f"label={containers.LABEL}={workdir}"],
                            capture_output=True, text=True, timeout=60, check=True)
    assert listed.stdout.split() == []

"""`converge demo` end to end, as a user runs it: a subprocess with a time limit, every step's
proof in its output, exit 0, and afterwards no process (nor container) it started.

Needs Prometheus, Alertmanager and vmalert (scripts/install-tools); the container steps
need podman (scripts/install-tools --with-podman), and the console's check chromium and
Playwright; its screenshots go to tests/artifacts/ (demo-console-*.png). Missing tools
skip the test locally and fail it in CI, like the other real-tool tests.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import realtools
from test_console_browser import _playwright, artifacts

from converge.reconciler.demo import containers

pytestmark = pytest.mark.realtools

_CONVERGE = [sys.executable, "-c", "from converge.compiler.commands.main import run; run()"]
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
    "sink received the second level: '[FIRING] [ESCALATION 2] DemoQueueBacklog",
    "no new page at the sink; acknowledged by 'demo'",
    "✓ step 7 proved",
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
    output = _read_until(demo, "press Ctrl-C to stop", timeout=240)
    output += _interrupt(demo)
    assert "press Ctrl-C to stop" in output, output
    assert demo.returncode == 0, output
    for proof in _CORE_PROOFS:
        assert proof in output, f"missing {proof!r} in:\n{output}"
    assert "steps 5 and 6 skipped (healer and scaler): --no-containers was given" in output
    assert "stopped every process the demo started" in output
    assert len((workdir / "pids").read_text().splitlines()) >= 8
    assert _survivors(workdir) == []


def test_ctrl_c_in_the_middle_of_a_step_stops_everything(tmp_path: Path) -> None:
    """Ctrl-C while step 2 waits for the targets: exit 130, and nothing left running."""
    _need("prometheus", "prometheus-alertmanager", "vmalert")
    workdir = tmp_path / "demo"
    demo = subprocess.Popen([*_CONVERGE, "demo", "--no-containers", "--workdir", str(workdir)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = _read_until(demo, "✓ step 1 proved", timeout=90)
    output += _interrupt(demo)  # step 2 has just committed its change
    assert demo.returncode == 130, output
    assert "interrupted" in output and "✓ step 2 proved" not in output
    assert "stopped every process the demo started" in output
    assert _survivors(workdir) == []


@pytest.mark.browser
def test_demo_with_containers_and_its_console_in_chromium(tmp_path: Path) -> None:
    """The whole demo, then its console in a real headless Chromium while everything still
    runs (--keep): the fleet, the refused commit, the notifier's outbox, the healer's
    failure history and MTBF, the scaler's decisions. Ctrl-C then stops it all."""
    _need("prometheus", "prometheus-alertmanager", "vmalert", "podman", "busybox")
    chromium = realtools.tool("chromium")
    sync_playwright = _playwright()
    workdir = tmp_path / "demo"
    demo = subprocess.Popen([*_CONVERGE, "demo", "--keep", "--workdir", str(workdir)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = _read_until(demo, "press Ctrl-C to stop", timeout=300)
    try:
        assert "press Ctrl-C to stop" in output, output
        for proof in (*_CORE_PROOFS, "healer restarted it 3 times",
                      "phase now budget_exhausted", "sink received the healer's event: '[FIRING] ",
                      "✓ step 5 proved", "running now: 4", "✓ step 6 proved"):
            assert proof in output, f"missing {proof!r} in:\n{output}"
        console_url = re.search(r"console (http://\S+/ui/\?token=\S+),", output)
        assert console_url, output
        _browse_the_console(sync_playwright, chromium, console_url.group(1))
    finally:
        output += _interrupt(demo)
    assert demo.returncode == 0, output
    assert "stopped every process the demo started" in output
    assert _survivors(workdir) == []
    listed = subprocess.run(["podman", "ps", "-aq", "--filter",
                             f"label={containers.LABEL}={workdir}"],
                            capture_output=True, text=True, timeout=60, check=True)
    assert listed.stdout.split() == []


def _read_until(demo: subprocess.Popen[str], marker: str, *, timeout: float) -> str:
    """The demo's output up to the line holding `marker` (or its end, or the timeout)."""
    assert demo.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    for line in demo.stdout:
        lines.append(line)
        if marker in line or time.monotonic() > deadline:
            break
    return "".join(lines)


def _interrupt(demo: subprocess.Popen[str]) -> str:
    """Ctrl-C, then the rest of the output once the demo has stopped (killed after 90 s)."""
    if demo.poll() is None:
        demo.send_signal(signal.SIGINT)
    try:
        rest, _ = demo.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        demo.kill()
        rest, _ = demo.communicate()
    return rest


def _browse_the_console(sync_playwright: Any, chromium: str, url_with_token: str) -> None:
    base = url_with_token.split("/ui/", 1)[0]
    shots = artifacts()
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("request", lambda request: requested.append(request.url))
            page.goto(url_with_token)
            assert page.url == f"{base}/ui/"
            served = page.locator("#served-commit").inner_text()
            for target in ("prometheus", "alertmanager", "vmalert"):
                row = page.locator(f'tr[data-target="{target}"]').inner_text()
                assert "demo" in row and "converged" in row and "not converged" not in row, row
            assert "3 of 3 converged" in page.locator("main").inner_text()
            page.screenshot(path=str(shots / "demo-console-fleet.png"), full_page=True)

            page.click("text=Compiles")
            page.wait_for_url(f"{base}/ui/compiles")
            rows = page.locator("#compiles tbody tr")
            texts = [rows.nth(i).inner_text() for i in range(rows.count())]
            assert served in texts[0] and "success" in texts[0]  # the fix, served
            refused = next(t for t in texts if "failure" in t)  # the bad commit of step 3
            assert "rules/demo.yaml:10" in refused and "promql/syntax" in refused
            page.screenshot(path=str(shots / "demo-console-compiles.png"), full_page=True)

            page.click("text=Daemons")
            page.wait_for_url(f"{base}/ui/daemons")
            notifier = page.locator("#daemon-notifier").inner_text()
            assert "Outbox, newest first" in notifier
            assert "[FIRING] DemoQueueBacklog" in notifier and "delivered" in notifier
            assert "restart limit exceeded (healer)" in notifier
            healer = page.locator("#daemon-healer").inner_text()
            assert "budget_exhausted" in healer and "MTBF per service" in healer
            assert "auto_restart" in healer and "restart_limit_exceeded" in healer
            scaler = page.locator("#daemon-scaler").inner_text()
            assert "demo-workers" in scaler and "metric 1 = 100" in scaler
            page.screenshot(path=str(shots / "demo-console-daemons.png"), full_page=True)
        finally:
            browser.close()
    assert requested and all(r.startswith(base + "/") for r in requested), requested

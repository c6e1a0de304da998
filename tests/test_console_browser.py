"""The console in a real headless Chromium (Debian's `chromium`, driven by Playwright):
a real `converge serve` process on a Git repository made from repo-example, a sync
report and a refused commit, then the fleet, compiles and daemons pages as a browser
shows them. Screenshots are kept under `tests/artifacts/` (or `$CONVERGE_TEST_ARTIFACTS`).

Locally a missing chromium or playwright skips; with `CI` set it fails (as realtools).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import git
import httpx
import pytest
import realtools
from test_console_pages import HEALER
from test_console_routes import status_server
from test_server_cli import CONVERGE, _free_port, _wait_ready

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "console-browser-token"
BROKEN_FROM = 'expr: up{job=~"task-center|task-center-worker"} == 0'
BROKEN_TO = "expr: sum(rate(up[5m]) by (job)"

pytestmark = pytest.mark.browser


def artifacts() -> Path:
    """Where screenshots go: `$CONVERGE_TEST_ARTIFACTS`, else tests/artifacts/."""
    found = Path(os.environ.get("CONVERGE_TEST_ARTIFACTS") or ROOT / "tests" / "artifacts")
    found.mkdir(parents=True, exist_ok=True)
    return found


def _playwright() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        message = "playwright is not installed: pip install -e '.[test]'"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return sync_playwright


class _Example:
    """repo-example committed to a fresh Git repository."""

    def __init__(self, root: Path) -> None:
        shutil.copytree(ROOT / "repo-example", root)
        self.root = root
        self.repo = git.Repo.init(root, initial_branch="main")
        with self.repo.config_writer() as config:
            config.set_value("user", "name", "test")
            config.set_value("user", "email", "test@example.com")
        self.repo.git.add(A=True)
        self.repo.index.commit("repo-example")

    def break_a_rule(self) -> str:
        path = self.root / "rules" / "availability.yaml"
        text = path.read_text(encoding="utf-8")
        assert BROKEN_FROM in text, "repo-example changed: pick another line to break"
        path.write_text(text.replace(BROKEN_FROM, BROKEN_TO, 1), encoding="utf-8")
        self.repo.index.add(["rules/availability.yaml"])
        return self.repo.index.commit("a rule that does not parse").hexsha


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, _Example]]:
    """`converge serve` (a real process) on repo-example, with a healer (a stand-in
    answering a healer's `/status`) and a notifier that is down."""
    example = _Example(tmp_path / "specs")
    (tmp_path / "tokens").write_text(TOKEN + "\n", encoding="utf-8")
    port = _free_port()
    with status_server(HEALER) as healer_url, open(tmp_path / "serve.log", "wb") as log:
        process = subprocess.Popen(
            [*CONVERGE, "serve", "--repo", str(example.root), "--branch", "main",
             "--listen", f"127.0.0.1:{port}", "--token-file", str(tmp_path / "tokens"),
             "--db", str(tmp_path / "state.db"), "--cache-dir", str(tmp_path / "git"),
             "--compile-in", "thread", "--log-format", "text",
             "--daemon", f"healer={healer_url}",
             "--daemon", f"notifier=http://127.0.0.1:{_free_port()}"],
            stdout=subprocess.DEVNULL, stderr=log)  # a file: a pipe could fill and block it
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(process, url)
            yield url, example
        finally:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
            example.repo.close()


def _prepare(url: str, example: _Example) -> dict[str, Any]:
    """Report a converged prometheus and a failing vmalert, then commit a broken rule."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"},
                      timeout=10) as api:
        sync = api.get("/api/v1/config/sync").json()
        reports = [
            {"clusterId": "demo-eu-1", "target": "prometheus", "result": "success",
             "commit": sync["commit"], "hash": sync["targets"]["prometheus"],
             "converged": True, "instance": "prometheus-0"},
            {"clusterId": "demo-eu-1", "target": "vmalert", "result": "failure",
             "commit": sync["commit"], "attemptedHash": sync["targets"]["vmalert"],
             "error": "reload refused: connection refused", "converged": False}]
        for report in reports:
            assert api.post("/api/v1/config/sync/status", json=report).status_code == 200
        broken = example.break_a_rule()
        api.post("/api/v1/config/sync/trigger", json={"reason": "browser test"})
        deadline = time.monotonic() + 30
        while api.get("/api/v1/compiles").json()["compiles"][0]["commit"] != broken:
            assert time.monotonic() < deadline, "the broken commit was never compiled"
            time.sleep(0.1)
    return {**sync, "broken": broken}


_LINKS_JS = "els => els.map(e => e.getAttribute('src') || e.getAttribute('href'))"


def test_the_console_shows_the_real_state_in_chromium(served: tuple[str, _Example]) -> None:
    chromium = realtools.tool("chromium")
    sync_playwright = _playwright()
    url, example = served
    state = _prepare(url, example)
    shots = artifacts()
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("request", lambda request: requested.append(request.url))

            page.goto(f"{url}/ui/?token={TOKEN}")
            assert page.url == f"{url}/ui/"  # the token left the address bar
            fleet = page.locator("#fleet")
            assert "demo-eu-1" in fleet.inner_text()
            prometheus = page.locator('tr[data-target="prometheus"]').inner_text()
            assert state["commit"][:12] in prometheus and "converged" in prometheus
            assert state["targets"]["prometheus"][:12] in prometheus
            vmalert = page.locator('tr[data-target="vmalert"]').inner_text()
            assert "not converged" in vmalert and "connection refused" in vmalert
            assert page.locator("#served-commit").inner_text() == state["commit"][:12]
            page.screenshot(path=str(shots / "console-fleet.png"), full_page=True)
            links = [page.eval_on_selector_all("[src],[href]", _LINKS_JS)]

            page.click("text=Compiles")
            page.wait_for_url(f"{url}/ui/compiles")
            newest = page.locator("#compiles tbody tr").first.inner_text()
            assert state["broken"][:12] in newest and "failure" in newest
            assert "promql/syntax" in newest and "rules/availability.yaml" in newest
            assert page.locator("#compiles tbody tr").count() >= 2
            page.screenshot(path=str(shots / "console-compiles.png"), full_page=True)
            links.append(page.eval_on_selector_all("[src],[href]", _LINKS_JS))

            page.click("text=Daemons")
            page.wait_for_url(f"{url}/ui/daemons")
            assert "unavailable" in page.locator("#daemon-notifier").inner_text()
            healer = page.locator("#daemon-healer").inner_text()
            assert "MTBF per service" in healer and "health_check_failed" in healer
            page.screenshot(path=str(shots / "console-daemons.png"), full_page=True)
            links.append(page.eval_on_selector_all("[src],[href]", _LINKS_JS))
        finally:
            browser.close()
    for found in links:
        assert found and all(not link.startswith(("http:", "https:", "//")) for link in found)
    assert requested and all(r.startswith(url + "/") for r in requested), requested
    for name in ("fleet", "compiles", "daemons"):
        assert (shots / f"console-{name}.png").stat().st_size > 1000

"""`converge check --prometheus URL` against a real Prometheus (issue 20's live mode).

Prometheus scrapes itself every second; once its own metrics and their metadata are
there, the live checks see what only it knows: which metrics have series, their types,
the scrape interval under rate windows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import realtargets
import realtools
from click.testing import CliRunner

from converge.compiler.commands.main import main

RULES = """\
apiVersion: converge/v1
kind: RuleGroup
metadata: {name: live}
spec:
  targets: [prometheus]
  rules:
    - alert: Fine
      expr: rate(prometheus_http_requests_total[5m]) > 100
    - alert: ShortWindow
      expr: rate(prometheus_http_requests_total[1s]) > 100
    - alert: GaugeRate
      expr: rate(go_goroutines[5m]) > 1
    - alert: Missing
      expr: no_such_metric_total > 0
    - alert: Absent
      expr: absent(no_such_metric_total)
"""


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("live")
    port = realtargets.free_port()
    url = f"http://127.0.0.1:{port}"
    (workdir / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n  - job_name: self\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n",
        encoding="utf-8")
    process = realtargets._start("prometheus", [
        realtools.tool("prometheus"), f"--config.file={workdir / 'prometheus.yml'}",
        f"--storage.tsdb.path={workdir / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn"], url=url, ready="/-/ready", workdir=workdir)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            metadata = httpx.get(url + "/api/v1/metadata", timeout=5).json()["data"]
            if "go_goroutines" in metadata and "prometheus_http_requests_total" in metadata:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"Prometheus scraped nothing in 30s:\n{process.logs()}")
        yield url
    finally:
        process.stop()


def _repo(tmp_path: Path) -> Path:
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "converge.yaml").write_text(
        "apiVersion: converge/v1\nkind: Project\nmetadata: {name: live}\n"
        "spec: {targets: {alertmanager: {enabled: false}}}\n", encoding="utf-8")
    (tmp_path / "repo" / "rules.yaml").write_text(RULES, encoding="utf-8")
    return tmp_path / "repo"


def test_live_checks_see_what_only_the_server_knows(prometheus: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["check", str(_repo(tmp_path)), "--prometheus",
                                       prometheus, "--format", "json", "--no-cache"])
    assert result.exit_code == 0, result.output
    found = sorted((d["code"], d["line"]) for d in json.loads(result.stdout)["diagnostics"]
                   if d["code"].startswith("live/"))
    assert found == [("live/counter", 12), ("live/rate-window", 10),
                     ("live/series-missing", 14)]


def test_offline_the_live_checks_say_nothing(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["check", str(_repo(tmp_path)), "--format", "json",
                                       "--no-cache"])
    codes = {d["code"] for d in json.loads(result.stdout)["diagnostics"]}
    assert not {c for c in codes if c.startswith("live/")}


def test_an_unreachable_server_is_a_usage_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{realtargets.free_port()}"
    result = CliRunner().invoke(main, ["check", str(_repo(tmp_path)), "--prometheus", url])
    assert result.exit_code == 2
    assert "--prometheus" in result.stderr

"""End to end with the real Alertmanager: specs compiled by converge, Alertmanager loading the
rendered config, a fired alert routed through the notifier's webhook path to a local
DingTalk-like server (signature checked there), then its resolution."""

from __future__ import annotations

import asyncio
import datetime
import socket
import subprocess
from pathlib import Path
from typing import Any

import httpx
import notifierkit
import pytest
import realtools
import vendorfakes
import yaml
from click.testing import CliRunner

from converge.compiler.commands.main import main
from converge.reconciler.notifier.daemon import Settings

pytestmark = pytest.mark.realtools


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _specs(root: Path, *, notifier_port: int, vendor_url: str) -> None:
    documents: list[dict[str, Any]] = [
        {"apiVersion": "converge/v1", "kind": "Project", "metadata": {"name": "e2e"},
         "spec": {"notifierURL": f"http://127.0.0.1:{notifier_port}",
                  "targets": {"alertmanager": {"version": "0.25"}}}},
        {"apiVersion": "converge/v1", "kind": "Channel", "metadata": {"name": "dingtalk-oncall"},
         "spec": {"type": "dingtalk", "accessToken": {"env": "DT_TOKEN"},
                  "secret": {"env": "DT_SECRET"}, "baseUrl": vendor_url,
                  "atMobiles": ["13800138000"],
                  "template": {"title": "[{{ status | upper }}] {{ commonLabels.alertname }}",
                               "body": "{% for a in alerts %}- {{ a.annotations.summary }} "
                                       "({{ a.status }})\n{% endfor %}"}}},
        {"apiVersion": "converge/v1", "kind": "Routing", "metadata": {"name": "main"},
         "spec": {"route": {"receiver": "dingtalk-oncall", "groupBy": ["alertname"],
                            "groupWait": "1s", "groupInterval": "1s",
                            "repeatInterval": "1h"}}},
    ]
    (root / "converge.yaml").write_text(yaml.safe_dump(documents[0]), encoding="utf-8")
    (root / "specs.yaml").write_text(yaml.safe_dump_all(documents[1:]), encoding="utf-8")


def _now(offset: float = 0.0) -> str:
    moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=offset)
    return moment.isoformat().replace("+00:00", "Z")


def test_a_fired_alert_reaches_dingtalk_through_alertmanager_and_the_notifier(
        tmp_path: Path) -> None:
    binary = realtools.tool("prometheus-alertmanager")

    async def scenario() -> None:
        fakes = vendorfakes.FakeVendors(dingtalk_secret="e2e-secret")
        vendor_url = await fakes.start()
        notifier_port, am_port = _free_port(), _free_port()
        specs, bundle = tmp_path / "specs", tmp_path / "bundle"
        specs.mkdir()
        _specs(specs, notifier_port=notifier_port, vendor_url=vendor_url)
        result = CliRunner().invoke(main, ["compile", str(specs), "-o", str(bundle)])
        assert result.exit_code == 0, result.output
        config = bundle / "alertmanager" / "alertmanager.yaml"
        assert f"127.0.0.1:{notifier_port}/hooks/alertmanager/dingtalk-oncall" in config.read_text()
        (tmp_path / "am").mkdir()
        process = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.path={tmp_path / 'am'}",
             f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=",
             "--log.level=warn"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        settings = Settings(bundle=str(bundle), db=tmp_path / "outbox.db",
                            listen=("127.0.0.1", notifier_port))
        environ = {"DT_TOKEN": vendorfakes.DINGTALK_TOKEN, "DT_SECRET": "e2e-secret"}
        try:
            async with notifierkit.running(settings, environ=environ), httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{am_port}", timeout=5) as am:
                await notifierkit.until(lambda: _ready(am_port), timeout=30)
                alert = {"labels": {"alertname": "DiskFull", "severity": "critical",
                                    "instance": "db-1"},
                         "annotations": {"summary": "disk 97% full on db-1"},
                         "startsAt": _now(-5), "generatorURL": "http://prometheus/graph"}
                assert (await am.post("/api/v2/alerts", json=[alert])).status_code == 200
                await notifierkit.until(lambda: fakes.received["dingtalk"], timeout=60)
                fired = fakes.received["dingtalk"][0]
                assert fired["markdown"]["title"] == "[FIRING] DiskFull"
                assert "disk 97% full on db-1 (firing)" in fired["markdown"]["text"]
                assert fired["at"]["atMobiles"] == ["13800138000"]
                resolved = {**alert, "endsAt": _now(-1)}
                assert (await am.post("/api/v2/alerts", json=[resolved])).status_code == 200
                await notifierkit.until(lambda: len(fakes.received["dingtalk"]) >= 2,
                                        timeout=60)
                assert fakes.received["dingtalk"][1]["markdown"]["title"] == "[RESOLVED] DiskFull"
        finally:
            process.terminate()
            try:
                _, errors = process.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                _, errors = process.communicate()
            await fakes.close()
        assert process.returncode in (0, -15), errors.decode()

    asyncio.run(scenario())


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/-/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False



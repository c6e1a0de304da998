"""Escalation end to end (issue 21): specs compiled by converge, the real Alertmanager
posting a critical alert to the notifier's escalation hook, level 1 paged, the notifier
restarted, level 2 paged from the durable tracking, a second alert acknowledged through
the API never escalating, and the resolve telling both paged levels."""

from __future__ import annotations

import asyncio
import datetime
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
from realtargets import free_port

from converge.compiler.commands.main import main
from converge.reconciler.notifier.daemon import Settings

pytestmark = pytest.mark.realtools

ENV = {"DT": vendorfakes.DINGTALK_TOKEN, "WK": vendorfakes.WECOM_KEY,
       "FH": vendorfakes.FEISHU_HOOK}


def _specs(root: Path, *, notifier_port: int, vendor_url: str) -> None:
    project = {"apiVersion": "converge/v1", "kind": "Project", "metadata": {"name": "esc"},
               "spec": {"notifierURL": f"http://127.0.0.1:{notifier_port}"}}
    channels = [("oncall", {"type": "dingtalk", "accessToken": {"env": "DT"}}),
                ("lead", {"type": "wecom", "key": {"env": "WK"}, "msgType": "text"}),
                ("manager", {"type": "feishu", "hook": {"env": "FH"}})]
    documents: list[dict[str, Any]] = [
        {"apiVersion": "converge/v1", "kind": "Channel", "metadata": {"name": name},
         "spec": {**spec, "baseUrl": vendor_url}} for name, spec in channels]
    documents.append({
        "apiVersion": "converge/v1", "kind": "Routing", "metadata": {"name": "main"},
        "spec": {"route": {
            "receiver": "oncall", "groupBy": ["alertname"], "groupWait": "1s",
            "groupInterval": "1s", "repeatInterval": "1h",
            "routes": [{"matchers": ['severity="critical"'], "receiver": "oncall",
                        "escalation": [{"after": "4s", "channels": ["lead"]},
                                       {"after": "12s", "channels": ["manager"]}]}]}}})
    (root / "converge.yaml").write_text(yaml.safe_dump(project), encoding="utf-8")
    (root / "specs.yaml").write_text(yaml.safe_dump_all(documents), encoding="utf-8")


def _now(offset: float = 0.0) -> str:
    moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=offset)
    return moment.isoformat().replace("+00:00", "Z")


def _alert(name: str, **extra: str) -> dict[str, Any]:
    return {"labels": {"alertname": name, "severity": "critical", "instance": "db-1"},
            "annotations": {"summary": f"{name} on db-1"}, "startsAt": _now(-1), **extra}


def _texts(fakes: vendorfakes.FakeVendors, vendor: str) -> list[str]:
    return [str(body) for body in fakes.received[vendor]]


def test_an_unacknowledged_alert_escalates_across_a_notifier_restart(tmp_path: Path) -> None:
    binary = realtools.tool("prometheus-alertmanager")

    async def scenario() -> None:
        fakes = vendorfakes.FakeVendors()
        vendor_url = await fakes.start()
        notifier_port, am_port = free_port(), free_port()
        specs, bundle = tmp_path / "specs", tmp_path / "bundle"
        specs.mkdir()
        _specs(specs, notifier_port=notifier_port, vendor_url=vendor_url)
        result = CliRunner().invoke(main, ["compile", str(specs), "-o", str(bundle)])
        assert result.exit_code == 0, result.output
        config = bundle / "alertmanager" / "alertmanager.yaml"
        (tmp_path / "am").mkdir()
        process = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.path={tmp_path / 'am'}",
             f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=",
             "--log.level=warn"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        settings = Settings(bundle=str(bundle), db=tmp_path / "outbox.db",
                            listen=("127.0.0.1", notifier_port),
                            alertmanager_url=f"http://127.0.0.1:{am_port}")
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{am_port}",
                                         timeout=5) as am:
                await notifierkit.until(lambda: _ready(am_port), timeout=30)
                async with notifierkit.running(settings, environ=ENV) as (_, base):
                    assert (await am.post("/api/v2/alerts", json=[_alert("DiskFull"),
                                                                  _alert("Acked")])).is_success
                    await notifierkit.until(lambda: len(fakes.received["dingtalk"]) >= 1,
                                            timeout=30)
                    async with httpx.AsyncClient(base_url=base, timeout=5) as notifier:
                        acked = await _tracked(notifier, "Acked")
                        answer = await notifier.post(
                            f"/api/v1/alerts/{acked['fingerprint']}/ack", json={"by": "ops"})
                        assert answer.json() == {"acknowledged": True}
                        assert (await _tracked(notifier, "Acked"))["ackedBy"] == "ops"
                    await notifierkit.until(lambda: any(
                        "ESCALATION 1" in t for t in _texts(fakes, "wecom")), timeout=30)
                # the notifier is down between the two levels, then back on the same db
                assert not fakes.received["feishu"]
                async with notifierkit.running(settings, environ=ENV):
                    await notifierkit.until(lambda: any(
                        "ESCALATION 2" in t for t in _texts(fakes, "feishu")), timeout=40)
                    resolved = _alert("DiskFull", endsAt=_now(-0.5))
                    assert (await am.post("/api/v2/alerts", json=[resolved])).is_success
                    await notifierkit.until(lambda: any(
                        "RESOLVED" in t for t in _texts(fakes, "feishu")), timeout=40)
                    await notifierkit.until(lambda: any(
                        "RESOLVED" in t for t in _texts(fakes, "wecom")), timeout=40)
            paged = _texts(fakes, "wecom") + _texts(fakes, "feishu")
            assert all("Acked" not in t for t in paged), paged
            assert sum("ESCALATION 1" in t for t in _texts(fakes, "wecom")) == 1
        finally:
            process.terminate()
            try:
                process.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
            await fakes.close()

    asyncio.run(scenario())


async def _tracked(notifier: httpx.AsyncClient, name: str) -> dict[str, Any]:
    """The notifier's tracking of alert `name`, once Alertmanager has posted it."""
    for _ in range(300):
        listed = (await notifier.get("/api/v1/escalations")).json()["escalations"]
        found = [t for t in listed if t["alertname"] == name]
        if found:
            return dict(found[0])
        await asyncio.sleep(0.05)
    raise AssertionError(f"the notifier never tracked {name}")


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/-/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False

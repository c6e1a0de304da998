"""Daemon events as Alertmanager alerts (issue 21, the Project's
`notifications.alertmanager`): the notifier posts each event to Alertmanager's v2 API,
where silences and routing apply; a resolved event resolves the alert its firing event
raised."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import httpx
import notifierkit
import pytest
import realtools
from realtargets import free_port

from converge.reconciler.notifier.daemon import Settings
from converge.reconciler.notifier.vendors import alertmanager

FIRING = {"level": "critical", "source": "healer", "title": "api-1: restart budget spent",
          "text": "5 restarts in 5m", "labels": {"container": "api-1",
                                                  "type": "restart_limit_exceeded"},
          "time": "2026-01-01T00:00:00Z"}
RESOLVED = {"level": "info", "source": "healer", "title": "api-1: recovered",
            "text": "recovered", "status": "resolved",
            "labels": {"container": "api-1", "type": "recovered"}}


def test_an_event_becomes_an_alert_its_resolve_ends() -> None:
    alertmanager.SEVERITIES.clear()
    fired = alertmanager.alert(FIRING, now=0.0)
    assert fired["labels"] == {"alertname": "ConvergeEvent", "source": "healer",
                               "container": "api-1", "severity": "critical"}
    assert fired["annotations"]["type"] == "restart_limit_exceeded"
    assert "endsAt" not in fired
    ended = alertmanager.alert(RESOLVED, now=0.0)
    assert ended["labels"] == fired["labels"]  # the same alert: its severity remembered
    assert ended["endsAt"] == "1970-01-01T00:00:00Z"


@pytest.mark.realtools
def test_events_reach_alertmanager_as_alerts(tmp_path: Path) -> None:
    binary = realtools.tool("prometheus-alertmanager")
    am_port = free_port()
    config = tmp_path / "alertmanager.yml"
    config.write_text("route: {receiver: nobody}\nreceivers: [{name: nobody}]\n",
                      encoding="utf-8")
    (tmp_path / "am").mkdir()
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.path={tmp_path / 'am'}",
         f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=",
         "--log.level=warn"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    bundle = notifierkit.write_bundle(
        tmp_path / "bundle", {"dt": {"type": "dingtalk", "accessToken": {"env": "DT"},
                                     "events": {"minLevel": "info"}}},
        document_extra={"eventsToAlertmanager": True})
    settings = Settings(bundle=str(bundle), db=tmp_path / "outbox.db",
                        listen=("127.0.0.1", 0),
                        alertmanager_url=f"http://127.0.0.1:{am_port}")

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{am_port}",
                                     timeout=5) as am:
            for _ in range(300):
                try:
                    if (await am.get("/-/ready")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)

            async def alerts(**params: str) -> list[dict[str, Any]]:
                found = (await am.get("/api/v2/alerts", params=params)).json()
                return [a for a in found if a["labels"].get("alertname") == "ConvergeEvent"]

            async with notifierkit.running(settings, environ={"DT": "t"}) as (_, base):
                async with httpx.AsyncClient(base_url=base, timeout=5) as notifier:
                    answer = await notifier.post("/api/v1/events", json=FIRING)
                    assert answer.json()["channels"] == [alertmanager.CHANNEL]
                    for _ in range(200):
                        if await alerts():
                            break
                        await asyncio.sleep(0.05)
                    (alert,) = await alerts()
                    assert alert["labels"]["severity"] == "critical"
                    assert alert["annotations"]["summary"] == FIRING["title"]
                    await notifier.post("/api/v1/events", json=RESOLVED)
                    for _ in range(200):
                        if not await alerts(active="true"):
                            break
                        await asyncio.sleep(0.05)
                    assert await alerts(active="true") == []

    try:
        asyncio.run(scenario())
    finally:
        process.terminate()
        try:
            process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()

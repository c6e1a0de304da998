"""Finding 11 of issue 15: an Alertmanager payload with `alerts: []` reaches nobody.

Seen on the real notifier: such a payload was stored and delivered to DingTalk as
"[FIRING] (0)", @-mentioning the on-call phones. Alertmanager never sends one; whoever
does is refused (400, so nothing retries it) and counted.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import notifierkit
import vendorfakes

from converge.reconciler.notifier.daemon import Settings


def test_an_alertmanager_payload_without_alerts_is_refused_and_counted(tmp_path: Path) -> None:
    async def scenario() -> None:
        fakes = vendorfakes.FakeVendors()
        url = await fakes.start()
        spec = {"type": "dingtalk", "accessToken": {"env": "DT"}, "atMobiles": ["13800138000"]}
        bundle = notifierkit.write_bundle(tmp_path / "bundle", {"dt": spec})
        settings = Settings(bundle=str(bundle), db=tmp_path / "outbox.db",
                            listen=("127.0.0.1", 0), base_urls={"dingtalk": url})
        try:
            async with notifierkit.running(settings, environ={
                    "DT": vendorfakes.DINGTALK_TOKEN}) as (daemon, base):
                async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                    for status in ("firing", "resolved"):
                        empty = {**notifierkit.payload(status=status), "alerts": []}
                        answer = await client.post("/hooks/alertmanager/dt", json=empty)
                        assert answer.status_code == 400, answer.text
                        assert "no alerts" in answer.json()["error"]
                    real = await client.post("/hooks/alertmanager/dt",
                                             json=notifierkit.payload())
                    assert real.status_code == 200
                    await notifierkit.until(lambda: fakes.received["dingtalk"])
                    await asyncio.sleep(0.3)
                    assert daemon.runtime.registry.get_sample_value(
                        "converge_notifier_rejected_total", {"reason": "empty"}) == 2
            assert len(fakes.received["dingtalk"]) == 1
            assert "(0)" not in str(fakes.received["dingtalk"][0])
        finally:
            await fakes.close()

    asyncio.run(scenario())

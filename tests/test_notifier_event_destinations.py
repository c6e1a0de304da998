"""Daemon events cannot vanish (issue 21): a named channel that cannot take events never
costs the deliverable copies, events nothing routes go to the Project's `eventChannels`,
an event with no destination is counted, and a dead letter is reported to the fallback
channel with its failure."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import notifierkit
import vendorfakes
from vendorfakes import Scripted

from converge.reconciler.core.backoff import BackoffPolicy
from converge.reconciler.notifier.daemon import Settings

ENV = {"DT": vendorfakes.DINGTALK_TOKEN, "WK": vendorfakes.WECOM_KEY, "RK": "routing-key"}
DINGTALK = {"type": "dingtalk", "accessToken": {"env": "DT"}}
WECOM = {"type": "wecom", "key": {"env": "WK"}}
PAGERDUTY = {"type": "pagerduty", "routingKey": {"env": "RK"}}
EVENT = {"level": "critical", "source": "healer", "title": "api-1: restart budget spent"}


@contextlib.asynccontextmanager
async def notifier(tmp_path: Path, channels: Mapping[str, Mapping[str, Any]],
                   extra: Mapping[str, Any] | None = None,
                   ) -> AsyncIterator[tuple[httpx.AsyncClient, vendorfakes.FakeVendors]]:
    fakes = vendorfakes.FakeVendors()
    url = await fakes.start()
    bundle = notifierkit.write_bundle(tmp_path / "bundle", channels, document_extra=extra)
    settings = Settings(bundle=str(bundle), db=tmp_path / "outbox.db",
                        listen=("127.0.0.1", 0), base_urls={"dingtalk": url, "wecom": url},
                        backoff=BackoffPolicy(initial=0.05, factor=2.0, cap=0.2, jitter=0.0))
    try:
        async with notifierkit.running(settings, environ=ENV) as (_, base):
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                yield client, fakes
    finally:
        await fakes.close()


def test_a_channel_that_cannot_take_events_does_not_cost_the_others(tmp_path: Path) -> None:
    async def scenario() -> None:
        channels = {"dt": DINGTALK, "pd": PAGERDUTY}
        async with notifier(tmp_path, channels) as (client, fakes):
            answer = await client.post("/api/v1/events",
                                       json={**EVENT, "channels": ["pd", "dt"]})
            assert answer.status_code == 200, answer.text
            assert (answer.json()["channels"], answer.json()["undeliverable"]) == (
                ["dt"], ["pd"])
            await notifierkit.until(lambda: len(fakes.received["dingtalk"]) == 1)
            metrics = (await client.get("/metrics")).text
            assert "converge_notifier_events_undeliverable_channels_total 1.0" in metrics

    asyncio.run(scenario())


def test_events_nothing_routes_go_to_the_default_channels(tmp_path: Path) -> None:
    async def scenario() -> None:
        channels = {"dt": DINGTALK, "wc": WECOM, "pd": PAGERDUTY}
        async with notifier(tmp_path, channels, {"eventChannels": ["wc"]}) as (client, fakes):
            plain = await client.post("/api/v1/events", json=EVENT)
            only_pd = await client.post("/api/v1/events",
                                        json={**EVENT, "title": "other", "channels": ["pd"]})
            named = await client.post("/api/v1/events",
                                      json={**EVENT, "title": "named", "channels": ["dt"]})
            assert [a.json()["channels"] for a in (plain, only_pd, named)] == [
                ["wc"], ["wc"], ["dt"]]
            await notifierkit.until(lambda: len(fakes.received["wecom"]) == 2)
            await notifierkit.until(lambda: len(fakes.received["dingtalk"]) == 1)

    asyncio.run(scenario())


def test_an_event_without_destination_is_counted(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with notifier(tmp_path, {"dt": DINGTALK}) as (client, _):
            answer = await client.post("/api/v1/events", json=EVENT)
            assert (answer.status_code, answer.json()["accepted"]) == (200, 0)
            metrics = (await client.get("/metrics")).text
            assert ('converge_notifier_events_without_destination_total{level="critical"} 1.0'
                    in metrics)

    asyncio.run(scenario())


def test_a_dead_letter_is_reported_to_the_fallback_channel(tmp_path: Path) -> None:
    async def scenario() -> None:
        extra = {"fallbackChannel": "wc"}
        async with notifier(tmp_path, {"dt": DINGTALK, "wc": WECOM}, extra) as (client, fakes):
            fakes.script("dingtalk", Scripted(200, {"errcode": 310000, "errmsg": "keywords "
                                                    "not in content"}))
            answer = await client.post("/hooks/alertmanager/dt",
                                       json=notifierkit.payload(group="lost"))
            assert answer.status_code == 200
            await notifierkit.until(lambda: len(fakes.received["wecom"]) == 1)
            text = str(fakes.received["wecom"][0])
            assert "undeliverable to dt" in text and "HighCPU" in text
            assert "errcode 310000" in text
            letters = (await client.get("/api/v1/dead-letters")).json()["deadLetters"]
            assert [d["channel"] for d in letters] == ["dt"]

    asyncio.run(scenario())

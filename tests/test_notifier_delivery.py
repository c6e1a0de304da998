"""The notifier end to end, in-process, against local servers that behave like each vendor:
signatures checked on their side, 200-with-errcode, rate-limit answers, slow answers."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import notifierkit
import pytest
import vendorfakes
from vendorfakes import Scripted

from converge.reconciler.core.backoff import BackoffPolicy
from converge.reconciler.notifier.daemon import NotifierDaemon, Settings
from converge.reconciler.notifier.outbox import OutboxError

FAST = BackoffPolicy(initial=0.05, factor=2.0, cap=0.3, jitter=0.0)
ENV = {"DT": vendorfakes.DINGTALK_TOKEN, "DTS": "dt-secret", "WK": vendorfakes.WECOM_KEY,
       "FH": vendorfakes.FEISHU_HOOK, "FS": "fs-secret", "WHS": "wh-secret"}

DINGTALK = {"type": "dingtalk", "accessToken": {"env": "DT"}, "secret": {"env": "DTS"},
            "atMobiles": ["13800138000"]}
WECOM = {"type": "wecom", "key": {"env": "WK"}, "msgType": "markdown"}
FEISHU = {"type": "feishu", "hook": {"env": "FH"}, "secret": {"env": "FS"}}


@contextlib.asynccontextmanager
async def setup(tmp_path: Path, channels: Mapping[str, Mapping[str, Any]], *,
                db: str = "outbox.db", fakes: vendorfakes.FakeVendors | None = None,
                **settings: Any) -> AsyncIterator[tuple[NotifierDaemon, httpx.AsyncClient,
                                                        vendorfakes.FakeVendors]]:
    fakes = fakes or vendorfakes.FakeVendors(dingtalk_secret="dt-secret",
                                             feishu_secret="fs-secret",
                                             webhook_secret="wh-secret")
    url = await fakes.start() if not fakes.url else fakes.url
    resolved = {name: _with_url(spec, url) for name, spec in channels.items()}
    bundle = notifierkit.write_bundle(tmp_path / "bundle", resolved)
    options = {"backoff": FAST, "rate_limit_delay": 0.2, "dedup_window": 300.0, **settings}
    config = Settings(bundle=str(bundle), db=tmp_path / db, listen=("127.0.0.1", 0),
                      base_urls={"dingtalk": url, "wecom": url, "feishu": url}, **options)
    env = {**ENV, "SLACK": f"{url}/slack/T000"}
    try:
        async with notifierkit.running(config, environ=env) as (daemon, base):
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                yield daemon, client, fakes
    finally:
        await fakes.close()
        fakes.url = ""


def _with_url(spec: Mapping[str, Any], url: str) -> dict[str, Any]:
    return json.loads(json.dumps(spec).replace("FAKE", url))


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


async def _post(client: httpx.AsyncClient, channel: str, body: Any) -> httpx.Response:
    return await client.post(f"/hooks/alertmanager/{channel}", json=body)


def test_each_vendor_receives_signed_well_formed_messages(tmp_path: Path) -> None:
    channels = {"dt": DINGTALK, "wc": WECOM, "fs": FEISHU,
                "slack": {"type": "slack", "apiUrl": {"env": "SLACK"},
                          "events": {"minLevel": "error"}},
                "hook": {"type": "webhook", "url": "FAKE/webhook/ops",
                         "signingSecret": {"env": "WHS"}, "events": {"minLevel": "warning"}}}

    async def scenario() -> None:
        async with setup(tmp_path, channels) as (daemon, client, fakes):
            for name in ("dt", "wc", "fs"):
                answer = await _post(client, name, notifierkit.payload(alerts=2, group=name))
                assert answer.status_code == 200, answer.text
                assert answer.json()["accepted"] == 1
            event = {"level": "critical", "source": "healer", "title": "api-1 restarted 5 times",
                     "text": "budget spent", "labels": {"container": "api-1"}}
            answer = await client.post("/api/v1/events", json=event)
            assert answer.json()["channels"] == ["hook", "slack"]
            await notifierkit.until(lambda: all(
                fakes.received[v] for v in ("dingtalk", "wecom", "feishu", "slack", "webhook")))
            dt = fakes.received["dingtalk"][0]
            assert dt["msgtype"] == "markdown" and "CPU high on host-1" in dt["markdown"]["text"]
            assert dt["markdown"]["text"].endswith("@13800138000")
            assert fakes.received["wecom"][0]["markdown"]["content"].startswith(
                "**[FIRING:2] HighCPU**")
            card = fakes.received["feishu"][0]["card"]
            assert card["header"]["title"]["content"] == "[FIRING:2] HighCPU"
            assert "api-1 restarted 5 times" in fakes.received["slack"][0]["text"]
            hook = fakes.received["webhook"][0]["body"]
            assert hook["event"]["labels"] == {"container": "api-1"}
            await notifierkit.until(lambda: daemon.notifier is not None and all(
                w.state.delivered == 1 for w in daemon.notifier.workers.values()))

    run(scenario())


def test_permanent_failure_is_dead_lettered_visible_and_retryable(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with setup(tmp_path, {"wc": WECOM}) as (daemon, client, fakes):
            fakes.script("wecom", Scripted(200, {"errcode": 93000, "errmsg": "invalid key"}))
            await _post(client, "wc", notifierkit.payload(group="a"))
            await _post(client, "wc", notifierkit.payload(group="b"))
            await notifierkit.until(lambda: len(fakes.received["wecom"]) == 1)
            assert "HighCPU" in fakes.received["wecom"][0]["markdown"]["content"]
            letters = (await client.get("/api/v1/dead-letters")).json()["deadLetters"]
            assert [(d["channel"], d["reason"]) for d in letters] == [
                ("wc", "errcode 93000: invalid key")]
            await asyncio.sleep(1.1)
            facts = (await client.get("/status")).json()["facts"]
            assert facts["deadLetters"] == 1
            assert facts["channels"]["wc"]["lastError"] is None  # the next one went out
            dead, = facts["recentDeadLetters"]  # what the console shows
            assert dead["id"] == letters[0]["id"] and "body" not in dead
            assert dead["summary"] == "[FIRING] HighCPU (1 alert)"
            assert dead["reason"] == "errcode 93000: invalid key"
            assert [(m["id"], m["state"]) for m in facts["outbox"]] == [
                (letters[0]["id"] + 1, "delivered"), (letters[0]["id"], "dead")]
            metrics = (await client.get("/metrics")).text
            assert 'converge_notifier_dead_lettered_total{channel="wc"} 1.0' in metrics
            answer = await client.post(f"/api/v1/dead-letters/{letters[0]['id']}/retry")
            assert answer.status_code == 200
            await notifierkit.until(lambda: len(fakes.received["wecom"]) == 2)
            assert (await client.get("/api/v1/dead-letters")).json()["deadLetters"] == []
            assert (await client.get("/api/v1/dead-letters?limit=x")).status_code == 400
            assert (await client.post("/api/v1/dead-letters/999/retry")).status_code == 404

    run(scenario())


def test_retryable_failures_are_retried_in_order(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with setup(tmp_path, {"dt": DINGTALK}, http_timeout=0.3) as (daemon, client,
                                                                         fakes):
            fakes.script("dingtalk", Scripted(503, "upstream down"),
                         Scripted(200, {"errcode": 130101, "errmsg": "send too fast"}),
                         Scripted(delay=1.0),  # slower than the timeout
                         Scripted(200, "<html>proxy error</html>"),
                         Scripted(200, {"errcode": -1, "errmsg": "system busy"}))
            for group in ("first", "second", "third"):
                await _post(client, "dt", notifierkit.payload(group=group, summary=group))
            await notifierkit.until(lambda: len(fakes.received["dingtalk"]) == 3)
            texts = [m["markdown"]["text"] for m in fakes.received["dingtalk"]]
            assert ["first" in texts[0], "second" in texts[1], "third" in texts[2]] == [True] * 3
            metrics = (await client.get("/metrics")).text
            for reason, count in (("http", 1), ("rate-limited", 1), ("timeout", 1),
                                  ("vendor", 2)):
                assert (f'converge_notifier_retried_total{{channel="dt",reason="{reason}"}} '
                        f"{count}.0") in metrics, reason
            assert 'converge_notifier_delivered_total{channel="dt"} 3.0' in metrics

    run(scenario())


def test_rate_limit_spaces_messages_in_order(tmp_path: Path) -> None:
    channel = {**WECOM, "rateLimit": {"messages": 2, "per": "1s"}}

    async def scenario() -> None:
        async with setup(tmp_path, {"wc": channel}) as (daemon, client, fakes):
            started = asyncio.get_running_loop().time()
            for i in range(6):
                await _post(client, "wc", notifierkit.payload(group=f"g{i}", summary=f"n{i}"))
            await notifierkit.until(lambda: len(fakes.received["wecom"]) == 6)
            elapsed = asyncio.get_running_loop().time() - started
            assert elapsed >= 1.8  # 2 at once, then one every 0.5 s
            order = [next(i for i in range(6) if f"n{i} " in m["markdown"]["content"])
                     for m in fakes.received["wecom"]]
            assert order == list(range(6))

    run(scenario())


def test_vendor_rate_limit_answers_are_waited_out(tmp_path: Path) -> None:
    async def scenario() -> None:
        fakes = vendorfakes.FakeVendors(dingtalk_secret="dt-secret", per_minute=3)
        async with setup(tmp_path, {"dt": {**DINGTALK, "rateLimit": {"messages": 100}}},
                         fakes=fakes) as (daemon, client, fakes):
            for i in range(4):
                await _post(client, "dt", notifierkit.payload(group=f"g{i}"))
            await notifierkit.until(lambda: len(fakes.received["dingtalk"]) == 3)
            await notifierkit.until(lambda: fakes.attempts["dingtalk"] >= 5)
            fakes.per_minute = 100
            await notifierkit.until(lambda: len(fakes.received["dingtalk"]) == 4)

    run(scenario())


def test_duplicates_resolved_and_bad_requests(tmp_path: Path) -> None:
    channels = {"wc": {**WECOM, "sendResolved": False}}

    async def scenario() -> None:
        async with setup(tmp_path, channels) as (daemon, client, fakes):
            first = await _post(client, "wc", notifierkit.payload())
            again = await _post(client, "wc", notifierkit.payload())
            assert (first.json()["accepted"], again.json()["deduplicated"]) == (1, ["wc"])
            resolved = await _post(client, "wc", notifierkit.payload(status="resolved"))
            assert resolved.json()["skipped"] == ["wc"]
            assert (await _post(client, "nope", notifierkit.payload())).status_code == 503
            assert (await client.post("/hooks/alertmanager/wc", content=b"{")).status_code == 400
            assert (await _post(client, "wc", {"version": "3"})).status_code == 400
            nowhere = await client.post("/api/v1/events", json={"title": "t", "source": "s",
                                                                "channels": ["nope"]})
            assert (nowhere.status_code, nowhere.json()["undeliverable"]) == (200, ["nope"])
            await notifierkit.until(lambda: len(fakes.received["wecom"]) == 1)
            await asyncio.sleep(0.3)
            assert len(fakes.received["wecom"]) == 1
            metrics = (await client.get("/metrics")).text
            assert 'converge_notifier_deduplicated_total{channel="wc"} 1.0' in metrics
            assert 'converge_notifier_rejected_total{reason="unknown-channel"} 1.0' in metrics

    run(scenario())


def test_a_message_that_cannot_be_stored_is_answered_503(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario() -> None:
        async with setup(tmp_path, {"wc": WECOM}) as (daemon, client, fakes):
            assert daemon.outbox is not None

            async def broken(items: Any) -> Any:
                raise OutboxError("disk I/O error")

            monkeypatch.setattr(daemon.outbox, "accept", broken)
            answer = await _post(client, "wc", notifierkit.payload())
            assert answer.status_code == 503 and "disk I/O error" in answer.text

    run(scenario())


def test_pending_messages_survive_a_restart(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with setup(tmp_path, {"wc": WECOM}) as (daemon, client, fakes):
            fakes.script("wecom", *[Scripted(502, "bad gateway")] * 1000)
            for i in range(5):
                await _post(client, "wc", notifierkit.payload(group=f"g{i}"))
            await notifierkit.until(lambda: fakes.attempts["wecom"] >= 2)
        async with setup(tmp_path, {"wc": WECOM}) as (daemon, client, fakes):
            await notifierkit.until(lambda: len(fakes.received["wecom"]) == 5)
            groups = [m["markdown"]["content"] for m in fakes.received["wecom"]]
            assert all("host-0" in text for text in groups)

    run(scenario())


def test_api_token_and_events_routing(tmp_path: Path) -> None:
    channels = {"wc": {**WECOM, "events": {"minLevel": "warning", "sources": ["scaler"]}},
                "dt": DINGTALK}

    async def scenario() -> None:
        async with setup(tmp_path, channels, tokens=("t0k3n",)) as (daemon, client, fakes):
            event = {"level": "warning", "source": "scaler", "title": "scaled api to 4"}
            assert (await client.post("/api/v1/events", json=event)).status_code == 401
            auth = {"Authorization": "Bearer t0k3n"}
            answer = await client.post("/api/v1/events", json=event, headers=auth)
            assert answer.json()["channels"] == ["wc"]
            named = {"level": "info", "source": "healer", "title": "x", "channels": ["dt"]}
            answer = await client.post("/api/v1/events", json=named, headers=auth)
            assert answer.json()["channels"] == ["dt"]
            assert (await _post(client, "dt", notifierkit.payload())).status_code == 200
            await notifierkit.until(lambda: len(fakes.received["dingtalk"]) == 2)
            assert "scaled api to 4" in fakes.received["wecom"][0]["markdown"]["content"]

    run(scenario())


def test_a_channel_missing_its_secret_waits_and_says_so(tmp_path: Path) -> None:
    channels = {"wc": {"type": "wecom", "key": {"env": "MISSING"}}}

    async def scenario() -> None:
        async with setup(tmp_path, channels) as (daemon, client, fakes):
            assert (await _post(client, "wc", notifierkit.payload())).status_code == 200
            await asyncio.sleep(1.2)
            body = (await client.get("/status")).json()
            wc = body["facts"]["channels"]["wc"]
            assert (wc["state"], wc["queueDepth"]) == ("blocked", 1)
            assert "MISSING" in wc["problem"]
            conditions = {c["type"]: c for c in body["conditions"]}
            assert conditions["ChannelsReady"]["status"] == "False"
            assert fakes.attempts["wecom"] == 0

    run(scenario())


def test_a_new_bundle_swaps_channels_in_place_and_a_broken_one_keeps_them(
        tmp_path: Path) -> None:
    """The `bundle` loop: a channel added, one changed (now skipping resolved), one removed
    (Alertmanager is told to retry); then channels whose hash does not match the manifest
    are refused and the channels in use stay."""
    async def scenario() -> None:
        async with setup(tmp_path, {"wc": WECOM, "old": WECOM},
                         reload_interval=0.2) as (daemon, client, fakes):
            url = fakes.url
            assert (await _post(client, "new", notifierkit.payload())).status_code == 503
            notifierkit.write_bundle(tmp_path / "bundle", {
                "wc": {**WECOM, "sendResolved": False},
                "new": _with_url(FEISHU, url)})
            await notifierkit.until(lambda: daemon.notifier is not None
                                    and set(daemon.notifier.channels) == {"wc", "new"})
            assert (await _post(client, "new", notifierkit.payload())).status_code == 200
            await notifierkit.until(lambda: len(fakes.received["feishu"]) == 1)
            resolved = await _post(client, "wc", notifierkit.payload(status="resolved"))
            assert resolved.json()["skipped"] == ["wc"]
            assert (await _post(client, "old", notifierkit.payload())).status_code == 503

            manifest = (tmp_path / "bundle" / "manifest.json").read_bytes()
            notifierkit.write_bundle(tmp_path / "bundle", {"only": WECOM})
            (tmp_path / "bundle" / "manifest.json").write_bytes(manifest)  # hash now wrong
            await asyncio.sleep(1.0)  # several reload attempts
            assert set(daemon.notifier.channels) == {"wc", "new"}
            assert (await _post(client, "new", notifierkit.payload(group="later"))
                    ).status_code == 200
            status = (await client.get("/status")).json()
            assert status["ready"] is True
            await notifierkit.until(lambda: len(fakes.received["feishu"]) == 2)

    run(scenario())

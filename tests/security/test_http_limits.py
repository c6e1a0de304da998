"""Finding 8 of issue 15: what one client can make a daemon hold is bounded.

Seen on the real server and notifier: the webhook buffered up to 26 MB per
unauthenticated request before checking its signature, with no read timeout and no cap
on connections (six held connections took the server from 106 to 272 MB, never freed);
a 13 MB notifier payload stalled the event loop for 3 s; deeply nested JSON, a bogus
charset and a huge dead-letter id answered 500.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import notifierkit
import pytest
import server_harness
from aiohttp import web

from converge.reconciler.core import http
from converge.reconciler.core.metrics import registry
from converge.reconciler.core.status import Status
from converge.reconciler.notifier.daemon import Settings
from converge.reconciler.server import auth
from converge.reconciler.server import daemon as server_daemon

WEBHOOK = "/api/v1/webhooks/github"


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[server_harness.RunningServer]:
    monkeypatch.setattr(server_daemon, "LIMITS", dataclasses.replace(
        server_daemon.LIMITS, read_timeout=1.0))
    specs = server_harness.SpecsRepo(tmp_path / "specs")
    running = server_harness.RunningServer(server_harness.settings(tmp_path, specs.root))
    try:
        yield running
    finally:
        running.stop()
        specs.close()


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _held(url: str, path: str, *, length: int, sent: int = 1000) -> socket.socket:
    """A connection that announces `length` bytes of body and sends only `sent`."""
    connection = socket.create_connection(("127.0.0.1", _port(url)), timeout=10)
    connection.sendall((f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                        f"\r\nContent-Length: {length}\r\n\r\n").encode() + b" " * sent)
    return connection


def _status_of(connection: socket.socket) -> int:
    first = connection.recv(4096).split(b"\r\n", 1)[0]
    return int(first.split()[1])


def test_an_oversized_webhook_is_refused_before_its_body_is_read(
        server: server_harness.RunningServer) -> None:
    connection = _held(server.url, WEBHOOK, length=26 * 1024**2)
    try:
        started = time.monotonic()
        assert _status_of(connection) == 413
        assert time.monotonic() - started < 2
    finally:
        connection.close()
    big = b"{" + b" " * (2 * 1024**2) + b"}"
    answer = server.anonymous.post(WEBHOOK, content=big, headers={
        "X-GitHub-Event": "push", "X-Hub-Signature-256": auth.sign(server_harness.SECRET, big),
        "Content-Type": "application/json"})
    assert answer.status_code == 413
    assert "limit" in answer.json()["error"]


def test_slow_bodies_time_out_and_cannot_pile_up(server: server_harness.RunningServer) -> None:
    held = [_held(server.url, WEBHOOK, length=500_000) for _ in range(http.Limits().max_readers)]
    try:
        time.sleep(0.3)
        extra = _held(server.url, WEBHOOK, length=500_000)
        try:
            assert _status_of(extra) == 503  # no queue of held bodies behind the cap
        finally:
            extra.close()
        started = time.monotonic()
        assert [_status_of(c) for c in held] == [408] * len(held)
        assert time.monotonic() - started < 5
    finally:
        for connection in held:
            connection.close()
    assert server.anonymous.get("/health/live").status_code == 200


@pytest.mark.parametrize("headers, body, code", [
    pytest.param({"Content-Type": "application/json; charset=bogus"}, b"{}", 415,
                 id="bogus-charset"),
    pytest.param({"Content-Type": "application/json"}, b"[" * 20_000 + b"]" * 20_000, 400,
                 id="deeply-nested"),
    pytest.param({"Content-Type": "application/json"}, b"\xff\xfe{}", 400, id="not-utf8"),
])
def test_malformed_bodies_get_a_4xx_with_a_message(server: server_harness.RunningServer,
                                                   headers: dict[str, str], body: bytes,
                                                   code: int) -> None:
    report = server.client.post("/api/v1/config/sync/status", content=body, headers=headers)
    assert report.status_code == code, report.text
    assert report.json()["error"]
    signed = {**headers, "X-GitHub-Event": "push", "X-GitHub-Delivery": str(uuid.uuid4()),
              "X-Hub-Signature-256": auth.sign(server_harness.SECRET, body)}
    hook = server.anonymous.post(WEBHOOK, content=body, headers=signed)
    assert hook.status_code == code, hook.text
    assert hook.json()["error"]


def test_the_request_cap_answers_503_instead_of_queueing() -> None:
    async def scenario() -> None:
        release = asyncio.Event()

        async def slow(request: web.Request) -> web.Response:
            await release.wait()
            return web.Response(text="done")

        app = http.make_app(status=Status("test"), registry=registry(),
                            routes=lambda a: a.router.add_get("/slow", slow),
                            limits=http.Limits(max_requests=3))
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = "http://{}:{}".format(*runner.addresses[0][:2])
        try:
            async with httpx.AsyncClient(base_url=url, timeout=10) as client:
                waiting = [asyncio.create_task(client.get("/slow")) for _ in range(3)]
                await asyncio.sleep(0.3)
                refused = await client.get("/health")
                assert refused.status_code == 503
                assert refused.headers["Retry-After"] == "1"
                release.set()
                assert [(await t).status_code for t in waiting] == [200, 200, 200]
                assert (await client.get("/health")).status_code in (200, 503)
        finally:
            await runner.cleanup()

    asyncio.run(scenario())


def test_the_notifier_refuses_huge_payloads_and_bad_ids_and_keeps_its_loop(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        bundle = notifierkit.write_bundle(tmp_path / "bundle", {"wc": {
            "type": "wecom", "key": {"env": "WK"}}})
        settings = Settings(bundle=str(bundle), db=tmp_path / "outbox.db",
                            listen=("127.0.0.1", 0), base_urls={"wecom": "http://127.0.0.1:9"},
                            tokens=("t",))
        async with notifierkit.running(settings, environ={"WK": "k"}) as (daemon, base):
            async with httpx.AsyncClient(base_url=base, timeout=30, headers={
                    "Authorization": "Bearer t"}) as client:
                huge = json.dumps(notifierkit.payload(alerts=45_000)).encode()
                assert len(huge) > 4 * 1024**2
                answer = await client.post("/hooks/alertmanager/wc", content=huge,
                                           headers={"Content-Type": "application/json"})
                assert answer.status_code == 413
                big = json.dumps(notifierkit.payload(alerts=12_000)).encode()
                assert http.OFF_LOOP < len(big) < 4 * 1024**2
                lags: list[float] = []

                async def probe() -> None:
                    while True:
                        started = time.monotonic()
                        await asyncio.sleep(0.01)
                        lags.append(time.monotonic() - started - 0.01)

                watcher = asyncio.create_task(probe())
                answer = await client.post("/hooks/alertmanager/wc", content=big,
                                           headers={"Content-Type": "application/json"})
                watcher.cancel()
                assert answer.status_code == 200, answer.text
                assert max(lags) < 1.0, f"the event loop stalled {max(lags):.2f}s"
                for method, path in (("POST", "/api/v1/dead-letters/{}/retry"),
                                     ("DELETE", "/api/v1/dead-letters/{}")):
                    answer = await client.request(method, path.format("9" * 5000))
                    assert answer.status_code == 400, answer.text
                    assert "id" in answer.json()["error"]
                nested = b"[" * 50_000 + b"]" * 50_000
                answer = await client.post("/api/v1/events", content=nested,
                                           headers={"Content-Type": "application/json"})
                assert answer.status_code == 400

    asyncio.run(scenario())

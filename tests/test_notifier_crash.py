"""Fault injection: the notifier process is killed with SIGKILL at random moments while it
takes and delivers messages; after a restart every acknowledged message is delivered, at
least once, and the duplicates are no more than the notifier itself counted."""

from __future__ import annotations

import asyncio
import collections
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import notifierkit
from aiohttp import web

SEED = 20240501
ITERATIONS = 5
PER_ITERATION = 40


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Sink:
    """A WeCom-like robot that answers errcode 0 after a short random delay."""

    def __init__(self, seed: int) -> None:
        self.received: collections.Counter[str] = collections.Counter()
        self._random = random.Random(seed)
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/cgi-bin/webhook/send", self._send)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        return f"http://{host}:{port}"

    async def _send(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        await asyncio.sleep(self._random.uniform(0, 0.02))
        for found in re.findall(r"msg-\d+-\d+", body["markdown"]["content"]):
            self.received[found] += 1
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def _start(bundle: Path, db: Path, port: int, sink: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-c",
               "import sys; from converge.compiler.commands.main import main; sys.exit(main())",
               "notifier", "--bundle", str(bundle), "--db", str(db),
               "--listen", f"127.0.0.1:{port}", "--base-url", f"wecom={sink}",
               "--dedup-window", "0s", "--log-level", "error", "--insecure-no-auth",
               "--secret-env", "WECOM_KEY"]
    return subprocess.Popen(command, env={**os.environ, "WECOM_KEY": "k"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def _ready(client: httpx.AsyncClient, process: subprocess.Popen[bytes]) -> None:
    for _ in range(400):
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        try:
            if (await client.get("/health/ready")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError("the notifier did not become ready")


async def _post(client: httpx.AsyncClient, name: str, accepted: set[str]) -> None:
    body = notifierkit.payload(group=name, summary=name)
    try:
        answer = await client.post("/hooks/alertmanager/wc", json=body)
    except httpx.HTTPError:
        return  # not acknowledged: Alertmanager would send it again
    if answer.status_code == 200:
        accepted.add(name)


def test_sigkill_at_random_moments_loses_no_acknowledged_message(tmp_path: Path) -> None:
    generator = random.Random(SEED)
    bundle = notifierkit.write_bundle(tmp_path / "bundle", {"wc": {
        "type": "wecom", "key": {"env": "WECOM_KEY"},
        "rateLimit": {"messages": 10_000, "per": "1s"}}})
    db = tmp_path / "outbox.db"

    async def scenario() -> tuple[set[str], collections.Counter[str], int]:
        sink = Sink(SEED)
        sink_url = await sink.start()
        accepted: set[str] = set()
        try:
            for iteration in range(ITERATIONS):
                port = _free_port()
                process = _start(bundle, db, port, sink_url)
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                             timeout=5) as client:
                    await _ready(client, process)
                    kill_after = generator.uniform(0.05, 1.2)
                    names = [f"msg-{iteration}-{i}" for i in range(PER_ITERATION)]

                    async def producer(part: list[str], client: httpx.AsyncClient = client
                                       ) -> None:
                        for name in part:
                            await _post(client, name, accepted)

                    tasks = [asyncio.create_task(producer(names[k::4])) for k in range(4)]
                    await asyncio.sleep(kill_after)
                    process.send_signal(signal.SIGKILL)
                    await asyncio.gather(*tasks)
                process.wait(timeout=10)
                if process.stderr is not None:
                    process.stderr.close()
            port = _free_port()
            process = _start(bundle, db, port, sink_url)
            try:
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                             timeout=5) as client:
                    await _ready(client, process)
                    await notifierkit.until(lambda: accepted <= set(sink.received), timeout=60)
                    await asyncio.sleep(1.2)  # let /status catch up
                    facts = (await client.get("/status")).json()["facts"]
            finally:
                process.send_signal(signal.SIGTERM)
                assert process.wait(timeout=30) == 0
                if process.stderr is not None:
                    process.stderr.close()
        finally:
            await sink.close()
        return accepted, sink.received, int(facts["possibleDuplicates"])

    accepted, received, possible = asyncio.run(scenario())
    assert len(accepted) >= PER_ITERATION  # the kills left work to do
    missing = accepted - set(received)
    assert not missing, f"acknowledged but never delivered: {sorted(missing)}"
    duplicates = sum(count - 1 for count in received.values())
    assert duplicates <= possible, (duplicates, possible)
    assert possible <= ITERATIONS  # at most one part in flight per channel per crash

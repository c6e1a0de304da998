"""The shared HTTP face and runner: health, ready, status, metrics, daemon routes, JSON
logs, and a graceful stop that lets the step in progress finish."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading

import httpx
import pytest
from aiohttp import web

from converge.reconciler.core import LoopSettings, Runtime, conditions, http, logs, runner


async def _serve_and_get(runtime: Runtime, app: web.Application,
                         paths: list[str]) -> dict[str, httpx.Response]:
    stop = asyncio.Event()
    addresses: list[str] = []
    task = asyncio.create_task(runtime.serve(app, listen=("127.0.0.1", 0), stop=stop,
                                             on_listening=addresses.extend, grace=5))
    try:
        while not addresses:
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://{addresses[0]}") as client:
            return {path: await client.get(path) for path in paths}
    finally:
        stop.set()
        assert await task == 0


def test_health_ready_status_metrics_and_own_routes() -> None:
    runtime = Runtime("demo", version="1.2.3")

    async def hello(request: web.Request) -> web.Response:
        return web.json_response({"hello": request.match_info["name"]})

    app = runtime.app(routes=lambda a: a.router.add_get("/hello/{name}", hello))
    paths = ["/health", "/health/live", "/health/ready", "/status", "/hello/x", "/nope"]
    before = asyncio.run(_serve_and_get(runtime, app, paths))
    assert before["/health"].status_code == 503
    assert before["/health"].json()["status"] == "unavailable"
    assert before["/health/live"].status_code == 200
    assert before["/health/ready"].status_code == 503
    assert before["/hello/x"].json() == {"hello": "x"}
    assert before["/nope"].status_code == 404

    runtime.status.set(conditions.READY, True, "Synced", "all good")
    runtime.status.update({"commit": "abc"})
    app = runtime.app(routes=lambda a: a.router.add_get("/hello/{name}", hello))
    after = asyncio.run(_serve_and_get(runtime, app, ["/health", "/health/ready", "/status",
                                                      "/metrics"]))
    assert after["/health"].status_code == 200
    assert after["/health"].json()["conditions"]["Ready"] == "True"
    assert after["/health/ready"].json() == {"status": "ready", "reason": "Synced",
                                             "message": "all good"}
    status = after["/status"].json()
    assert status["daemon"] == "demo" and status["facts"] == {"commit": "abc"}
    assert {c["type"] for c in status["conditions"]} == {"Ready", "Reconciling", "Stalled"}
    text = after["/metrics"].text
    assert 'converge_demo_build_info{version="1.2.3"} 1.0' in text
    assert "converge_demo_event_loop_lag_seconds_bucket" in text
    assert 'converge_demo_requests_total{code="200",route="/hello/{name}"} 1.0' in text
    assert 'converge_demo_requests_total{code="404",route="unmatched"} 1.0' in text


def test_listing_limits_are_clamped_and_nonsense_is_a_400() -> None:
    runtime = Runtime("demo", version="1.2.3")

    async def listing(request: web.Request) -> web.Response:
        return web.json_response({"limit": http.query_limit(request, default=50, high=100)})

    app = runtime.app(routes=lambda a: a.router.add_get("/list", listing))
    paths = ["/list", "/list?limit=7", "/list?limit=0", "/list?limit=-5", "/list?limit=5000",
             "/list?limit=abc"]
    got = asyncio.run(_serve_and_get(runtime, app, paths))
    assert [got[p].json().get("limit") for p in paths[:5]] == [50, 7, 1, 1, 100]
    assert got["/list?limit=abc"].status_code == 400
    assert got["/list?limit=abc"].json() == {"error": "limit must be a whole number"}


def test_stop_lets_the_running_step_finish() -> None:
    runtime = Runtime("demo")
    inside, finished = threading.Event(), threading.Event()

    def step() -> None:
        inside.set()
        threading.Event().wait(0.3)
        finished.set()

    runtime.add_loop("slow", step, LoopSettings(interval=60))

    async def main() -> int:
        stop = asyncio.Event()
        task = asyncio.create_task(runtime.serve(runtime.app(), listen=("127.0.0.1", 0),
                                                 stop=stop, grace=5))
        while not inside.is_set():
            await asyncio.sleep(0.01)
        stop.set()
        return await task

    assert asyncio.run(main()) == 0
    assert finished.is_set()
    assert not any(thread.is_alive() for thread in runtime.threads)


def test_liveness_fails_when_a_loop_thread_died() -> None:
    runtime = Runtime("demo")
    dead = threading.Thread(target=lambda: None)
    dead.start()
    dead.join()
    runtime.threads.append(dead)
    assert not runtime.alive()


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("127.0.0.1:9400", ("127.0.0.1", 9400), id="ipv4"),
    pytest.param(":9400", ("0.0.0.0", 9400), id="all"),
    pytest.param("[::1]:0", ("::1", 0), id="ipv6"),
    pytest.param("localhost:80", ("localhost", 80), id="name"),
])
def test_parse_listen(text: str, expected: tuple[str, int]) -> None:
    assert runner.parse_listen(text) == expected


@pytest.mark.parametrize("text", ["9400", "host:", "host:port", "h:70000"])
def test_parse_listen_refuses(text: str) -> None:
    with pytest.raises(runner.ListenError):
        runner.parse_listen(text)


def test_logs_are_one_json_object_per_line_with_extras() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        logs.configure(daemon="demo", stream=stream)
        logging.getLogger("converge.demo.sync").warning(
            "demo 'sync' failed temporarily, retrying in %ss: %s", 8, "refused",
            extra={"loop": "sync", "delay": 8})
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
    entry = json.loads(stream.getvalue().strip())
    assert entry["message"] == "demo 'sync' failed temporarily, retrying in 8s: refused"
    assert (entry["level"], entry["daemon"], entry["loop"], entry["delay"]) == (
        "warning", "demo", "sync", 8)
    assert entry["time"].endswith("Z")

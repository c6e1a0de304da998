"""The console on a real `converge serve` (aiohttp on a loopback port): auth by bearer
header or by the cookie `?token=` sets, the pages over the real state, and the other
daemons' `/status` fetched live — or shown as unavailable when they are down."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import server_harness as h
from test_console_pages import NOTIFIER, local_links

PAGES = ["/ui/", "/ui/compiles", "/ui/daemons", "/ui/console.css"]


class _StatusHandler(BaseHTTPRequestHandler):
    payload: dict[str, Any] = {}

    def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
        body = json.dumps(self.payload if self.path == "/status" else {}).encode()
        self.send_response(200 if self.path == "/status" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def status_server(payload: dict[str, Any]) -> Iterator[str]:
    """A stand-in daemon on a loopback port whose `/status` answers `payload`; its URL."""
    handler = type("Handler", (_StatusHandler,), {"payload": payload})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def fake_daemon() -> Iterator[str]:
    """A daemon answering `/status` with the notifier's payload."""
    with status_server(NOTIFIER) as url:
        yield url


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path, fake_daemon: str) -> Iterator[h.RunningServer]:
    specs = h.SpecsRepo(tmp_path / "specs")
    daemons = (("live", fake_daemon), ("down", f"http://127.0.0.1:{_closed_port()}"))
    running = h.RunningServer(h.settings(tmp_path, specs.root, daemons=daemons))
    h.wait_for(lambda: running.anonymous.get("/health/ready").status_code == 200)
    yield running
    running.stop()
    specs.close()


@pytest.mark.parametrize("path", PAGES)
def test_pages_need_a_token(server: h.RunningServer, path: str) -> None:
    anonymous = server.anonymous.get(path)
    assert anonymous.status_code == 401 and "token" in anonymous.text
    wrong = server.anonymous.get(path, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert server.anonymous.get(path, headers={"Cookie": "converge_session=nope"}
                                ).status_code == 401
    assert server.client.get(path).status_code == 200


def test_a_token_in_the_query_becomes_an_http_only_strict_cookie(server: h.RunningServer) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as browser:
        assert browser.get("/ui/compiles?token=wrong").status_code == 401
        moved = browser.get(f"/ui/compiles?token={h.TOKEN}&x=1")
        assert moved.status_code == 303 and moved.headers["Location"] == "/ui/compiles?x=1"
        cookie = moved.headers["Set-Cookie"]
        for part in ("converge_session=", "HttpOnly", "SameSite=Strict", "Path=/ui/"):
            assert part in cookie
        assert h.TOKEN not in cookie  # a session, never the token
        assert "Secure" not in cookie  # plain http on loopback
        page = browser.get("/ui/compiles")  # the client now sends the cookie
        assert page.status_code == 200 and "<h1>Compiles</h1>" in page.text
        assert browser.get("/api/v1/clusters").status_code == 401  # the cookie is console-only


def test_ui_without_its_slash_redirects_and_keeps_the_token(server: h.RunningServer) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as browser:
        moved = browser.get(f"/ui?token={h.TOKEN}")
        assert moved.status_code == 308 and moved.headers["Location"] == f"/ui/?token={h.TOKEN}"
        assert browser.get("/ui", follow_redirects=True).status_code == 401  # no token: no page
        landed = browser.get(f"/ui?token={h.TOKEN}", follow_redirects=True)
        assert landed.status_code == 200 and str(landed.url) == f"{server.url}/ui/"


def test_pages_show_the_real_state(server: h.RunningServer) -> None:
    report = {"clusterId": "eu-west-1", "target": "prometheus", "result": "failure",
              "commit": server.client.get("/api/v1/config/sync").json()["commit"],
              "hash": "f" * 64, "error": "reload <failed>", "converged": False}
    assert server.client.post("/api/v1/config/sync/status", json=report).status_code == 200
    fleet = server.client.get("/ui/")
    assert fleet.headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in fleet.headers["Content-Security-Policy"]
    assert "eu-west-1" in fleet.text and "not converged" in fleet.text
    assert "reload &lt;failed&gt;" in fleet.text and "ffffffffffff" in fleet.text
    compiles = server.client.get("/ui/compiles").text
    assert "success" in compiles and report["commit"][:12] in compiles
    for path in PAGES[:3]:
        assert local_links(server.client.get(path).text) == []


def test_daemons_page_fetches_each_status_and_says_which_are_down(
        server: h.RunningServer, fake_daemon: str) -> None:
    page = server.client.get("/ui/daemons").text
    live, down = page.split('id="daemon-down"')
    assert fake_daemon in live and "unavailable" not in live
    assert "dead letters" in live and "550 no such user" in live
    assert "unavailable: ConnectError" in down


def test_fleet_and_daemons_refresh_themselves_without_a_script(server: h.RunningServer) -> None:
    for path in ("/ui/", "/ui/daemons"):
        page = server.client.get(path).text
        assert '<meta http-equiv="refresh" content="15">' in page and "<script" not in page
    assert 'http-equiv="refresh"' not in server.client.get("/ui/compiles").text  # for reading


def test_the_stylesheet_is_served_from_the_package(server: h.RunningServer) -> None:
    css = server.client.get("/ui/console.css")
    assert css.headers["Content-Type"].startswith("text/css")
    assert "url(" not in css.text and "@import" not in css.text

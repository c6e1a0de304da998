"""Finding 10 of issue 15: the console's cookie is a session, never the API token; it is
`Secure` behind TLS (believing `X-Forwarded-Proto` only from a trusted proxy); a base64
token holding `+` signs in.

Seen on the real server: the cookie was the raw token, never `Secure` behind a
TLS-terminating proxy, and `?token=ab+cd` compared `ab cd`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import server_harness

from converge.reconciler.server import auth

PLUS_TOKEN = "q8+Zl0/Wm+3fY2bS7hA0zQ=="


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., server_harness.RunningServer]]:
    specs = server_harness.SpecsRepo(tmp_path / "specs")
    started: list[server_harness.RunningServer] = []

    def make(**changes: Any) -> server_harness.RunningServer:
        running = server_harness.RunningServer(server_harness.settings(
            tmp_path / str(len(started)), specs.root, **changes))
        started.append(running)
        return running

    try:
        yield make
    finally:
        for running in started:
            running.stop()
        specs.close()


def _sign_in(server: server_harness.RunningServer, token: str,
             headers: dict[str, str] | None = None) -> httpx.Response:
    with httpx.Client(base_url=server.url, timeout=10) as browser:
        return browser.get(f"/ui/?token={token}", headers=headers)


def test_the_cookie_is_a_session_not_the_token(
        start: Callable[..., server_harness.RunningServer]) -> None:
    server = start()
    moved = _sign_in(server, server_harness.TOKEN)
    assert moved.status_code == 303
    value = moved.cookies[auth.COOKIE]
    assert server_harness.TOKEN not in value and server_harness.TOKEN not in moved.headers[
        "Set-Cookie"]
    assert "Max-Age" in moved.headers["Set-Cookie"]
    with httpx.Client(base_url=server.url, timeout=10, cookies={auth.COOKIE: value}) as browser:
        assert browser.get("/ui/").status_code == 200
        assert browser.get("/api/v1/clusters").status_code == 401  # console only
    stale = auth.session_cookie(server_harness.TOKEN, now=0.0)  # expired long ago
    forged = value.split(".")[0] + "." + "0" * 64
    for cookie in (stale, forged, server_harness.TOKEN):
        answer = server.anonymous.get("/ui/", headers={"Cookie": f"{auth.COOKIE}={cookie}"})
        assert answer.status_code == 401


def test_a_base64_token_with_plus_signs_in(
        start: Callable[..., server_harness.RunningServer]) -> None:
    server = start(tokens=(PLUS_TOKEN,))
    moved = _sign_in(server, PLUS_TOKEN)  # typed as is: `+` unescaped
    assert moved.status_code == 303, moved.text
    assert _sign_in(server, PLUS_TOKEN.replace("+", "%2B")).status_code == 303
    assert _sign_in(server, PLUS_TOKEN.replace("+", " ")).status_code == 401
    with httpx.Client(base_url=server.url, timeout=10) as browser:
        moved = browser.get(f"/ui?token={PLUS_TOKEN}")
        assert moved.status_code == 308 and moved.headers["Location"] == f"/ui/?token={PLUS_TOKEN}"


@pytest.mark.parametrize("changes, headers, secure", [
    pytest.param({}, {}, False, id="plain-http"),
    pytest.param({}, {"X-Forwarded-Proto": "https"}, False, id="untrusted-forwarded-proto"),
    pytest.param({"trusted_proxies": ("127.0.0.1",)}, {"X-Forwarded-Proto": "https"}, True,
                 id="trusted-proxy-https"),
    pytest.param({"trusted_proxies": ("127.0.0.1",)}, {"X-Forwarded-Proto": "http"}, False,
                 id="trusted-proxy-http"),
    pytest.param({"trusted_proxies": ("10.0.0.1",)}, {"X-Forwarded-Proto": "https"}, False,
                 id="another-proxy"),
    pytest.param({"cookie_secure": True}, {}, True, id="cookie-secure"),
])
def test_the_cookie_is_secure_behind_tls(start: Callable[..., server_harness.RunningServer],
                                         changes: dict[str, Any], headers: dict[str, str],
                                         secure: bool) -> None:
    server = start(**changes)
    cookie = _sign_in(server, server_harness.TOKEN, headers).headers["Set-Cookie"]
    assert ("Secure" in cookie) is secure

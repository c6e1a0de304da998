"""Finding 2 of issue 15: a vendor credential in a URL never reaches `/status`, the
console or the logs, and redirects from vendor APIs are not followed.

The leak was seen on a real notifier: DingTalk answered with redirects, aiohttp followed
them until it gave up, and its error text (the full URL, `access_token` and `sign`
included) became the channel's `lastError` in the unauthenticated `/status`, the
console's daemons page and every retry's log line.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from pathlib import Path

import httpx
import notifierkit
import pytest
from aiohttp import web

from converge.reconciler.core import logs, redact
from converge.reconciler.core.backoff import BackoffPolicy
from converge.reconciler.notifier.daemon import Settings
from converge.reconciler.server.console import daemons

TOKEN = "SECRET-dingtalk-token-4711"
SIGN_SECRET = "SECRET-sign-0815"


@pytest.mark.parametrize("given, hidden", [
    pytest.param("ClientResponseError: 302, message='Found', url='https://oapi.dingtalk.com/"
                 f"robot/send?access_token={TOKEN}&timestamp=1&sign=abc%3D'",
                 [TOKEN, "abc%3D"], id="dingtalk-query"),
    pytest.param(f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={TOKEN}&debug=1",
                 [TOKEN], id="wecom-key"),
    pytest.param(f"https://open.feishu.cn/open-apis/bot/v2/hook/{TOKEN} refused", [TOKEN],
                 id="feishu-path"),
    pytest.param(f"https://hooks.slack.com/services/T0001/B0002/{TOKEN}", [TOKEN, "B0002"],
                 id="slack-path"),
    pytest.param(f"fetch https://oauth2:{TOKEN}@github.com/acme/specs.git failed", [TOKEN],
                 id="userinfo"),
    pytest.param(f"http://x/?token={TOKEN}&secret={TOKEN}x&password=p{TOKEN}", [TOKEN],
                 id="generic-params"),
])
def test_redaction_removes_every_credential_and_keeps_the_rest(given: str,
                                                               hidden: list[str]) -> None:
    shown = redact.text(given)
    for secret in hidden:
        assert secret not in shown
    assert "***" in shown
    assert shown.split("//")[0] == given.split("//")[0]  # the text around the URL stays


def test_harmless_text_and_parameters_are_untouched() -> None:
    text = "GET https://example.com/api?page=2&limit=10 answered 500"
    assert redact.text(text) == text


@pytest.mark.parametrize("json_lines", [True, False], ids=["json", "text"])
def test_the_log_formatter_redacts_messages_fields_and_tracebacks(json_lines: bool) -> None:
    stream = io.StringIO()
    logs.configure(daemon="test", stream=stream, json_lines=json_lines)
    url = f"https://oapi.dingtalk.com/robot/send?access_token={TOKEN}"
    try:
        raise RuntimeError(f"while posting to {url}")
    except RuntimeError:
        logging.getLogger("converge.test").exception(
            "failed: %s", url, extra={"error": url, "urls": [url]})
    finally:
        logging.getLogger().handlers.clear()
    out = stream.getvalue()
    assert TOKEN not in out
    assert "access_token=***" in out


class RedirectingDingTalk:
    """A DingTalk robot that answers every send with a redirect to itself, like the one
    observed (a captive proxy in front of oapi.dingtalk.com)."""

    def __init__(self) -> None:
        self.requests = 0
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        async def send(request: web.Request) -> web.Response:
            self.requests += 1
            await request.read()
            raise web.HTTPFound(str(request.rel_url))  # same path, same query

        app = web.Application()
        app.router.add_post("/robot/send", send)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def test_a_redirecting_vendor_leaks_no_token_to_status_console_or_logs(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        vendor = RedirectingDingTalk()
        url = await vendor.start()
        spec = {"type": "dingtalk", "accessToken": {"env": "DT"}, "secret": {"env": "DTS"}}
        bundle = notifierkit.write_bundle(tmp_path / "bundle", {"dt": spec})
        settings = Settings(bundle=str(bundle), db=tmp_path / "outbox.db",
                            listen=("127.0.0.1", 0), base_urls={"dingtalk": url},
                            backoff=BackoffPolicy(initial=0.05, factor=2.0, cap=0.2,
                                                  jitter=0.0),
                            tokens=("api-token",))
        try:
            async with notifierkit.running(settings, environ={"DT": TOKEN, "DTS": SIGN_SECRET}
                                           ) as (daemon, base):
                async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                    answer = await client.post("/hooks/alertmanager/dt",
                                               json=notifierkit.payload())
                    assert answer.status_code == 200, answer.text
                    status = ""
                    for _ in range(200):  # until /status shows the channel's error
                        status = (await client.get("/status")).text
                        if json.loads(status)["facts"]["channels"]["dt"]["lastError"]:
                            break
                        await asyncio.sleep(0.05)
                    letters = (await client.get("/api/v1/dead-letters", headers={
                        "Authorization": "Bearer api-token"})).text
                    fetched = await daemons.fetch(client, "notifier", base)
            assert vendor.requests == 1, "a redirect from a vendor API must not be followed"
            for shown in (status, letters, json.dumps(fetched.payload)):
                assert TOKEN not in shown
                assert SIGN_SECRET not in shown
            assert "HTTP 302" in status and "HTTP 302" in letters
            logged = "\n".join(r.getMessage() + json.dumps(r.__dict__, default=str)
                               for r in caplog.records)
            assert TOKEN not in logged
        finally:
            await vendor.close()

    with caplog.at_level(logging.INFO):
        asyncio.run(scenario())

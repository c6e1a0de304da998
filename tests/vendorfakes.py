"""Local HTTP servers that behave like DingTalk, WeCom, Feishu, Slack and a plain webhook.

Each checks what the real service checks (access token or key, DingTalk's and Feishu's
signatures, converge's webhook signature, size limits) and answers the way the vendor
does: HTTP 200 with an error code for nearly every failure, its rate-limit code past 20
messages a minute, and whatever a test scripts (`script(...)`: a status and body for the
next requests, or a delay). Everything accepted is recorded in `received[vendor]`.

Import it as ``import vendorfakes`` (``tests/`` is on ``sys.path``).
"""

from __future__ import annotations

import asyncio
import base64
import collections
import hashlib
import hmac
import json
import time
from typing import Any

from aiohttp import web

DINGTALK_TOKEN = "dt-token"
WECOM_KEY = "wc-key"
FEISHU_HOOK = "fs-hook"


class Scripted:
    """A canned answer for the next request to a vendor."""

    def __init__(self, status: int = 200, body: Any = None, *, delay: float = 0.0) -> None:
        self.status = status
        self.body = body
        self.delay = delay


class FakeVendors:
    """One aiohttp server for all the vendors (see the module docstring)."""

    def __init__(self, *, dingtalk_secret: str | None = None, feishu_secret: str | None = None,
                 webhook_secret: str | None = None, per_minute: int = 20) -> None:
        self.dingtalk_secret = dingtalk_secret
        self.feishu_secret = feishu_secret
        self.webhook_secret = webhook_secret
        self.per_minute = per_minute
        self.received: dict[str, list[Any]] = collections.defaultdict(list)
        self.attempts: dict[str, int] = collections.defaultdict(int)
        self.scripts: dict[str, list[Scripted]] = collections.defaultdict(list)
        self.sent_times: dict[str, list[float]] = collections.defaultdict(list)
        self._runner: web.AppRunner | None = None
        self.url = ""

    def script(self, vendor: str, *answers: Scripted) -> None:
        self.scripts[vendor].extend(answers)

    async def start(self) -> str:
        app = web.Application(client_max_size=1024**2 * 4)
        app.router.add_post("/robot/send", self._dingtalk)
        app.router.add_post("/cgi-bin/webhook/send", self._wecom)
        app.router.add_post("/open-apis/bot/v2/hook/{hook}", self._feishu)
        app.router.add_post("/slack/{path}", self._slack)
        app.router.add_post("/webhook/{name}", self._webhook)
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

    async def _scripted(self, vendor: str, request: web.Request) -> web.Response | None:
        self.attempts[vendor] += 1
        if not self.scripts[vendor]:
            return None
        answer = self.scripts[vendor].pop(0)
        if answer.delay:
            await request.read()
            await asyncio.sleep(answer.delay)
        if answer.body is None:
            return web.Response(status=504, text="too slow")  # the client is gone by now
        if isinstance(answer.body, str):
            return web.Response(status=answer.status, text=answer.body)
        return web.json_response(answer.body, status=answer.status)

    def _too_fast(self, vendor: str) -> bool:
        now = time.monotonic()
        recent = [t for t in self.sent_times[vendor] if now - t < 60]
        self.sent_times[vendor] = recent
        if len(recent) >= self.per_minute:
            return True
        recent.append(now)
        return False

    async def _dingtalk(self, request: web.Request) -> web.Response:
        scripted = await self._scripted("dingtalk", request)
        if scripted is not None:
            return scripted
        raw = await request.read()
        query = request.query
        if query.get("access_token") != DINGTALK_TOKEN:
            return web.json_response({"errcode": 300001, "errmsg": "token is not exist"})
        if self.dingtalk_secret is not None:
            timestamp = query.get("timestamp", "0")
            message = f"{timestamp}\n{self.dingtalk_secret}".encode()
            expected = base64.b64encode(hmac.new(self.dingtalk_secret.encode(), message,
                                                 hashlib.sha256).digest()).decode()
            if abs(time.time() * 1000 - int(timestamp)) > 3600_000 or not hmac.compare_digest(
                    query.get("sign", ""), expected):
                return web.json_response({"errcode": 310000, "errmsg": "sign not match"})
        if len(raw) > 20_000:
            return web.json_response({"errcode": 460101, "errmsg": "message too long"})
        if self._too_fast("dingtalk"):
            return web.json_response({"errcode": 130101, "errmsg": "send too fast"})
        self.received["dingtalk"].append(json.loads(raw))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _wecom(self, request: web.Request) -> web.Response:
        scripted = await self._scripted("wecom", request)
        if scripted is not None:
            return scripted
        body = json.loads(await request.read())
        if request.query.get("key") != WECOM_KEY:
            return web.json_response({"errcode": 93000, "errmsg": "invalid webhook url"})
        kind = body.get("msgtype")
        content = body.get(kind, {}).get("content", "")
        if len(content.encode()) > {"markdown": 4096, "text": 2048}.get(kind, 0):
            return web.json_response({"errcode": 40058, "errmsg": "content exceed max length"})
        if self._too_fast("wecom"):
            return web.json_response({"errcode": 45009, "errmsg": "api freq out of limit"})
        self.received["wecom"].append(body)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _feishu(self, request: web.Request) -> web.Response:
        scripted = await self._scripted("feishu", request)
        if scripted is not None:
            return scripted
        body = json.loads(await request.read())
        if request.match_info["hook"] != FEISHU_HOOK:
            return web.json_response({"code": 19001, "msg": "param invalid: incoming webhook "
                                      "access token invalid"})
        if self.feishu_secret is not None:
            key = f"{body.get('timestamp')}\n{self.feishu_secret}".encode()
            expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
            if not hmac.compare_digest(str(body.get("sign", "")), expected):
                return web.json_response({"code": 19021, "msg": "sign match fail"})
        self.received["feishu"].append(body)
        return web.json_response({"code": 0, "msg": "success", "data": {}})

    async def _slack(self, request: web.Request) -> web.Response:
        scripted = await self._scripted("slack", request)
        if scripted is not None:
            return scripted
        body = json.loads(await request.read())
        if not body.get("text"):
            return web.Response(status=400, text="invalid_payload")
        self.received["slack"].append(body)
        return web.Response(text="ok")

    async def _webhook(self, request: web.Request) -> web.Response:
        scripted = await self._scripted("webhook", request)
        if scripted is not None:
            return scripted
        raw = await request.read()
        if self.webhook_secret is not None:
            timestamp = request.headers.get("X-Converge-Timestamp", "")
            message = f"{timestamp}.".encode() + raw
            expected = "sha256=" + hmac.new(self.webhook_secret.encode(), message,
                                            hashlib.sha256).hexdigest()
            if not hmac.compare_digest(request.headers.get("X-Converge-Signature", ""),
                                       expected):
                return web.Response(status=401, text="bad signature")
        self.received["webhook"].append({"name": request.match_info["name"],
                                         "body": json.loads(raw),
                                         "authorization": request.headers.get("Authorization")})
        return web.Response(status=204)

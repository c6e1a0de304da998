"""Each vendor's message shape and size limits, from a rendered message (pure)."""

from __future__ import annotations

import json
from typing import Any

import notifierkit
import pytest

from converge.reconciler.notifier import messages
from converge.reconciler.notifier.channels import Channel, parse
from converge.reconciler.notifier.vendors import dingtalk, feishu, slack, smtp, webhook, wecom
from converge.reconciler.notifier.vendors.base import Message, dumps


def _channel(spec: dict[str, Any], env: dict[str, str] | None = None) -> Channel:
    entry = notifierkit.channel_entry("c", spec)
    data = json.dumps({"schemaVersion": "converge/reconciler/v1", "channels": [entry]}).encode()
    return parse(data, env=(env or {}).get, file=lambda path: None)["c"]


BIG = Message(title="[FIRING:300] 磁盘告警", body="\n".join(
    f"- **主机 host-{i}** 磁盘使用率 97% 🔥 \"quoted\" \\ path" for i in range(900)),
    status="firing")


def test_dingtalk_markdown_splits_under_20000_bytes_with_mentions_in_each_part() -> None:
    channel = _channel({"type": "dingtalk", "accessToken": {"env": "T"},
                        "atMobiles": ["13800138000"], "isAtAll": False})
    parts = dingtalk.parts(channel, BIG)
    assert len(parts) > 1
    for number, part in enumerate(parts, start=1):
        assert len(dumps(part)) <= 20_000
        assert part["msgtype"] == "markdown"
        assert part["markdown"]["text"].startswith(f"({number}/{len(parts)}) ")
        assert part["markdown"]["text"].endswith(" @13800138000")
        assert part["at"] == {"atMobiles": ["13800138000"], "atUserIds": [], "isAtAll": False}
    joined = "".join(p["markdown"]["text"].split(") ", 1)[1].removesuffix(" @13800138000")
                     for p in parts)
    assert joined == BIG.body


@pytest.mark.parametrize("msg_type, limit", [("markdown", 4096), ("text", 2048)])
def test_wecom_parts_respect_the_content_limits(msg_type: str, limit: int) -> None:
    channel = _channel({"type": "wecom", "key": {"env": "K"}, "msgType": msg_type,
                        "mentionedList": ["zhangsan"], "mentionedMobileList": ["138"]})
    parts = wecom.parts(channel, BIG)
    assert len(parts) > 1
    for part in parts:
        assert len(part[part["msgtype"]]["content"].encode()) <= limit
    if msg_type == "text":
        assert parts[0]["text"]["mentioned_list"] == ["zhangsan"]
        assert parts[0]["text"]["mentioned_mobile_list"] == ["138"]
    else:
        assert parts[0]["markdown"]["content"].endswith("<@zhangsan>")
        # markdown drops phone mentions: one text message carries them
        assert [p["msgtype"] for p in parts[-2:]] == ["markdown", "text"]
        assert parts[-1]["text"]["mentioned_mobile_list"] == ["138"]


def test_a_message_beyond_ten_parts_is_truncated_with_a_marker() -> None:
    channel = _channel({"type": "wecom", "key": {"env": "K"}, "msgType": "text"})
    huge = Message(title="t", body="告" * 20_000, status="firing")
    parts = wecom.parts(channel, huge)
    assert len(parts) == 10
    assert parts[-1]["text"]["content"].endswith("…(truncated)")


@pytest.mark.parametrize("msg_type", ["interactive", "post", "text"])
def test_feishu_shapes(msg_type: str) -> None:
    channel = _channel({"type": "feishu", "hook": {"env": "H"}, "msgType": msg_type})
    part = feishu.parts(channel, Message(title="T", body="a\nb", status="resolved"))[0]
    assert part["msg_type"] == msg_type
    if msg_type == "interactive":
        assert part["card"]["header"]["template"] == "green"
        assert part["card"]["elements"][0]["text"]["content"] == "a\nb"
    if msg_type == "post":
        assert part["content"]["post"]["zh_cn"]["content"] == [[{"tag": "text", "text": "a"}],
                                                               [{"tag": "text", "text": "b"}]]


def test_feishu_signature_goes_in_the_body() -> None:
    channel = _channel({"type": "feishu", "hook": {"env": "H"}, "secret": {"env": "S"}},
                       {"H": "hook/../x", "S": "sec"})
    request = feishu.request(channel, {"msg_type": "text"}, 1700.9)
    body = json.loads(request.body)
    assert body["timestamp"] == "1700" and body["sign"]
    assert request.url.endswith("/open-apis/bot/v2/hook/hook%2F..%2Fx")


def test_slack_carries_channel_username_and_icon() -> None:
    channel = _channel({"type": "slack", "apiUrl": {"env": "U"}, "channel": "#ops",
                        "username": "converge", "iconEmoji": ":bell:"}, {"U": "http://s/x"})
    part = slack.parts(channel, Message(title="T", body="b", status="firing"))[0]
    assert part == {"text": "*T*\nb", "channel": "#ops", "username": "converge",
                    "icon_emoji": ":bell:"}
    assert slack.request(channel, part, 0).url == "http://s/x"


def test_webhook_forwards_alertmanager_payloads_and_wraps_events() -> None:
    channel = _channel({"type": "webhook", "url": "http://hook/x",
                        "bearerToken": {"env": "B"}}, {"B": "tok"})
    payload = notifierkit.payload()
    alert = messages.render(channel, "alertmanager", payload)
    assert webhook.parts(channel, alert) == [payload]
    event = messages.render(channel, "event", {"level": "error", "source": "healer",
                                               "title": "down", "text": "x", "labels": {}})
    part = webhook.parts(channel, event)[0]
    assert part["version"] == "converge/event/v1" and part["event"]["source"] == "healer"
    assert webhook.request(channel, part, 0).headers["Authorization"] == "Bearer tok"


def test_email_request() -> None:
    channel = _channel({"type": "email", "to": ["a@example.com", "b@example.com"],
                        "from": "n@example.com", "smarthost": "smtp.example.com:465",
                        "authUsername": "n", "authPassword": {"env": "P"},
                        "headers": {"Reply-To": "ops@example.com",
                                    "Subject": "{{ .Status }}"}}, {"P": "pw"})
    part = smtp.parts(channel, Message(title="T\nline", body="body", status="firing"))[0]
    request = smtp.request(channel, part, 1_700_000_000)
    assert (request.host, request.port, request.security) == ("smtp.example.com", 465, "tls")
    assert request.message["Subject"] == "T line"
    assert request.message["To"] == "a@example.com, b@example.com"
    assert request.message["Reply-To"] == "ops@example.com"
    assert (request.username, request.password) == ("n", "pw")


def test_a_failing_user_template_is_a_render_error() -> None:
    channel = _channel({"type": "wecom", "key": {"env": "K"},
                        "template": {"body": "{{ alerts | sum }}"}})
    with pytest.raises(messages.RenderError, match="TypeError"):
        messages.render(channel, "alertmanager", notifierkit.payload())


def test_the_sandbox_refuses_python_internals() -> None:
    reaching = _channel({"type": "wecom", "key": {"env": "K"},
                         "template": {"body": "[{{ ''.__class__ }}]"}})
    assert messages.render(reaching, "alertmanager", notifierkit.payload()).body == "[]"
    calling = _channel({"type": "wecom", "key": {"env": "K"}, "template": {
        "body": "{{ ''.__class__.__mro__[1].__subclasses__() }}"}})
    with pytest.raises(messages.RenderError, match="unsafe"):
        messages.render(calling, "alertmanager", notifierkit.payload())
    mutating = _channel({"type": "wecom", "key": {"env": "K"},
                         "template": {"body": "{{ alerts.append(1) }}"}})
    with pytest.raises(messages.RenderError, match="SecurityError"):
        messages.render(mutating, "alertmanager", notifierkit.payload())


ONCALL = {"label": "oncall", "people": {"alice": {"mobile": "13900000001"},
                                        "bob": {"userId": "bob01"}}}


def _alert_message(status: str, oncall: str) -> Message:
    alert = {"status": status, "labels": {"alertname": "X", "oncall": oncall}}
    return Message("t", "b", status, source={"alerts": [alert]})


@pytest.mark.parametrize(("status", "oncall", "mobiles", "users"), [
    pytest.param("firing", "alice,bob", ["138", "13900000001"], ["bob01"], id="from-label"),
    pytest.param("firing", "carol", ["138"], [], id="unknown-name-ignored"),
    pytest.param("resolved", "alice", [], [], id="resolved-mentions-nobody"),
])
def test_dingtalk_mentions_come_from_the_alert(status: str, oncall: str,
                                               mobiles: list[str], users: list[str]) -> None:
    channel = _channel({"type": "dingtalk", "accessToken": {"env": "K"},
                        "atMobiles": ["138"], "mentionsFrom": ONCALL})
    (part,) = dingtalk.parts(channel, _alert_message(status, oncall))
    assert part["at"] == {"atMobiles": mobiles, "atUserIds": users, "isAtAll": False}
    assert part["markdown"]["text"].endswith("".join(f" @{n}" for n in mobiles + users) or "b")


def test_wecom_markdown_resolved_sends_no_mention_text() -> None:
    channel = _channel({"type": "wecom", "key": {"env": "K"},
                        "mentionedList": ["@all"], "mentionsFrom": ONCALL})
    firing = wecom.parts(channel, _alert_message("firing", "alice"))
    assert [p["msgtype"] for p in firing] == ["markdown", "text"]
    assert firing[1]["text"]["mentioned_list"] == ["@all"]
    assert firing[1]["text"]["mentioned_mobile_list"] == ["13900000001"]
    resolved = wecom.parts(channel, _alert_message("resolved", "alice"))
    assert [p["msgtype"] for p in resolved] == ["markdown"]

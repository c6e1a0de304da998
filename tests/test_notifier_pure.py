"""The notifier's pure parts: splitting, signing, token bucket, dedup, intake, routing,
outcome classification and the retry policy. No I/O."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from converge.compiler import messagetemplates
from converge.reconciler.core.backoff import BackoffPolicy
from converge.reconciler.notifier import intake, policy, signing, splitting
from converge.reconciler.notifier.channels import ChannelsError, parse
from converge.reconciler.notifier.ratelimit import TokenBucket
from converge.reconciler.notifier.vendors import dingtalk, feishu, slack, smtp, webhook, wecom
from converge.reconciler.notifier.vendors.base import HttpAnswer, MailAnswer, Outcome

# -- splitting ------------------------------------------------------------------------------

TEXTS = st.text(alphabet=st.characters(codec="utf-8"), max_size=3000)
LIMITS = st.integers(min_value=4, max_value=600)


@given(text=TEXTS, limit=LIMITS)
def test_split_parts_fit_and_join_back(text: str, limit: int) -> None:
    parts = splitting.split(text, limit)
    assert all(splitting.utf8_size(part) <= limit for part in parts)
    assert "".join(parts) == text
    assert all(part.encode("utf-8").decode("utf-8") == part for part in parts)
    assert all(parts) or parts == [""]


@given(text=TEXTS, limit=st.integers(min_value=20, max_value=600))
def test_split_measured_as_json_fits_inside_a_json_string(text: str, limit: int) -> None:
    parts = splitting.split(text, limit, size=splitting.json_size)
    assert all(len(json.dumps(p, ensure_ascii=False).encode()) - 2 <= limit for p in parts)
    assert "".join(parts) == text


@given(text=TEXTS, limit=st.integers(min_value=20, max_value=400),
       max_parts=st.integers(min_value=1, max_value=5))
def test_split_with_max_parts_truncates_the_last_with_a_marker(text: str, limit: int,
                                                               max_parts: int) -> None:
    parts = splitting.split(text, limit, max_parts=max_parts)
    assert len(parts) <= max_parts
    assert all(splitting.utf8_size(part) <= limit for part in parts)
    joined = "".join(parts)
    if joined != text:
        assert parts[-1].endswith(splitting.MARKER)
        assert text.startswith(joined[: -len(splitting.MARKER)])


def test_split_never_cuts_inside_a_multibyte_character() -> None:
    text = "告警" * 100  # 3 bytes each
    parts = splitting.split(text, 10)
    assert [splitting.utf8_size(p) for p in parts[:3]] == [9, 9, 9]
    assert "".join(parts) == text


def test_split_prefers_line_breaks() -> None:
    text = "first line\nsecond line\nthird line"
    assert splitting.split(text, 24) == ["first line\nsecond line\n", "third line"]


@given(text=TEXTS, limit=st.integers(min_value=16, max_value=200))
def test_truncate_fits_and_keeps_the_head(text: str, limit: int) -> None:
    cut = splitting.truncate(text, limit)
    assert splitting.utf8_size(cut) <= limit
    if cut != text:
        assert cut.endswith(splitting.MARKER)
        assert text.startswith(cut[: -len(splitting.MARKER)])


def test_split_refuses_a_limit_below_one_character() -> None:
    with pytest.raises(ValueError):
        splitting.split("告", 2)


# -- signing --------------------------------------------------------------------------------

def test_dingtalk_signature_is_the_documented_one() -> None:
    secret, timestamp = "SEC000", 1_700_000_000_000
    expected = base64.b64encode(hmac.new(b"SEC000", b"1700000000000\nSEC000",
                                         hashlib.sha256).digest()).decode()
    assert signing.dingtalk(secret, timestamp) == expected


def test_feishu_signature_is_the_documented_one() -> None:
    key = b"1700000000\nsecret"
    expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert signing.feishu("secret", 1_700_000_000) == expected


def test_webhook_signature_round_trips() -> None:
    header = signing.webhook("k", 1700, b'{"a":1}')
    assert header.startswith("sha256=")
    assert signing.webhook_valid("k", timestamp="1700", body=b'{"a":1}', signature=header)
    assert not signing.webhook_valid("k", timestamp="1701", body=b'{"a":1}', signature=header)
    assert not signing.webhook_valid("k", timestamp="x", body=b"", signature=header)


# -- token bucket ---------------------------------------------------------------------------

def test_token_bucket_bursts_then_spaces_messages() -> None:
    bucket = TokenBucket.per(20, 60.0, now=0.0)
    waits = [bucket.reserve(0.0) for _ in range(22)]
    assert waits[:20] == [0.0] * 20
    assert waits[20] == pytest.approx(3.0)
    assert waits[21] == pytest.approx(6.0)


def test_token_bucket_refills_over_time_and_caps() -> None:
    bucket = TokenBucket(capacity=2, rate=1.0, now=0.0)
    bucket.reserve(0.0)
    bucket.reserve(0.0)
    assert bucket.available(1.5) == pytest.approx(1.5)
    assert bucket.available(100.0) == 2
    bucket.drain(100.0)
    assert bucket.reserve(100.0) == pytest.approx(1.0)


def test_token_bucket_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        TokenBucket(capacity=0, rate=1.0, now=0.0)


# -- intake, dedup and routing --------------------------------------------------------------

def _payload(**changes: Any) -> dict[str, Any]:
    alert = {"status": "firing", "labels": {"alertname": "A"}, "annotations": {},
             "startsAt": "2024-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
             "fingerprint": "f1"}
    return {"version": "4", "status": "firing", "groupKey": "g", "alerts": [alert], **changes}


@pytest.mark.parametrize("body, message", [
    pytest.param([], "not a JSON object", id="not-object"),
    pytest.param(_payload(version="3"), "version", id="old-version"),
    pytest.param(_payload(status="odd"), "status", id="bad-status"),
    pytest.param(_payload(alerts={}), "alerts", id="alerts-not-list"),
    pytest.param(_payload(commonLabels={"a": 1}), "commonLabels", id="label-not-string"),
])
def test_bad_alertmanager_payloads_are_refused(body: Any, message: str) -> None:
    with pytest.raises(intake.IntakeError, match=message):
        intake.alertmanager_payload(body)


@pytest.mark.parametrize("body, message", [
    pytest.param({"source": "healer"}, "title", id="no-title"),
    pytest.param({"title": "t", "source": "s", "level": "fatal"}, "level", id="bad-level"),
    pytest.param({"title": "t", "source": "s", "color": "red"}, "unknown", id="unknown-field"),
    pytest.param({"title": "t", "source": "s", "channels": "a"}, "channels", id="channels"),
])
def test_bad_events_are_refused(body: Any, message: str) -> None:
    with pytest.raises(intake.IntakeError, match=message):
        intake.event(body)


def test_dedup_key_ignores_ends_at_but_not_status_or_channel() -> None:
    first = _payload()
    resent = _payload()
    resent["alerts"][0]["endsAt"] = "2024-01-01T00:05:00Z"
    resolved = _payload(status="resolved")
    key = intake.dedup_key("c", "alertmanager", first)
    assert key == intake.dedup_key("c", "alertmanager", resent)
    assert key != intake.dedup_key("c", "alertmanager", resolved)
    assert key != intake.dedup_key("d", "alertmanager", first)


@pytest.mark.parametrize(("kind", "body", "line"), [
    pytest.param("alertmanager", _payload(commonLabels={"alertname": "A"},
                                          groupLabels={"alertname": "g"}),
                 "[FIRING] A (1 alert)", id="common-alertname-wins"),
    pytest.param("alertmanager", _payload(status="resolved", alerts=[{}, {}],
                                          groupLabels={"team": "db", "env": "prod"}),
                 "[RESOLVED] env=prod, team=db (2 alerts)", id="group-labels"),
    pytest.param("alertmanager", _payload(alerts=[]), "[FIRING] alerts (0 alerts)",
                 id="nothing-to-name"),
    pytest.param("event", intake.event({"title": "restart limit", "source": "healer"}),
                 "[ERROR] restart limit (healer)", id="event"),
    pytest.param("event", intake.event({"title": "back", "source": "healer", "level": "info",
                                        "status": "resolved"}),
                 "[INFO resolved] back (healer)", id="resolved-event"),
])
def test_a_stored_message_summarises_in_one_line(kind: str, body: dict[str, Any],
                                                 line: str) -> None:
    assert intake.summary(kind, body) == line


def test_dedup_key_of_events_ignores_time() -> None:
    event = intake.event({"title": "t", "source": "healer", "time": "1"})
    later = intake.event({"title": "t", "source": "healer", "time": "2"})
    assert intake.dedup_key("c", "event", event) == intake.dedup_key("c", "event", later)


ROUTES: dict[str, dict[str, Any] | None] = {
    "ops": {"minLevel": "error"},
    "db": {"minLevel": "warning", "labels": {"team": "db"}},
    "scaler-log": {"minLevel": "info", "sources": ["scaler"]},
    "quiet": None,
}


@pytest.mark.parametrize("event, expected", [
    pytest.param({"level": "critical", "source": "healer"}, ["ops"], id="critical-to-ops"),
    pytest.param({"level": "warning", "source": "healer"}, [], id="warning-nowhere"),
    pytest.param({"level": "warning", "source": "healer", "labels": {"team": "db"}}, ["db"],
                 id="labels-match"),
    pytest.param({"level": "info", "source": "scaler"}, ["scaler-log"], id="source-match"),
    pytest.param({"level": "info", "source": "healer", "channels": ["quiet"]}, ["quiet"],
                 id="named-channel"),
])
def test_events_route_by_level_source_labels_and_names(event: dict[str, Any],
                                                       expected: list[str]) -> None:
    normal = intake.event({"title": "t", **event})
    assert intake.event_channels(normal, ROUTES) == expected


# -- classification -------------------------------------------------------------------------

def _json(body: Any, status: int = 200) -> HttpAnswer:
    return HttpAnswer(status, json.dumps(body).encode())


CASES = [
    ("dingtalk-ok", dingtalk, _json({"errcode": 0, "errmsg": "ok"}), "success", False),
    ("dingtalk-200-with-errcode", dingtalk, _json({"errcode": 310000, "errmsg": "sign"}),
     "permanent", False),
    ("dingtalk-rate-limited", dingtalk, _json({"errcode": 130101}), "retry", True),
    ("dingtalk-too-long", dingtalk, _json({"errcode": 460101}), "permanent", False),
    ("dingtalk-busy", dingtalk, _json({"errcode": -1}), "retry", False),
    ("dingtalk-html-200", dingtalk, HttpAnswer(200, b"<html>"), "retry", False),
    ("wecom-ok", wecom, _json({"errcode": 0}), "success", False),
    ("wecom-rate-limited", wecom, _json({"errcode": 45009}), "retry", True),
    ("wecom-bad-key", wecom, _json({"errcode": 93000}), "permanent", False),
    ("feishu-ok", feishu, _json({"code": 0, "msg": "success"}), "success", False),
    ("feishu-legacy-ok", feishu, _json({"StatusCode": 0}), "success", False),
    ("feishu-bad-sign", feishu, _json({"code": 19021}), "permanent", False),
    ("feishu-rate-limited", feishu, _json({"code": 11232}), "retry", True),
    ("slack-ok", slack, HttpAnswer(200, b"ok"), "success", False),
    ("slack-json-ok", slack, _json({"ok": True}), "success", False),
    ("slack-json-error", slack, _json({"ok": False, "error": "invalid_auth"}), "permanent",
     False),
    ("slack-404", slack, HttpAnswer(404, b"channel_not_found"), "permanent", False),
    ("slack-429", slack, HttpAnswer(429, b"", {"Retry-After": "7"}), "retry", True),
    ("webhook-204", webhook, HttpAnswer(204), "success", False),
    ("webhook-500", webhook, HttpAnswer(503, b"down"), "retry", False),
    ("webhook-408", webhook, HttpAnswer(408), "retry", False),
    ("webhook-400", webhook, HttpAnswer(400, b"bad"), "permanent", False),
    ("webhook-refused", webhook, HttpAnswer(0, error="connection refused"), "retry", False),
    ("webhook-timeout", webhook, HttpAnswer(0, error="read", timeout=True), "retry", False),
]


@pytest.mark.parametrize("vendor, answer, result, rate_limited",
                         [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_answers_are_classified_as_the_vendor_means_them(vendor: Any, answer: HttpAnswer,
                                                         result: str, rate_limited: bool) -> None:
    outcome = vendor.classify(answer)
    assert (outcome.result, outcome.rate_limited) == (result, rate_limited)


def test_retry_after_is_honoured() -> None:
    assert slack.classify(HttpAnswer(429, b"", {"retry-after": "7"})).retry_after == 7.0


@pytest.mark.parametrize("answer, result", [
    pytest.param(MailAnswer(True), "success", id="accepted"),
    pytest.param(MailAnswer(False, None, "refused"), "retry", id="network"),
    pytest.param(MailAnswer(False, 421, "busy"), "retry", id="4xx"),
    pytest.param(MailAnswer(False, 535, "auth failed"), "permanent", id="bad-login"),
    pytest.param(MailAnswer(False, 550, "no such user"), "permanent", id="rejected"),
])
def test_smtp_answers_are_classified(answer: MailAnswer, result: str) -> None:
    assert smtp.classify(answer).result == result


# -- policy ---------------------------------------------------------------------------------

RETRY = policy.RetryPolicy(backoff=BackoffPolicy(initial=1, factor=2, cap=300, jitter=0),
                           max_age=3600)


@pytest.mark.parametrize("outcome, failures, age, expected", [
    pytest.param(Outcome("success"), 0, 0, ("next", 0.0), id="success"),
    pytest.param(Outcome("permanent", "bad key"), 1, 0, ("dead", 0.0), id="permanent"),
    pytest.param(Outcome("retry", "503"), 1, 0, ("retry", 1.0), id="first-retry"),
    pytest.param(Outcome("retry", "503"), 4, 0, ("retry", 8.0), id="doubling"),
    pytest.param(Outcome("retry", "503"), 20, 0, ("retry", 300.0), id="capped"),
    pytest.param(Outcome("retry", "slow down", 7.0, True), 1, 0, ("retry", 7.0),
                 id="retry-after-wins"),
    pytest.param(Outcome("retry", "130101", None, True), 1, 0, ("retry", 60.0),
                 id="rate-limited-waits-a-minute"),
    pytest.param(Outcome("retry", "503"), 9, 3500, ("dead", 0.0), id="gives-up-at-max-age"),
])
def test_decide(outcome: Outcome, failures: int, age: float,
                expected: tuple[str, float]) -> None:
    decision = policy.decide(outcome, failures=failures, age=age, policy=RETRY)
    assert (decision.action, decision.delay) == expected


def test_giving_up_says_why() -> None:
    decision = policy.decide(Outcome("retry", "HTTP 503"), failures=9, age=3590, policy=RETRY)
    assert decision.reason.startswith("gave up after 9 attempts") and "HTTP 503" in decision.reason


# -- channels.json --------------------------------------------------------------------------

def _document(*entries: dict[str, Any]) -> bytes:
    return json.dumps({"schemaVersion": "converge/reconciler/v1", "channels": list(entries)}
                      ).encode()


def test_channels_resolve_secrets_and_keep_the_missing_as_a_problem() -> None:
    data = _document(
        {"name": "dt", "type": "dingtalk", "deliveredBy": "notifier",
         "spec": {"accessToken": {"env": "TOKEN"}, "secret": {"file": "/s"}}},
        {"name": "pd", "type": "pagerduty", "spec": {}})
    found = parse(data, env={"TOKEN": "t"}.get, file=lambda path: None)
    assert list(found) == ["dt"]  # pagerduty is Alertmanager's alone
    channel = found["dt"]
    assert channel.secrets == {"accessToken": "t"}
    assert channel.problem == "missing secrets: secret (file /s)"
    assert channel.base_url == "https://oapi.dingtalk.com"


def test_base_url_overrides_win_over_the_spec() -> None:
    data = _document({"name": "w", "type": "wecom", "deliveredBy": "notifier",
                      "spec": {"key": {"env": "K"}, "baseUrl": "http://proxy/"}})
    assert parse(data, env={"K": "k"}.get, file=lambda p: None)["w"].base_url == "http://proxy"
    found = parse(data, env={"K": "k"}.get, file=lambda p: None,
                  base_urls={"wecom": "http://other"})
    assert found["w"].base_url == "http://other"


def test_channels_document_must_be_ours() -> None:
    with pytest.raises(ChannelsError):
        parse(b'{"channels": []}', env={}.get, file=lambda p: None)


def test_dingtalk_request_is_signed_in_the_query() -> None:
    data = _document({"name": "dt", "type": "dingtalk", "deliveredBy": "notifier",
                      "spec": {"accessToken": {"env": "T"}, "secret": {"env": "S"}}})
    channel = parse(data, env={"T": "tok", "S": "sec"}.get, file=lambda p: None)["dt"]
    request = dingtalk.request(channel, {"msgtype": "text"}, 1700.0)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.url).query)
    assert query["access_token"] == ["tok"] and query["timestamp"] == ["1700000"]
    assert query["sign"] == [signing.dingtalk("sec", 1_700_000)]


def test_every_default_template_renders_every_sample() -> None:
    for kind, msg_type in [("dingtalk", "markdown"), ("dingtalk", "text"), ("wecom", "markdown"),
                           ("wecom", "text"), ("feishu", "interactive"), ("slack", None),
                           ("email", None), ("webhook", None)]:
        title, body = messagetemplates.default_template(kind, msg_type)
        for context in messagetemplates.sample_contexts("c"):
            assert messagetemplates.render(title, context)
            assert messagetemplates.render(body, context)


# -- layers ---------------------------------------------------------------------------------

PURE_MODULES = ["intake", "splitting", "signing", "ratelimit", "policy", "messages", "channels",
                "vendors/__init__", "vendors/base", "vendors/dingtalk", "vendors/wecom",
                "vendors/feishu", "vendors/slack", "vendors/webhook", "vendors/smtp"]
IO_MODULES = {"subprocess", "httpx", "aiohttp", "sqlite3", "socket", "smtplib", "asyncio"}


@pytest.mark.parametrize("module", PURE_MODULES)
def test_the_pure_parts_do_no_io(module: str) -> None:
    import ast
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "reconciler" / "notifier" / f"{module}.py"
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & IO_MODULES, f"{module} imports {imported & IO_MODULES}"

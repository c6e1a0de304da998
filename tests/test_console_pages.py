"""The console's pages as pure functions (state → page records) and their templates:
what each page shows, that values are escaped, and that nothing is loaded from elsewhere."""

from __future__ import annotations

import re
from typing import Any

import pytest

from converge.reconciler.server import console
from converge.reconciler.server.console import pages
from converge.reconciler.server.fleet import FleetRow
from converge.reconciler.server.state import Attempt

NOW = 1_700_000_000.0
HASH_A, HASH_B = "a" * 64, "b" * 64
_LINKS = re.compile(r"""\b(?:src|href|action)\s*=\s*["']?([^"'\s>]*)""", re.IGNORECASE)


def row(**changes: Any) -> FleetRow:
    values: dict[str, Any] = {
        "cluster_id": "eu-1", "target": "prometheus", "commit": "c0ffee12" * 5, "hash": HASH_A,
        "attempted_hash": None, "since": NOW - 600, "last_report_at": NOW - 42,
        "result": "success", "error": None, "converged": True, "last_error": None,
        "last_error_at": None, "instance": "prom-0"}
    values.update(changes)
    return FleetRow(**values)


def attempt(**changes: Any) -> Attempt:
    values: dict[str, Any] = {
        "id": 7, "commit": "deadbeef" * 5, "at": NOW - 3700, "duration": 0.1234,
        "result": "failure", "bundle_hash": None, "version": "0.1.0", "error": None,
        "diagnostics": [{"path": "rules/http.yaml", "line": 14, "column": 11,
                         "code": "promql/syntax", "severity": "error",
                         "message": "unclosed left parenthesis"}]}
    values.update(changes)
    return Attempt(**values)


def local_links(html: str) -> list[str]:
    """Every src/href/action that is not relative to the console (should be empty)."""
    return [link for link in _LINKS.findall(html)
            if re.match(r"^(?:[a-z][a-z0-9+.-]*:|//)", link, re.IGNORECASE)]


@pytest.mark.parametrize(("seconds", "expected"), [
    pytest.param(0, "0s ago", id="now"),
    pytest.param(59, "59s ago", id="seconds"),
    pytest.param(125, "2m 5s ago", id="minutes"),
    pytest.param(3 * 3600 + 300, "3h 5m ago", id="hours"),
    pytest.param(2 * 86400 + 7200, "2d 2h ago", id="days"),
    pytest.param(-5, "0s ago", id="clock-skew"),
])
def test_ages(seconds: int, expected: str) -> None:
    assert pages.ago(NOW - seconds, NOW).ago == expected


@pytest.mark.parametrize(("changes", "serving", "converged"), [
    pytest.param({}, {"prometheus": HASH_A}, True, id="converged-on-the-served-hash"),
    pytest.param({}, {"prometheus": HASH_B}, False, id="converged-on-an-older-hash"),
    pytest.param({"converged": False}, {"prometheus": HASH_A}, False, id="not-converged"),
    pytest.param({}, {}, False, id="nothing-served"),
])
def test_fleet_counts_rows_converged_on_what_is_served(
        changes: dict[str, Any], serving: dict[str, str], converged: bool) -> None:
    page = pages.fleet_page([row(**changes)], serving=serving, commit="c0ffee", bundle_hash=HASH_A,
                            now=NOW)
    assert (page.converged, page.total) == (int(converged), 1)
    assert page.entries[0].up_to_date is (serving.get("prometheus") == HASH_A)


def test_fleet_entry_keeps_the_last_error_and_its_age() -> None:
    entry = pages.fleet_page([row(last_error="reload failed", last_error_at=NOW - 90)],
                             serving={}, commit=None, bundle_hash=None, now=NOW).entries[0]
    assert entry.last_error == "reload failed"
    assert entry.last_error_at is not None and entry.last_error_at.ago == "1m 30s ago"
    assert entry.last_sync.ago == "42s ago"


def test_compiles_keep_diagnostics_and_format_durations() -> None:
    entry, = pages.compiles_page([attempt()], now=NOW)
    assert entry.duration == "0.123s" and entry.at.ago == "1h 1m ago"
    assert entry.diagnostics[0]["code"] == "promql/syntax"


NOTIFIER = {"daemon": "notifier", "ready": True, "conditions": [], "facts": {
    "queueDepth": 3, "deadLetters": 1, "possibleDuplicates": 0,
    "channels": {"ops-mail": {"type": "email", "state": "retrying", "queueDepth": 3,
                              "deadLetters": 1, "delivered": 12, "lastError": "550 no such user",
                              "lastDeliveredAt": NOW - 30, "nextAttemptAt": None,
                              "problem": None}},
    "outbox": [{"id": 42, "channel": "ops-mail", "kind": "alertmanager", "state": "pending",
                "attempts": 2, "failures": 2, "receivedAt": NOW - 40, "finishedAt": None,
                "nextAttemptAt": NOW + 12, "lastError": "550 no such user",
                "summary": "[FIRING] DiskFull (2 alerts)"},
               {"id": 41, "channel": "ops-mail", "kind": "event", "state": "delivered",
                "attempts": 1, "failures": 0, "receivedAt": NOW - 50, "finishedAt": NOW - 49,
                "nextAttemptAt": 0, "lastError": None,
                "summary": "[ERROR] restart limit reached (healer)"}],
    "recentDeadLetters": [{"id": 7, "channel": "ops-mail", "reason": "550 no such user",
                           "failedAt": NOW - 3600, "attempts": 9, "kind": "alertmanager",
                           "receivedAt": NOW - 7200,
                           "summary": "[RESOLVED] DiskFull (1 alert)"}]}}
HEALER = {"daemon": "healer", "ready": True, "conditions": [], "facts": {
    "engine": {"ok": True, "error": None}, "states": {"healthy": 1}, "pendingEvents": 0,
    "containers": [{"id": "abc", "name": "api-1", "service": "api", "policy": "web",
                    "phase": "restarting", "failures": 2, "totalRestarts": 5, "budgetLeft": 1,
                    "lastRestart": NOW - 10, "lastCheck": NOW, "message": "probe failed"}],
    "mtbf": {"api": 360.5},
    "failures": [{"time": NOW - 10, "container": "api-1", "service": "api",
                  "type": "health_check_failed", "action": "restart", "result": "success",
                  "message": "probe failed"}]}}
SCALER = {"daemon": "scaler", "ready": False,
          "conditions": [{"type": "Ready", "status": "False", "reason": "EngineDown",
                          "message": "no socket"}],
          "facts": {"engine": {"ok": False, "error": "no socket"}, "removing": 0,
                    "pendingEvents": 2,
                    "pools": [{"pool": "workers", "mode": "metrics", "desired": 4, "min": 1,
                               "max": 8, "containers": {"running": 3}, "values": [120.0],
                               "lastDecision": "queue 120 > 30 per replica: 3 → 4",
                               "error": None}],
                    "decisions": [{"time": NOW - 5, "pool": "workers", "previous": 3,
                                   "desired": 4, "direction": "up", "mode": "metrics",
                                   "reason": "queue 120 > 30 per replica"}]}}


@pytest.mark.parametrize(("payload", "fact", "cell"), [
    pytest.param(NOTIFIER, ("dead letters", "1"), "550 no such user", id="notifier"),
    pytest.param(HEALER, ("container engine", "reachable"), "6m 0s", id="healer-mtbf"),
    pytest.param(HEALER, ("states", "healthy=1"), "health_check_failed", id="healer-history"),
    pytest.param(SCALER, ("container engine", "unreachable: no socket"),
                 "queue 120 > 30 per replica: 3 → 4", id="scaler-decision"),
    pytest.param(SCALER, ("pending events", "2"), "queue 120 > 30 per replica",
                 id="scaler-decisions"),
    pytest.param({"daemon": "other", "facts": {"x": [1, 2]}}, ("x", "1, 2"), None,
                 id="unknown-kind"),
])
def test_daemon_views_show_the_key_facts(payload: dict[str, Any], fact: tuple[str, str],
                                         cell: str | None) -> None:
    view = pages.daemon_view("d", "http://127.0.0.1:1", payload, now=NOW)
    assert view.available and fact in view.facts
    if cell is not None:
        assert any(cell in r for t in view.tables for r in t.rows)


def test_the_notifier_view_lists_its_outbox_and_dead_letters() -> None:
    view = pages.daemon_view("notifier", "http://x", NOTIFIER, now=NOW)
    tables = {t.title: t for t in view.tables}
    outbox = tables["Outbox, newest first"]
    assert [r[0] for r in outbox.rows] == ["42", "41"]
    pending, delivered = (dict(zip(outbox.columns, r, strict=True)) for r in outbox.rows)
    assert pending["message"] == "[FIRING] DiskFull (2 alerts)"
    assert pending["next attempt"] == "in 12s" and pending["received"] == "40s ago"
    assert delivered["next attempt"] == "—" and delivered["last error"] == "—"
    letter, = tables["Dead letters, newest first"].rows
    assert letter == ("7", "1h 0m ago", "ops-mail", "[RESOLVED] DiskFull (1 alert)", "9",
                      "550 no such user")


def test_a_daemon_not_ready_says_why() -> None:
    view = pages.daemon_view("scaler", "http://x", SCALER, now=NOW)
    assert not view.ready and view.problem == "not ready: EngineDown no socket"


@pytest.mark.parametrize(("payload", "problem"), [
    pytest.param(None, "unavailable: ConnectError", id="down"),
    pytest.param(["not", "an object"], None, id="not-an-object"),
])
def test_an_unreadable_daemon_is_unavailable(payload: Any, problem: str | None) -> None:
    view = pages.daemon_view("n", "http://x", payload, problem=problem, now=NOW)
    assert not view.available and view.problem and not view.tables


def _render(name: str, **context: Any) -> str:
    return console.environment().get_template(name).render(**context)


def test_templates_escape_what_sidecars_report() -> None:
    evil = "<script>alert(1)</script>"
    page = pages.fleet_page([row(cluster_id="eu-1", error=evil, last_error=evil,
                                 last_error_at=NOW)], serving={}, commit=None,
                            bundle_hash=None, now=NOW)
    html = _render("fleet.html", page=page, active="fleet")
    assert evil not in html and "&lt;script&gt;" in html


@pytest.mark.parametrize(("name", "context"), [
    pytest.param("fleet.html", {"page": pages.fleet_page([row()], serving={}, commit=None,
                                                         bundle_hash=None, now=NOW)}, id="fleet"),
    pytest.param("compiles.html", {"entries": pages.compiles_page([attempt()], now=NOW)},
                 id="compiles"),
    pytest.param("daemons.html", {"views": [
        pages.daemon_view(p["daemon"], "http://127.0.0.1:9", p, now=NOW)
        for p in (NOTIFIER, HEALER, SCALER)]}, id="daemons"),
])
def test_every_page_links_only_to_the_console(name: str, context: dict[str, Any]) -> None:
    html = _render(name, active="x", **context)
    assert _LINKS.findall(html), "the page should at least link its stylesheet"
    assert local_links(html) == []
    if name == "daemons.html":
        assert "http://127.0.0.1:9" in html  # a daemon's URL is text, never a link

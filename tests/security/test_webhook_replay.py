"""Finding 9 of issue 15: a captured GitHub webhook delivery cannot be replayed.

Seen on the real server: the same signed push, posted again and again, triggered a fetch
and compile each time and added a row to the triggers table, which was never pruned.
A delivery id (`X-GitHub-Delivery`) or a signed body seen within the window is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import server_harness

from converge.reconciler.server import auth, state

WEBHOOK = "/api/v1/webhooks/github"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[server_harness.RunningServer]:
    specs = server_harness.SpecsRepo(tmp_path / "specs")
    running = server_harness.RunningServer(server_harness.settings(tmp_path, specs.root))
    try:
        yield running
    finally:
        running.stop()
        specs.close()


def _post(server: server_harness.RunningServer, body: bytes, delivery: str | None) -> int:
    headers = {"X-GitHub-Event": "push", "Content-Type": "application/json",
               "X-Hub-Signature-256": auth.sign(server_harness.SECRET, body)}
    if delivery is not None:
        headers["X-GitHub-Delivery"] = delivery
    return server.anonymous.post(WEBHOOK, content=body, headers=headers).status_code


def test_a_replayed_delivery_is_refused(server: server_harness.RunningServer) -> None:
    push = json.dumps({"ref": "refs/heads/main", "after": "a" * 40}).encode()
    assert _post(server, push, "7f3c-1") == 202
    assert _post(server, push, "7f3c-1") == 409  # the same delivery again
    assert _post(server, push, "7f3c-2") == 409  # the same signed body, a new id
    assert _post(server, push, None) == 400  # no id: nothing to tell a replay by
    other = json.dumps({"ref": "refs/heads/main", "after": "b" * 40}).encode()
    assert _post(server, other, "7f3c-3") == 202
    triggers = server.server.state.store.query("SELECT source FROM triggers WHERE "
                                               "source = 'webhook'")
    assert len(triggers) == 2
    assert server.metric("converge_server_webhooks_total", {"result": "replayed"}) == 2


def test_deliveries_are_forgotten_after_the_window_and_triggers_pruned(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tables = state.ServerState(tmp_path / "state.db")
    try:
        assert tables.record_delivery(delivery="d1", body_sha256="h1", at=100.0, window=50)
        assert not tables.record_delivery(delivery="d1", body_sha256="h2", at=120.0, window=50)
        assert not tables.record_delivery(delivery="d2", body_sha256="h1", at=140.0, window=50)
        assert tables.record_delivery(delivery="d1", body_sha256="h1", at=151.0, window=50)
        monkeypatch.setattr(state, "KEEP_TRIGGERS", 5)
        for number in range(12):
            tables.record_trigger(at=float(number), source="webhook", reason=None,
                                  requested_by=None)
        rows = tables.store.query("SELECT id FROM triggers ORDER BY id")
        assert [row["id"] for row in rows] == list(range(8, 13))
    finally:
        tables.close()

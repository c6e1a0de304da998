"""The config server end to end: a real Git repository, the real aiohttp app on a loopback
port, real HTTP. Compile, serve with ETags, webhooks, auth, reports, restarts, faults."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import server_harness as h
import valid_repo

from converge.compiler import bundle
from converge.reconciler.server import auth


@pytest.fixture
def specs(tmp_path: Path) -> Iterator[h.SpecsRepo]:
    repo = h.SpecsRepo(tmp_path / "specs")
    yield repo
    repo.close()


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[h.RunningServer]]:
    servers: list[h.RunningServer] = []
    yield servers
    for server in servers:
        server.stop()


def _start(started: list[h.RunningServer], tmp: Path, specs: h.SpecsRepo,
           **changes: object) -> h.RunningServer:
    server = h.RunningServer(h.settings(tmp, specs.root, **changes))
    started.append(server)
    return server


def _serving(server: h.RunningServer, commit: str) -> bool:
    response = server.client.get("/api/v1/config/sync")
    return bool(response.json()["commit"] == commit)


def _verify(document: dict[str, object], etag: str) -> None:
    """What a sidecar must check (docs/server.md)."""
    manifest = document["manifest"]
    files = document["files"]
    assert isinstance(manifest, dict) and isinstance(files, dict)
    entries = {e["path"]: e for e in manifest["files"]}
    assert set(entries) == set(files)
    for path, content in files.items():
        data = content.encode("utf-8")
        assert hashlib.sha256(data).hexdigest() == entries[path]["sha256"]
        assert len(data) == entries[path]["size"]
    digest = bundle.pairs_hash({p: e["sha256"] for p, e in entries.items()})
    assert digest == document["hash"] and etag == f'"{digest}"'


@pytest.mark.parametrize("compile_in", ["thread", "process"])
def test_first_compile_serves_every_target_with_verifiable_files(
        tmp_path: Path, specs: h.SpecsRepo, started: list[h.RunningServer],
        compile_in: str) -> None:
    head = specs.repo.head.commit.hexsha
    server = _start(started, tmp_path, specs, compile_in=compile_in)
    h.wait_for(lambda: server.anonymous.get("/health/ready").status_code == 200, what="ready")
    index = server.client.get("/api/v1/bundles").json()
    assert index["commit"] == head
    assert set(index["targets"]) == {"prometheus", "vmalert", "alertmanager", "reconciler"}
    response = server.client.get("/api/v1/bundles/prometheus")
    assert response.status_code == 200
    document = response.json()
    assert document["apiVersion"] == "converge/bundle/v1"
    assert document["commit"] == head and response.headers["X-Converge-Commit"] == head
    _verify(document, response.headers["ETag"])
    assert document["hash"] == index["targets"]["prometheus"]["hash"]
    assert document["manifest"]["targets"]["prometheus"]["groups"] == 1
    raw = server.client.get("/api/v1/bundles/prometheus/files/rules/system.yaml")
    assert raw.status_code == 200
    assert raw.content == document["files"]["prometheus/rules/system.yaml"].encode()
    assert raw.headers["X-Converge-Sha256"] == hashlib.sha256(raw.content).hexdigest()
    assert server.client.get("/api/v1/bundles/nothing").status_code == 404
    state = server.client.get("/api/v1/config/sync").json()
    assert state["lastAttempt"]["result"] == "success" and state["lastError"] is None
    assert server.metric("converge_server_compiles_total", {"result": "success"}) == 1
    assert server.metric("converge_server_bundle_info",
                         {"commit": head, "hash": index["bundleHash"]}) == 1


def test_etag_gives_304_and_gzip_is_precompressed(
        tmp_path: Path, specs: h.SpecsRepo, started: list[h.RunningServer]) -> None:
    server = _start(started, tmp_path, specs)
    h.wait_for(lambda: server.anonymous.get("/health/ready").status_code == 200)
    first = server.client.get("/api/v1/bundles/alertmanager")
    etag = first.headers["ETag"]
    again = server.client.get("/api/v1/bundles/alertmanager", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == etag
    weak = server.client.get("/api/v1/bundles/alertmanager",
                             headers={"If-None-Match": f'"other", W/{etag}'})
    assert weak.status_code == 304
    stale = server.client.get("/api/v1/bundles/alertmanager", headers={"If-None-Match": '"x"'})
    assert stale.status_code == 200
    zipped = server.client.get("/api/v1/bundles/alertmanager",
                               headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip" and zipped.content == first.content


def test_a_new_commit_is_picked_up_on_the_interval_and_unchanged_targets_keep_their_body(
        tmp_path: Path, specs: h.SpecsRepo, started: list[h.RunningServer]) -> None:
    server = _start(started, tmp_path, specs, interval=0.2)
    h.wait_for(lambda: server.anonymous.get("/health/ready").status_code == 200)
    before = {t: server.client.get(f"/api/v1/bundles/{t}") for t in ("prometheus",
                                                                     "alertmanager")}
    commit = specs.commit_docs(specs.with_threshold(97), "raise the critical CPU tier")
    h.wait_for(lambda: _serving(server, commit), what="the new commit")
    after = {t: server.client.get(f"/api/v1/bundles/{t}") for t in before}
    assert after["prometheus"].headers["ETag"] != before["prometheus"].headers["ETag"]
    assert after["prometheus"].json()["commit"] == commit
    # Alertmanager's files did not change: same ETag, same bytes, the first commit kept.
    assert after["alertmanager"].headers["ETag"] == before["alertmanager"].headers["ETag"]
    assert after["alertmanager"].content == before["alertmanager"].content


def test_webhook_push_triggers_and_bad_signatures_compile_nothing(
        tmp_path: Path, specs: h.SpecsRepo, started: list[h.RunningServer]) -> None:
    server = _start(started, tmp_path, specs)  # interval 60 s: only the webhook can help
    h.wait_for(lambda: server.anonymous.get("/health/ready").status_code == 200)
    commit = specs.commit_docs(specs.with_threshold(98), "change")
    body = json.dumps({"ref": "refs/heads/main", "after": commit,
                       "pusher": {"name": "alice"}}).encode()
    headers = {"X-GitHub-Event": "push", "Content-Type": "application/json",
               "X-GitHub-Delivery": "d-1"}
    for signature in (None, "sha256=" + "0" * 64, auth.sign(b"wrong secret", body), "md5=x"):
        sent = dict(headers) | ({"X-Hub-Signature-256": signature} if signature else {})
        response = server.anonymous.post("/api/v1/webhooks/github", content=body, headers=sent)
        assert response.status_code == 401, signature
    assert server.metric("converge_server_webhooks_total", {"result": "unauthorized"}) == 4
    assert len(server.client.get("/api/v1/compiles").json()["compiles"]) == 1
    assert not _serving(server, commit)

    ping = server.anonymous.post("/api/v1/webhooks/github", content=b"{}", headers={
        "X-GitHub-Event": "ping", "X-Hub-Signature-256": auth.sign(h.SECRET, b"{}"),
        "X-GitHub-Delivery": "d-ping"})
    assert ping.status_code == 200 and ping.json()["triggered"] is False
    other = json.dumps({"ref": "refs/heads/feature"}).encode()
    ignored = server.anonymous.post("/api/v1/webhooks/github", content=other, headers={
        **headers, "X-Hub-Signature-256": auth.sign(h.SECRET, other), "X-GitHub-Delivery": "d-2"})
    assert ignored.status_code == 200 and ignored.json()["triggered"] is False

    signed = {**headers, "X-Hub-Signature-256": auth.sign(h.SECRET, body)}
    response = server.anonymous.post("/api/v1/webhooks/github", content=body, headers=signed)
    assert response.status_code == 202 and response.json()["triggered"] is True
    h.wait_for(lambda: _serving(server, commit), what="the pushed commit")


def test_a_broken_commit_is_recorded_and_the_last_good_one_still_served(
        tmp_path: Path, specs: h.SpecsRepo, started: list[h.RunningServer]) -> None:
    good = specs.repo.head.commit.hexsha
    server = _start(started, tmp_path, specs)
    h.wait_for(lambda: server.anonymous.get("/health/ready").status_code == 200)
    etag = server.client.get("/api/v1/bundles/prometheus").headers["ETag"]
    broken = specs.commit_text(h.broken_text(), "oops")
    assert server.client.post("/api/v1/config/sync/trigger").status_code == 202
    h.wait_for(lambda: server.client.get("/api/v1/compiles").json()["compiles"][0]["commit"]
               == broken, what="the broken commit's attempt")
    attempt = server.client.get("/api/v1/compiles").json()["compiles"][0]
    assert attempt["result"] == "failure" and attempt["bundleHash"] is None
    codes = {d["code"] for d in attempt["diagnostics"]}
    assert "promql/syntax" in codes
    assert all(d["line"] >= 1 and d["path"] == "specs.yaml" for d in attempt["diagnostics"])
    state = server.client.get("/api/v1/config/sync").json()
    assert state["commit"] == good and "promql/syntax" in state["lastError"]
    stalled = {c["type"]: c for c in state["conditions"]}["Stalled"]
    assert (stalled["status"], stalled["reason"]) == ("True", "CompileFailed")
    assert server.anonymous.get("/health/ready").status_code == 200
    same = server.client.get("/api/v1/bundles/prometheus", headers={"If-None-Match": etag})
    assert same.status_code == 304
    assert server.metric("converge_server_compiles_total", {"result": "failure"}) == 1

    fixed = specs.commit_docs(specs.with_threshold(99), "fix")
    server.client.post("/api/v1/config/sync/trigger")
    h.wait_for(lambda: _serving(server, fixed), what="the fix")
    # the loop records the attempt's outcome just after the bundle is published
    h.wait_for(lambda: {c["type"]: c["status"] for c in server.anonymous.get("/status").json()
                        ["conditions"]}["Stalled"] == "False", what="Stalled to clear")


def test_tokens_are_required_on_the_api_but_not_on_health_or_metrics(
        tmp_path: Path, specs: h.SpecsRepo, started: list[h.RunningServer]) -> None:
    server = _start(started, tmp_path, specs)
    h.wait_for(lambda: server.anonymous.get("/health/ready").status_code == 200)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic dGVzdA=="},
                    {"Authorization": f"Bearer {h.TOKEN}x"}, {"Authorization": "Bearer"}):
        response = server.anonymous.get("/api/v1/bundles/prometheus", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert server.anonymous.post("/api/v1/config/sync/trigger").status_code == 401
    assert server.anonymous.get("/api/v1/clusters").status_code == 401
    for path in ("/health", "/health/live", "/health/ready", "/status", "/metrics"):
        assert server.anonymous.get(path).status_code == 200, path
    metrics = server.anonymous.get("/metrics").text
    assert 'converge_server_requests_total{code="401",route="/api/v1/bundles/{target}"}' in metrics


def test_reports_build_the_fleet_view_and_history(
        tmp_path: Path, specs: h.SpecsRepo, started: list[h.RunningServer]) -> None:
    server = _start(started, tmp_path, specs)
    h.wait_for(lambda: server.anonymous.get("/health/ready").status_code == 200)
    served = server.client.get("/api/v1/bundles/prometheus").json()
    report = {"clusterId": "prod-eu-1", "target": "prometheus", "commit": served["commit"],
              "hash": served["hash"], "attemptedHash": served["hash"], "result": "success",
              "error": None, "converged": True, "durationSeconds": 0.4, "instance": "prom-0"}
    answer = server.client.post("/api/v1/config/sync/status", json=report)
    assert answer.status_code == 200
    assert answer.json() == {"accepted": True, "serving": {
        "hash": served["hash"], "commit": served["commit"], "upToDate": True}}
    server.client.post("/api/v1/config/sync/status", json=report)  # a heartbeat
    failed = {**report, "attemptedHash": "f" * 64, "result": "failure",
              "error": "reload failed: rule group g1", "converged": True}
    server.client.post("/api/v1/config/sync/status", json=failed)
    other = {**report, "clusterId": "prod-us-1", "hash": "a" * 64, "converged": False}
    server.client.post("/api/v1/config/sync/status", json=other)

    fleet = server.client.get("/api/v1/clusters").json()["clusters"]
    by_cluster = {entry["clusterId"]: entry for entry in fleet}
    eu = by_cluster["prod-eu-1"]
    assert (eu["hash"], eu["result"], eu["upToDate"]) == (served["hash"], "failure", True)
    assert eu["lastError"] == "reload failed: rule group g1" and eu["instance"] == "prom-0"
    assert by_cluster["prod-us-1"]["upToDate"] is False
    only = server.client.get("/api/v1/clusters", params={"clusterId": "prod-us-1"}).json()
    assert [e["clusterId"] for e in only["clusters"]] == ["prod-us-1"]

    history = server.client.get("/api/v1/config/sync/history",
                                params={"clusterId": "prod-eu-1"}).json()
    assert [e["result"] for e in history["history"]] == ["failure", "success"]  # no heartbeat
    page = server.client.get("/api/v1/config/sync/history", params={"limit": 1}).json()
    assert len(page["history"]) == 1 and page["next"] is not None
    rest = server.client.get("/api/v1/config/sync/history",
                             params={"limit": 10, "before": page["next"]}).json()
    assert len(rest["history"]) == 2 and rest["next"] is None
    assert server.metric("converge_server_sidecar_reports_total", {"result": "success"}) == 3

    for bad in ({}, {**report, "target": "grafana"}, {**report, "hash": "xyz"},
                {**report, "clusterId": "../etc"}):
        response = server.client.post("/api/v1/config/sync/status", json=bad)
        assert response.status_code == 400 and "invalid report" in response.json()["error"]
    assert server.client.post("/api/v1/config/sync/status", content=b"{").status_code == 400
    assert server.client.get("/api/v1/config/sync/history",
                             params={"limit": "0"}).status_code == 400


def test_restart_keeps_history_and_serves_the_last_good_bundle_at_once(
        tmp_path: Path, specs: h.SpecsRepo, started: list[h.RunningServer]) -> None:
    server = _start(started, tmp_path, specs)
    h.wait_for(lambda: server.anonymous.get("/health/ready").status_code == 200)
    first = server.client.get("/api/v1/bundles/prometheus")
    report = {"clusterId": "c1", "target": "prometheus", "hash": first.json()["hash"],
              "result": "success", "converged": True}
    server.client.post("/api/v1/config/sync/status", json=report)
    triggered = server.client.post("/api/v1/config/sync/trigger",
                                   json={"reason": "test", "requestedBy": "bob"}).json()
    started.remove(server)
    server.stop()
    assert server.exit_code == 0

    shutil.move(specs.root, tmp_path / "gone")  # the remote is unreachable after the restart
    again = _start(started, tmp_path, specs)
    assert again.anonymous.get("/health/ready").status_code == 200  # before any fetch
    second = again.client.get("/api/v1/bundles/prometheus")
    assert second.content == first.content and second.headers["ETag"] == first.headers["ETag"]
    assert again.client.get("/api/v1/clusters").json()["clusters"][0]["clusterId"] == "c1"
    assert len(again.client.get("/api/v1/config/sync/history").json()["history"]) == 1
    row = again.server.state.store.query_one("SELECT * FROM triggers WHERE id = ?",
                                             (triggered["id"],))
    assert row is not None and (row["reason"], row["requested_by"]) == ("test", "bob")
    shutil.move(tmp_path / "gone", specs.root)


def test_a_gone_remote_backs_off_keeps_serving_and_stays_ready(
        tmp_path: Path, specs: h.SpecsRepo, started: list[h.RunningServer]) -> None:
    server = _start(started, tmp_path, specs, interval=0.1)
    h.wait_for(lambda: server.anonymous.get("/health/ready").status_code == 200)
    etag = server.client.get("/api/v1/bundles/prometheus").headers["ETag"]
    shutil.move(specs.root, tmp_path / "gone")
    h.wait_for(lambda: (server.metric("converge_server_fetches_total", {"result": "error"})
                        or 0) >= 2, what="two failed fetches")
    failures = server.metric("converge_server_reconcile_consecutive_failures",
                             {"loop": "compile"}) or 0
    time.sleep(2.0)  # backoff 1 s, 2 s, 4 s: a 0.1 s interval would have tried ~20 more times
    errors = server.metric("converge_server_fetches_total", {"result": "error"}) or 0
    assert errors <= 4, errors
    assert failures >= 1
    assert server.anonymous.get("/health/ready").status_code == 200
    assert server.client.get("/api/v1/bundles/prometheus",
                             headers={"If-None-Match": etag}).status_code == 304
    seen: list[dict[str, Any]] = []  # read between attempts, not while one runs

    def between_attempts() -> bool:
        conditions = server.anonymous.get("/status").json()["conditions"]
        seen.append({c["type"]: c for c in conditions}["Reconciling"])
        return bool(seen[-1]["reason"] != "Progressing")

    h.wait_for(between_attempts, what="a pause between attempts")
    assert (seen[-1]["status"], seen[-1]["reason"]) == ("True", "Retrying")
    assert "fetch failed" in seen[-1]["message"]
    assert server.client.get("/api/v1/config/sync").json()["lastFetchError"]

    shutil.move(tmp_path / "gone", specs.root)
    commit = specs.commit_docs(specs.with_threshold(96), "after the outage")
    server.client.post("/api/v1/config/sync/trigger")
    h.wait_for(lambda: _serving(server, commit), what="recovery")
    assert server.client.get("/api/v1/config/sync").json()["lastFetchError"] is None


def test_nothing_compiled_yet_is_not_ready_and_answers_503(
        tmp_path: Path, specs: h.SpecsRepo, started: list[h.RunningServer]) -> None:
    specs.commit_text(h.broken_text(), "broken from the start")
    server = _start(started, tmp_path, specs)
    h.wait_for(lambda: server.client.get("/api/v1/compiles").json()["compiles"],
               what="an attempt")
    assert server.anonymous.get("/health/ready").status_code == 503
    response = server.client.get("/api/v1/bundles/prometheus")
    assert response.status_code == 503 and response.headers["Retry-After"]
    ready = server.anonymous.get("/health/ready").json()
    assert ready["reason"] == "NothingCompiled" and "does not compile" in ready["message"]


def test_specs_in_a_subfolder(tmp_path: Path, specs: h.SpecsRepo,
                              started: list[h.RunningServer]) -> None:
    (specs.root / "monitoring").mkdir()
    (specs.root / "monitoring" / "all.yaml").write_bytes(valid_repo.dump(valid_repo.documents()))
    (specs.root / "specs.yaml").write_text("not: [valid", encoding="utf-8")
    specs.repo.index.add(["monitoring/all.yaml", "specs.yaml"])
    commit = specs.repo.index.commit("move the specs").hexsha
    server = _start(started, tmp_path, specs, path="monitoring")
    h.wait_for(lambda: server.anonymous.get("/health/ready").status_code == 200)
    assert server.client.get("/api/v1/config/sync").json()["commit"] == commit

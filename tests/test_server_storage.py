"""The server's storage interface: the same table of cases over both backends, SQLite
(one server) and a real PostgreSQL (replicas; tests/postgres_harness.py), plus what only
the shared database does: migrations when replicas start at once, a newer schema refused.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from converge.compiler import bundle
from converge.reconciler.core import StoreError
from converge.reconciler.server import postgres, state, storage
from converge.reconciler.server.fleet import FleetRow


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[state.Storage]:
    if request.param == "sqlite":
        opened = storage.open_state(tmp_path / "state.db")
    else:
        opened = storage.open_state(request.getfixturevalue("postgres_url"))
    yield opened
    opened.close()


def _bundle(marker: str) -> bundle.Bundle:
    manifest = {"schema": bundle.SCHEMA_VERSION, "bundleHash": f"hash-{marker}",
                "source": {"commit": f"commit-{marker}", "dirty": False}}
    files = {bundle.MANIFEST: json.dumps(manifest).encode(),
             "prometheus/rules.yaml": f"# {marker}\n".encode() * 50,
             "alertmanager/alertmanager.yml": b"\x00binary\xff" + marker.encode()}
    return bundle.Bundle(files, manifest)


def _row(cluster: str, target: str = "prometheus", *, at: float = 10.0,
         converged: bool = True) -> FleetRow:
    return FleetRow(cluster, target, "c1", "h1", None, at, at, "success", None, converged,
                    None, None, "host-1")


def test_attempts_newest_first(backend: state.Storage) -> None:
    assert backend.last_attempt() is None
    first = backend.record_attempt(commit="a", at=1.0, duration=0.5, result="failure",
                                   bundle_hash=None, version="1", error="bad",
                                   diagnostics=[{"code": "promql/syntax", "line": 3}])
    second = backend.record_attempt(commit="b", at=2.0, duration=0.25, result="success",
                                    bundle_hash="h", version="1", error=None, diagnostics=[])
    assert second.id > first.id
    assert backend.attempts(10) == [second, first]
    assert backend.last_attempt() == second


def test_the_good_bundle_round_trips_and_is_replaced(backend: state.Storage) -> None:
    assert backend.load_good() is None and backend.good_marker() is None
    backend.save_good(state.GoodBundle(_bundle("one"), 5.0, {"prometheus": "commit-one"}))
    backend.save_good(state.GoodBundle(_bundle("two"), 6.0, {"prometheus": None}))
    good = backend.load_good()
    assert good is not None
    assert good.bundle == _bundle("two")
    assert (good.compiled_at, good.first_commits) == (6.0, {"prometheus": None})
    assert backend.good_marker() == ("hash-two", 6.0)


def test_reports_keep_one_row_per_cluster_and_target(backend: state.Storage) -> None:
    backend.record_report(_row("b"), history=True, duration=1.5)
    backend.record_report(_row("a", converged=False), history=True, duration=None)
    backend.record_report(_row("a", at=20.0), history=False, duration=None)
    backend.record_report(_row("a", "vmalert"), history=True, duration=None)
    assert backend.fleet_row("a", "prometheus") == _row("a", at=20.0)
    assert backend.fleet_row("z", "prometheus") is None
    assert [(r.cluster_id, r.target) for r in backend.fleet(cluster_id=None, target=None)] \
        == [("a", "prometheus"), ("a", "vmalert"), ("b", "prometheus")]
    assert [r.cluster_id for r in backend.fleet(cluster_id=None, target="prometheus")] \
        == ["a", "b"]
    assert backend.fleet(cluster_id="a", target="vmalert") == [_row("a", "vmalert")]


def test_history_filters_and_pages(backend: state.Storage) -> None:
    for number in range(5):
        backend.record_report(_row("a", at=float(number), converged=number % 2 == 0),
                              history=True, duration=float(number))
    backend.record_report(_row("b"), history=True, duration=None)
    rows = backend.history(cluster_id="a", target=None, limit=3, before=None)
    assert [r["duration"] for r in rows] == [4.0, 3.0, 2.0]
    assert [bool(r["converged"]) for r in rows] == [True, False, True]
    older = backend.history(cluster_id="a", target="prometheus", limit=3,
                            before=rows[-1]["id"])
    assert [r["duration"] for r in older] == [1.0, 0.0]
    assert len(backend.history(cluster_id=None, target=None, limit=100, before=None)) == 6


def test_triggers_count_up(backend: state.Storage) -> None:
    first = backend.record_trigger(at=1.0, source="operator", reason="r", requested_by="me")
    second = backend.record_trigger(at=2.0, source="webhook", reason=None, requested_by=None)
    assert second > first


def test_replayed_deliveries_are_refused_within_the_window(backend: state.Storage) -> None:
    assert backend.record_delivery(delivery="d1", body_sha256="h1", at=100.0, window=50)
    assert not backend.record_delivery(delivery="d1", body_sha256="h2", at=120.0, window=50)
    assert not backend.record_delivery(delivery="d2", body_sha256="h1", at=140.0, window=50)
    assert backend.record_delivery(delivery="d1", body_sha256="h1", at=151.0, window=50)


def test_it_answers(backend: state.Storage) -> None:
    assert backend.ping()
    assert "password" not in backend.where


@pytest.mark.parametrize("url, shown", [
    pytest.param("postgresql://u:s3cret@db:5432/converge", "postgresql://u:***@db:5432/converge",
                 id="password"),
    pytest.param("postgresql://u@db/converge", "postgresql://u@db/converge", id="none"),
])
def test_urls_are_shown_without_their_password(url: str, shown: str) -> None:
    assert postgres.redact(url) == shown


def test_replicas_starting_at_once_migrate_once(postgres_url: str) -> None:
    opened: list[postgres.PostgresState] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            opened.append(postgres.PostgresState(postgres_url, max_connections=2))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert not errors
        assert {replica.version for replica in opened} == {len(postgres.MIGRATIONS)}
        opened[0].record_trigger(at=1.0, source="operator", reason=None, requested_by=None)
    finally:
        for replica in opened:
            replica.close()


def test_a_newer_schema_is_refused_with_a_clear_message(postgres_url: str) -> None:
    newer = postgres.PostgresState(
        postgres_url, migrations=[*postgres.MIGRATIONS, "CREATE TABLE later (x INTEGER)"])
    newer.close()
    known = len(postgres.MIGRATIONS)
    with pytest.raises(StoreError, match=rf"schema version {known + 1} is newer than this "
                                         rf"converge knows \({known}\).*upgrade this replica"):
        postgres.PostgresState(postgres_url)


def test_an_unreachable_database_is_a_store_error() -> None:
    import postgres_harness

    port = postgres_harness.free_port()
    with pytest.raises(StoreError, match=f"127.0.0.1:{port}"):
        postgres.PostgresState(f"postgresql://u:pw@127.0.0.1:{port}/x")


def test_the_server_runs_on_postgresql_and_a_restart_serves_at_once(
        tmp_path: Path, postgres_url: str) -> None:
    import server_harness as h

    specs = h.SpecsRepo(tmp_path / "specs")
    settings = h.settings(tmp_path, specs.root, db=postgres_url)
    server = h.RunningServer(settings)
    try:
        h.wait_for(lambda: server.anonymous.get("/health/ready").status_code == 200,
                   what="the first compile")
        first = server.client.get("/api/v1/bundles/prometheus")
        report = {"clusterId": "c1", "target": "prometheus", "hash": first.json()["hash"],
                  "result": "success", "converged": True}
        assert server.client.post("/api/v1/config/sync/status", json=report).json()[
            "serving"]["upToDate"]
    finally:
        server.stop()
    again = h.RunningServer(h.settings(tmp_path, tmp_path / "gone", db=postgres_url))
    try:
        assert again.anonymous.get("/health/ready").status_code == 200  # before any fetch
        second = again.client.get("/api/v1/bundles/prometheus")
        assert second.content == first.content
        assert again.client.get("/api/v1/clusters").json()["clusters"][0]["converged"]
        assert len(again.client.get("/api/v1/compiles").json()["compiles"]) == 1
    finally:
        again.stop()
        specs.close()


def test_an_attempt_and_its_bundle_are_saved_together(backend: state.Storage) -> None:
    good = state.GoodBundle(_bundle("one"), 5.0, {})
    attempt = backend.record_attempt(commit="commit-one", at=5.0, duration=0.1,
                                     result="success", bundle_hash="hash-one", version="1",
                                     error=None, diagnostics=[], good=good)
    assert backend.last_attempt() == attempt
    assert backend.load_good() == dataclasses.replace(good, serial=attempt.id)


def test_triggers_are_read_after_an_id(backend: state.Storage) -> None:
    numbers = [backend.record_trigger(at=float(n), source=source, reason=None,
                                      requested_by=None)
               for n, source in enumerate(["webhook", "operator", "webhook"])]
    assert backend.triggers_after(numbers[0]) == [(numbers[1], "operator"),
                                                  (numbers[2], "webhook")]
    assert backend.triggers_after(numbers[2]) == []


def test_the_database_keeps_its_identity(tmp_path: Path, postgres_url: str) -> None:
    identities = []
    for db in (tmp_path / "state.db", postgres_url):
        first = storage.open_state(db)
        again = storage.open_state(db)
        identities.append(first.identity())
        assert len(first.identity()) == 32 and again.identity() == first.identity()
        first.close()
        again.close()
    assert identities[0] != identities[1]

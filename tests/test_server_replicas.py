"""Replicas of `converge serve` on one real PostgreSQL (issue 19), as real processes on
loopback: one leader compiles, every replica serves; SIGKILL the leader during a compile
and another takes over, the commit compiled once; stop PostgreSQL and every replica says
it is not ready and serves nothing until it is back, with nothing lost; a converge older
than the schema refuses to start."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import postgres_harness
import pytest
import server_harness as h
from test_server_cli import CONVERGE

from converge.reconciler.server import postgres
from converge.reconciler.sidecar.sources.base import SourceError
from converge.reconciler.sidecar.sources.server import ServerSource

INTERVAL = 1.0
"""The replicas' poll interval (`--interval`): leadership moves within twice that."""


class Replica:
    """One `converge serve --db postgresql://…` process on a free loopback port."""

    def __init__(self, tmp: Path, *, name: str, repo: Path, db: str) -> None:
        self.name = name
        self.port = postgres_harness.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (tmp / "tokens").write_text(h.TOKEN + "\n", encoding="utf-8")
        self.log_path = tmp / f"{name}.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [*CONVERGE, "serve", "--repo", str(repo), "--branch", "main",
                 "--listen", f"127.0.0.1:{self.port}", "--token-file", str(tmp / "tokens"),
                 "--db", db, "--cache-dir", str(tmp / name / "git"),
                 "--interval", f"{int(INTERVAL * 1000)}ms", "--compile-in", "thread",
                 "--log-format", "text"],
                stdout=subprocess.DEVNULL, stderr=log)
        self.client = httpx.Client(base_url=self.url, timeout=5,
                                   headers={"Authorization": f"Bearer {h.TOKEN}"})

    def get(self, path: str) -> httpx.Response | None:
        try:
            return self.client.get(path)
        except httpx.TransportError:
            return None

    def ready(self) -> bool:
        answer = self.get("/health/ready")
        return answer is not None and answer.status_code == 200

    def role(self) -> str | None:
        answer = self.get("/status")
        return answer.json()["facts"].get("role") if answer is not None else None

    def fetched(self) -> str | None:
        answer = self.get("/status")
        return answer.json()["facts"].get("fetchedCommit") if answer is not None else None

    def serving(self) -> str | None:
        answer = self.get("/api/v1/config/sync")
        return answer.json()["commit"] if answer is not None else None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@pytest.fixture
def specs(tmp_path: Path) -> Iterator[h.SpecsRepo]:
    repo = h.SpecsRepo(tmp_path / "specs")
    yield repo
    repo.close()


@pytest.fixture
def replicas(tmp_path: Path, specs: h.SpecsRepo) -> Iterator[Callable[[str, int], list[Replica]]]:
    started: list[Replica] = []

    def start(db: str, count: int) -> list[Replica]:
        fresh = [Replica(tmp_path, name=f"r{len(started) + n}", repo=specs.root, db=db)
                 for n in range(count)]
        started.extend(fresh)
        for replica in fresh:
            h.wait_for(lambda r=replica: r.ready() or r.process.poll() is not None,  # type: ignore[misc]
                       60, f"{replica.name} ready")
            assert replica.ready(), replica.log()
        return fresh

    yield start
    for replica in started:
        replica.stop()


def _leaders(replicas: list[Replica]) -> list[Replica]:
    return [r for r in replicas if r.process.poll() is None and r.role() == "leader"]


def _compiles_of(replica: Replica, commit: str) -> list[dict[str, Any]]:
    answer = replica.client.get("/api/v1/compiles", params={"limit": 100})
    return [c for c in answer.json()["compiles"] if c["commit"] == commit]


def test_one_leader_compiles_and_another_takes_over_when_it_is_killed(
        postgres_url: str, specs: h.SpecsRepo,
        replicas: Callable[[str, int], list[Replica]]) -> None:
    group = replicas(postgres_url, 3)
    h.wait_for(lambda: len(_leaders(group)) == 1, 10, "one leader")
    first = specs.repo.head.commit.hexsha
    assert [r.serving() for r in group] == [first] * 3
    assert len(_compiles_of(group[0], first)) == 1

    sidecars = [_Sidecar([r.url for r in group[n:] + group[:n]]) for n in range(3)]
    assert {sidecar.sync() for sidecar in sidecars} == {first}
    leader = _leaders(group)[0]
    others = [r for r in group if r is not leader]
    commit = specs.commit_docs(specs.with_threshold(97), "a new threshold")
    h.wait_for(lambda: leader.fetched() == commit, 10, "the leader fetches the commit")
    os.kill(leader.process.pid, signal.SIGKILL)  # it compiles the commit now
    killed_at = time.monotonic()
    leader.process.wait(5)

    h.wait_for(lambda: len(_leaders(others)) == 1, 10, "a new leader")
    assert time.monotonic() - killed_at <= 2 * INTERVAL + 0.5  # within 2 x the interval
    h.wait_for(lambda: all(r.serving() == commit for r in others), 20,
               "every replica serves the new commit")
    compiled = _compiles_of(others[0], commit)
    assert [c["result"] for c in compiled] == ["success"], compiled  # compiled once
    bundles = [r.client.get("/api/v1/bundles/prometheus") for r in others]
    assert len({b.headers["ETag"] for b in bundles}) == 1
    h.wait_for(lambda: all(sidecar.sync() == commit for sidecar in sidecars), 20,
               "every sidecar converges on the new commit")
    for sidecar in sidecars:
        sidecar.source.close()


class _Sidecar:
    """A sidecar's bundle source given every replica's URL (its own order)."""

    def __init__(self, urls: list[str]) -> None:
        self.source = ServerSource(urls, target="prometheus", token=h.TOKEN)
        self.hash: str | None = None
        self.commit: str | None = None

    def sync(self) -> str | None:
        """Fetch (failing over as needed); the commit now held."""
        try:
            candidate = self.source.fetch(self.hash)
        except SourceError:
            return self.commit
        if candidate is not None:
            self.hash, self.commit = candidate.hash, candidate.commit
        return self.commit


def test_a_trigger_on_a_follower_makes_the_leader_compile(
        postgres_url: str, specs: h.SpecsRepo,
        replicas: Callable[[str, int], list[Replica]]) -> None:
    group = replicas(postgres_url, 2)
    h.wait_for(lambda: len(_leaders(group)) == 1, 10, "one leader")
    follower = next(r for r in group if r.role() == "follower")
    first = specs.repo.head.commit.hexsha
    assert follower.client.post("/api/v1/config/sync/trigger",
                                json={"reason": "force"}).status_code == 202
    h.wait_for(lambda: len(_compiles_of(follower, first)) == 2, 10,
               "the leader recompiles the forced commit")


def test_without_the_database_replicas_are_not_ready_and_lose_nothing(
        tmp_path: Path, specs: h.SpecsRepo,
        replicas: Callable[[str, int], list[Replica]]) -> None:
    with postgres_harness.cluster() as own:
        group = replicas(own.create_database(), 3)
        commit = specs.repo.head.commit.hexsha
        report = {"clusterId": "c1", "target": "prometheus", "result": "success",
                  "converged": True,
                  "hash": group[0].client.get("/api/v1/bundles/prometheus").json()["hash"]}
        assert group[1].client.post("/api/v1/config/sync/status", json=report).is_success
        etag = group[0].client.get("/api/v1/bundles/prometheus").headers["ETag"]
        sidecar = _Sidecar([r.url for r in group])
        assert sidecar.sync() == commit

        own.stop()
        stopped_at = time.monotonic()
        h.wait_for(lambda: not any(r.ready() for r in group), 20, "every replica not ready")
        for replica in group:
            answer = replica.client.get("/api/v1/bundles/prometheus")
            assert answer.status_code == 503 and "database" in answer.json()["error"]
        with pytest.raises(SourceError, match="database"):
            sidecar.source.fetch(sidecar.hash)
        assert sidecar.sync() == commit  # it keeps its last good bundle
        time.sleep(max(0.0, 30 - (time.monotonic() - stopped_at)))  # 30 s without it
        assert all(r.process.poll() is None for r in group)

        own.start()
        h.wait_for(lambda: all(r.ready() for r in group), 30, "every replica ready again")
        for replica in group:
            assert replica.client.get("/api/v1/bundles/prometheus").headers["ETag"] == etag
            assert replica.serving() == commit
        assert len(_compiles_of(group[2], commit)) == 1  # nothing compiled twice
        history = group[2].client.get("/api/v1/config/sync/history").json()["history"]
        assert [row["clusterId"] for row in history] == ["c1"]  # nothing lost or doubled
        assert sidecar.source.fetch(sidecar.hash) is None  # unchanged: nothing new
        sidecar.source.close()
        for replica in group:
            replica.stop()


def test_a_converge_older_than_the_schema_refuses_to_start(postgres_url: str,
                                                           tmp_path: Path) -> None:
    newer = postgres.PostgresState(
        postgres_url, migrations=[*postgres.MIGRATIONS, "CREATE TABLE later (x INTEGER)"])
    newer.close()
    (tmp_path / "tokens").write_text(h.TOKEN + "\n", encoding="utf-8")
    done = subprocess.run(
        [*CONVERGE, "serve", "--repo", str(tmp_path), "--db", postgres_url,
         "--token-file", str(tmp_path / "tokens"), "--listen",
         f"127.0.0.1:{postgres_harness.free_port()}", "--cache-dir", str(tmp_path / "git")],
        capture_output=True, text=True, timeout=60, env={**os.environ, "NO_COLOR": "1"})
    assert done.returncode == 1, done.stderr
    known = len(postgres.MIGRATIONS)
    assert (f"schema version {known + 1} is newer than this converge knows ({known}): a "
            "newer converge migrated this database; upgrade this replica") in done.stderr

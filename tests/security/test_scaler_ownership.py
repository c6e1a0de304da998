"""Finding 6 of issue 15: the scaler acts only on containers it created.

Seen on a real engine: the scaler force-removed a container it never created, only
because it carried a `converge.scaler/pool` label (of a pool no longer in the bundle).
Every container it creates now carries `converge.scaler/owner=<its identity>`, an id
made once and kept in its database; it lists, counts and removes no other.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from engine import IMAGE, Containers, Engine

from converge.reconciler.core.dockerapi import EngineError
from converge.reconciler.core.events import LogSink, Outbox
from converge.reconciler.core.metrics import registry
from converge.reconciler.core.status import Status
from converge.reconciler.scaler.config import Pool
from converge.reconciler.scaler.engine import DockerEngine
from converge.reconciler.scaler.metrics import ScalerMetrics
from converge.reconciler.scaler.pools import OWNER_LABEL, POOL_LABEL, Replica
from converge.reconciler.scaler.records import Records
from converge.reconciler.scaler.scaler import Scaler


class NoQueries:
    """The pools here have no metrics: nothing is ever queried."""

    def query_all(self, queries: Sequence[str]) -> list[Any]:
        raise AssertionError("no query expected")

    def close(self) -> None:
        pass


def _pool(name: str) -> Pool:
    return Pool(name=name, spec_hash="b" * 64, image=IMAGE, command=("sleep", "3600"),
                min=1, max=1, stop_grace_period=1.0)


def _scaler(engine: Engine, records: Records, label: str, pools: list[Pool]) -> Scaler:
    adapter = DockerEngine(engine.url, network="host", labels={
        "converge.test/session": engine.session, "converge.test/run": label})
    return Scaler(engine=adapter, source=NoQueries(), records=records,
                  outbox=Outbox(LogSink("scaler"), daemon="scaler"),
                  metrics=ScalerMetrics(registry()), status=Status("scaler"),
                  pools=lambda: pools, settle=0.5)


def test_the_identity_is_made_once_and_kept(tmp_path: Path) -> None:
    first = Records(tmp_path / "scaler.db")
    owner = first.owner()
    assert owner.startswith("scaler-") and first.owner() == owner
    first.close()
    again = Records(tmp_path / "scaler.db")
    assert again.owner() == owner
    again.close()
    other = Records(tmp_path / "other.db")
    assert other.owner() != owner
    other.close()


def test_the_scaler_leaves_containers_it_did_not_create_alone(
        engine: Engine, containers: Containers, tmp_path: Path) -> None:
    label = containers.test  # the label every container of this test carries
    narrowing = {"converge.test/run": label}
    # Someone else's containers that merely carry the pool label: one of a pool the
    # bundle no longer has (was force-removed as an orphan), one of a configured pool
    # (was counted as its capacity), one claiming another scaler's identity.
    foreign = [containers.run(["sleep", "300"], labels={**narrowing, POOL_LABEL: "gone"}),
               containers.run(["sleep", "300"], labels={**narrowing, POOL_LABEL: "jobs"}),
               containers.run(["sleep", "300"], labels={**narrowing, POOL_LABEL: "jobs",
                                                         OWNER_LABEL: "scaler-someone"})]
    records = Records(tmp_path / "scaler.db")
    scaler = _scaler(engine, records, label, [_pool("jobs")])
    try:
        deadline = time.monotonic() + 20
        mine: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            scaler.step()
            mine = engine.client.api.containers(filters={"label": [
                f"{OWNER_LABEL}={scaler.owner}", f"converge.test/run={label}"]})
            if len(mine) == 1 and not scaler._removing:
                break
            time.sleep(0.3)
        assert len(mine) == 1, "the scaler did not create its own container"
        for _ in range(5):  # a few more passes: still nothing foreign touched
            scaler.step()
            time.sleep(0.2)
        assert scaler.status.snapshot()["facts"]["owner"] == scaler.owner
        for container in foreign:
            container.reload()
            assert container.status == "running"
        stranger = Replica(id=foreign[0].id, name=foreign[0].name,
                           labels=dict(foreign[0].labels), status="running", created=0.0)
        with pytest.raises(EngineError, match="refusing to remove"):
            scaler.engine.remove(stranger, grace=1.0, owner=scaler.owner)
        foreign[0].reload()
        assert foreign[0].status == "running"
    finally:
        scaler.close()
        records.close()


def test_two_scalers_on_one_engine_never_count_each_other(
        engine: Engine, containers: Containers, tmp_path: Path) -> None:
    label = containers.test
    first_records, second_records = Records(tmp_path / "a.db"), Records(tmp_path / "b.db")
    first = _scaler(engine, first_records, label, [_pool("jobs")])
    second = _scaler(engine, second_records, label, [dataclasses.replace(_pool("jobs"))])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            first.step()
            second.step()
            listed = engine.client.api.containers(filters={"label": [
                POOL_LABEL, f"converge.test/run={label}"]})
            owners = sorted(c["Labels"][OWNER_LABEL] for c in listed)
            if owners == sorted([first.owner, second.owner]):
                break
            time.sleep(0.3)
        assert owners == sorted([first.owner, second.owner])  # one each, none removed
    finally:
        first.close()
        second.close()
        first_records.close()
        second_records.close()

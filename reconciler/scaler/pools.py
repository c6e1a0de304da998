"""A pool's containers and the plan that brings them to the desired count. Pure.

The scaler finds its containers by the labels it sets (`POOL_LABEL`, `HASH_LABEL`, and
`OWNER_LABEL` with this scaler's identity): it acts only on containers it created, never
on one that merely carries a pool label. Each is, by its engine state:

* `ready` — running, and Docker health healthy or absent: the pool's capacity;
* `starting` — running, Docker health `starting`: capacity soon, counted so the scaler
  does not create twice;
* `healing` — the healer's (the pool names a `healingPolicy` and the state is one the
  healer acts on: restarting, running unhealthy, or exited with a failure): never counted
  as capacity, never removed;
* `unready` — running unhealthy in a pool without a healer: not capacity, removed first;
* `stopped` — exited on purpose (exit 0, 130, 137, 143), dead or created-and-never-started
  outside the healer's care: removed once it has been so for `settle` seconds (so a
  restart in progress is never taken for a stop), and replaced.

`plan` creates what is missing, removes surplus (out of date first, then the newest), and
replaces out-of-date containers one at a time: one with the current spec hash is created
first, an old one is removed only once it is surplus, so the ready count never drops
below the desired count.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Literal

from converge.reconciler.core.stops import stopped_on_purpose
from converge.reconciler.scaler.config import Pool

POOL_LABEL = "converge.scaler/pool"
HASH_LABEL = "converge.scaler/spec-hash"
OWNER_LABEL = "converge.scaler/owner"
"""The identity of the scaler that created the container (`Records.owner`)."""
SETTLE = 10.0
"""Seconds a container must have been stopped before the scaler removes it."""

Kind = Literal["ready", "starting", "healing", "unready", "stopped"]

__all__ = ["HASH_LABEL", "OWNER_LABEL", "POOL_LABEL", "SETTLE", "Kind", "Plan", "Removal",
           "Replica", "kind", "plan"]


@dataclasses.dataclass(frozen=True, slots=True)
class Replica:
    """One of a pool's containers, as the engine reports it."""

    id: str
    name: str
    labels: Mapping[str, str]
    status: str
    """running, exited, dead, restarting, created, paused, …"""
    created: float
    exit_code: int = 0
    oom_killed: bool = False
    error: str = ""
    health: str = ""
    finished_at: float | None = None

    @property
    def pool(self) -> str:
        return self.labels.get(POOL_LABEL, "")

    @property
    def spec_hash(self) -> str:
        return self.labels.get(HASH_LABEL, "")

    @property
    def owner(self) -> str:
        return self.labels.get(OWNER_LABEL, "")


@dataclasses.dataclass(frozen=True, slots=True)
class Removal:
    replica: Replica
    reason: str


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    create: int
    remove: tuple[Removal, ...]
    counts: Mapping[str, int]
    """Containers by kind, plus `outOfDate` (ready ones with an old spec hash)."""


def kind(replica: Replica, *, healed: bool) -> Kind:
    """What the container is to the scaler; `healed`: the pool names a healing policy."""
    status = replica.status
    if status == "running":
        if replica.health in ("", "healthy"):
            return "ready"
        if replica.health == "starting":
            return "starting"
        return "healing" if healed else "unready"
    if status == "restarting" or status == "paused":
        return "healing" if healed or status == "paused" else "stopped"
    failed = status == "dead" or (status in ("exited", "stopped") and not stopped_on_purpose(
        exit_code=replica.exit_code, oom_killed=replica.oom_killed, error=replica.error))
    return "healing" if healed and failed else "stopped"


def plan(pool: Pool, replicas: Sequence[Replica], desired: int, *, now: float,
         settle: float = SETTLE) -> Plan:
    """What to create and remove so that `desired` current containers are ready."""
    healed = pool.healing_policy is not None
    kinds = {r.id: kind(r, healed=healed) for r in replicas}
    of = {k: [r for r in replicas if kinds[r.id] == k] for k in
          ("ready", "starting", "healing", "unready", "stopped")}
    removals: list[Removal] = []
    for replica in of["stopped"]:
        since = replica.finished_at if replica.finished_at is not None else replica.created
        if now - since >= settle:
            removals.append(Removal(replica, f"{replica.status} (exit {replica.exit_code})"))
    for replica in of["unready"]:
        removals.append(Removal(replica, f"running {replica.health}, no healing policy"))
    starting = [r for r in of["starting"] if r.spec_hash == pool.spec_hash]
    removals += [Removal(r, "out of date and not ready") for r in of["starting"]
                 if r.spec_hash != pool.spec_hash]
    ready = of["ready"]
    old = [r for r in ready if r.spec_hash != pool.spec_hash]
    total = len(ready) + len(starting)
    create = max(0, desired - total)
    surplus = total - desired
    if surplus > 0:
        candidates = [*_newest_first(starting), *_newest_first(old),
                      *_newest_first([r for r in ready if r.spec_hash == pool.spec_hash])]
        removals += [Removal(r, "out of date" if r.spec_hash != pool.spec_hash
                             else "scale down") for r in candidates[:surplus]]
    elif old and not starting and create == 0:
        create = 1  # rolling replacement: a current one first, the old one once surplus
    counts = {k: len(v) for k, v in of.items()}
    counts["outOfDate"] = len([r for r in ready if r.spec_hash != pool.spec_hash])
    return Plan(create, tuple(removals), counts)


def _newest_first(replicas: Sequence[Replica]) -> list[Replica]:
    return sorted(replicas, key=lambda r: (-r.created, r.name))

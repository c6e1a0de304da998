"""The sidecar's Git source against a real Prometheus: a commit on the branch reaches the
target; a commit that does not compile is reported and never published."""

from __future__ import annotations

import subprocess
from pathlib import Path

import bundles
import pytest
import sidecar_bundles
from sidecar_harness import Rig, prometheus_rig, sync

__all__ = ["prometheus_rig"]

pytestmark = pytest.mark.realtools


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def _commit(repo: Path, docs: list[dict[str, object]], message: str) -> None:
    (repo / "specs").mkdir(parents=True, exist_ok=True)
    (repo / "specs" / "converge.yaml").write_text(bundles.spec_text(docs[:1]))
    (repo / "specs" / "rest.yaml").write_text(bundles.spec_text(docs[1:]))
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", message)


def test_a_commit_on_the_branch_reaches_prometheus(prometheus_rig: Rig, tmp_path: Path) -> None:
    rig = prometheus_rig
    assert rig.process is not None
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _commit(repo, sidecar_bundles.documents(1), "one")
    sidecar = rig.sidecar(source=f"git+file://{repo}#main:specs")

    first = sync(sidecar)
    assert first.result == "success", first.reason
    assert set(rig.process.groups()) == {"g1"}
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()
    assert first.commit == head
    assert sync(sidecar).result == "unchanged"

    _commit(repo, sidecar_bundles.documents(2), "two")
    second = sync(sidecar)
    assert second.result == "success", second.reason
    assert set(rig.process.groups()) == {"g1", "g2"}

    broken = sidecar_bundles.documents(3)
    broken[1]["spec"]["rules"][0]["expr"] = "sum(("
    _commit(repo, broken, "broken")
    refused = sync(sidecar)
    assert refused.result == "failure" and "does not compile" in refused.reason
    assert set(rig.process.groups()) == {"g1", "g2"}

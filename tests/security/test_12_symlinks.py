"""Finding 12: `check`, `compile` and the sidecar's `git+` source followed symbolic links
out of the repository (a diagnostic echoed the first line of /etc/passwd; an outside file
was published into Prometheus). One rule everywhere now, as the config server already had
for Git trees: a link is read only when it resolves inside the repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

import bundles
import pytest
import sidecar_bundles
from sidecar_harness import Rig, prometheus_rig, sync

from security.cli import converge

__all__ = ["prometheus_rig"]  # a fixture, used by name

OUTSIDE = "root-secret-line:x:0:0:outside the repository\n"


def _repo(tmp_path: Path) -> Path:
    outside = tmp_path / "outside.yaml"
    outside.write_text(OUTSIDE)
    repo = tmp_path / "repo"
    repo.mkdir()
    docs = sidecar_bundles.documents(1)
    (repo / "converge.yaml").write_text(bundles.spec_text(docs[:1]))
    (repo / "rest.yaml").write_text(bundles.spec_text(docs[1:]))
    (repo / "passwd.yaml").symlink_to(outside)
    (repo / "inside.yaml").symlink_to("rest.yaml")  # inside: still read
    return repo


@pytest.mark.parametrize("command", [["check"], ["compile", "-o", "OUT"]])
def test_check_and_compile_refuse_a_link_out_of_the_repository(
        tmp_path: Path, command: list[str]) -> None:
    repo = _repo(tmp_path)
    args = [a.replace("OUT", str(tmp_path / "out")) for a in command]
    done = converge([args[0], str(repo), *args[1:]])
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "passwd.yaml: a symbolic link to a file outside" in output, output
    assert "root-secret-line" not in output
    assert not (tmp_path / "out").exists()


def test_a_link_inside_the_repository_is_read(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / "passwd.yaml").unlink()
    done = converge(["check", str(repo)])
    assert "symbolic link" not in done.stdout + done.stderr


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.mark.realtools
def test_the_git_source_never_publishes_an_outside_file(prometheus_rig: Rig,
                                                       tmp_path: Path) -> None:
    rig = prometheus_rig
    assert rig.process is not None
    repo = _repo(tmp_path)
    (repo / "passwd.yaml").unlink()
    # a rule group whose link leaves the clone once checked out
    outside = tmp_path / "evil.yaml"
    outside.write_text(bundles.spec_text([bundles.document("RuleGroup", "evil", {
        "rules": [{"record": "evil:up", "expr": "up"}]})]))
    (repo / "evil.yaml").symlink_to(outside)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "x")
    report = sync(rig.sidecar(source=f"git+file://{repo}#main"))
    assert report.result == "failure", report.reason
    assert "symbolic link" in report.reason, report.reason
    assert "evil" not in rig.process.groups()

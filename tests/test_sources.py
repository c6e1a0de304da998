"""Discovery never reads a compiled bundle back as specs, on disk or in a Git tree."""

from __future__ import annotations

from pathlib import Path

import git
import valid_repo
from click.testing import CliRunner

from converge.compiler import gitsource, sources
from converge.compiler.commands.main import main


def _repo(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "converge.yaml").write_bytes(valid_repo.dump(valid_repo.documents()))
    return root


def test_a_bundle_compiled_inside_the_repository_is_not_read_back(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    runner = CliRunner()
    first = runner.invoke(main, ["compile", str(repo), "-o", str(repo / "deploy" / "bundle")])
    assert first.exit_code == 0, first.output
    assert (repo / "deploy" / "bundle" / "prometheus" / "rules" / "system.yaml").exists()
    assert [f.path for f in sources.read_directory(repo)] == ["converge.yaml"]
    again = runner.invoke(main, ["compile", str(repo), "-o", str(repo / "deploy" / "bundle")])
    assert again.exit_code == 0, again.output


def test_a_directory_with_some_other_manifest_is_still_read(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    (repo / "extra").mkdir()
    (repo / "extra" / "manifest.json").write_text('{"schemaVersion": "something/else"}')
    (repo / "extra" / "rules.yaml").write_bytes(valid_repo.dump(valid_repo.documents()[1:2]))
    assert [f.path for f in sources.read_directory(repo)] == ["converge.yaml", "extra/rules.yaml"]


def test_a_committed_bundle_is_skipped_in_git_trees_too(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    result = CliRunner().invoke(main, ["compile", str(repo), "-o", str(repo / "bundle")])
    assert result.exit_code == 0, result.output
    git_repo = git.Repo.init(repo)
    with git_repo.config_writer() as config:
        config.set_value("user", "name", "test")
        config.set_value("user", "email", "test@example.com")
    git_repo.git.add(A=True)
    git_repo.index.commit("specs and a committed bundle")
    git_repo.close()
    repository = gitsource.open_repository(repo)
    files = gitsource.read_revision(repository, gitsource.resolve(repository, "HEAD"))
    assert [f.path for f in files] == ["converge.yaml"]

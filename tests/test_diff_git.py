"""`converge diff` on real Git repositories built here: branches, a merge, a rename, a side
that does not compile, the work tree as head, bad revisions; and the work tree is never
touched."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import git
import pytest
import valid_repo
from click.testing import CliRunner, Result
from syrupy.assertion import SnapshotAssertion

from converge.compiler import gitsource
from converge.compiler.commands.main import main

_WHO = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
        "GIT_AUTHOR_DATE": "2024-06-01T12:00:00+00:00",
        "GIT_COMMITTER_DATE": "2024-06-01T12:00:00+00:00"}
_FILES = {"converge.yaml": 0, "rules/system.yaml": 1, "channels.yaml": (2, 3),
          "routing.yaml": 4, "healing.yaml": 5, "pools.yaml": 6}


class Repo:
    """A Git repository whose commits are the same on every run (fixed names and dates)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.git = git.Repo.init(path, initial_branch="main")
        self.git.config_writer().set_value("commit", "gpgsign", "false").release()

    def write(self, relative: str, data: str | bytes) -> None:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)

    def write_specs(self, docs: list[dict[str, Any]], prefix: str = "") -> None:
        for relative, index in _FILES.items():
            chosen = [docs[i] for i in index] if isinstance(index, tuple) else [docs[index]]
            self.write(prefix + relative, valid_repo.dump(chosen))

    def commit(self, message: str) -> str:
        self.git.git.add("-A")
        self.git.git.commit("-q", "--no-verify", "-m", message, env=_WHO)
        return self.git.head.commit.hexsha

    def run(self, *args: str) -> str:
        return str(self.git.git.execute(["git", *args], env={**os.environ, **_WHO}))

    def close(self) -> None:
        self.git.close()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    found = Repo(tmp_path / "repo")
    found.write_specs(valid_repo.documents())
    found.commit("base")
    monkeypatch.chdir(found.path)
    yield found
    found.close()


def _diff(*args: str) -> Result:
    return CliRunner().invoke(main, ["diff", *args], catch_exceptions=False)


def _rules(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = docs[1]["spec"]["rules"]
    return rules


def test_no_change_exits_0(repo: Repo) -> None:
    result = _diff("--base", "main")
    assert result.exit_code == 0, result.output
    assert "no change" in result.stdout


def test_a_branch(repo: Repo, snapshot: SnapshotAssertion) -> None:
    repo.run("checkout", "-q", "-b", "feature")
    docs = valid_repo.documents()
    _rules(docs)[0]["thresholds"]["critical"] = 90
    _rules(docs)[0]["for"] = "10m"
    docs[4]["spec"]["route"]["routes"][0]["continue"] = True
    docs[4]["spec"]["route"]["routes"].append({"matchers": ['component="runtime"'],
                                               "receiver": "ops"})
    docs[6]["spec"]["replicas"]["max"] = 8
    repo.write_specs(docs)
    repo.commit("tune HighCPU")
    outputs = {fmt: _diff("--base", "main", "--head", "feature", "--format", fmt)
               for fmt in ("markdown", "text", "json")}
    assert {fmt: r.exit_code for fmt, r in outputs.items()} == {
        "markdown": 1, "text": 1, "json": 1}
    assert {fmt: r.stdout for fmt, r in outputs.items()} == snapshot


def test_a_merge(repo: Repo, snapshot: SnapshotAssertion) -> None:
    repo.run("checkout", "-q", "-b", "feature")
    docs = valid_repo.documents()
    _rules(docs)[2]["for"] = "3m"
    repo.write_specs(docs)
    repo.commit("Down waits 3m")
    repo.run("checkout", "-q", "main")
    main_docs = valid_repo.documents()
    main_docs[6]["spec"]["replicas"]["max"] = 8
    repo.write_specs(main_docs)
    repo.commit("more workers")
    repo.run("merge", "-q", "--no-ff", "--no-edit", "feature")
    merged = json.loads(_diff("--base", "main^1", "--head", "main", "--format",
                              "json").stdout)
    assert [r["name"] for r in merged["rules"]] == ["Down"]
    assert merged["reconciler"] == []
    other = json.loads(_diff("--base", "feature", "--head", "main", "--format",
                             "json").stdout)
    assert other["rules"] == []
    assert [(c["name"], c["fields"][0]["field"]) for c in other["reconciler"]] == [
        ("ai-analysis", "replicas.max")]
    shown = _diff("--base", "main^1", "--head", "main", "--format", "markdown")
    assert (shown.exit_code, shown.stdout) == (1, snapshot)


def test_a_renamed_file(repo: Repo, snapshot: SnapshotAssertion) -> None:
    repo.run("mv", "rules/system.yaml", "rules/runtime.yaml")
    repo.commit("rename")
    result = _diff("--base", "HEAD~1", "--head", "HEAD")
    assert result.exit_code == 1
    assert result.stdout == snapshot


def test_a_side_that_does_not_compile_exits_2(repo: Repo,
                                              snapshot: SnapshotAssertion) -> None:
    docs = valid_repo.documents()
    _rules(docs)[2]["expr"] = "sum(up"
    repo.write_specs(docs)
    repo.commit("broken")
    result = _diff("--base", "HEAD~1", "--head", "HEAD")
    assert result.exit_code == 2
    assert result.stdout == snapshot
    assert "rules/system.yaml:" in result.stdout


def test_the_work_tree_is_the_head_and_stays_untouched(repo: Repo) -> None:
    docs = valid_repo.documents()
    _rules(docs)[2]["labels"]["team"] = "sre"
    repo.write_specs(docs)
    repo.write("notes.txt", "untracked\n")
    status = repo.run("status", "--porcelain")
    before = {p: p.read_bytes() for p in repo.path.rglob("*") if p.is_file()
              and ".git" not in p.parts}
    result = _diff("--base", "main", "--format", "json")
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    assert document["head"] == {"ref": None, "commit": None, "workTree": True,
                                "bundleHash": document["head"]["bundleHash"]}
    assert document["rules"][0]["fields"] == [
        {"field": "label team", "before": None, "after": "sre"}]
    assert repo.run("status", "--porcelain") == status
    assert repo.run("stash", "list") == ""
    assert {p: p.read_bytes() for p in repo.path.rglob("*") if p.is_file()
            and ".git" not in p.parts} == before


@pytest.mark.parametrize("ref", ["nope", "HEAD~5", "HEAD^{tree}", "main..HEAD"])
def test_a_bad_revision_is_one_line(repo: Repo, ref: str) -> None:
    result = _diff("--base", ref)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"converge: error: unknown revision {ref!r}")
    assert result.stderr.count("\n") == 1


def test_outside_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "specs").mkdir()
    monkeypatch.chdir(tmp_path)
    result = _diff("specs", "--base", "main")
    assert (result.exit_code, result.stderr) == (
        2, "converge: error: specs: not inside a Git repository\n")


def test_path_is_a_subdirectory_with_its_own_ignore_file(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    repo = Repo(tmp_path / "repo")
    repo.write_specs(valid_repo.documents(), "monitoring/")
    repo.write("monitoring/drafts/idea.yaml", "not: [a spec\n")
    repo.write("monitoring/.converge-ignore", "drafts/\n")
    repo.write("other/broken.yaml", "not: [a spec\n")
    repo.commit("base")
    docs = valid_repo.documents()
    _rules(docs)[2]["for"] = "2m"
    repo.write_specs(docs, "monitoring/")
    repo.commit("head")
    monkeypatch.chdir(repo.path / "monitoring")
    result = _diff("--base", "HEAD~1", "--head", "HEAD", "--format", "json")
    assert result.exit_code == 1, result.output
    assert [r["name"] for r in json.loads(result.stdout)["rules"]] == ["Down"]
    repository = gitsource.open_repository(Path("."))
    files = gitsource.read_revision(repository, gitsource.resolve(repository, "HEAD"))
    repository.repo.close()
    assert [f.path for f in files] == ["channels.yaml", "converge.yaml", "healing.yaml",
                                       "pools.yaml", "routing.yaml", "rules/system.yaml"]
    repo.close()


def test_a_base_without_specs_adds_everything(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    repo = Repo(tmp_path / "repo")
    repo.write("README.md", "hello\n")
    repo.commit("empty")
    repo.write_specs(valid_repo.documents(), "monitoring/")
    repo.commit("specs")
    monkeypatch.chdir(repo.path)
    result = _diff("monitoring", "--base", "HEAD~1", "--head", "HEAD")
    assert result.exit_code == 1, result.output
    assert "note: the base (HEAD~1 " in result.stdout
    assert "+ HighCPU (critical) in system" in result.stdout
    neither = _diff("missing", "--base", "HEAD~1", "--head", "HEAD")
    assert neither.exit_code == 2
    assert "no spec files" in neither.stderr
    repo.close()


def test_a_symbolic_link_is_followed_inside_the_commit(repo: Repo) -> None:
    (repo.path / "shared").mkdir()
    (repo.path / "pools.yaml").rename(repo.path / "shared" / "pools.yaml")
    os.symlink("shared/pools.yaml", repo.path / "pools.yaml")
    repo.write(".converge-ignore", "shared/\n")
    repo.commit("link")
    result = _diff("--base", "HEAD~1", "--head", "HEAD", "--format", "json")
    assert result.exit_code == 0, result.output


def test_a_shallow_clone_says_why_a_revision_is_missing(repo: Repo, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    docs = valid_repo.documents()
    _rules(docs)[2]["for"] = "2m"
    repo.write_specs(docs)
    repo.commit("second")
    clone = tmp_path / "clone"
    repo.run("clone", "-q", "--depth", "1", repo.path.as_uri(), str(clone))
    monkeypatch.chdir(clone)
    result = _diff("--base", "HEAD~1")
    assert result.exit_code == 2
    assert "this clone is shallow" in result.stderr
    assert result.stderr.count("\n") == 1


def test_diff_is_a_command() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert "  diff " in result.stdout
    usage = CliRunner().invoke(main, ["diff", "--help"])
    assert "--base REF" in usage.stdout and "Exit status: 0 no change" in usage.stdout

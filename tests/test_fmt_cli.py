"""`converge fmt` on disk: --check, --diff, atomic writes that keep the mode, files that
cannot be parsed, and the example repository (same bundle before and after)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from converge.compiler import bundle, pipeline, render, sources
from converge.compiler.commands.main import main

EXAMPLE = Path(__file__).resolve().parent.parent / "repo-example"
UGLY = 'kind: Channel\napiVersion: converge/v1\nmetadata: {name: ops}\nspec:\n    url: "http://x"\n'
PRETTY = ("apiVersion: converge/v1\nkind: Channel\nmetadata:\n  name: ops\nspec:\n"
          "  url: http://x\n")


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["fmt", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _repo(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def _bundle_hash(root: Path) -> str:
    result = pipeline.check(sources.read_directory(root))
    assert result.ok and result.model is not None
    return bundle.build(render.render(result.model), result.model, version="0",
                        source=None).hash


def test_formatting_the_example_keeps_its_bundle(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo)
    ugly = repo / "rules" / "ugly.yaml"
    ugly.write_text("kind: RuleGroup\napiVersion: converge/v1\nmetadata: {name: ugly}\n"
                    "spec: {rules: [{expr: 'up == 0', alert: UglyDown, 'for': 5m,"
                    " labels: {severity: 'warning', component: x},"
                    " annotations: {summary: \"down\"}}]}\n", encoding="utf-8")
    before = _bundle_hash(repo)
    code, out, _ = _run(str(repo))
    assert code == 0 and f"reformatted {repo}/rules/ugly.yaml" in out
    assert _bundle_hash(repo) == before
    assert _run(str(repo), "--check") == (0, f"{len(sources.read_directory(repo))} files "
                                             "already formatted\n", "")


def test_check_lists_the_files_that_would_change_and_writes_nothing(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo", {"a.yaml": UGLY, "b.yaml": PRETTY})
    code, out, err = _run("--check", str(repo))
    assert (code, out) == (1, f"would reformat {repo}/a.yaml\n")
    assert "1 file would be reformatted; run `converge fmt " in err
    assert (repo / "a.yaml").read_text() == UGLY


def test_diff_shows_what_would_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _repo(tmp_path / "repo", {"a.yaml": UGLY})
    monkeypatch.chdir(tmp_path)
    code, out, _ = _run("--diff", "repo")
    assert code == 1
    assert out.startswith("--- a/repo/a.yaml\n+++ b/repo/a.yaml\n")
    assert "+apiVersion: converge/v1\n kind: Channel\n" in out and "+  url: http://x\n" in out
    assert (tmp_path / "repo" / "a.yaml").read_text() == UGLY


def test_writes_are_atomic_and_keep_the_mode(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo", {"a.yaml": UGLY})
    target = repo / "a.yaml"
    target.chmod(0o640)
    link = repo / "link.yml"
    os.symlink("a.yaml", link)
    os.link(target, repo / "old.bak")  # the file as it was, if it is replaced (not rewritten)
    assert _run(str(repo)) == (0, f"reformatted {repo}/a.yaml\n1 of 1 file reformatted\n", "")
    assert target.read_text() == PRETTY and (repo / "old.bak").read_text() == UGLY
    assert target.stat().st_mode & 0o777 == 0o640
    assert link.is_symlink()
    assert sorted(p.name for p in repo.iterdir()) == ["a.yaml", "link.yml", "old.bak"]


def test_a_file_that_does_not_parse_is_reported_and_left_alone(tmp_path: Path) -> None:
    broken = "a: 1\n  b: [\n"
    repo = _repo(tmp_path / "repo", {"bad.yaml": broken, "good.yaml": UGLY})
    code, out, err = _run(str(repo))
    assert code == 1
    assert out == f"reformatted {repo}/good.yaml\n1 of 2 files reformatted\n"
    assert f"{repo}/bad.yaml:2:4: error[yaml/parse]: mapping values are not allowed" in err
    assert "1 file left untouched" in err
    assert (repo / "bad.yaml").read_text() == broken
    assert (repo / "good.yaml").read_text() == PRETTY


def test_a_file_path_and_the_ignore_file_are_honoured(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo", {"a.yaml": UGLY, "vendor/b.yaml": UGLY,
                                     ".converge-ignore": "vendor/\n"})
    assert _run(str(repo))[1] == f"reformatted {repo}/a.yaml\n1 of 1 file reformatted\n"
    assert (repo / "vendor" / "b.yaml").read_text() == UGLY
    assert _run(str(repo / "vendor" / "b.yaml"))[0] == 0
    assert (repo / "vendor" / "b.yaml").read_text() == PRETTY


def test_no_spec_files_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = _run(str(tmp_path))
    assert code == 2 and "no spec files" in err
    assert _run(str(tmp_path / "missing"))[0] == 2


def test_a_change_of_meaning_is_an_internal_error(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from converge.compiler import fmt

    def broken(text: str, *, path: str) -> str:
        raise fmt.MeaningChanged(f"{path}: formatting would change a value")

    monkeypatch.setattr(fmt, "format_text", broken)
    repo = _repo(tmp_path / "repo", {"a.yaml": UGLY})
    code, _, err = _run(str(repo))
    assert code == 3 and "internal error" in err and "left untouched" in err
    assert (repo / "a.yaml").read_text() == UGLY


def test_the_pre_commit_hooks_run_real_commands(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    hooks = yaml.safe_load((EXAMPLE.parent / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in hooks] == ["converge-check", "converge-fmt"]
    _repo(tmp_path, {"converge.yaml": "apiVersion: converge/v1\nkind: Project\nmetadata:\n"
                                      "  name: shop\nspec:\n  targets:\n    alertmanager:\n"
                                      "      enabled: false\n"})
    monkeypatch.chdir(tmp_path)  # pre-commit runs hooks at the repository's root
    for hook in hooks:
        assert hook["language"] == "python" and hook["pass_filenames"] is False
        assert all(re.search(hook["files"], p) for p in ("a.yaml", "rules/b.yml"))
        assert not re.search(hook["files"], "README.md")
        program, *args = hook["entry"].split()
        assert program == "converge"
        result = CliRunner().invoke(main, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output

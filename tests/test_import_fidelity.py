"""Issue 20: an import changes nothing unless it says so.

Each fixture is imported, checked and compiled; the rendered files must mean what the
source meant: group names and intervals as written (an unset interval stays unset),
receivers' names and settings, every rename or dropped field in the import's report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from converge.compiler import pipeline, render, sources
from converge.compiler.commands.import_ import import_group

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "import"
RULE_FIXTURES = sorted(p for p in FIXTURES.iterdir() if ".rules." in p.name)


def run(*args: str | Path) -> Any:
    return CliRunner().invoke(import_group, [str(a) for a in args])


def compiled(directory: Path) -> dict[str, str]:
    result = pipeline.check(sources.read_directory(directory))
    assert result.ok, [d for d in result.diagnostics if d.severity.value == "error"]
    assert result.model is not None
    return render.render(result.model)


def rendered_groups(files: dict[str, str], target: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path, text in files.items():
        if path.startswith(f"{target}/rules/"):
            for group in yaml.load(text, Loader=yaml.BaseLoader)["groups"]:
                found.setdefault(group["name"], group)
    return found


@pytest.fixture(scope="module")
def imported_rules(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    directory = tmp_path_factory.mktemp("fidelity") / "repo"
    result = run("prometheus-rules", *RULE_FIXTURES, "-o", directory)
    assert result.exit_code == 0, result.output
    return compiled(directory)


def test_group_names_and_intervals_are_kept_in_every_rendered_file(
        imported_rules: dict[str, str]) -> None:
    originals: dict[str, dict[str, Any]] = {}
    for path in RULE_FIXTURES:
        for group in yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)["groups"]:
            originals.setdefault(group["name"], group)
    for target in ("prometheus", "vmalert"):
        groups = rendered_groups(imported_rules, target)
        assert set(groups) <= set(originals)
        for name, group in groups.items():
            assert group.get("interval") == originals[name].get("interval"), (target, name)
    assert set(rendered_groups(imported_rules, "prometheus")) | set(
        rendered_groups(imported_rules, "vmalert")) == set(originals)


def test_an_unset_interval_stays_unset(tmp_path: Path) -> None:
    (tmp_path / "r.yml").write_text("groups:\n  - name: Embedded Exporter\n"
                                    "    rules: [{alert: A, expr: up == 0}]\n", encoding="utf-8")
    assert run("prometheus-rules", tmp_path / "r.yml", "-o", tmp_path / "out").exit_code == 0
    spec = yaml.safe_load((tmp_path / "out" / "rules" / "r.yaml").read_text(encoding="utf-8"))
    assert "interval" not in spec["spec"]
    assert spec["spec"]["name"] == "Embedded Exporter"
    assert spec["metadata"]["name"] == "embedded-exporter"
    files = compiled(tmp_path / "out")
    for target in ("prometheus", "vmalert"):
        text = files[f"{target}/rules/embedded-exporter.yaml"]
        group = yaml.safe_load(text)["groups"][0]
        assert group["name"] == "Embedded Exporter"
        assert "interval" not in group

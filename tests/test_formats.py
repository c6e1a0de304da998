"""The machine-readable formats: JSON, GitHub annotations and SARIF 2.1.0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from converge.compiler.commands.main import main
from converge.compiler.diagnostics import Diagnostic, Severity, Span
from converge.compiler.formats import github, sarif
from converge.compiler.formats.report import Report

BROKEN = """\
apiVersion: converge/v1
kind: RuleGroup
metadata: {name: recording}
spec:
  rules:
    - record: job:up:sum
      expr: sum by (job) (up
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "repo" / "rules").mkdir(parents=True)
    (tmp_path / "repo" / "rules" / "a.yaml").write_text(BROKEN, encoding="utf-8")
    return tmp_path / "repo"


def test_json_paths_are_relative_to_path(repo: Path, runner: CliRunner) -> None:
    result = runner.invoke(main, ["check", str(repo), "--format", "json"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    [diagnostic] = document["diagnostics"]
    assert diagnostic["path"] == "rules/a.yaml"
    where = (diagnostic["line"], diagnostic["column"], diagnostic["code"])
    assert where == (7, 26, "promql/syntax")
    assert set(diagnostic) == {"path", "line", "column", "endLine", "endColumn", "code",
                               "severity", "message", "hint"}
    assert document["summary"] == {"files": 1, "errors": 1, "warnings": 0, "infos": 0}


def test_sarif_is_a_valid_2_1_0_log(repo: Path, runner: CliRunner) -> None:
    result = runner.invoke(main, ["check", str(repo), "--format", "sarif"])
    assert result.exit_code == 1
    log = json.loads(result.stdout)
    assert log["version"] == "2.1.0"
    [run] = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    [finding] = run["results"]
    assert rules[finding["ruleIndex"]]["id"] == finding["ruleId"] == "promql/syntax"
    region = finding["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (7, 26)
    assert finding["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith(
        "repo/rules/a.yaml")
    assert {rule["defaultConfiguration"]["level"] for rule in rules} <= {"error", "warning",
                                                                          "note"}


def _report(message: str, hint: str = "") -> Report:
    diagnostic = Diagnostic("a,b:c.yaml", Span(3, 4, 3, 9), "promql/syntax", Severity.ERROR,
                            message, hint)
    return Report([diagnostic], {"a,b:c.yaml": ""}, ".", 1)


def test_github_annotations_escape_data_and_properties() -> None:
    text = github.render(_report("50% of\nlines", hint="x"))
    first = text.splitlines()[0]
    assert first == ("::error file=a%2Cb%3Ac.yaml,line=3,col=4,endLine=3,endColumn=9,"
                     "title=promql/syntax::50%25 of%0Alines (hint: x)")


def test_sarif_lists_every_code_as_a_rule() -> None:
    from converge.compiler.codes import all_codes

    log = json.loads(sarif.render(_report("m")))
    assert [r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]] == list(all_codes())


def test_unknown_format_is_a_usage_error(repo: Path, runner: CliRunner) -> None:
    result = runner.invoke(main, ["check", str(repo), "--format", "xml"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_a_file_instead_of_a_directory_is_a_usage_error(repo: Path, runner: CliRunner) -> None:
    result = runner.invoke(main, ["check", str(repo / "rules" / "a.yaml")])
    assert result.exit_code == 2
    assert "is a file" in result.output

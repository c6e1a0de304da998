"""Rule unit tests: rendering promtool test files, reading promtool's verdicts, the series
notations, and the real promtool on the example repository."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import realtools
import yaml
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from converge.compiler import bundle, pipeline, render, sources
from converge.compiler.commands.main import main
from converge.compiler.model import Model
from converge.compiler.sources import SourceFile
from converge.compiler.testing import alert_diff, promtool, promtool_output, rules, series

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "repo-example"

PROJECT = {"apiVersion": "converge/v1", "kind": "Project", "metadata": {"name": "demo"},
           "spec": {"externalLabels": {"cluster": "prod"}}}
GROUP = {"apiVersion": "converge/v1", "kind": "RuleGroup", "metadata": {"name": "disk"},
         "spec": {"interval": "30s", "rules": [
             {"alert": "DiskFull", "expr": "disk_used_percent > $threshold", "for": "5m",
              "thresholds": {"warning": 80, "critical": 95}}],
             "tests": [
                 {"inputSeries": [{"series": 'disk_used_percent{instance="a"}',
                                   "values": "90x10"}],
                  "alertRuleTests": [
                      {"evalTime": "10m", "alertname": "DiskFull",
                       "expAlerts": [{"expLabels": {"instance": "a", "severity": "warning"}}]},
                      {"evalTime": "1m", "alertname": "DiskFull"}],
                  "promqlExprTests": [
                      {"expr": "disk_used_percent", "evalTime": "1m",
                       "expSamples": [{"labels": 'disk_used_percent{instance="a"}',
                                       "value": 90}]}]},
                 {"name": "own labels", "interval": "1m", "externalLabels": {"cluster": "x"}},
             ]}}
ROUTING = {"apiVersion": "converge/v1", "kind": "Routing", "metadata": {"name": "main"},
           "spec": {"route": {"receiver": "ops"}}}
CHANNEL = {"apiVersion": "converge/v1", "kind": "Channel", "metadata": {"name": "ops"},
           "spec": {"type": "webhook", "url": "http://127.0.0.1:9000/ops"}}


def _model(*docs: dict[str, Any]) -> Model:
    data = yaml.safe_dump_all(list(docs), sort_keys=False).encode()
    checked = pipeline.check([SourceFile("specs.yaml", data)])
    assert checked.ok, checked.diagnostics
    assert checked.model is not None
    return checked.model


def test_each_case_becomes_a_promtool_file_against_the_rendered_rule_file() -> None:
    model = _model(PROJECT, GROUP, ROUTING, CHANNEL)
    first, second = rules.cases(model)
    assert (first.file, second.file) == ("tests/disk/1.yaml", "tests/disk/2.yaml")
    assert (first.name, second.name) == ("disk test 1", "own labels")
    assert yaml.safe_load(first.text) == {
        "rule_files": ["../../prometheus/rules/disk.yaml"],
        "evaluation_interval": "30s",
        "tests": [{
            "interval": "30s",
            "external_labels": {"cluster": "prod"},
            "input_series": [{"series": 'disk_used_percent{instance="a"}', "values": "90x10"}],
            "alert_rule_test": [
                {"eval_time": "10m", "alertname": "DiskFull",
                 "exp_alerts": [{"exp_labels": {"instance": "a", "severity": "warning"},
                                 "exp_annotations": {}}]},
                {"eval_time": "1m", "alertname": "DiskFull", "exp_alerts": []}],
            "promql_expr_test": [
                {"expr": "disk_used_percent", "eval_time": "1m",
                 "exp_samples": [{"labels": 'disk_used_percent{instance="a"}', "value": 90.0}]}],
        }]}
    own = yaml.safe_load(second.text)["tests"][0]
    assert (own["interval"], own["external_labels"]) == ("1m", {"cluster": "x"})
    files = rules.files(model, [first, second])
    assert set(files) == {"prometheus/rules/disk.yaml", first.file, second.file}
    assert files["prometheus/rules/disk.yaml"] == render.render(model)[
        "prometheus/rules/disk.yaml"]


def test_tests_are_never_rendered() -> None:
    """The example's bundle is the same with and without its tests sections."""
    with_tests = sources.read_directory(EXAMPLE)
    without = []
    for source in with_tests:
        docs = list(yaml.safe_load_all(source.data))
        for doc in docs:
            if isinstance(doc, dict) and isinstance(doc.get("spec"), dict):
                doc["spec"].pop("tests", None)
        without.append(SourceFile(source.path, yaml.safe_dump_all(docs).encode()))
    assert any(b"tests:" in s.data for s in with_tests)
    built = [_bundle(files) for files in (with_tests, without)]
    assert built[0] == built[1]


def _bundle(files: list[SourceFile]) -> dict[str, bytes]:
    checked = pipeline.check(files)
    assert checked.ok and checked.model is not None
    return bundle.build(render.render(checked.model), checked.model, version="0",
                        source=None).files


def test_a_broken_test_hides_nothing_else() -> None:
    group = {**GROUP, "spec": {**GROUP["spec"], "rules": [
        {"alert": "Bad", "expr": "sum(up"}], "tests": [{"fro": 1}]}}
    routing = {**ROUTING, "spec": {"route": {"receiver": "ops"},
                                   "tests": [{"alert": {"labels": {}}}]}}
    data = yaml.safe_dump_all([PROJECT, group, routing, CHANNEL], sort_keys=False).encode()
    codes = sorted(d.code for d in pipeline.check([SourceFile("s.yaml", data)]).diagnostics)
    assert codes == ["promql/syntax", "schema/missing", "schema/unknown-field"]


# promtool 2.42's own words, for a case whose alert test at 10m and expression test failed
OUTPUT = """\
Unit Testing:  tests/disk/1.yaml
  FAILED:
    alertname: DiskFull, time: 10m, 
        exp:[
            0:
              Labels:{alertname="DiskFull", instance="a", severity="warning"}
              Annotations:{summary="90% full"}
            ], 
        got:[
            0:
              Labels:{alertname="DiskFull", instance="a", severity="warning"}
              Annotations:{summary="90.0% full"}
            ,
            1:
              Labels:{alertname="DiskFull", instance="a", severity="critical"}
              Annotations:{}
            ]

    expr: "disk_used_percent", time: 1m,
        exp: {__name__="disk_used_percent", instance="a"} 9E+01
        got: nil

    expr: "disk_used_percent", time: 1m, err: 1:8: parse error: something

    something promtool says that converge does not know


Unit Testing:  tests/disk/2.yaml
  WARNING: no file match pattern x.yaml
  SUCCESS

"""


def test_promtool_failures_are_pinned_on_the_entries_they_concern() -> None:
    model = _model(PROJECT, GROUP, ROUTING, CHANNEL)
    found = rules.cases(model)
    first, second = promtool_output.results(found, OUTPUT)
    assert second.passed and not first.passed
    alert, expr, err, other = first.failures
    assert alert.origin.path == ("spec", "tests", 0, "alertRuleTests", 0)
    assert alert.message == "disk test 1: alert DiskFull at 10m: expected 1 alert, got 2"
    assert alert.details == (
        'annotations differ on {instance="a", severity="warning"}:', "  summary:",
        '    expected: "90% full"', '    got:      "90.0% full"',
        'unexpected: {instance="a", severity="critical"}')
    assert expr.origin.path == ("spec", "tests", 0, "promqlExprTests", 0)
    assert expr.details == ('expected: {__name__="disk_used_percent", instance="a"} 9E+01',
                            "got:      (none)")
    assert err.message.endswith("disk_used_percent at 1m: 1:8: parse error: something")
    assert other.origin == found[0].test.origin
    assert other.message.endswith("promtool: something promtool says that converge does not know")


def test_a_case_promtool_never_mentions_fails() -> None:
    found = rules.cases(_model(PROJECT, GROUP, ROUTING, CHANNEL))
    results = promtool_output.results(found, "flag provided but not defined: -x\n")
    assert [r.passed for r in results] == [False, False]
    assert results[0].failures[0].details == ("flag provided but not defined: -x",)


def test_alert_differences_pair_alerts_by_labels() -> None:
    expected = [({"a": "1"}, {"s": "x"}), ({"a": "2"}, {})]
    got = [({"a": "1"}, {"s": "y", "t": "z"}), ({"a": "3"}, {"u": "v"})]
    assert list(alert_diff.describe(expected, got)) == [
        'annotations differ on {a="1"}:', "  s:", '    expected: "x"', '    got:      "y"',
        "  t:", "    expected: (none)", '    got:      "z"',
        'missing:    {a="2"}', 'unexpected: {a="3"}', '  annotation u: "v"']


def test_unreadable_alert_lists_fall_back_to_promtools_words() -> None:
    assert alert_diff.parse_side(["exp:[", "Labels:{...", "]"]) is None


def test_promtool_not_installed_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(promtool, "_EXTRA_DIRS", ())
    with pytest.raises(promtool.PromtoolMissing, match="scripts/install-tools"):
        promtool.find()
    result = CliRunner().invoke(main, ["test", str(EXAMPLE)])
    assert result.exit_code == 2
    assert "promtool is not installed" in result.stderr


# --- series notations -------------------------------------------------------------------

label_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,8}", fullmatch=True).filter(
    lambda n: not n.startswith("__"))
label_values = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
                       max_size=12)
metric_names = st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,12}", fullmatch=True)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@given(metric_names, st.dictionaries(label_names, label_values, max_size=4), st.booleans())
def test_any_series_round_trips(name: str, labels: dict[str, str], spaced: bool) -> None:
    separator = ", " if spaced else ","
    text = name + "{" + separator.join(f"{k}={_quote(v)}" for k, v in labels.items()) + "}"
    assert series.parse_series(text) == series.Series({"__name__": name, **labels})


numbers = st.one_of(st.integers(-10**6, 10**6).map(str),
                    st.floats(allow_nan=False, allow_infinity=False).map(repr),
                    st.sampled_from(["Inf", "-Inf", "NaN", ".5", "5.", "1e3", "+2"]))
items = st.one_of(
    numbers, st.just("_"), st.just("stale"),
    st.builds(lambda n: f"_x{n}", st.integers(0, 99)),
    st.builds(lambda a, n: f"{a}x{n}", numbers, st.integers(0, 99)),
    st.builds(lambda a, op, b, n: f"{a}{op}{b.lstrip('+-')}x{n}", numbers,
              st.sampled_from("+-"), numbers, st.integers(0, 99)))


@given(st.lists(items, max_size=6))
def test_any_samples_in_the_notation_are_accepted(parts: list[str]) -> None:
    assert series.values_problem(" ".join(parts)) is None


@given(st.text(max_size=40))
def test_any_text_gets_an_answer_at_an_offset_inside_it(text: str) -> None:
    for problem in (series.values_problem(text), series.parse_series(text)):
        if isinstance(problem, series.Problem):
            assert 0 <= problem.offset <= len(text)


# --- the real promtool --------------------------------------------------------------------

NOTATIONS = ["1+1x10", "1 + 1x10", "1+1 x10", "-1-1x3", "+1", "_x3", "_ x3", "stale",
             "Inf -Inf NaN", "0x1F", ".5 5. 1e3 1E-3", "1x3", "1+1", "1x", "1+1x1.5", "1_000",
             "1 2 3 _ stale 4x2", "stalex2", "1+-1x2", "inf+1x2", "", "1m", "1x-3"]


@pytest.mark.realtools
def test_the_values_notation_agrees_with_promtool(tmp_path: Path) -> None:
    files = []
    for i, values in enumerate(NOTATIONS):
        files.append(tmp_path / f"{i}.yaml")
        files[-1].write_text(yaml.safe_dump({"rule_files": [], "tests": [{
            "interval": "1m", "input_series": [{"series": 'm{a="b"}', "values": values}]}]}))
    done = realtools.run("promtool", "test", "rules", *map(str, files))
    reports = promtool_output.parse(done.stdout)  # each file's header, and SUCCESS or not
    verdicts = {values: reports[str(file)].passed for values, file in zip(NOTATIONS, files,
                                                                        strict=True)}
    assert verdicts == {values: series.values_problem(values) is None for values in NOTATIONS}


@pytest.mark.realtools
def test_the_example_tests_pass_with_the_real_promtool(runner: CliRunner) -> None:
    result = runner.invoke(main, ["test", str(EXAMPLE), "--promtool",
                                  realtools.tool("promtool"), "-v"])
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("converge test: 12 passed, 0 failed\n")
    assert result.stdout.count("ok   rules") == 4


@pytest.mark.realtools
def test_a_failing_example_test_is_reported_at_its_entry(tmp_path: Path,
                                                         runner: CliRunner) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo)
    path = repo / "rules" / "system-resources.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("evalTime: 9m ", "evalTime: 10m"), encoding="utf-8")
    line = text.splitlines().index(
        next(x for x in text.splitlines() if "evalTime: 9m " in x)) + 1
    realtools.tool("promtool")
    result = runner.invoke(main, ["test", str(repo), "--format", "json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    failed = [t for t in report["tests"] if not t["passed"]]
    assert [f["line"] for f in failed[0]["failures"]] == [line]
    assert failed[0]["failures"][0]["column"] == 11
    assert report["summary"] == {"passed": 11, "failed": 1}

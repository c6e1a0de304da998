"""Round trip: for generated rule files and Alertmanager configs, import -> compile gives
files that mean what the input meant (issue 20).

Rules are compared field by field, group name and interval included; Alertmanager
configs by the receivers every label set reaches, the inhibit rules and each receiver's
settings. Receivers may be renamed by the import (reported): the channels carry the
source receiver's name, which maps them back.
"""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_import import source_deliveries, source_matchers

from converge.compiler import pipeline, render, sources
from converge.compiler.commands.import_ import import_group
from converge.specs.common import parse_duration

_SETTINGS = settings(max_examples=20, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
_TEXT = st.text(st.characters(codec="utf-8", categories=["L", "N", "Zs", "Pd", "Po", "Sm"],
                              exclude_characters="\x85\u2028\u2029"),
                min_size=1, max_size=16)
_DURATIONS = st.none() | st.sampled_from(["15s", "30s", "1m", "2m", "1h"])
_EXPRS = st.sampled_from(["up == 0", 'rate(http_requests_total{code=~"5.."}[5m]) > 1',
                          "sum by (job) (up)", "absent(up{job=\"api\"})"])
_LABELS = st.dictionaries(st.sampled_from(["team", "tier", "severity"]), _TEXT, max_size=2)


@st.composite
def _rule(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):
        rule: dict[str, Any] = {"alert": draw(st.from_regex(r"[A-Z][A-Za-z0-9]{0,8}",
                                                            fullmatch=True)),
                                "expr": draw(_EXPRS)}
        if (duration := draw(_DURATIONS)) is not None:
            rule["for"] = duration
        if annotations := draw(st.dictionaries(st.sampled_from(["summary", "runbook_url"]),
                                               _TEXT, max_size=2)):
            rule["annotations"] = annotations
    else:
        rule = {"record": draw(st.from_regex(r"job:[a-z]{1,6}:sum", fullmatch=True)),
                "expr": draw(_EXPRS)}
    if labels := draw(_LABELS):
        rule["labels"] = labels
    return rule


@st.composite
def rule_files(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(_TEXT.filter(lambda t: t.strip() == t), min_size=1, max_size=3,
                          unique_by=lambda t: t))
    groups = []
    for name in names:
        group: dict[str, Any] = {"name": name}
        if (interval := draw(_DURATIONS)) is not None:
            group["interval"] = interval
        group["rules"] = draw(st.lists(  # exact duplicates are invalid input (vmalert)
            _rule(), min_size=1, max_size=3,
            unique_by=lambda r: (r.get("alert") or r["record"], r["expr"],
                                 tuple(sorted(r.get("labels", {}).items())))))
        groups.append(group)
    records = [r["record"] for g in groups for r in g["rules"] if "record" in r]
    assume(len(records) == len(set(records)))  # one definition each (rule/duplicate)
    return {"groups": groups}


def _import(kind: str, source: dict[str, Any], folder: Path) -> dict[str, str]:
    (folder / "in.yml").write_text(yaml.safe_dump(source, allow_unicode=True),
                                   encoding="utf-8")
    result = CliRunner().invoke(import_group, [kind, str(folder / "in.yml"), "-o",
                                               str(folder / "out")])
    assert result.exit_code == 0, result.output
    checked = pipeline.check(sources.read_directory(folder / "out"))
    assert checked.ok and checked.model is not None, [
        d for d in checked.diagnostics if d.severity.value == "error"]
    return render.render(checked.model)


def _seconds(value: str | None) -> float | None:
    return None if value is None else parse_duration(value)


def _rule_fields(rule: dict[str, Any]) -> tuple[Any, ...]:
    return (rule.get("alert"), rule.get("record"), rule["expr"].strip(),
            _seconds(rule.get("for")), rule.get("labels", {}), rule.get("annotations", {}))


@_SETTINGS
@given(rule_files())
def test_rule_files_mean_the_same_after_import_and_compile(source: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        files = _import("prometheus-rules", source, Path(folder))
    expected = {g["name"]: g for g in source["groups"]}
    for target in ("prometheus", "vmalert"):
        rendered = [group for path, text in files.items()
                    if path.startswith(f"{target}/rules/")
                    for group in yaml.safe_load(text)["groups"]]
        assert sorted(g["name"] for g in rendered) == sorted(expected), target
        for group in rendered:
            original = expected[group["name"]]
            assert group.get("interval") == original.get("interval")
            assert [_rule_fields(r) for r in group["rules"]] == [
                _rule_fields(r) for r in original["rules"]]


# --- Alertmanager configs ---------------------------------------------------------------------

_RECEIVERS = ["ops", "Team_A", "team-a", "db team", "null"]
_MATCHERS = st.sampled_from(['team="db"', 'severity=~"crit.*"', 'env!="prod"', "team=web",
                             '{severity="warning", env="prod"}'])


@st.composite
def _route(draw: st.DrawFn, depth: int) -> dict[str, Any]:
    route: dict[str, Any] = {"matchers": draw(st.lists(_MATCHERS, min_size=1, max_size=2))}
    if draw(st.booleans()):
        route["receiver"] = draw(st.sampled_from(_RECEIVERS))
    if draw(st.booleans()):
        route["continue"] = True
    if depth > 0 and draw(st.booleans()):
        route["routes"] = draw(st.lists(_route(depth - 1), min_size=1, max_size=2))
    return route


@st.composite
def alertmanager_configs(draw: st.DrawFn) -> dict[str, Any]:
    receivers = []
    for index, name in enumerate(_RECEIVERS):
        receiver: dict[str, Any] = {"name": name}
        if name != "null":
            receiver["webhook_configs"] = [{"url": f"http://hooks.example.com/{index}",
                                            "send_resolved": draw(st.booleans())}]
        receivers.append(receiver)
    config: dict[str, Any] = {
        "route": {"receiver": draw(st.sampled_from(_RECEIVERS)),
                  "routes": draw(st.lists(_route(1), max_size=3))},
        "receivers": receivers,
    }
    if draw(st.booleans()):
        config["inhibit_rules"] = [{"source_matchers": ['severity="critical"'],
                                    "target_matchers": [draw(_MATCHERS)],
                                    "equal": draw(st.lists(st.sampled_from(["team", "env"]),
                                                           unique=True, max_size=2))}]
    return config


_LABEL_SETS = [dict(p for p in zip(("team", "severity", "env"), values, strict=True) if p[1])
               for values in itertools.product(["db", "web", ""],
                                               ["critical", "warning", ""],
                                               ["prod", "staging"])]


@_SETTINGS
@given(alertmanager_configs())
def test_alertmanager_configs_mean_the_same_after_import_and_compile(
        source: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        files = _import("alertmanager", source, Path(folder))
        back = {}
        for path in Path(folder, "out", "channels").glob("*.yaml"):
            for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
                annotations = document["metadata"]["annotations"]
                back[document["metadata"]["name"]] = annotations["converge.io/source-receiver"]
    rendered = yaml.safe_load(files["alertmanager/alertmanager.yaml"])
    for labels in _LABEL_SETS:
        expected = {r for r, _ in source_deliveries(source["route"], labels)}
        actual = {back[r] for r, _ in source_deliveries(rendered["route"], labels)}
        assert actual == expected, labels
    settings_of = {r["name"]: r.get("webhook_configs", []) for r in source["receivers"]}
    for receiver in rendered["receivers"]:
        original = settings_of[back[receiver["name"]]]
        assert [(w["url"], w["send_resolved"]) for w in receiver.get("webhook_configs", [])] \
            == [(w["url"], w["send_resolved"]) for w in original]
    inhibits = [(source_matchers(r, "source_"), source_matchers(r, "target_"),
                 sorted(r.get("equal", []))) for r in source.get("inhibit_rules", [])]
    assert [(source_matchers(r, "source_"), source_matchers(r, "target_"),
             sorted(r.get("equal", []))) for r in rendered.get("inhibit_rules", [])] == inhibits

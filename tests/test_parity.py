"""Parity with the real tools: what promtool, vmalert -dryRun or amtool reject in a
rendered file, `converge check` rejects first, at the spec's position.

Each case pairs a spec with the file the target would load; the real tool must reject
that file and converge must report the expected code on the spec.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import realtools

from converge.compiler import pipeline
from converge.compiler.sources import SourceFile

PROJECT = """\
apiVersion: converge/v1
kind: Project
metadata: {name: parity}
spec: {targets: {alertmanager: {enabled: false}}}
"""


def _group(spec: str) -> str:
    return ("apiVersion: converge/v1\nkind: RuleGroup\nmetadata: {name: g}\nspec:\n"
            + textwrap.indent(textwrap.dedent(spec), "  "))


RULE_CASES = [
    pytest.param(
        "prometheus", "promql/syntax",
        _group("targets: [prometheus]\nrules:\n  - record: r\n    expr: lag(up[1h])\n"),
        "groups:\n- name: g\n  rules:\n  - record: r\n    expr: lag(up[1h])\n",
        id="metricsql-function-in-prometheus"),
    pytest.param(  # rendered without the field for vmalert 1.79, and said so (issue 20)
        "vmalert", "target/field-dropped",
        _group("targets: [vmalert]\nrules:\n  - alert: A\n    expr: up == 0\n"
               "    keepFiringFor: 5m\n"),
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n"
        "    keep_firing_for: 5m\n",
        id="keep-firing-for-in-vmalert-1.79"),
    pytest.param(
        "prometheus", "target/unsupported",
        _group("targets: [prometheus]\nlabels: {team: a}\nrules:\n  - record: r\n"
               "    expr: up\n"),
        "groups:\n- name: g\n  labels: {team: a}\n  rules:\n  - record: r\n    expr: up\n",
        id="group-labels-in-prometheus-2.42"),
    pytest.param(
        "prometheus", "target/unsupported",
        _group("targets: [prometheus]\nqueryOffset: 1m\nrules:\n  - record: r\n    expr: up\n"),
        "groups:\n- name: g\n  query_offset: 1m\n  rules:\n  - record: r\n    expr: up\n",
        id="query-offset-in-prometheus-2.42"),
    pytest.param(
        "vmalert", "target/unsupported",
        _group("targets: [vmalert]\nqueryOffset: 1m\nrules:\n  - record: r\n    expr: up\n"),
        "groups:\n- name: g\n  query_offset: 1m\n  rules:\n  - record: r\n    expr: up\n",
        id="query-offset-in-vmalert"),
    pytest.param(
        "vmalert", "target/unsupported",
        _group("targets: [vmalert]\nvmalert:\n  headers: [{name: X-Tenant, value: a}]\n"
               "rules:\n  - record: r\n    expr: up\n"),
        "groups:\n- name: g\n  headers: ['X-Tenant: a']\n  rules:\n  - record: r\n"
        "    expr: up\n",
        id="headers-in-vmalert-1.79"),
    pytest.param(
        "prometheus", "promql/syntax",
        _group("targets: [prometheus]\nrules:\n  - record: r\n    expr: sum(rate(x[5m])\n"),
        "groups:\n- name: g\n  rules:\n  - record: r\n    expr: sum(rate(x[5m])\n",
        id="unclosed-parenthesis"),
    pytest.param(
        "prometheus", "template/syntax",
        _group("targets: [prometheus]\nrules:\n  - alert: A\n    expr: up == 0\n"
               "    annotations: {summary: '{{ $value | humanise }}'}\n"),
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n"
        "    annotations: {summary: '{{ $value | humanise }}'}\n",
        id="unknown-template-function"),
    pytest.param(
        "prometheus", "template/syntax",
        _group("targets: [prometheus]\nrules:\n  - alert: A\n    expr: up == 0\n"
               "    annotations: {summary: '{{ now }}'}\n"),
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n"
        "    annotations: {summary: '{{ now }}'}\n",
        id="template-function-newer-than-2.42"),
    pytest.param(
        "vmalert", "template/syntax",
        _group("targets: [vmalert]\nrules:\n  - alert: A\n    expr: up == 0\n"
               "    annotations: {summary: 'since {{ $activeAt }}'}\n"),
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n"
        "    annotations: {summary: 'since {{ $activeAt }}'}\n",
        id="template-variable-newer-than-1.79"),
    pytest.param(
        "prometheus", "duration/invalid",
        _group("targets: [prometheus]\nrules:\n  - alert: A\n    expr: up == 0\n"
               "    for: 5 minutes\n"),
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    for: 5 minutes\n",
        id="bad-duration"),
    pytest.param(
        "prometheus", "label/invalid-name",
        _group("targets: [prometheus]\nrules:\n  - record: r\n    expr: up\n"
               "    labels: {1tier: a}\n"),
        "groups:\n- name: g\n  rules:\n  - record: r\n    expr: up\n    labels: {1tier: a}\n",
        id="bad-label-name"),
]


def _tool_rejects(target: str, path: Path) -> bool:
    result = (realtools.promtool_check_rules(path) if target == "prometheus"
              else realtools.vmalert_dry_run(path))
    return result.returncode != 0


@pytest.mark.realtools
@pytest.mark.parametrize(("target", "code", "spec", "rendered"), RULE_CASES)
def test_converge_rejects_what_the_rule_tools_reject(
        target: str, code: str, spec: str, rendered: str, tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(rendered, encoding="utf-8")
    assert _tool_rejects(target, path), f"{target} accepted:\n{rendered}"
    result = pipeline.check([SourceFile("converge.yaml", PROJECT.encode()),
                             SourceFile("rules.yaml", spec.encode())])
    codes = [d.code for d in result.diagnostics]
    assert code in codes, codes


@pytest.mark.realtools
def test_converge_rejects_what_amtool_rejects(tmp_path: Path) -> None:
    config = tmp_path / "alertmanager.yml"
    config.write_text(textwrap.dedent("""\
        route: {receiver: teams}
        receivers:
          - name: teams
            msteams_configs: [{webhook_url: 'http://127.0.0.1:1/x'}]
        """), encoding="utf-8")
    assert realtools.amtool_check_config(config).returncode != 0
    specs = textwrap.dedent("""\
        apiVersion: converge/v1
        kind: Routing
        metadata: {name: main}
        spec: {route: {receiver: teams}}
        ---
        apiVersion: converge/v1
        kind: Channel
        metadata: {name: teams}
        spec: {type: msteams, webhookUrl: {env: TEAMS_URL}}
        """)
    result = pipeline.check([SourceFile("specs.yaml", specs.encode())])
    assert [d.code for d in result.diagnostics] == ["target/unsupported"]


@pytest.mark.realtools
def test_amtool_rejects_a_root_route_with_matchers_and_so_does_converge(tmp_path: Path) -> None:
    config = tmp_path / "alertmanager.yml"
    config.write_text("route: {receiver: a, matchers: ['x=\"y\"']}\nreceivers: [{name: a}]\n",
                      encoding="utf-8")
    assert realtools.amtool_check_config(config).returncode != 0
    specs = ("apiVersion: converge/v1\nkind: Routing\nmetadata: {name: m}\n"
             "spec: {route: {receiver: a, matchers: ['x=\"y\"']}}\n---\n"
             "apiVersion: converge/v1\nkind: Channel\nmetadata: {name: a}\n"
             "spec: {type: webhook, url: 'http://127.0.0.1:1/'}\n")
    result = pipeline.check([SourceFile("specs.yaml", specs.encode())])
    assert [d.code for d in result.diagnostics] == ["route/invalid"]

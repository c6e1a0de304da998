"""`converge import`: rule files and Alertmanager configs become specs that check as they are.

The rule fixtures under `tests/fixtures/import/` are large and odd on purpose (see its
`generate.py`); each is checked by the real promtool, imported, loaded back through the
compiler's own loader and models, and compared rule by rule with what Prometheus reads
from the original (every scalar as its text, as Go's typed decoding does). The
Alertmanager fixture carries literal secrets, all containing "SECRET": none may reach a
written byte, and every alert must still reach the same integrations.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest
import realtools
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from converge.compiler import loader, matchers, pipeline, sources, validate
from converge.compiler.commands.import_ import import_group
from converge.compiler.evaluate import routes as route_tree
from converge.compiler.importers import SourceFormatError, import_config, import_rule_files, render
from converge.specs.common import parse_duration

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "import"
RULE_FIXTURES = sorted(p for p in FIXTURES.iterdir() if ".rules." in p.name
                       or ".prometheusrule." in p.name)
ALERTMANAGER = FIXTURES / "alertmanager.yml"
NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def run(*args: str | Path) -> Any:
    return CliRunner().invoke(import_group, [str(a) for a in args])


def check(directory: Path) -> pipeline.CheckResult:
    result = pipeline.check(sources.read_directory(directory))
    errors = [d for d in result.diagnostics if d.severity.value == "error"]
    assert result.ok, errors
    return result


def resources(directory: Path) -> list[validate.Resource]:
    documents = []
    for source in sources.read_directory(directory):
        loaded = loader.load(source.path, source.data)
        assert not loaded.diagnostics, loaded.diagnostics
        documents.extend(loaded.documents)
    validated = validate.validate(documents)
    assert not validated.diagnostics, validated.diagnostics
    return validated.resources


# --- Prometheus rules: fixtures, round trip ---------------------------------------------------

def operator_specs(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(object, spec) of every PrometheusRule in a file, every scalar as text."""
    found = []
    for body in yaml.load_all(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader):
        if body.get("kind") == "PrometheusRule":
            meta = body["metadata"]
            found.append((f"PrometheusRule {meta['namespace']}/{meta['name']}", body["spec"]))
    return found


def original_groups(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """What Prometheus reads, keyed by (object, group name): BaseLoader keeps scalar text."""
    if ".prometheusrule." in path.name:
        bodies = operator_specs(path)
    else:
        bodies = [("", yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader))]
    return {(origin, group["name"]): group for origin, body in bodies for group in body["groups"]}


@pytest.mark.realtools
@pytest.mark.parametrize("path", RULE_FIXTURES, ids=lambda p: p.name)
def test_rule_fixtures_pass_promtool(path: Path, tmp_path: Path) -> None:
    files = [path]
    if ".prometheusrule." in path.name:
        files = []
        for index, (_, spec) in enumerate(operator_specs(path)):
            files.append(tmp_path / f"object-{index}.yaml")
            files[-1].write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    result = realtools.promtool_check_rules(*files)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def imported_rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("rules") / "repo"
    result = run("prometheus-rules", *RULE_FIXTURES, "-o", directory)
    assert result.exit_code == 0, result.output
    return directory


def test_imported_rules_check(imported_rules: Path) -> None:
    assert len(check(imported_rules).model.groups) == sum(  # type: ignore[union-attr]
        len(original_groups(p)) for p in RULE_FIXTURES)


def _seconds(text: str | None) -> float | None:
    return None if text is None else parse_duration("0s" if text == "0" else text)


def test_round_trip_keeps_every_rule(imported_rules: Path) -> None:
    originals = {(path.as_posix(), *key): group
                 for path in RULE_FIXTURES for key, group in original_groups(path).items()}
    imported = {}
    for resource in resources(imported_rules):
        if resource.kind == "RuleGroup":
            notes = resource.metadata.annotations
            key = (notes["converge.io/source-file"], notes.get("converge.io/source-object", ""),
                   notes["converge.io/source-group"])
            imported[key] = resource.spec
    assert imported.keys() == originals.keys()
    total = 0
    for key, group in originals.items():
        spec = imported[key]
        assert _seconds(spec.interval) == _seconds(group.get("interval"))
        assert spec.limit == (int(group["limit"]) if "limit" in group else None)
        assert len(spec.rules) == len(group["rules"])
        for rule, source in zip(spec.rules, group["rules"], strict=True):
            total += 1
            assert (rule.alert, rule.record) == (source.get("alert"), source.get("record"))
            assert rule.expr == source["expr"]
            assert _seconds(rule.for_) == _seconds(source.get("for"))
            assert _seconds(rule.keep_firing_for) == _seconds(source.get("keep_firing_for"))
            assert rule.labels == source.get("labels", {})
            assert rule.annotations == source.get("annotations", {})
    assert total >= 250


def test_group_names_are_valid_unique_and_traceable(imported_rules: Path) -> None:
    groups = [r for r in resources(imported_rules) if r.kind == "RuleGroup"]
    names = [g.name for g in groups]
    assert len(names) == len(set(names))
    assert all(NAME.match(n) for n in names)
    by_source = {g.metadata.annotations["converge.io/source-group"]: g.name for g in groups
                 if "oddities" in g.metadata.annotations["converge.io/source-file"]}
    assert by_source["API Errors"] == "api-errors"
    assert by_source["api-errors"] == "api-errors-2"
    assert by_source["api_errors"] == "api-errors-3"
    assert by_source["node-cpu"] == "node-cpu-2"  # node-cpu came first, from another file
    assert by_source["---"] == "group"
    assert len(max(names, key=len)) == 63


def test_written_rules_read_like_a_person_wrote_them(imported_rules: Path) -> None:
    text = (imported_rules / "rules" / "slo-recording-rules.yaml").read_text(encoding="utf-8")
    assert text.startswith("# Imported from ")
    assert "apiVersion: converge/v1\nkind: RuleGroup\nmetadata:\n  name: " in text
    assert "    - record: slo:sli_error:ratio_rate5m\n      expr: |\n" in text
    odd = (imported_rules / "rules" / "oddities-rules.yaml").read_text(encoding="utf-8")
    assert "      for: 2m\n      keepFiringFor: 10m\n      labels:\n" in odd
    assert "&id" not in odd and "*id" not in odd  # the source's alias is written out


GROUP_CASES = [
    pytest.param("  - name: g\n    query_offset: 1m\n    rules: [{record: r, expr: up}]\n",
                 {"queryOffset": "1m", "targets": ["prometheus"]}, {"prometheus": (2, 53)},
                 id="query-offset-raises-prometheus"),
    pytest.param("  - name: g\n    labels: {team: db}\n    rules: [{record: r, expr: up}]\n",
                 {"labels": {"team": "db"}}, {"prometheus": (3, 0)}, id="group-labels"),
    pytest.param("  - name: g\n    concurrency: 3\n    type: prometheus\n    eval_offset: 30s\n"
                 "    params: {nocache: ['1']}\n    rules: [{alert: A, expr: up}]\n",
                 {"targets": ["vmalert"], "vmalert": {"concurrency": 3, "type": "prometheus",
                                                      "evalOffset": "30s",
                                                      "params": {"nocache": ["1"]}}},
                 {"vmalert": (1, 94)}, id="vmalert-fields"),
    pytest.param("  - name: g\n    rules: [{alert: A, expr: up, keep_firing_for: 5m}]\n",
                 {}, {"prometheus": (2, 42), "vmalert": (1, 79)},
                 id="keep-firing-for-keeps-both-targets"),
    pytest.param("  - name: g\n    rules: [{alert: A, expr: up, debug: true}]\n",
                 {"targets": ["vmalert"]}, {"vmalert": (1, 82)}, id="vmalert-rule-debug"),
    pytest.param("  - name: g\n    rules: [{alert: A, expr: up, for: 0}]\n",
                 {}, {"prometheus": (2, 42)}, id="plain-group-keeps-default-targets"),
]


@pytest.mark.parametrize(("group", "expected", "versions"), GROUP_CASES)
def test_group_fields(group: str, expected: dict[str, Any],
                      versions: dict[str, tuple[int, ...]], tmp_path: Path) -> None:
    imported = import_rule_files([("r.yml", "groups:\n" + group)], taken=set())
    spec = imported.files[0].documents[0]["spec"]
    assert {k: spec[k] for k in expected} == expected
    assert "targets" in spec or "targets" not in expected
    assert {k: imported.versions[k] for k in versions} == versions
    (tmp_path / "r.yml").write_text("groups:\n" + group, encoding="utf-8")
    assert run("prometheus-rules", tmp_path / "r.yml", "-o", tmp_path / "out").exit_code == 0
    check(tmp_path / "out")


def test_unknown_fields_and_secret_headers_are_kept_safely() -> None:
    text = ("groups:\n  - name: g\n    partial_response_strategy: warn\n"
            "    headers: ['Authorization: Bearer SECRET-token', 'X-Scope: t1']\n"
            "    rules: [{alert: A, expr: up}]\n")
    imported = import_rule_files([("r.yml", text)], taken={"g"})
    document = imported.files[0].documents[0]
    assert document["metadata"]["name"] == "g-2"
    assert document["metadata"]["annotations"]["converge.io/source-extra"] == (
        '{"partial_response_strategy": "warn"}')
    assert document["spec"]["vmalert"]["headers"] == [
        {"name": "Authorization", "secret": {"env": "CONVERGE_G_HEADER_AUTHORIZATION"}},
        {"name": "X-Scope", "value": "t1"}]
    assert "SECRET" not in render(imported.files[0].documents)
    assert [v.name for v in imported.env] == ["CONVERGE_G_HEADER_AUTHORIZATION"]


def test_an_existing_project_keeps_its_versions() -> None:
    text = "groups:\n  - name: g\n    query_offset: 1m\n    rules: [{record: r, expr: up}]\n"
    versions = {"prometheus": (2, 42), "vmalert": (1, 79), "alertmanager": (0, 25)}
    imported = import_rule_files([("r.yml", text)], taken=set(), versions=versions)
    assert imported.versions == versions
    assert any("queryOffset" in note and "raise its version" in note for note in imported.notes)


BAD_RULE_FILES = [
    pytest.param("groups: [\n", "not valid YAML", id="not-yaml"),
    pytest.param("route: {receiver: x}\n", "not a Prometheus rule file", id="not-rules"),
    pytest.param("- a\n- b\n", "expected a mapping", id="a-list"),
    pytest.param("groups:\n  - rules: [{alert: A, expr: up}]\n", "needs a name", id="no-name"),
    pytest.param("groups:\n  - name: g\n    rules: [{alert: A}]\n", "needs an 'expr'",
                 id="no-expr"),
    pytest.param("groups:\n  - name: g\n    rules: [{alert: A, record: b, expr: up}]\n",
                 "exactly one of", id="alert-and-record"),
    pytest.param("groups: {name: g}\n", "expected a list", id="groups-not-a-list"),
]


@pytest.mark.parametrize(("text", "message"), BAD_RULE_FILES)
def test_bad_rule_files_fail_in_one_line(text: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(SourceFormatError, match=re.escape(message)):
        import_rule_files([("bad.yml", text)], taken=set())
    (tmp_path / "bad.yml").write_text(text, encoding="utf-8")
    result = run("prometheus-rules", tmp_path / "bad.yml", "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "converge: error: " in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_missing_and_binary_files_fail_in_one_line(tmp_path: Path) -> None:
    result = run("prometheus-rules", tmp_path / "missing.yml", "-o", tmp_path / "out")
    assert result.exit_code == 2 and "No such file" in result.output
    (tmp_path / "bin.yml").write_bytes(b"\xff\xfe\x00groups")
    result = run("prometheus-rules", tmp_path / "bin.yml", "-o", tmp_path / "out")
    assert result.exit_code == 2 and "not UTF-8" in result.output


def test_cli_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    rules = FIXTURES / "oddities.rules.yml"
    assert run("prometheus-rules", rules, "-o", tmp_path).exit_code == 0
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.yaml"))
    assert written == ["converge.yaml", "routing.yaml", "rules/oddities-rules.yaml"]
    again = run("prometheus-rules", rules, "-o", tmp_path)
    assert again.exit_code == 2 and "--force" in again.output
    forced = run("prometheus-rules", rules, "-o", tmp_path, "--force")
    assert forced.exit_code == 0, forced.output
    assert f"wrote {tmp_path / 'converge.yaml'}" not in forced.output
    assert f"wrote {tmp_path / 'routing.yaml'}" not in forced.output
    names = [r.name for r in resources(tmp_path) if r.kind == "RuleGroup"]
    assert "api-errors" in names and "api-errors-4" not in names  # its own names, reused
    check(tmp_path)


def test_cli_reports_what_it_wrote(tmp_path: Path) -> None:
    result = run("prometheus-rules", *RULE_FIXTURES, "-o", tmp_path)
    assert f"wrote {tmp_path / 'rules' / 'node-exporter-rules.yaml'} (6 group(s), 96 rule(s))" \
        in result.output
    assert "skipped a ConfigMap" in result.output
    assert "placeholder webhook channel 'default'" in result.output


# --- The writer ---------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.text(), st.text(min_size=1))
def test_any_string_survives_the_writer(value: str, key: str) -> None:
    document = {"apiVersion": "converge/v1", "kind": "RuleGroup",
                "metadata": {"name": "g", "annotations": {key: value}},
                "spec": {"rules": [{"alert": value, "expr": value}]}}
    text = render([document], header=value)
    loaded = loader.load("x.yaml", text.encode("utf-8"))
    assert [d.body for d in loaded.documents] == [document]


# --- Alertmanager -------------------------------------------------------------------------------

@pytest.mark.realtools
def test_alertmanager_fixture_passes_amtool() -> None:
    result = realtools.amtool_check_config(ALERTMANAGER)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def imported_alertmanager(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    directory = tmp_path_factory.mktemp("am") / "repo"
    result = run("alertmanager", ALERTMANAGER, "-o", directory)
    assert result.exit_code == 0, result.output
    return directory, result.output


def source_secrets() -> set[str]:
    text = ALERTMANAGER.read_text(encoding="utf-8")
    found = set(re.findall(r"\S*SECRET\S*", text.split("\n", 2)[2]))
    assert len(found) >= 12
    return found


def test_no_secret_reaches_a_written_byte(imported_alertmanager: tuple[Path, str]) -> None:
    directory, output = imported_alertmanager
    written = b"".join(p.read_bytes() for p in directory.rglob("*") if p.is_file())
    assert b"SECRET" not in written
    assert "SECRET" not in output
    for secret in source_secrets():
        assert secret.encode() not in written


def test_env_vars_are_listed_by_name(imported_alertmanager: tuple[Path, str]) -> None:
    _, output = imported_alertmanager
    for name in ("CONVERGE_GLOBAL_SLACK_API_URL", "CONVERGE_GLOBAL_SMTP_AUTH_PASSWORD",
                 "CONVERGE_OPS_PAGERDUTY_ROUTING_KEY", "CONVERGE_DEADMANS_SWITCH_URL",
                 "CONVERGE_ARCHIVE_BASIC_AUTH_PASSWORD", "CONVERGE_FRONTEND_WEBHOOK_URL",
                 "CONVERGE_FRONTEND_WEBHOOK_2_AUTHORIZATION_CREDENTIALS",
                 "CONVERGE_PAGER_TELEGRAM_BOT_TOKEN"):
        assert f"  {name} " in output


def test_imported_alertmanager_checks(imported_alertmanager: tuple[Path, str]) -> None:
    directory, _ = imported_alertmanager
    check(directory)
    channels = {r.name: r.spec for r in resources(directory) if r.kind == "Channel"}
    assert channels["ops-email"].smarthost == "smtp.example.com:587"  # from global
    assert channels["ops-email"].from_ == "alertmanager@example.com"
    assert channels["ops-email"].to == ["ops@example.com", "oncall@example.com"]
    assert channels["ops-email"].send_resolved is False  # Alertmanager's default for email
    assert channels["db-team-email"].require_tls is False
    assert channels["ops-slack"].api_url.env == "CONVERGE_GLOBAL_SLACK_API_URL"
    assert channels["db-team-opsgenie"].api_key.env == "CONVERGE_GLOBAL_OPSGENIE_API_KEY"
    assert channels["deadmans-switch"].url is None and channels["deadmans-switch"].url_secret
    assert channels["archive"].basic_auth.username == "archiver"
    assert channels["pager-telegram"].chat_id == -1001234567890
    assert channels["null"].type == "none"  # an empty receiver stays empty


# An Alertmanager route tree evaluated as Alertmanager does (dispatch/route.go), on the source.

def source_matchers(raw: dict[str, Any], prefix: str = "") -> set[tuple[str, str, str]]:
    found = {(k, "=", v) for k, v in raw.get(f"{prefix}match", {}).items()}
    found |= {(k, "=~", v) for k, v in raw.get(f"{prefix}match_re", {}).items()}
    for text in raw.get(f"{prefix}matchers", []):
        for piece in re.findall(r'[a-zA-Z_]\w*\s*(?:=~|!~|!=|=)\s*(?:"(?:[^"\\]|\\.)*"|[^,{}"]+)',
                                text):
            parsed = matchers.parse(piece.strip())
            assert isinstance(parsed, matchers.Matcher), parsed
            found.add((parsed.name, parsed.op, parsed.value))
    return found


def converted(texts: list[str]) -> set[tuple[str, str, str]]:
    parsed = [matchers.parse(t) for t in texts]
    assert all(isinstance(m, matchers.Matcher) for m in parsed)
    return {(m.name, m.op, m.value) for m in parsed}  # type: ignore[union-attr]


def _matches(found: set[tuple[str, str, str]], labels: dict[str, str]) -> bool:
    return all(matchers.Matcher(*m).matches(labels.get(m[0], "")) for m in found)


def source_deliveries(route: dict[str, Any], labels: dict[str, str],
                      receiver: str | None = None) -> list[tuple[str, frozenset[str]]]:
    if not _matches(source_matchers(route), labels):
        return []
    receiver = route.get("receiver", receiver)
    found: list[tuple[str, frozenset[str]]] = []
    for child in route.get("routes", []):
        matched = source_deliveries(child, labels, receiver)
        found += matched
        if matched and not child.get("continue"):
            break
    if not found:
        found.append((receiver, frozenset(route.get("mute_time_intervals", []))
                       | frozenset(f"active:{n}" for n in route.get("active_time_intervals", []))))
    return found


LABEL_VALUES = {
    "alertname": ["Watchdog", "InfoInhibitor", "TestAlert", "DiskFull"],
    "severity": ["critical", "warning", "info", ""],
    "team": ["database", "frontend", ""],
    "service": ["mysql", "web"],
    "env": ["staging", "prod"],
    "summary": ['a "quoted", comma', "other"],
}


def test_every_alert_reaches_the_same_integrations(
        imported_alertmanager: tuple[Path, str]) -> None:
    directory, _ = imported_alertmanager
    model = check(directory).model
    assert model is not None and model.routing is not None
    by_receiver: dict[str, list[str]] = {}
    for channel in model.channels:
        by_receiver.setdefault(
            channel.origin.document.body["metadata"]["annotations"]["converge.io/source-receiver"],
            []).append(channel.name)
    source = yaml.load(ALERTMANAGER.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    keys = list(LABEL_VALUES)
    for values in itertools.product(*LABEL_VALUES.values()):
        labels = {k: v for k, v in zip(keys, values, strict=True) if v}
        expected = {(channel, intervals) for receiver, intervals
                    in source_deliveries(source["route"], labels)
                    for channel in by_receiver[receiver]}
        actual = {(receiver, frozenset(route.mute_time_intervals)
                   | frozenset(f"active:{n}" for n in route.active_time_intervals))
                  for route, receiver in route_tree.routes_for(model.routing.route, labels)}
        assert actual == expected, labels


def test_inhibit_rules_and_time_intervals_are_kept(
        imported_alertmanager: tuple[Path, str]) -> None:
    directory, _ = imported_alertmanager
    routing = next(r.spec for r in resources(directory) if r.kind == "Routing")
    source = yaml.load(ALERTMANAGER.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    assert len(routing.inhibit_rules) == len(source["inhibit_rules"])
    everything = {("alertname", "=~", ".*")}
    for rule, original in zip(routing.inhibit_rules, source["inhibit_rules"], strict=True):
        assert converted(rule.source_matchers) == (source_matchers(original, "source_")
                                                   or everything)
        assert converted(rule.target_matchers) == source_matchers(original, "target_")
        assert rule.equal == original.get("equal", [])
    intervals = {i.name: i for i in routing.time_intervals}
    assert set(intervals) == {"business-hours", "maintenance"}
    period = intervals["maintenance"].time_intervals[0]
    assert (period.weekdays, period.days_of_month, period.months, period.years) == (
        ["saturday"], ["1:7"], ["january", "july"], ["2024:2030"])
    assert intervals["business-hours"].time_intervals[0].location == "Europe/Berlin"


FAN_OUT = """\
route:
  receiver: all
  routes:{routes}
receivers:
  - name: all
    webhook_configs: [{{url: 'http://a/1'}}, {{url: 'http://a/2'}}]
    email_configs: [{{to: a@x, from: b@x, smarthost: 'm:25'}}]
  - name: one
    webhook_configs: [{{url: 'http://one'}}]
"""
FAN_OUT_CASES = [
    pytest.param("", {"x": "1"}, {"all-webhook", "all-webhook-2", "all-email"}, id="leaf-root"),
    pytest.param("\n    - {matchers: [x=1], receiver: one}", {"x": "1"}, {"one"},
                 id="child-takes-it"),
    pytest.param("\n    - {matchers: [x=1], receiver: one}", {"x": "2"},
                 {"all-webhook", "all-webhook-2", "all-email"}, id="falls-through"),
    pytest.param("\n    - {matchers: ['x=1', 'y=~a|b'], receiver: one, continue: true}",
                 {"x": "1", "y": "a"}, {"one"}, id="continue-child-matched"),
    pytest.param("\n    - {matchers: ['x=1', 'y=~a|b'], receiver: one, continue: true}",
                 {"x": "1", "y": "c"}, {"all-webhook", "all-webhook-2", "all-email"},
                 id="continue-child-missed"),
    pytest.param("\n    - {receiver: one, continue: true}", {"x": "1"}, {"one"},
                 id="catch-all-continue-child"),
    pytest.param("\n    - {matchers: [x=1]}", {"x": "1"},
                 {"all-webhook", "all-webhook-2", "all-email"}, id="inherited"),
]


@pytest.mark.parametrize(("routes", "labels", "reached"), FAN_OUT_CASES)
def test_a_receiver_with_several_integrations_reaches_all(
        routes: str, labels: dict[str, str], reached: set[str], tmp_path: Path) -> None:
    (tmp_path / "am.yml").write_text(FAN_OUT.format(routes=routes or " []"), encoding="utf-8")
    result = run("alertmanager", tmp_path / "am.yml", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    model = check(tmp_path / "out").model
    assert model is not None and model.routing is not None
    assert set(route_tree.receivers_for(model.routing.route, labels)) == reached
    routing_text = (tmp_path / "out" / "routing.yaml").read_text(encoding="utf-8")
    assert "one child route per channel" in routing_text


WEBHOOKS = [
    pytest.param("url: http://bridge.internal:8060/dingtalk/ops/send", {"url"}, id="plain"),
    pytest.param("url: https://u:p@x.example.com/hook", {"urlSecret"}, id="user-info"),
    pytest.param("url: https://x.example.com/hook?access_token=t", {"urlSecret"}, id="token-param"),
    pytest.param("url: https://hooks.slack.com/services/T0/B0/abc", {"urlSecret"},
                 id="slack-host"),
    pytest.param("url: https://x.example.com/hook/0a1b2c3d4e5f6a7b8c9d0e1f", {"urlSecret"},
                 id="token-in-path"),
    pytest.param("url: '${HOOK_URL}'", {"urlSecret"}, id="placeholder"),
    pytest.param("url_file: /run/secrets/hook", {"urlSecret"}, id="url-file"),
    pytest.param("url: http://x/y\n        http_config: {bearer_token: t}",
                 {"url", "bearerToken"}, id="bearer-token"),
]


@pytest.mark.parametrize(("webhook", "fields"), WEBHOOKS)
def test_webhook_urls_with_credentials_become_secrets(webhook: str, fields: set[str]) -> None:
    text = ("route: {receiver: hook}\nreceivers:\n  - name: hook\n    webhook_configs:\n"
            f"      - {webhook}\n")
    spec = import_config(text, source="am.yml", taken=set()).files[0].documents[0]["spec"]
    assert set(spec) - {"type"} == fields


def test_global_http_credentials_get_one_global_variable() -> None:
    text = ("global: {http_config: {basic_auth: {username: u, password: SECRET-p}}}\n"
            "route: {receiver: hooks}\nreceivers:\n  - name: hooks\n    webhook_configs:\n"
            "      - {url: 'http://a/1'}\n      - {url: 'http://a/2'}\n")
    imported = import_config(text, source="am.yml", taken=set())
    specs = [d["spec"] for f in imported.files for d in f.documents if d["kind"] == "Channel"]
    assert [s["basicAuth"]["password"] for s in specs] == [
        {"env": "CONVERGE_GLOBAL_BASIC_AUTH_PASSWORD"}] * 2
    assert [v.name for v in imported.env] == ["CONVERGE_GLOBAL_BASIC_AUTH_PASSWORD"]


def test_empty_receivers_stay_empty_and_dropped_fields_are_reported() -> None:
    text = ("route: {receiver: blackhole}\nreceivers:\n  - name: blackhole\n"
            "  - name: tg\n    telegram_configs: [{bot_token: '${TG_TOKEN}', chat_id: 42,"
            " disable_notifications: true}]\n")
    imported = import_config(text, source="am.yml", taken=set())
    notes = "\n".join(imported.notes)
    blackhole = next(f for f in imported.files if f.path == "channels/blackhole.yaml")
    assert blackhole.documents[0]["spec"] == {"type": "none"}
    assert "blackhole" not in notes
    assert "not imported (no converge field): disable_notifications" in notes
    telegram = next(f for f in imported.files if f.path == "channels/tg.yaml").documents[0]
    assert telegram["spec"]["botToken"] == {"env": "TG_TOKEN"}
    assert [v.name for v in imported.env] == ["TG_TOKEN"]
    assert "SECRET" not in "".join(render(f.documents) for f in imported.files) + notes


def test_msteams_needs_a_newer_alertmanager(tmp_path: Path) -> None:
    (tmp_path / "am.yml").write_text(
        "route: {receiver: t}\nreceivers:\n  - name: t\n    msteams_configs:\n"
        "      - webhook_url: https://example.webhook.office.com/webhookb2/SECRET\n",
        encoding="utf-8")
    result = run("alertmanager", tmp_path / "am.yml", "-o", tmp_path / "new")
    assert result.exit_code == 0, result.output
    assert "version: '0.26'" in (tmp_path / "new" / "converge.yaml").read_text(encoding="utf-8")
    check(tmp_path / "new")
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "converge.yaml").write_text(
        "apiVersion: converge/v1\nkind: Project\nmetadata: {name: old}\nspec: {}\n",
        encoding="utf-8")
    result = run("alertmanager", tmp_path / "am.yml", "-o", tmp_path / "old")
    assert "need alertmanager ≥ 0.26; converge.yaml says 0.25: raise it" in result.output


BAD_ALERTMANAGER = [
    pytest.param("groups: []\n", "not an Alertmanager configuration", id="rule-file"),
    pytest.param("route: {receiver: x}\nreceivers: [{name: y}]\n", "unknown receiver 'x'",
                 id="unknown-receiver"),
    pytest.param("route: {group_by: [a]}\nreceivers: [{name: y}]\n", "needs a receiver",
                 id="root-without-receiver"),
    pytest.param("route: {receiver: y}\nreceivers: [{name: y}, {name: y}]\n",
                 "duplicate receiver", id="duplicate-receiver"),
    pytest.param("route: {receiver: y, matchers: ['a']}\nreceivers: [{name: y}]\n",
                 "is not a matcher", id="bad-matcher"),
    pytest.param("route: {receiver: y}\nreceivers:\n  - name: y\n    slack_configs: [{}]\n",
                 "needs 'api_url' or global 'slack_api_url'", id="slack-without-url"),
    pytest.param(":\n  - [\n", "not valid YAML", id="not-yaml"),
]


@pytest.mark.parametrize(("text", "message"), BAD_ALERTMANAGER)
def test_bad_alertmanager_configs_fail_in_one_line(text: str, message: str,
                                                   tmp_path: Path) -> None:
    (tmp_path / "am.yml").write_text(text, encoding="utf-8")
    result = run("alertmanager", tmp_path / "am.yml", "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert message in result.output and result.output.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_rules_then_alertmanager_make_one_repository(tmp_path: Path) -> None:
    assert run("prometheus-rules", *RULE_FIXTURES, "-o", tmp_path).exit_code == 0
    refused = run("alertmanager", ALERTMANAGER, "-o", tmp_path)
    assert refused.exit_code == 2 and "routing.yaml" in refused.output
    result = run("alertmanager", ALERTMANAGER, "-o", tmp_path, "--force")
    assert result.exit_code == 0, result.output
    assert "converge.yaml" not in result.output  # the project written first is kept
    kinds = [r.kind for r in resources(tmp_path)]
    assert kinds.count("Routing") == 1 and kinds.count("Project") == 1
    assert "default" not in {r.name for r in resources(tmp_path) if r.kind == "Channel"}
    check(tmp_path)

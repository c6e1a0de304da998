"""Issue 20: an import changes nothing unless it says so.

Each fixture is imported, checked and compiled; the rendered files must mean what the
source meant: group names and intervals as written (an unset interval stays unset),
receivers' names and settings, every rename or dropped field in the import's report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import realtools
import yaml
from click.testing import CliRunner

from converge.compiler import matchers, pipeline, render, sources
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


# --- Alertmanager: receivers keep what they do ---------------------------------------------

AM_HEAD = "route:\n  receiver: Team_A\n  routes:\n    - {receiver: team-a, matchers: [x=\"1\"]}\n"


def import_am(tmp_path: Path, receivers: str, *extra: str) -> tuple[Any, Path]:
    (tmp_path / "am.yml").write_text(AM_HEAD + "receivers:\n" + receivers, encoding="utf-8")
    result = run("alertmanager", tmp_path / "am.yml", "-o", tmp_path / "out", *extra)
    return result, tmp_path / "out"


def test_an_empty_receiver_stays_empty_and_amtool_accepts_it(tmp_path: Path) -> None:
    result, out = import_am(tmp_path, "  - name: Team_A\n  - name: team-a\n")
    assert result.exit_code == 0, result.output
    config = yaml.safe_load(compiled(out)["alertmanager/alertmanager.yaml"])
    assert all(set(r) == {"name"} for r in config["receivers"]), config["receivers"]
    assert "discard" not in result.output
    (tmp_path / "am-out.yml").write_text(compiled(out)["alertmanager/alertmanager.yaml"],
                                         encoding="utf-8")
    checked = realtools.amtool_check_config(tmp_path / "am-out.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_an_unsupported_integration_is_refused_at_its_position(tmp_path: Path) -> None:
    result, out = import_am(tmp_path, "  - name: Team_A\n  - name: team-a\n"
                                      "    pushover_configs: [{user_key: u, token: t}]\n")
    assert result.exit_code == 2
    assert f"{tmp_path / 'am.yml'}:8:5: receiver 'team-a': pushover_configs has no " \
           "converge channel type" in result.output
    assert not out.exists()


def test_every_receiver_rename_is_reported(tmp_path: Path) -> None:
    result, _ = import_am(tmp_path, "  - name: Team_A\n  - name: team-a\n")
    assert result.exit_code == 0, result.output
    assert "receiver 'Team_A' renamed 'team-a'" in result.output
    assert "receiver 'team-a' renamed 'team-a-2'" in result.output


def test_email_text_and_html_stay_apart(tmp_path: Path) -> None:
    email = ("    email_configs:\n      - to: a@example.com\n        from: am@example.com\n"
             "        smarthost: smtp.example.com:25\n")
    result, out = import_am(
        tmp_path, "  - name: Team_A\n" + email + "        text: 'plain {{ .Status }}'\n"
                  "  - name: team-a\n" + email + "        html: '<b>{{ .Status }}</b>'\n"
                  "        text: 'plain too'\n")
    assert result.exit_code == 0, result.output
    config = yaml.safe_load(compiled(out)["alertmanager/alertmanager.yaml"])
    emails = {r["name"]: r["email_configs"][0] for r in config["receivers"]}
    assert emails["team-a"]["text"] == "plain {{ .Status }}"
    assert "html" not in emails["team-a"]  # Alertmanager's default HTML mail stays
    assert emails["team-a-2"]["text"] == "plain too"
    assert emails["team-a-2"]["html"] == '{{ template "converge.team-a-2.body" . }}'


# --- The import report and --strict ----------------------------------------------------------

def test_a_faithful_import_reports_no_changes_and_passes_strict(tmp_path: Path) -> None:
    (tmp_path / "r.yml").write_text("groups:\n  - name: api\n    interval: 15s\n"
                                    "    rules: [{alert: A, expr: up == 0, for: 5m}]\n",
                                    encoding="utf-8")
    result = run("prometheus-rules", tmp_path / "r.yml", "-o", tmp_path / "out", "--strict")
    assert result.exit_code == 0, result.output
    assert "Import report: no changes" in result.output


def test_strict_refuses_an_import_that_changes_something(tmp_path: Path) -> None:
    result, out = import_am(tmp_path, "  - name: Team_A\n  - name: team-a\n", "--strict")
    assert result.exit_code == 1, result.output
    assert "Import report: 2 change(s) from the source:" in result.output
    assert "receiver 'Team_A' renamed 'team-a'" in result.output
    assert "--strict: the import is not faithful" in result.output
    assert not out.exists()


def test_keep_firing_for_never_drops_a_group_from_vmalert(tmp_path: Path) -> None:
    (tmp_path / "r.yml").write_text(
        "groups:\n  - name: g\n    rules:\n      - {alert: A, expr: up == 0, keep_firing_for: 5m}\n"
        "      - {record: 'job:up:sum', expr: sum by (job) (up)}\n", encoding="utf-8")
    result = run("prometheus-rules", tmp_path / "r.yml", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "1 RuleGroup(s) ('g') use rule.keepFiringFor" in result.output
    assert "vmalert's files render those rules without it" in result.output
    check = pipeline.check(sources.read_directory(tmp_path / "out"))
    dropped = [d for d in check.diagnostics if d.code == "target/field-dropped"]
    assert [(d.path, d.span.line if d.span else None) for d in dropped] == [
        ("rules/r.yaml", 13)]
    files = compiled(tmp_path / "out")
    prometheus = yaml.safe_load(files["prometheus/rules/g.yaml"])["groups"][0]["rules"]
    vmalert = yaml.safe_load(files["vmalert/rules/g.yaml"])["groups"][0]["rules"]
    assert prometheus[0]["keep_firing_for"] == "5m"
    assert [r.get("alert") or r["record"] for r in vmalert] == ["A", "job:up:sum"]
    assert "keep_firing_for" not in vmalert[0]
    (tmp_path / "vm.yaml").write_text(files["vmalert/rules/g.yaml"], encoding="utf-8")
    checked = realtools.vmalert_dry_run(tmp_path / "vm.yaml")
    assert checked.returncode == 0, checked.stdout + checked.stderr


COMMENTED = """\
# Rules for the API.
groups:
  # The API's availability.
  - name: api
    rules:
      # Fires when the API is down.
      # Page at once.
      - alert: ApiDown
        expr: |
          up{job="api"} == 0
          # a PromQL comment, part of the expression
        for: 1m
      - record: job:up:sum
        # inside the rule: kept above it
        expr: sum by (job) (up)
  - name: empty
    rules: []
# the end
"""


def test_comments_are_kept_on_the_group_or_rule_they_precede(tmp_path: Path) -> None:
    (tmp_path / "r.yml").write_text(COMMENTED, encoding="utf-8")
    result = run("prometheus-rules", tmp_path / "r.yml", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "out" / "rules" / "r.yaml").read_text(encoding="utf-8")
    assert ("# Rules for the API.\n# The API's availability.\n# the end\n"
            "apiVersion: converge/v1\n") in text
    assert ("    # Fires when the API is down.\n    # Page at once.\n    - alert: ApiDown\n"
            in text)
    assert "    # inside the rule: kept above it\n    - record: job:up:sum\n" in text
    assert text.count("a PromQL comment") == 1  # in the expression, not as a comment
    spec = yaml.safe_load(text)["spec"]
    assert spec["rules"][0]["expr"] == ('up{job="api"} == 0\n'
                                        "# a PromQL comment, part of the expression\n")
    compiled(tmp_path / "out")


def test_every_comment_of_the_fixtures_is_kept(tmp_path: Path) -> None:
    fixtures = [*RULE_FIXTURES, FIXTURES / "kubernetes.prometheusrule.yaml"]
    result = run("prometheus-rules", *fixtures, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    for path in fixtures:
        stem = path.name.rsplit(".", 1)[0].replace(".", "-")
        written = (tmp_path / "out" / "rules" / f"{stem}.yaml").read_text(encoding="utf-8")
        source = path.read_text(encoding="utf-8")
        wanted = [line.strip() for line in source.splitlines() if line.strip().startswith("#")]
        kept = [line.strip() for line in written.splitlines() if line.strip().startswith("#")]
        assert kept[1:] == wanted or sorted(kept[1:]) == sorted(wanted), path.name


# --- Alertmanager >= 0.27 matchers: quoted UTF-8 label names ---------------------------------

UTF8_ROUTE = ('route:\n  receiver: a\n  routes:\n'
              '    - {receiver: b, matchers: [\'"service.name"="api"\', \'{"δ-zone"=~"eu.*"}\']}\n'
              'receivers: [{name: a}, {name: b}]\n')


def test_quoted_utf8_label_names_import_for_alertmanager_0_27(tmp_path: Path) -> None:
    (tmp_path / "am.yml").write_text(UTF8_ROUTE, encoding="utf-8")
    result = run("alertmanager", tmp_path / "am.yml", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    project = yaml.safe_load((tmp_path / "out" / "converge.yaml").read_text(encoding="utf-8"))
    assert project["spec"]["targets"]["alertmanager"]["version"] == "0.27"
    config = yaml.safe_load(compiled(tmp_path / "out")["alertmanager/alertmanager.yaml"])
    assert config["route"]["routes"][0]["matchers"] == ['"service.name"="api"',
                                                        '"δ-zone"=~"eu.*"']


def test_quoted_utf8_label_names_are_refused_for_alertmanager_0_25(tmp_path: Path) -> None:
    (tmp_path / "am.yml").write_text(UTF8_ROUTE, encoding="utf-8")
    assert run("alertmanager", tmp_path / "am.yml", "-o", tmp_path / "out").exit_code == 0
    project = tmp_path / "out" / "converge.yaml"
    project.write_text(project.read_text(encoding="utf-8").replace("'0.27'", "'0.25'"),
                       encoding="utf-8")
    result = pipeline.check(sources.read_directory(tmp_path / "out"))
    found = [(d.code, d.span.line if d.span else 0, d.message) for d in result.diagnostics
             if d.severity.value == "error"]
    assert found and all(code == "matcher/syntax" for code, _, _ in found), found
    assert "label name 'service.name' needs quoting" in found[0][2]


@pytest.mark.parametrize(("text", "name", "rendered"), [
    pytest.param('"service.name"="api"', "service.name", '"service.name"="api"', id="dotted"),
    pytest.param('"severity"="x"', "severity", 'severity="x"', id="classic-unquoted"),
    pytest.param('"a\\"b"!="1"', 'a"b', '"a\\"b"!="1"', id="escaped"),
])
def test_utf8_matchers_parse_and_render(text: str, name: str, rendered: str) -> None:
    parsed = matchers.parse(text)
    assert isinstance(parsed, matchers.Matcher) and parsed.name == name
    assert parsed.render() == rendered
    assert matchers.parse(rendered) == parsed


# --- Alertmanager templates: imported, rendered, and every call resolved -------------------

def test_template_files_are_imported_and_amtool_loads_them(tmp_path: Path) -> None:
    result = run("alertmanager", FIXTURES / "alertmanager.yml", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    files = compiled(tmp_path / "out")
    assert {"alertmanager/templates/_dba.tmpl", "alertmanager/templates/_slack.tmpl"} <= set(files)
    assert 'define "email.dba.html"' in files["alertmanager/templates/_dba.tmpl"]
    for path, text in files.items():
        if path.startswith("alertmanager/"):
            (tmp_path / "am" / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / "am" / path).write_text(text, encoding="utf-8")
    config = tmp_path / "am" / "alertmanager" / "alertmanager.yaml"
    assert yaml.safe_load(config.read_text(encoding="utf-8"))["templates"] == ["templates/*.tmpl"]
    checked = realtools.amtool_check_config(config)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_call_to_an_undefined_template_fails_check(tmp_path: Path) -> None:
    result = run("alertmanager", FIXTURES / "alertmanager.yml", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    (tmp_path / "out" / "routing.yaml").write_text(
        (tmp_path / "out" / "routing.yaml").read_text(encoding="utf-8").replace(
            '"email.dba.html"', '"email.dba.htm"'), encoding="utf-8")
    check = pipeline.check(sources.read_directory(tmp_path / "out"))
    found = [d for d in check.diagnostics if d.code == "template/undefined"]
    assert [d.path for d in found] == ["channels/db-team.yaml"], found
    assert 'template "email.dba.html" is not defined' in found[0].message
    assert found[0].span is not None and found[0].span.line > 1

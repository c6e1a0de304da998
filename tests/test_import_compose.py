"""`converge import compose`: each service's restart and healthcheck as a HealingPolicy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from converge.compiler import importers
from converge.compiler.commands.main import main

COMPOSE = """\
name: Shop
services:
  web:
    restart: always
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost"]
      interval: 1m30s
      timeout: 10s
      retries: 5
      start_period: 500ms
  db:
    restart: "no"
"""


def policies(text: str, project: str = "p") -> dict[str, dict[str, Any]]:
    imported = importers.import_compose(text, source="c.yml", project=project, taken=set())
    [file] = imported.files
    return {d["metadata"]["name"]: d["spec"] for d in file.documents}


def service(body: str) -> dict[str, Any]:
    return policies("services:\n  s:\n" + "".join(f"    {line}\n"
                                                  for line in body.splitlines()))["p-s"]


def test_the_source_documents_example() -> None:
    found = policies(COMPOSE)
    assert found["shop-web"] == {
        "selector": {"compose": {"project": "shop", "service": "web"}},
        "check": {"type": "exec", "exec": {"command": ["curl", "-f", "http://localhost"]},
                  "interval": "1m30s", "timeout": "10s", "startPeriod": "500ms"},
        "failureThreshold": 5,
        "restart": {"maxRestarts": 10, "window": "5m"},
    }
    assert found["shop-db"] == {"selector": {"compose": {"project": "shop", "service": "db"}},
                                "check": {"type": "state"}, "restart": {"auto": False}}


@pytest.mark.parametrize(("body", "restart"), [
    pytest.param("image: x", {"auto": False}, id="compose-default-no"),
    pytest.param("restart: no", {"auto": False}, id="no"),
    pytest.param("restart: unless-stopped", {"maxRestarts": 10, "window": "5m"},
                 id="unless-stopped"),
    pytest.param("restart: on-failure", {}, id="on-failure"),
    pytest.param("restart: on-failure:2", {"maxRestarts": 2}, id="on-failure-n"),
    pytest.param("deploy: {restart_policy: {condition: none}}", {"auto": False},
                 id="deploy-none"),
    pytest.param("restart: always\ndeploy: {restart_policy: {max_attempts: 7, window: 90s, "
                 "delay: 2s}}", {"maxRestarts": 7, "window": "1m30s",
                                 "backoff": {"initial": "2s"}}, id="deploy-wins"),
])
def test_restart_mapping(body: str, restart: dict[str, Any]) -> None:
    assert service(body)["restart"] == restart


@pytest.mark.parametrize(("test", "command"), [
    pytest.param('"pg_isready"', ["sh", "-c", "pg_isready"], id="string"),
    pytest.param('["CMD-SHELL", "pg_isready -q"]', ["sh", "-c", "pg_isready -q"],
                 id="cmd-shell"),
    pytest.param('["CMD", "true"]', ["true"], id="cmd"),
])
def test_healthcheck_commands(test: str, command: list[str]) -> None:
    check = service(f"healthcheck: {{test: {test}, interval: 10s, timeout: 2s}}")["check"]
    assert check["exec"]["command"] == command
    assert (check["interval"], check["timeout"]) == ("10s", "2s")


@pytest.mark.parametrize("body", ["healthcheck: {disable: true, test: [CMD, x]}",
                                  'healthcheck: {test: ["NONE"]}'])
def test_disabled_healthcheck_is_a_state_check(body: str) -> None:
    spec = service(body)
    assert spec["check"] == {"type": "state"} and "failureThreshold" not in spec


def test_docker_defaults_and_a_timeout_not_shorter_than_the_interval() -> None:
    imported = importers.import_compose(
        "services:\n  s:\n    healthcheck: {test: [CMD, x]}\n", source="c.yml", project="p",
        taken=set())
    check = imported.files[0].documents[0]["spec"]["check"]
    assert (check["interval"], check["timeout"]) == ("30s", "15s")
    assert "not shorter" in imported.notes[0]


@pytest.mark.parametrize("text", ["a: [", "just: text",
                                  "services:\n  s:\n    restart: sometimes\n"])
def test_bad_input_is_one_line(text: str) -> None:
    with pytest.raises(importers.SourceFormatError):
        importers.import_compose(text, source="c.yml", project="p", taken=set())


def test_the_command_writes_specs_that_check(tmp_path: Path) -> None:
    folder = tmp_path / "My_App"
    folder.mkdir()
    (folder / "docker-compose.yml").write_text(COMPOSE.replace("name: Shop\n", ""))
    out = tmp_path / "repo"
    runner = CliRunner()
    result = runner.invoke(main, ["import", "compose", str(folder / "docker-compose.yml"),
                                  "-o", str(out)])
    assert result.exit_code == 0, result.output
    written = list(yaml.safe_load_all((out / "healing" / "my-app.yaml").read_text()))
    assert [d["metadata"]["name"] for d in written] == ["my-app-web", "my-app-db"]
    assert written[0]["spec"]["selector"]["compose"]["project"] == "my_app"
    checked = runner.invoke(main, ["check", str(out)])
    assert checked.exit_code == 0, checked.output
    again = runner.invoke(main, ["import", "compose", str(folder / "docker-compose.yml"),
                                 "-o", str(out)])
    assert again.exit_code == 2 and "--force" in again.output


def test_strict_refuses_a_compose_import_that_changes_something(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web:\n    image: nginx\n    restart: always\n    healthcheck:\n"
        "      test: [CMD, curl, -f, http://localhost]\n      interval: 5s\n"
        "      timeout: 10s\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["import", "compose", str(tmp_path / "compose.yaml"),
                                       "-o", str(tmp_path / "out"), "--strict"])
    assert result.exit_code == 1, result.output
    assert "Import report: 1 change(s)" in result.output
    assert not (tmp_path / "out").exists()

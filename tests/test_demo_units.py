"""The pure parts of `converge demo`: the demo's spec files, its repository transforms, the
exporter's text format, the sink, and the supervisor's stop ladder."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from converge.compiler import diagnostics, pipeline
from converge.compiler.sources import SourceFile
from converge.reconciler.demo import local, processes, workspace

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "repo-example"


def test_demo_specs_are_valid_yaml_with_the_threshold() -> None:
    rules = yaml.safe_load(workspace.rules_yaml(40))
    rule = rules["spec"]["rules"][0]
    assert rule["alert"] == workspace.DEMO_ALERT
    assert rule["thresholds"] == {"critical": 40}
    assert rules["spec"]["interval"] == "1s"
    channel = yaml.safe_load(workspace.channel_yaml("http://127.0.0.1:1"))
    assert channel["spec"]["baseUrl"] == "http://127.0.0.1:1"
    assert yaml.safe_load(workspace.pool_yaml())["metadata"]["name"] == workspace.DEMO_POOL
    healing = yaml.safe_load(workspace.healing_yaml())
    assert healing["spec"]["alert"]["channels"] == [workspace.DEMO_CHANNEL]


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("spec:\n  route:\n    routes:\n      - receiver: a\n",
                 "      - receiver: demo-sink\n", id="first-route"),
], )
def test_demo_route_goes_first_and_its_interval_changes(text: str, expected: str) -> None:
    routed = workspace.routing_with_demo_route(text)
    assert routed.split("    routes:\n", 1)[1].startswith(expected)
    assert "groupInterval: 5s" in routed
    changed = workspace.with_demo_route_interval(routed, "7s")
    assert "groupInterval: 7s" in changed and "groupInterval: 5s" not in changed


def test_routing_without_routes_is_refused() -> None:
    with pytest.raises(ValueError, match="routes"):
        workspace.routing_with_demo_route("spec:\n  route:\n    receiver: a\n")


def test_secret_references_are_found_and_files_moved() -> None:
    texts = ["key:\n  env: A_KEY\n", "x:\n  env: B\n  y:\n    env: A_KEY\n",
             "f:\n  file: /etc/converge/secrets/token\n"]
    assert workspace.secret_env_names(texts) == ["A_KEY", "B"]
    assert workspace.secret_file_names(texts) == ["token"]
    moved = workspace.with_local_secret_files(texts[2], Path("/w/secrets"))
    assert moved == "f:\n  file: /w/secrets/token\n"


def test_project_notifier_url_is_replaced() -> None:
    text = "spec:\n  notifierURL: http://127.0.0.1:9095\n  other: 1\n"
    assert workspace.project_with_notifier(text, "http://127.0.0.1:1") == (
        "spec:\n  notifierURL: http://127.0.0.1:1\n  other: 1\n")


def test_the_demo_repository_compiles_and_the_broken_commit_does_not(tmp_path: Path) -> None:
    repo, names = workspace.create(example=EXAMPLE, root=tmp_path / "repo",
                                   sink_url="http://127.0.0.1:1",
                                   notifier_url="http://127.0.0.1:2", threshold=50)
    repo.close()
    assert workspace.DEMO_TOKEN_ENV in names
    sources = {str(p.relative_to(tmp_path / "repo")): p.read_text(encoding="utf-8")
               for p in sorted((tmp_path / "repo").rglob("*.yaml")) if ".git" not in p.parts}
    assert _errors(sources) == []
    sources["rules/demo.yaml"] = workspace.rules_yaml(50, broken=True)
    assert [d.code for d in _errors(sources)] == ["promql/syntax"]


def _errors(sources: dict[str, str]) -> list[diagnostics.Diagnostic]:
    result = pipeline.check([SourceFile(path, text.encode()) for path, text in sources.items()])
    return [d for d in result.diagnostics if d.severity == "error"]


def test_exposition_format() -> None:
    assert local.exposition({"b": 2, "a": 1.5}) == (
        "# TYPE a gauge\na 1.5\n# TYPE b gauge\nb 2\n")


def test_exporter_and_sink_over_http() -> None:
    exporter, sink = local.Exporter(), local.Sink()
    try:
        exporter.set("demo_queue_length", 7)
        assert "demo_queue_length 7" in httpx.get(exporter.url + "/metrics").text
        answer = httpx.post(sink.url + "/robot/send?access_token=x", json={"msgtype": "text"})
        assert answer.json() == {"errcode": 0, "errmsg": "ok"}
        assert sink.deliveries() == [{"msgtype": "text"}]
    finally:
        exporter.close()
        sink.close()


def test_supervisor_stops_the_whole_group_and_records_pids(tmp_path: Path) -> None:
    sup = processes.Supervisor(tmp_path)
    # A parent that ignores SIGTERM and leaves a grandchild in its group.
    child = sup.start("stubborn", [sys.executable, "-c",
                                   "import signal, subprocess, time\n"
                                   "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                                   "subprocess.Popen(['sleep', '300'])\n"
                                   "print('ready', flush=True)\n"
                                   "time.sleep(300)\n"])
    deadline = time.monotonic() + 10
    while "ready" not in child.log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    pgid = child.popen.pid
    original, processes.GRACE_SECONDS = processes.GRACE_SECONDS, 0.5
    try:
        sup.stop_all()
    finally:
        processes.GRACE_SECONDS = original
    assert (tmp_path / "pids").read_text() == f"{pgid} stubborn\n"
    assert not _group_members(pgid)


def _group_members(pgid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def test_run_records_a_one_shot_child(tmp_path: Path) -> None:
    sup = processes.Supervisor(tmp_path)
    assert sup.run("false", ["false"]) == 1
    pid = int((tmp_path / "pids").read_text().split()[0])
    assert not _group_members(pid)
    assert (tmp_path / "logs" / "false.log").exists()


def test_the_demo_drives_the_daemons_only_through_their_commands_and_apis() -> None:
    """The demo imports no daemon: it runs them as `converge …` and reads their HTTP APIs,
    as a user would."""
    for path in sorted((ROOT / "reconciler" / "demo").glob("*.py")):
        names = re.findall(r"^\s*(?:from|import) (converge\.reconciler\.\w+)",
                           path.read_text(), re.M)
        assert set(names) <= {"converge.reconciler.demo"}, path


def test_the_example_is_found_beside_the_code_or_in_the_current_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import click

    from converge.reconciler.demo import cli

    assert cli._find_example() == cli._EXAMPLE  # a source checkout
    monkeypatch.setattr(cli, "_EXAMPLE", tmp_path / "installed" / "repo-example")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(click.UsageError, match="--example"):
        cli._find_example()
    (tmp_path / "repo-example").mkdir()
    (tmp_path / "repo-example" / "converge.yaml").write_text("")
    assert cli._find_example() == tmp_path / "repo-example"

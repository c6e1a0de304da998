"""The speed-ups of `converge check` and `compile` answer as the code they replace.

`converge.compiler.parallel.check_worker` loads half the files and parses PromQL in a forked
process: with or without it, and when it fails at any step, every diagnostic is the same.
`converge.compiler.parallel.render_worker` renders and writes vmalert's files in a forked
process: the same bundle, and the same errors. `converge.compiler.expand` finds label names
before matchers without the backtracking regular expression it replaced: on any string, the
same names.
"""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import valid_repo
from click.testing import CliRunner, Result
from hypothesis import example, given, settings
from hypothesis import strategies as st

from converge.compiler import expand, exprs, pipeline, render, sources, writer
from converge.compiler.commands import main as cli
from converge.compiler.parallel import check_worker, render_worker

ROOT = Path(__file__).resolve().parent.parent

_RULES: list[dict[str, Any]] = [
    {"record": "job:up:sum", "expr": "sum by (job) (up)"},
    {"alert": "Broken", "expr": "sum(rate(x[5m]) by (job)", "for": "5m"},  # promql/syntax
    {"alert": "Dropped", "expr": "sum by (job) (up) == 0",  # template/unknown-label
     "annotations": {"summary": "{{ $labels.instance }} is down"}},
    {"alert": "Tiered", "expr": "avg by (instance) (load1) > $threshold",
     "thresholds": {"warning": 1, "critical": 2}},
    {"alert": "Lag", "expr": "lag(x[5m]) > 1"},  # MetricsQL where Prometheus evaluates it
]


def _sources() -> list[sources.SourceFile]:
    """The valid repository plus broken rules, spread over several files."""
    documents = valid_repo.documents()
    group = next(d for d in documents if d["kind"] == "RuleGroup")
    group["spec"]["rules"].extend(_RULES)
    files = [valid_repo.source([d], f"{i}-{d['kind']}.yaml") for i, d in enumerate(documents)]
    files.append(sources.SourceFile("9-broken.yaml", b"kind: [\n"))  # yaml/parse
    return files


def _check(monkeypatch: pytest.MonkeyPatch, minimum: int) -> pipeline.CheckResult:
    monkeypatch.setattr(check_worker, "MIN_BYTES", minimum)
    return pipeline.check(_sources())


def _alone(monkeypatch: pytest.MonkeyPatch) -> pipeline.CheckResult:
    return _check(monkeypatch, 10**12)


def test_the_worker_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[check_worker.Worker | None] = []
    real_start = check_worker.start

    def start(files: Any) -> check_worker.Worker | None:
        started.append(real_start(files))
        return started[-1]

    monkeypatch.setattr(check_worker, "start", start)
    alone = _alone(monkeypatch)
    with_worker = _check(monkeypatch, 1)
    assert started[0] is None and isinstance(started[1], check_worker.Worker)
    assert {d.code for d in alone.diagnostics} >= {
        "promql/syntax", "template/unknown-label", "yaml/parse"}
    assert with_worker.diagnostics == alone.diagnostics
    assert with_worker.texts == alone.texts and list(with_worker.texts) == list(alone.texts)
    assert with_worker.model is not None and alone.model is not None
    assert render.render(with_worker.model) == render.render(alone.model)


def _exit_at(step: str) -> Any:
    """A worker that dies at `step` (before sending its files, or before its answers)."""
    real_send = check_worker._send

    def send(fd: int, value: Any) -> None:
        if step == "files" or isinstance(value, tuple):
            os._exit(3)
        real_send(fd, value)

    return send


@pytest.mark.parametrize("step", ["files", "answers"])
def test_a_failed_worker_changes_nothing_either(step: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    alone = _alone(monkeypatch)
    monkeypatch.setattr(check_worker, "_send", _exit_at(step))
    assert _check(monkeypatch, 1).diagnostics == alone.diagnostics


def test_the_worker_answers_what_the_parent_would() -> None:
    files = _sources()
    worker = check_worker.Worker(files, 1)
    theirs = worker.loaded()
    assert [f.path for f in theirs] == [f.path for f in files[1:]]
    worker.send_expressions([])
    expressions = [rule["expr"] for rule in _RULES]
    assert worker.answers() == {(e, "prometheus"): exprs.analysis(e, "prometheus")
                                for e in expressions + ["sum by (job) (up)", "up == 0",
                                "avg by (instance) (rate(process_cpu_seconds_total[5m]))"
                                " * 100 > $threshold"]}
    worker.close()  # a second close is harmless


def test_checks_sharing_their_work_answer_as_checks_alone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`pipeline.Shared` (as `converge diff` uses it): the head's check, after the base's
    and with one worker for both, finds what it finds alone."""
    base = _sources()
    changed = next(f for f in base if b"job:up:sum" in f.data)
    head = [sources.SourceFile(f.path, f.data.replace(b"job:up:sum", b"job:up:total"))
            if f is changed else f for f in base]
    head.append(sources.SourceFile("8-new.yaml", b"kind: [\n"))
    alone = [_alone(monkeypatch), pipeline.check(head)]
    monkeypatch.setattr(check_worker, "MIN_BYTES", 1)
    both = sources.union(base, head)
    assert [f.path for f in both] == [*(f.path for f in base), changed.path, "8-new.yaml"]
    worker = check_worker.start(both)
    assert worker is not None
    shared = pipeline.preload(both, worker)
    try:
        together = [pipeline.check(base, shared=shared), pipeline.check(head, shared=shared)]
    finally:
        shared.close()
    for one, other in zip(together, alone, strict=True):
        assert one.diagnostics == other.diagnostics and one.texts == other.texts
        assert one.model is not None and other.model is not None
        assert render.render(one.model) == render.render(other.model)


@pytest.mark.parametrize("fail", [False, True])
def test_a_model_rendered_aside_is_rendered_alike(fail: bool,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    model = pipeline.check(_sources()).model
    assert model is not None
    monkeypatch.setattr(render_worker, "MIN_GROUPS", 1)
    if fail:
        monkeypatch.setattr(render_worker, "_send", lambda *args: os._exit(3))
    assert render_worker.Aside(model).files() == render.render(model)
    render_worker.Aside(model).cancel()  # reaped, never read


_OLD_MATCHER_NAME = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)\s*[\"'`]")


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet='ab_Z09 =~!"\'`\t\né.,{}(\u2003', max_size=40))
@example('up{job="api", 9zone!~"eu.*"} == 0')
@example('x{a="b=\\"c\\""} and a1 =~ `y`')
def test_matcher_names_are_what_the_regular_expression_found(text: str) -> None:
    assert expand._matcher_names(text) == _OLD_MATCHER_NAME.findall(text)


# --- compile: vmalert's files rendered and written by a worker -------------------------


def _compile(out: Path, monkeypatch: pytest.MonkeyPatch, minimum: int) -> Result:
    monkeypatch.setattr(render_worker, "MIN_GROUPS", minimum)
    return CliRunner().invoke(cli.main, ["compile", str(ROOT / "repo-example"), "-o", str(out)])


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_rendering_worker_writes_the_same_bundle(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    forks: list[int] = []
    real_fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: forks.append(1) or real_fork())
    assert _compile(tmp_path / "alone", monkeypatch, 10**9).exit_code == 0
    assert not forks
    assert _compile(tmp_path / "worker", monkeypatch, 1).exit_code == 0
    assert forks
    assert _tree(tmp_path / "worker") == _tree(tmp_path / "alone")
    assert any(p.startswith("vmalert/") for p in _tree(tmp_path / "worker"))


def test_a_failed_rendering_worker_changes_nothing(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    assert _compile(tmp_path / "alone", monkeypatch, 10**9).exit_code == 0
    monkeypatch.setattr(render_worker, "_serve", lambda *args: os._exit(3))
    assert _compile(tmp_path / "worker", monkeypatch, 1).exit_code == 0
    assert _tree(tmp_path / "worker") == _tree(tmp_path / "alone")


def test_a_write_error_in_the_rendering_worker_is_reported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _compile(tmp_path / "out", monkeypatch, 10**9).exit_code == 0
    before = _tree(tmp_path / "out")
    real_write = writer.Staging.write

    def write(self: writer.Staging, files: Any) -> None:
        if any(path.startswith("vmalert/") for path in files):
            raise self.error(OSError(errno.ENOSPC, "injected: no space left on device"))
        real_write(self, files)

    monkeypatch.setattr(writer.Staging, "write", write)
    result = _compile(tmp_path / "out", monkeypatch, 1)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"converge: error: cannot write {tmp_path / 'out'}: ")
    assert "injected" in result.stderr
    assert _tree(tmp_path / "out") == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


# --- the console script exits without tearing the model down ------------------------


@pytest.mark.parametrize(("docs", "code"), [
    pytest.param(None, 0, id="clean"),
    pytest.param([{"apiVersion": "converge/v1", "kind": "RuleGroup",
                   "metadata": {"name": "x"},
                   "spec": {"rules": [{"record": "r", "expr": "sum(x"}]}}], 1, id="errors"),
])
def test_the_console_script_prints_everything_and_keeps_the_exit_code(
        docs: list[Any] | None, code: int, tmp_path: Path) -> None:
    (tmp_path / "specs.yaml").write_bytes(valid_repo.dump(valid_repo.documents()
                                                          if docs is None else docs))
    done = subprocess.run(
        [sys.executable, "-c", "from converge.compiler.commands.main import run; run()", "check",
         str(tmp_path), "--format", "json"], capture_output=True, text=True, check=False, cwd=ROOT)
    assert done.returncode == code, done.stderr
    assert json.loads(done.stdout)["summary"]["errors"] == code

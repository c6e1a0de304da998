"""`converge watch`: the pure parts on virtual time, then the real command on a real
file system (save, break, fix; the output keeps the last good bundle; Ctrl-C exits 0)."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import valid_repo

from converge.compiler import bundle
from converge.compiler.watch import Debouncer, plan, relevant

# -- which events matter ----------------------------------------------------------------


@pytest.mark.parametrize(("path", "expected"), [
    pytest.param("rules/http.yaml", True, id="spec"),
    pytest.param("converge.yml", True, id="yml"),
    pytest.param(".converge-ignore", True, id="ignore-file"),
    pytest.param("README.md", False, id="not-yaml"),
    pytest.param("rules/.http.yaml.swp", False, id="vim-swap"),
    pytest.param("rules/http.yaml~", False, id="backup"),
    pytest.param("rules/4913", False, id="vim-probe"),
    pytest.param("rules/.#http.yaml", False, id="emacs-lock"),
    pytest.param("rules/#http.yaml#", False, id="emacs-autosave"),
    pytest.param("rules/http.yaml___jb_tmp___", False, id="jetbrains"),
    pytest.param(".git/config.yaml", False, id="git"),
    pytest.param("build/prometheus/rules/a.yaml", False, id="output"),
    pytest.param(".build.new-x1/prometheus/rules/a.yaml", False, id="output-staging"),
    pytest.param("vendor/a.yaml", False, id="ignored"),
])
def test_relevant_paths(path: str, expected: bool) -> None:
    assert relevant(path, ["vendor"], output="build") is expected


def test_directories_that_may_hold_specs_are_relevant() -> None:
    assert relevant("rules", directory=True)
    assert not relevant(".git/refs", directory=True)


# -- when to act ---------------------------------------------------------------------------


def test_a_burst_of_events_compiles_once_after_it_settles() -> None:
    debouncer = Debouncer(0.3)
    assert debouncer.wait(0.0) is None and debouncer.take(0.0) == frozenset()
    debouncer.add("a.yaml", 10.0)
    debouncer.add("a.yaml", 10.1)  # an editor's second write
    debouncer.add("b.yaml", 10.2)
    assert debouncer.wait(10.2) == pytest.approx(0.3)
    assert debouncer.take(10.4) == frozenset()
    assert debouncer.take(10.5) == {"a.yaml", "b.yaml"}
    assert debouncer.wait(10.5) is None and debouncer.take(11.0) == frozenset()


def test_changes_without_pause_still_compile_at_the_limit() -> None:
    debouncer = Debouncer(0.3, limit=2.0)
    now = 0.0
    while now < 1.9:
        debouncer.add("a.yaml", now)
        assert debouncer.take(now) == frozenset()
        now += 0.1
    assert debouncer.wait(1.9) == pytest.approx(0.1)
    assert debouncer.take(2.0) == {"a.yaml"}


# -- what to write ---------------------------------------------------------------------------


def _bundle(files: dict[str, bytes], digest: str = "ab" * 32) -> bundle.Bundle:
    return bundle.Bundle({**files, bundle.MANIFEST: digest.encode()}, {"bundleHash": digest})


def test_a_broken_save_keeps_the_last_good_bundle() -> None:
    decision = plan(None, {bundle.MANIFEST: b"{}"}, output="out")
    assert not decision.write
    assert decision.message == "not compiled: fix the errors above; out keeps the last good bundle"
    assert plan(None, {}, output="out").message.endswith("nothing written to out")


def test_only_a_different_bundle_is_written() -> None:
    old = _bundle({"a": b"1", "b": b"2"})
    assert plan(old, old.files, output="out").write is False
    new = _bundle({"a": b"1", "b": b"3", "c": b"4"}, "cd" * 32)
    decision = plan(new, old.files, output="out")
    assert decision.write
    assert decision.message == "compiled: bundle cdcdcdcdcdcd (2 files changed)"


# -- the real command ---------------------------------------------------------------------

TIMEOUT = 60.0


class _Watch:
    """`converge watch` in a subprocess, its output lines read on a thread."""

    def __init__(self, root: Path, output: Path) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from converge.compiler.commands.main import main; main()",
             "watch", str(root),
             "-o", str(output), "--debounce", "0.2"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert self.process.stdout is not None
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines.put(line.rstrip("\n"))

    def expect(self, prefix: str) -> str:
        """The next output line starting with `prefix` (others are kept in `seen`)."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=deadline - time.monotonic())
            except queue.Empty:
                break
            self.seen.append(line)
            if line.startswith(prefix):
                return line
        raise AssertionError(f"no line starting with {prefix!r}; output so far: {self.seen}")


def _manifest_hash(output: Path) -> str:
    return str(json.loads((output / bundle.MANIFEST).read_text())["bundleHash"])


def _save(path: Path, text: str) -> None:
    """Save as editors do: write a temporary file and rename it over the spec."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def test_watch_recompiles_on_save_and_keeps_the_last_good_bundle(tmp_path: Path) -> None:
    root, output = tmp_path / "repo", tmp_path / "out"
    root.mkdir()
    spec = root / "specs.yaml"
    spec.write_text(valid_repo.dump(valid_repo.documents()).decode(), encoding="utf-8")
    watch = _Watch(root, output)
    try:
        first = watch.expect("compiled: bundle ")
        assert first.endswith("files changed)")
        good = _manifest_hash(output)
        assert first.split()[2] == good[:12]

        documents = valid_repo.documents()
        documents[1]["spec"]["rules"][0]["for"] = "10m"
        _save(spec, valid_repo.dump(documents).decode())
        second = watch.expect("compiled: bundle ")
        assert second.split()[2] != good[:12] and second.endswith("files changed)")
        good = _manifest_hash(output)
        files = {p.relative_to(output): p.read_bytes() for p in output.rglob("*") if p.is_file()}

        spec.write_text(spec.read_text() + "broken: [\n", encoding="utf-8")  # a half save
        watch.expect("not compiled: fix the errors above")
        assert any("error[yaml/parse]" in line for line in watch.seen)
        assert {p.relative_to(output): p.read_bytes()
                for p in output.rglob("*") if p.is_file()} == files

        (root / ".specs.yaml.swp").write_text("x", encoding="utf-8")  # never compiled
        _save(spec, valid_repo.dump(documents).decode())
        last = watch.expect("compiled: bundle ")
        assert last == f"compiled: bundle {good[:12]} (0 files changed)"
        assert _manifest_hash(output) == good
    finally:
        watch.process.send_signal(signal.SIGINT)
        _, err = watch.process.communicate(timeout=TIMEOUT)
    assert watch.process.returncode == 0, err
    assert "Traceback" not in err and err.rstrip().endswith("stopped")
    assert sum(line.startswith("not compiled") for line in watch.seen) == 1


def test_a_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from converge.compiler.commands.main import main

    result = CliRunner().invoke(main, ["watch", str(tmp_path / "missing")])
    assert result.exit_code == 2
    assert "does not exist" in result.output

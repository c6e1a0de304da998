"""`converge compile`: writes exactly the bundle, or nothing; `--check` reports staleness as
a diff; a failed or concurrent write never leaves a reader with half of one bundle.

Atomicity is tested two ways: faults injected into the writer's file writes (the previous
bundle must survive untouched, with no staging directory left behind), and reader threads
that read the bundle while it is replaced thirty times.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import bundles
import pytest
from click.testing import CliRunner, Result

from converge.compiler import bundle, writer
from converge.compiler.commands import main as cli
from converge.compiler.commands.main import main
from converge.compiler.sources import SourceFile


def _group(name: str, threshold: int) -> dict[str, Any]:
    return bundles.document("RuleGroup", name, {"rules": [
        {"alert": f"{name.title()}High", "expr": f"{name}_value > {threshold}", "for": "5m",
         "labels": {"severity": "warning"}},
        {"record": f"job:{name}:sum", "expr": f"sum by (job) ({name}_value)"}]})


_COMMON = [
    bundles.project(),
    bundles.document("Channel", "ops", {"type": "webhook",
                                        "url": "http://127.0.0.1:9000/hook"}),
    bundles.document("Routing", "main", {"route": {"receiver": "ops"}}),
]
SET_A = [*_COMMON, _group("alpha", 1), _group("beta", 2)]
SET_B = [*_COMMON, _group("beta", 3), _group("gamma", 4)]
"""Two spec sets: `alpha` only in A, `gamma` only in B, `beta` in both but different."""
BROKEN = [*_COMMON, bundles.document("RuleGroup", "alpha", {"rules": [
    {"alert": "Broken", "expr": "sum(rate(x[5m])"}]})]


def _repo(root: Path, docs: list[dict[str, Any]]) -> Path:
    bundles.write_tree(root, {"specs.yaml": bundles.spec_text(docs)})
    return root


def _expected(docs: list[dict[str, Any]]) -> dict[str, bytes]:
    """What `converge compile` writes for `docs` outside Git."""
    data = bundles.spec_text(docs).encode("utf-8")
    return bundles.build([SourceFile("specs.yaml", data)], version=cli.version()).files


def _compile(runner: CliRunner, repo: Path, out: Path, *extra: str) -> Result:
    return runner.invoke(main, ["compile", str(repo), "-o", str(out), *extra])


def _siblings(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir())


@pytest.fixture
def repo_a(tmp_path: Path) -> Path:
    return _repo(tmp_path / "a", SET_A)


@pytest.fixture
def repo_b(tmp_path: Path) -> Path:
    return _repo(tmp_path / "b", SET_B)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "site" / "out"


# --- writing -------------------------------------------------------------------------


def test_compile_writes_exactly_the_bundle(repo_a: Path, out: Path, runner: CliRunner) -> None:
    result = _compile(runner, repo_a, out)
    expected = _expected(SET_A)
    assert (result.exit_code, result.stdout) == (0, ""), result.output  # progress: stderr
    digest = json.loads(expected[bundle.MANIFEST])["bundleHash"]
    assert result.stderr == (f"wrote {out}: prometheus 2 file(s), vmalert 2 file(s), "
                             f"alertmanager 1 file(s), reconciler 3 file(s); "
                             f"bundle {digest[:12]}\n")
    assert bundles.read_tree(out) == expected
    assert _siblings(out) == ["out"]


def test_warnings_are_shown_and_the_bundle_written(tmp_path: Path, out: Path,
                                                   runner: CliRunner) -> None:
    unused = bundles.document("Channel", "spare", {"type": "webhook",
                                                   "url": "http://127.0.0.1:9001/hook"})
    repo = _repo(tmp_path / "repo", [*SET_A, unused])
    result = _compile(runner, repo, out)
    assert result.exit_code == 0, result.output
    assert "warning[channel/unused]: channel 'spare'" in result.stderr
    assert (out / bundle.MANIFEST).is_file()


def test_a_nested_output_path_is_created(repo_a: Path, tmp_path: Path,
                                         runner: CliRunner) -> None:
    out = tmp_path / "deep" / "er" / "still" / "bundle"
    assert _compile(runner, repo_a, out).exit_code == 0
    assert bundles.read_tree(out) == _expected(SET_A)


def test_an_empty_directory_may_be_replaced(repo_a: Path, out: Path,
                                            runner: CliRunner) -> None:
    out.mkdir(parents=True)
    assert _compile(runner, repo_a, out).exit_code == 0
    assert bundles.read_tree(out) == _expected(SET_A)


def test_files_no_longer_produced_disappear(repo_a: Path, repo_b: Path, out: Path,
                                            runner: CliRunner) -> None:
    assert _compile(runner, repo_a, out).exit_code == 0
    assert (out / "prometheus/rules/alpha.yaml").is_file()
    assert _compile(runner, repo_b, out).exit_code == 0
    written = bundles.read_tree(out)
    assert written == _expected(SET_B)
    assert not any("alpha" in path for path in written)
    assert "alpha" not in written[bundle.MANIFEST].decode()
    assert _siblings(out) == ["out"]


@pytest.mark.parametrize("previous", [pytest.param(False, id="no-previous-bundle"),
                                      pytest.param(True, id="previous-bundle")])
def test_errors_write_nothing(previous: bool, repo_a: Path, tmp_path: Path, out: Path,
                              runner: CliRunner) -> None:
    if previous:
        assert _compile(runner, repo_a, out).exit_code == 0
    before = bundles.read_tree(out) if previous else None
    out.parent.mkdir(parents=True, exist_ok=True)
    result = _compile(runner, _repo(tmp_path / "broken", BROKEN), out)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "error[promql/syntax]" in result.stderr
    assert result.stderr.endswith("converge: nothing written: fix the errors above\n")
    if previous:
        assert bundles.read_tree(out) == before
    else:
        assert not out.exists()
    assert _siblings(out) == (["out"] if previous else [])


@pytest.mark.parametrize("kind", [pytest.param("directory", id="foreign-directory"),
                                  pytest.param("file", id="regular-file")])
def test_a_non_bundle_is_never_replaced(kind: str, repo_a: Path, out: Path,
                                        runner: CliRunner) -> None:
    out.parent.mkdir(parents=True)
    if kind == "directory":
        bundles.write_tree(out, {"notes.txt": "keep me\n", "sub/data.yaml": "a: 1\n"})
    else:
        out.write_text("keep me\n")
    before = bundles.read_tree(out) if kind == "directory" else out.read_bytes()
    result = _compile(runner, repo_a, out)
    assert result.exit_code == 2
    assert result.stderr == (f"converge: error: {out} exists and is not a converge bundle "
                             "(no manifest.json); refusing to replace it\n")
    assert (bundles.read_tree(out) if kind == "directory" else out.read_bytes()) == before
    assert _siblings(out) == ["out"]


# --- --check -------------------------------------------------------------------------


def test_check_passes_when_the_bundle_is_current(repo_a: Path, out: Path,
                                                 runner: CliRunner) -> None:
    assert _compile(runner, repo_a, out).exit_code == 0
    before = bundles.read_tree(out)
    result = _compile(runner, repo_a, out, "--check")
    digest = json.loads(before[bundle.MANIFEST])["bundleHash"]
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == f"{out} is up to date (bundle {digest[:12]})\n"
    assert bundles.read_tree(out) == before


def _edit(out: Path) -> None:
    path = out / "prometheus/rules/alpha.yaml"
    path.write_text(path.read_text().replace("alpha_value > 1", "alpha_value > 100"))


def _remove(out: Path) -> None:
    (out / "vmalert/rules/beta.yaml").unlink()


def _add(out: Path) -> None:
    (out / "prometheus/rules/old.yaml").write_text("groups: []\n")


def _delete_all(out: Path) -> None:
    for path in sorted(out.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    out.rmdir()


STALE = [
    pytest.param(_edit, SET_A, ["--- a/prometheus/rules/alpha.yaml",
                                "+++ b/prometheus/rules/alpha.yaml",
                                '-        expr: "alpha_value > 100"',
                                '+        expr: "alpha_value > 1"'], id="edited-file"),
    pytest.param(_remove, SET_A, ["--- /dev/null", "+++ b/vmalert/rules/beta.yaml"],
                 id="missing-file"),
    pytest.param(_add, SET_A, ["--- a/prometheus/rules/old.yaml", "+++ /dev/null",
                               "-groups: []"], id="extra-file"),
    pytest.param(_delete_all, SET_A, ["--- /dev/null", "+++ b/alertmanager/alertmanager.yaml",
                                      "+++ b/reconciler/pools.json"], id="missing-output"),
    pytest.param(None, SET_B, ["--- a/prometheus/rules/alpha.yaml", "+++ /dev/null",
                               "--- /dev/null", "+++ b/prometheus/rules/gamma.yaml",
                               "--- a/vmalert/rules/beta.yaml",
                               "+++ b/vmalert/rules/beta.yaml"], id="specs-changed"),
]


@pytest.mark.parametrize(("damage", "specs", "diff_lines"), STALE)
def test_check_fails_with_a_diff_when_stale(damage: Callable[[Path], None] | None,
                                            specs: list[dict[str, Any]],
                                            diff_lines: list[str], repo_a: Path,
                                            tmp_path: Path, out: Path,
                                            runner: CliRunner) -> None:
    assert _compile(runner, repo_a, out).exit_code == 0
    if damage is not None:
        damage(out)
    before = bundles.read_tree(out) if out.exists() else None
    repo = repo_a if specs is SET_A else _repo(tmp_path / "changed", specs)
    result = _compile(runner, repo, out, "--check")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    for line in diff_lines:
        assert line in lines, (line, result.stdout)
    # the manifest is compared too (minus its `source`): a stale manifest is stale
    assert result.stderr == (f"converge: {out} is stale: run `converge compile {repo} "
                             f"-o {out}`\n")
    assert (bundles.read_tree(out) if out.exists() else None) == before
    assert _siblings(out) == (["out"] if before is not None else [])


# --- atomicity: faults ---------------------------------------------------------------


class _FailingOpen:
    """`open` for `converge.compiler.writer`: the `fail_at`-th file opened for writing fails; with
    `partial`, it opens and then fails half way through writing (a full disk)."""

    def __init__(self, fail_at: int, *, partial: bool) -> None:
        self.fail_at, self.partial, self.calls = fail_at, partial, 0

    def __call__(self, file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> IO[Any]:
        if "w" not in mode:
            return open(file, mode, *args, **kwargs)
        self.calls += 1
        if self.calls != self.fail_at:
            return open(file, mode, *args, **kwargs)
        if not self.partial:
            raise OSError(errno.EIO, "injected I/O error", str(file))
        handle = open(file, mode, *args, **kwargs)
        real_write = handle.write

        def write(data: bytes) -> int:
            real_write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "injected: no space left on device")

        handle.write = write  # type: ignore[method-assign, assignment]
        return handle


@pytest.mark.parametrize(("fail_at", "partial"), [
    pytest.param(1, False, id="first-file"),
    pytest.param(4, False, id="mid-write"),
    pytest.param(4, True, id="disk-full-mid-file"),
    pytest.param(len(_expected(SET_B)), False, id="last-file"),
])
def test_a_failed_write_leaves_the_previous_bundle_intact(
        fail_at: int, partial: bool, repo_a: Path, repo_b: Path, out: Path,
        runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _compile(runner, repo_a, out).exit_code == 0
    before = bundles.read_tree(out)
    failing = _FailingOpen(fail_at, partial=partial)
    monkeypatch.setattr(writer, "open", failing, raising=False)
    result = _compile(runner, repo_b, out)
    assert failing.calls == fail_at  # the fault did happen, mid-write
    assert result.exit_code == 2
    assert result.stderr.startswith(f"converge: error: cannot write {out}: ")
    assert "injected" in result.stderr
    assert bundles.read_tree(out) == before
    assert _siblings(out) == ["out"]


def test_a_failed_fallback_swap_puts_the_previous_bundle_back(
        repo_a: Path, repo_b: Path, out: Path, runner: CliRunner,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Without renameat2 the swap is two renames; if the second fails, the first is undone."""
    assert _compile(runner, repo_a, out).exit_code == 0
    before = bundles.read_tree(out)
    monkeypatch.setattr(writer, "_exchange", lambda a, b: False)
    real_rename = os.rename
    renames: list[tuple[str, str]] = []

    def rename(src: Any, dst: Any) -> None:
        renames.append((Path(src).name, Path(dst).name))
        if len(renames) == 2:
            raise OSError(errno.EIO, "injected rename failure")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    result = _compile(runner, repo_b, out)
    assert result.exit_code == 2, result.output
    assert renames[0][0] == "out" and renames[1][1] == "out"
    assert bundles.read_tree(out) == before
    assert _siblings(out) == ["out"]


def test_without_renameat2_the_swap_still_replaces_the_whole_bundle(
        repo_a: Path, repo_b: Path, out: Path, runner: CliRunner,
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert _compile(runner, repo_a, out).exit_code == 0
    monkeypatch.setattr(writer, "_exchange", lambda a, b: False)
    assert _compile(runner, repo_b, out).exit_code == 0
    assert bundles.read_tree(out) == _expected(SET_B)
    assert _siblings(out) == ["out"]


# --- atomicity: concurrent readers ---------------------------------------------------


def _exchange_supported(tmp_path: Path) -> bool:
    first, second = tmp_path / "probe-1", tmp_path / "probe-2"
    first.mkdir()
    second.mkdir()
    try:
        return writer._exchange(first, second)
    finally:
        first.rmdir()
        second.rmdir()


def _read_at(directory: int, path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY, dir_fd=directory)
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


class _Readers:
    """Two reader threads, run while the bundle at `out` is replaced again and again.

    `by_directory` opens `out` once per snapshot and reads the manifest and every file it
    lists relative to that directory: every snapshot it completes must be one whole bundle.
    A file may vanish under it only because the directory it holds was swapped out and is
    being deleted. `by_path` reads `out/manifest.json` and a listed file by path: each is
    whole and from one of the two bundles, and the manifest is always there.
    """

    def __init__(self, out: Path, bundles_by_hash: dict[str, dict[str, bytes]]) -> None:
        self.out = out
        self.expected = bundles_by_hash
        self.stop = threading.Event()
        self.problems: list[str] = []
        self.seen: set[str] = set()
        self.counts = {"complete": 0, "retired": 0, "no-directory": 0, "by-path": 0,
                       "by-path-missing-manifest": 0}
        self.threads = [threading.Thread(target=self._guard(self._by_directory)),
                        threading.Thread(target=self._guard(self._by_path))]

    def _guard(self, loop: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                while not self.stop.is_set():
                    loop()
            except Exception as error:  # a reader crash is a finding, not a hang
                self.problems.append(f"{loop.__name__}: {type(error).__name__}: {error}")
        return run

    def _by_directory(self) -> None:
        try:
            directory = os.open(self.out, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:
            self.counts["no-directory"] += 1
            return
        try:
            manifest_bytes = _read_at(directory, bundle.MANIFEST)
            manifest = json.loads(manifest_bytes)
            files = {entry["path"]: _read_at(directory, entry["path"])
                     for entry in manifest["files"]}
        except FileNotFoundError:
            status = os.fstat(directory)
            try:
                current = os.stat(self.out).st_ino
            except FileNotFoundError:
                current = None
            if status.st_nlink == 0 or status.st_ino != current:
                self.counts["retired"] += 1
            else:
                self.problems.append("a file listed by the current bundle is missing")
            return
        finally:
            os.close(directory)
        self._check_snapshot(manifest, {**files, bundle.MANIFEST: manifest_bytes})

    def _check_snapshot(self, manifest: dict[str, Any], files: dict[str, bytes]) -> None:
        for entry in manifest["files"]:
            data = files[entry["path"]]
            if (len(data), hashlib.sha256(data).hexdigest()) != (entry["size"],
                                                                   entry["sha256"]):
                self.problems.append(f"{entry['path']} does not match its manifest")
        expected = self.expected.get(manifest["bundleHash"])
        if expected != files:
            self.problems.append(f"snapshot of {manifest['bundleHash'][:12]} is not a bundle")
        self.seen.add(manifest["bundleHash"])
        self.counts["complete"] += 1

    def _by_path(self) -> None:
        try:
            manifest_bytes = (self.out / bundle.MANIFEST).read_bytes()
        except FileNotFoundError:
            self.counts["by-path-missing-manifest"] += 1
            return
        if not any(files[bundle.MANIFEST] == manifest_bytes
                   for files in self.expected.values()):
            self.problems.append("a torn manifest.json")
        for entry in json.loads(manifest_bytes)["files"]:
            try:
                data = (self.out / entry["path"]).read_bytes()
            except FileNotFoundError:
                continue  # the bundle was replaced by one without this file
            if not any(files.get(entry["path"]) == data for files in self.expected.values()):
                self.problems.append(f"a torn {entry['path']}")
        self.counts["by-path"] += 1

    def __enter__(self) -> _Readers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


@pytest.fixture
def expected_bundles() -> Iterator[dict[str, dict[str, bytes]]]:
    found = {}
    for docs in (SET_A, SET_B):
        files = _expected(docs)
        found[json.loads(files[bundle.MANIFEST])["bundleHash"]] = files
    yield found


def test_readers_never_see_a_mixed_bundle_while_it_is_replaced(
        repo_a: Path, repo_b: Path, out: Path, tmp_path: Path, runner: CliRunner,
        expected_bundles: dict[str, dict[str, bytes]]) -> None:
    exchanged = _exchange_supported(tmp_path)
    assert _compile(runner, repo_a, out).exit_code == 0
    with _Readers(out, expected_bundles) as readers:
        for swap in range(30):
            result = _compile(runner, repo_b if swap % 2 == 0 else repo_a, out)
            assert result.exit_code == 0, result.output
    assert not any(thread.is_alive() for thread in readers.threads)
    assert readers.problems == []
    assert readers.counts["complete"] > 0 and readers.counts["by-path"] > 0, readers.counts
    assert readers.seen == set(expected_bundles), readers.counts
    if exchanged:  # renameat2(RENAME_EXCHANGE): the path never stops being a bundle
        assert readers.counts["no-directory"] == 0, readers.counts
        assert readers.counts["by-path-missing-manifest"] == 0, readers.counts
    assert bundles.read_tree(out) == _expected(SET_A)
    assert _siblings(out) == ["out"]


def test_check_ignores_only_the_source_commit_of_the_manifest(
        tmp_path: Path, runner: CliRunner) -> None:
    repo = _repo(tmp_path / "repo", SET_A)
    out = tmp_path / "out"
    assert _compile(runner, repo, out).exit_code == 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    manifest["source"] = {"commit": "0" * 40, "dirty": True}
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert _compile(runner, repo, out, "--check").exit_code == 0
    manifest["bundleHash"] = "0" * 64
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    result = _compile(runner, repo, out, "--check")
    assert result.exit_code == 1
    assert "+++ b/manifest.json" in result.stdout

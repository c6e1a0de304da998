"""The bundle proves what it holds, and the same specs always give the same bytes.

The manifest is checked against the committed JSON Schema (`specs/schema/manifest.json`)
and recomputed independently from the files: each file's SHA-256 and size, each target's
hash and the bundle hash over sorted `path NUL sha256 LF` lines. Determinism is checked
with the real CLI in separate interpreters (different `PYTHONHASHSEED`s, different
directories, documents and files in different orders). Source info is checked in a real
Git repository.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bundles
import jsonschema
import pytest
from click.testing import CliRunner

from converge.compiler import bundle, sources
from converge.compiler.commands.main import main
from converge.compiler.sources import SourceFile

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "repo-example"
SCHEMA = json.loads((ROOT / "specs" / "schema" / "manifest.json").read_text(encoding="utf-8"))


def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(SCHEMA)


# --- a repository of multi-document files, to shuffle -------------------------------


def _tiered(name: str, metric: str) -> dict[str, Any]:
    return {"alert": name, "expr": f"max by (instance) ({metric}) > $threshold", "for": "5m",
            "thresholds": {"warning": 80, "critical": 95},
            "annotations": {"summary": f"{name} on {{{{ $labels.instance }}}}"}}


SPEC_FILES: dict[str, list[dict[str, Any]]] = {
    "converge.yaml": [bundles.project(
        externalLabels={"cluster": "c1", "env": "prod"},
        defaults={"labels": {"team": "core"},
                  "annotations": {"runbook_url": "https://runbooks.example.com/x"}})],
    "rules/groups.yaml": [
        bundles.document("RuleGroup", "system", {"interval": "30s", "rules": [
            _tiered("CPUHigh", "cpu_percent"), _tiered("MemoryHigh", "memory_percent"),
            {"record": "job:up:sum", "expr": "sum by (job) (up)"}]}),
        bundles.document("RuleGroup", "disk", {"rules": [
            _tiered("DiskHigh", "disk_percent"),
            {"alert": "Down", "expr": "up == 0", "labels": {"severity": "critical"}}]}),
        bundles.document("RuleGroup", "vm", {
            "targets": ["vmalert"], "vmalert": {"concurrency": 2, "params": {"a": ["1"]}},
            "rules": [_tiered("AThing", "a_percent")]}),
    ],
    "channels.yaml": [
        bundles.document("Channel", "ops", {"type": "webhook",
                                            "url": "http://127.0.0.1:9000/hook"}),
        bundles.document("Channel", "oncall", {"type": "dingtalk",
                                               "accessToken": {"env": "DING"}}),
        bundles.document("Channel", "mail", {
            "type": "email", "to": ["a@example.com", "b@example.com"],
            "from": "am@example.com", "smarthost": "smtp.example.com:25",
            "headers": {"X-Team": "core", "Reply-To": "noreply@example.com"},
            "template": {"title": "{{ .CommonLabels.alertname }}"}}),
        bundles.document("Channel", "chat", {
            "type": "slack", "apiUrl": {"file": "/run/secrets/slack"},
            "template": {"title": "{{ .Status }}", "body": "{{ range .Alerts }}x{{ end }}"}}),
    ],
    "routing.yaml": [bundles.document("Routing", "main", {
        "route": {"receiver": "ops", "groupBy": ["alertname", "cluster"], "routes": [
            {"matchers": ['severity="critical"'], "receiver": "oncall", "continue": True},
            {"matchers": ['severity="warning"'], "receiver": "mail", "continue": True},
            {"receiver": "chat"}]},
        "inhibitRules": [{"sourceMatchers": ['alertname="Down"'],
                          "targetMatchers": ['alertname!="Down"'],
                          "equal": ["instance"]}]})],
    "workers.yaml": [
        bundles.document("HealingPolicy", "critical", {
            "selector": {"labels": {"tier": "critical"}},
            "check": {"type": "http", "http": {"port": 8080, "path": "/health"},
                      "interval": "10s", "timeout": "2s"},
            "failureThreshold": 2, "restart": {"maxRestarts": 10, "window": "10m"},
            "alert": {"channels": ["oncall"]}}),
        bundles.document("HealingPolicy", "relaxed", {
            "selector": {"labels": {"tier": "batch"}},
            "check": {"type": "http", "http": {"port": 8080, "path": "/health"},
                      "interval": "30s", "timeout": "5s"},
            "failureThreshold": 5, "restart": {"maxRestarts": 3, "window": "1h"},
            "alert": {"channels": ["ops"]}}),
        bundles.document("WorkerPool", "ai-analysis", {
            "image": "worker:1.0", "command": ["./worker", "-type=ai"],
            "replicas": {"min": 1, "max": 5}, "healingPolicy": "critical",
            "scaling": {"metrics": [{"query": 'sum(queue_length{queue="ai"})',
                                     "target": 10}]}}),
        bundles.document("WorkerPool", "batch", {
            "image": "worker:1.0", "command": ["./worker", "-type=batch"],
            "replicas": {"min": 0, "max": 2}, "healingPolicy": "relaxed"}),
    ],
}


def _sources(order: int | None = None) -> list[SourceFile]:
    """The spec files; with `order`, documents and files in a seeded shuffled order."""
    files = copy.deepcopy(SPEC_FILES)
    names = list(files)
    if order is not None:
        rng = random.Random(order)
        rng.shuffle(names)
        for docs in files.values():
            original = list(docs)
            while len(docs) > 1 and docs == original:
                rng.shuffle(docs)
    return [SourceFile(name, bundles.spec_text(files[name]).encode("utf-8")) for name in names]


def _write_repo(root: Path, shuffled: list[SourceFile]) -> None:
    for source in shuffled:  # creation order differs too
        bundles.write_tree(root, {source.path: source.data})


@pytest.fixture(scope="module")
def example() -> bundle.Bundle:
    return bundles.build(sources.read_directory(EXAMPLE))


@pytest.fixture(scope="module")
def mixed() -> bundle.Bundle:
    return bundles.build(_sources())


# --- the manifest --------------------------------------------------------------------


def test_the_manifest_schema_is_a_valid_draft_2020_12_schema() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def _bundles_to_validate(example: bundle.Bundle, mixed: bundle.Bundle) -> dict[str, Any]:
    rules_only = bundles.build_docs([
        bundles.project(targets={"alertmanager": {"enabled": False}}),
        bundles.document("RuleGroup", "g", {"rules": [{"record": "r", "expr": "up"}]})])
    with_source = bundle.build({"prometheus/rules/g.yaml": "x\n"}, bundles.model_of(
        _sources()), version="1.2.3", source=bundle.Source("a" * 40, True))
    return {"example": example, "mixed": mixed, "rules-only": rules_only,
            "with-source": with_source}


def test_manifests_validate_against_the_schema(example: bundle.Bundle,
                                               mixed: bundle.Bundle) -> None:
    for name, built in _bundles_to_validate(example, mixed).items():
        manifest = json.loads(built.files[bundle.MANIFEST])
        errors = [e.message for e in _validator().iter_errors(manifest)]
        assert errors == [], name


def _first(data: dict[str, Any]) -> dict[str, Any]:
    first: dict[str, Any] = data["files"][0]
    return first


MUTATIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    "schema-version": lambda d: d.update(schemaVersion="converge/manifest/v2"),
    "missing-bundle-hash": lambda d: d.pop("bundleHash"),
    "upper-case-hash": lambda d: d.update(bundleHash=d["bundleHash"].upper()),
    "short-file-hash": lambda d: _first(d).update(sha256=_first(d)["sha256"][:63]),
    "manifest-listed": lambda d: d["files"].append({**_first(d), "path": "manifest.json"}),
    "target-mismatch": lambda d: _first(d).update(target="vmalert"),
    "unknown-target": lambda d: d["targets"].update(grafana=d["targets"]["prometheus"]),
    "extra-key": lambda d: d.update(generatedAt="2026-01-01T00:00:00Z"),
    "negative-size": lambda d: _first(d).update(size=-1),
    "empty-file": lambda d: _first(d).update(size=0),
    "missing-target-count": lambda d: d["targets"]["prometheus"].pop("alerts"),
    "short-commit": lambda d: d.update(source={"commit": "abc123", "dirty": False}),
    "dirty-not-boolean": lambda d: d.update(source={"commit": "a" * 40, "dirty": "no"}),
    "path-escape": lambda d: _first(d).update(
        path="prometheus/rules/../../etc/passwd.yaml"),
    "duplicate-file": lambda d: d["files"].append(_first(d)),
    "no-files": lambda d: d.update(files=[]),
    "no-compiler-version": lambda d: d.update(compiler={"name": "converge"}),
}
"""One wrong thing each, done to a valid manifest."""


@pytest.mark.parametrize("change", [pytest.param(name, id=name) for name in MUTATIONS])
def test_the_schema_rejects_a_wrong_manifest(mixed: bundle.Bundle, change: str) -> None:
    manifest = json.loads(mixed.files[bundle.MANIFEST])
    assert _validator().is_valid(manifest)
    MUTATIONS[change](manifest)
    assert not _validator().is_valid(manifest)


def _lines_hash(pairs: dict[str, str]) -> str:
    """The documented hash, written out independently of `converge.compiler.bundle`."""
    lines = b"".join(path.encode() + b"\x00" + digest.encode() + b"\n"
                     for path, digest in sorted(pairs.items()))
    return hashlib.sha256(lines).hexdigest()


@pytest.mark.parametrize("which", ["example", "mixed"])
def test_the_manifest_matches_the_bytes(which: str, example: bundle.Bundle,
                                        mixed: bundle.Bundle) -> None:
    built = {"example": example, "mixed": mixed}[which]
    manifest = json.loads(built.files[bundle.MANIFEST])
    assert manifest == built.manifest
    listed = {entry["path"]: entry for entry in manifest["files"]}
    assert bundle.MANIFEST not in listed
    assert [e["path"] for e in manifest["files"]] == sorted(listed)
    assert set(listed) == set(built.files) - {bundle.MANIFEST}
    digests = {}
    for path, entry in listed.items():
        data = built.files[path]
        assert (entry["size"], entry["sha256"]) == (len(data),
                                                    hashlib.sha256(data).hexdigest()), path
        assert entry["target"] == path.split("/")[0]
        digests[path] = entry["sha256"]
    assert manifest["bundleHash"] == _lines_hash(digests) == built.hash
    assert set(manifest["targets"]) == {e["target"] for e in listed.values()}
    for target, info in manifest["targets"].items():
        own = {p: d for p, d in digests.items() if listed[p]["target"] == target}
        assert (info["hash"], info["files"]) == (_lines_hash(own), len(own)), target
        if target in ("prometheus", "vmalert"):
            assert info["rules"] == info["alerts"] + info["records"]
            assert info["groups"] == info["files"]
    assert built.files[bundle.MANIFEST] == (
        json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()


def test_the_manifest_counts_what_the_files_hold(mixed: bundle.Bundle) -> None:
    targets = mixed.manifest["targets"]
    assert targets["prometheus"] | {"hash": None} == {
        "hash": None, "files": 2, "groups": 2, "rules": 8, "alerts": 7, "records": 1}
    assert targets["vmalert"] | {"hash": None} == {
        "hash": None, "files": 3, "groups": 3, "rules": 10, "alerts": 9, "records": 1}
    assert targets["alertmanager"] | {"hash": None} == {
        "hash": None, "files": 3, "receivers": 4, "routes": 4, "inhibitRules": 5}
    assert targets["reconciler"] | {"hash": None} == {
        "hash": None, "files": 3, "pools": 2, "healingPolicies": 2, "channels": 4}


# --- determinism ---------------------------------------------------------------------


@pytest.mark.parametrize("order", [pytest.param(seed, id=f"order-{seed}") for seed in range(6)])
def test_document_and_file_order_do_not_change_a_byte(mixed: bundle.Bundle,
                                                      order: int) -> None:
    assert bundles.build(_sources(order)).files == mixed.files


def _compile_in_a_fresh_interpreter(repo: Path, out: Path, *, hash_seed: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONVERGE_", "GIT_"))}
    env["PYTHONHASHSEED"] = hash_seed
    result = subprocess.run(
        [sys.executable, "-c", "from converge.compiler.commands.main import main; main()",
         "compile", str(repo), "-o", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_separate_runs_write_byte_identical_bundles(tmp_path: Path) -> None:
    """Two interpreters with different hash seeds, two directories, documents and files in
    different orders, both outside Git: every byte is the same, the manifest included."""
    first, second = tmp_path / "one" / "repo", tmp_path / "two" / "elsewhere"
    _write_repo(first, _sources())
    _write_repo(second, list(reversed(_sources(order=7))))
    assert bundles.read_tree(first) != bundles.read_tree(second)
    _compile_in_a_fresh_interpreter(first, tmp_path / "one" / "out", hash_seed="0")
    _compile_in_a_fresh_interpreter(second, tmp_path / "two" / "bundle", hash_seed="12345")
    one = bundles.read_tree(tmp_path / "one" / "out")
    two = bundles.read_tree(tmp_path / "two" / "bundle")
    assert one == two
    assert json.loads(one[bundle.MANIFEST])["source"] is None
    assert set(one) == set(bundles.build(_sources()).files)


# --- source info from Git ------------------------------------------------------------


def _git(repo: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return subprocess.run(
        ["git", "-c", "user.name=converge tests", "-c", "user.email=tests@example.com",
         "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
        cwd=repo, env=env, capture_output=True, text=True, check=True).stdout.strip()


def _commit_all(repo: Path, message: str) -> str:
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


def _source_after_compile(runner: CliRunner, path: Path, out: Path) -> dict[str, Any]:
    result = runner.invoke(main, ["compile", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    source: dict[str, Any] = json.loads((out / bundle.MANIFEST).read_text())["source"]
    return source


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    _write_repo(repo, _sources())
    _git(repo, "init", "-q")
    return repo


def test_source_is_the_commit_and_dirty_flips_with_a_spec_change(
        git_repo: Path, tmp_path: Path, runner: CliRunner) -> None:
    out = tmp_path / "out"
    head = _commit_all(git_repo, "specs")
    assert _source_after_compile(runner, git_repo, out) == {"commit": head, "dirty": False}

    routing = git_repo / "routing.yaml"
    routing.write_text(routing.read_text() + "# edited\n")
    assert _source_after_compile(runner, git_repo, out) == {"commit": head, "dirty": True}

    second = _commit_all(git_repo, "edit")
    assert second != head
    assert _source_after_compile(runner, git_repo, out) == {"commit": second, "dirty": False}

    (git_repo / "rules" / "new.yaml").write_text(bundles.spec_text([bundles.document(
        "RuleGroup", "new", {"rules": [{"record": "r", "expr": "up"}]})]))
    assert _source_after_compile(runner, git_repo, out) == {"commit": second, "dirty": True}


def test_dirty_is_scoped_to_the_specs_directory(tmp_path: Path, runner: CliRunner) -> None:
    repo = tmp_path / "project"
    _write_repo(repo / "monitoring", _sources())
    (repo / "app.py").write_text("print('hello')\n")
    _git(repo, "init", "-q")
    head = _commit_all(repo, "app and specs")
    (repo / "app.py").write_text("print('changed')\n")
    out = tmp_path / "out"
    assert _source_after_compile(runner, repo / "monitoring", out) == {
        "commit": head, "dirty": False}
    (repo / "monitoring" / "channels.yaml").write_text("# emptied\n")
    result = runner.invoke(main, ["compile", str(repo / "monitoring"), "-o", str(out)])
    assert result.exit_code == 1  # the routes now name missing channels: nothing written
    assert json.loads((out / bundle.MANIFEST).read_text())["source"] == {
        "commit": head, "dirty": False}


def test_the_bundle_itself_does_not_make_the_specs_dirty(git_repo: Path,
                                                         runner: CliRunner) -> None:
    """`converge compile` with its defaults writes `out/` inside the repository: compiling
    twice at one commit must record the same, clean, source."""
    head = _commit_all(git_repo, "specs")
    out = git_repo / "out"
    assert _source_after_compile(runner, git_repo, out) == {"commit": head, "dirty": False}
    assert _source_after_compile(runner, git_repo, out) == {"commit": head, "dirty": False}


def test_outside_git_there_is_no_source(tmp_path: Path, runner: CliRunner) -> None:
    _write_repo(tmp_path / "repo", _sources())
    assert _source_after_compile(runner, tmp_path / "repo", tmp_path / "out") is None

"""The sidecar's pure parts and its publisher, without any target: decisions, bundle
verification, secrets, the on-disk layout, what a target should report, `--source`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import sidecar_bundles

from converge.compiler.render import secrets as compiler_secrets
from converge.reconciler.core.secretaccess import SecretAccess
from converge.reconciler.sidecar import bundles, decide, expect, secrets
from converge.reconciler.sidecar.decide import State, Step
from converge.reconciler.sidecar.publish import METADATA, Publisher, PublishError
from converge.reconciler.sidecar.sources import parse
from converge.reconciler.sidecar.sources.base import SourceSpec

H1, H2, H3 = "1" * 64, "2" * 64, "3" * 64


@pytest.mark.parametrize(("state", "offered", "step"), [
    pytest.param(State(), None, Step.WAIT, id="nothing-anywhere"),
    pytest.param(State(), H1, Step.APPLY, id="first-bundle"),
    pytest.param(State(active=H1, good=H1), None, Step.RELOAD, id="start-up-reload"),
    pytest.param(State(active=H1, good=H1), H1, Step.RELOAD, id="start-up-same-offered"),
    pytest.param(State(active=H1, good=H1, verified=True), None, Step.VERIFY, id="current"),
    pytest.param(State(active=H1, good=H1, verified=True), H1, Step.VERIFY, id="unchanged"),
    pytest.param(State(active=H1, good=H1, verified=True), H2, Step.APPLY, id="new"),
    pytest.param(State(active=H1, good=H1, verified=True, failed=H2), H2, Step.APPLY,
                 id="retry-after-failure-same-hash"),
    pytest.param(State(active=H2, good=H1, failed=H2), None, Step.RELOAD,
                 id="retry-reload-of-failed-active"),
    pytest.param(State(active=H1, good=H1, verified=False, failed=H1), H1, Step.RELOAD,
                 id="force-reload-after-failure-unchanged-hash"),
])
def test_decide(state: State, offered: str | None, step: Step) -> None:
    assert decide.decide(state, offered).step is step


@pytest.mark.parametrize(("state", "failing", "choice"), [
    pytest.param(State(active=H2, good=H1), H2, "good", id="restore-good"),
    pytest.param(State(active=H1), H1, "empty", id="no-good-yet"),
    pytest.param(State(active=H1, good=H1), H1, None, id="failing-is-good"),
])
def test_fallback(state: State, failing: str, choice: str | None) -> None:
    assert decide.fallback(state, failing) == choice


def test_converged_needs_verified_and_offered() -> None:
    assert decide.converged(State(active=H1, verified=True), H1)
    assert not decide.converged(State(active=H1, verified=False), H1)
    assert not decide.converged(State(active=H1, verified=True), H2)
    assert not decide.converged(State(active=H1, verified=True), None)


def _target_files(files: dict[str, bytes], target: str) -> dict[str, bytes]:
    return {p: d for p, d in files.items() if p.startswith(target + "/")}


def test_verify_accepts_a_compiled_bundle() -> None:
    files = sidecar_bundles.compiled(2)
    candidate = bundles.verify(target="prometheus", manifest_data=files["manifest.json"],
                               files=_target_files(files, "prometheus"))
    assert sorted(candidate.files) == ["g1.yaml", "g2.yaml"]
    assert candidate.hash == sidecar_bundles.target_hash(files, "prometheus")
    am = bundles.verify(target="alertmanager", manifest_data=files["manifest.json"],
                        files=_target_files(files, "alertmanager"))
    assert list(am.files) == ["alertmanager.yaml"]


def _mutations() -> list[object]:
    def extra(f: dict[str, bytes]) -> None:
        f["prometheus/rules/zz.yaml"] = b"groups: []\n"

    def missing(f: dict[str, bytes]) -> None:
        del f["prometheus/rules/g1.yaml"]

    def corrupt(f: dict[str, bytes]) -> None:
        f["prometheus/rules/g1.yaml"] = f["prometheus/rules/g1.yaml"].replace(b"G1", b"G9")

    def resized(f: dict[str, bytes]) -> None:
        f["prometheus/rules/g1.yaml"] += b"# tampered\n"

    def wrong_target_hash(f: dict[str, bytes]) -> None:
        m = json.loads(f["manifest.json"])
        m["targets"]["prometheus"]["hash"] = H3
        f["manifest.json"] = json.dumps(m).encode()

    def traversal(f: dict[str, bytes]) -> None:
        f["prometheus/rules/../../etc/x.yaml"] = b"x"
        f.update(sidecar_bundles.rehashed(f))

    def hidden(f: dict[str, bytes]) -> None:
        f["prometheus/rules/.converge-version.json"] = b"{}"
        f.update(sidecar_bundles.rehashed(f))

    def old_schema(f: dict[str, bytes]) -> None:
        m = json.loads(f["manifest.json"])
        m["schemaVersion"] = "converge/manifest/v0"
        f["manifest.json"] = json.dumps(m).encode()

    def not_json(f: dict[str, bytes]) -> None:
        f["manifest.json"] = b"{"

    return [pytest.param(m, reason, id=m.__name__) for m, reason in [
        (extra, "not in manifest.json"), (missing, "missing"), (corrupt, "SHA-256"),
        (resized, "bytes, the manifest says"),
        (wrong_target_hash, "hash in manifest.json"), (traversal, "unsafe"),
        (hidden, "unsafe"), (old_schema, "schemaVersion"), (not_json, "not JSON")]]


@pytest.mark.parametrize(("mutate", "reason"), _mutations())
def test_verify_refuses(mutate: object, reason: str) -> None:
    files = sidecar_bundles.compiled(2)
    assert callable(mutate)
    mutate(files)
    with pytest.raises(bundles.BundleError, match=reason):
        bundles.verify(target="prometheus", manifest_data=files["manifest.json"],
                       files=_target_files(files, "prometheus"))


def test_secret_pattern_is_the_compilers() -> None:
    assert secrets.PATTERN.pattern == compiler_secrets.PATTERN.pattern


def test_secrets_resolve_env_and_file_as_quoted_yaml(tmp_path: Path) -> None:
    (tmp_path / "token").write_text('s3"cr\\et\n')
    placeholder = compiler_secrets.placeholder({"file": "token"})
    files = {"a.yaml": f'url: "https://converge-secret.invalid/env/URL"\n'
                       f'token: "{placeholder}"\n'.encode(), "b.yaml": b"plain: 1\n"}
    access = SecretAccess(directory=tmp_path, env_names=frozenset({"URL"}),
                          environ={"URL": "http://h/x?a=1"})
    positions = {"a.yaml": [{"pointer": "/url", "env": "URL"},
                            {"pointer": "/token", "file": "token"}]}
    resolved = secrets.resolve(files, positions, env=access.env, file=access.file)
    import yaml

    assert yaml.safe_load(resolved.files["a.yaml"]) == {"url": "http://h/x?a=1",
                                                         "token": 's3"cr\\et'}
    assert resolved.sensitive == {"a.yaml"}
    assert resolved.values == {"http://h/x?a=1", 's3"cr\\et'}
    assert resolved.files["b.yaml"] == files["b.yaml"]


_AT_U = {"a.yaml": [{"pointer": "/u", "env": "X"}]}


@pytest.mark.parametrize(("text", "positions", "env", "reason"), [
    pytest.param('u: "https://converge-secret.invalid/env/X"\n', _AT_U, {}, "X is not",
                 id="missing"),
    pytest.param("u: https://converge-secret.invalid/env/X\n", _AT_U, {"X": "v"},
                 "whole double-quoted", id="unquoted"),
    pytest.param('u: "https://converge-secret.invalid/env/X"\n', _AT_U, {"X": "a\x07"},
                 "control", id="control-characters"),
    pytest.param('u: "https://converge-secret.invalid/env/X"\n', {}, {"X": "v"},
                 "not at a position", id="no-position"),
    pytest.param('u: "https://converge-secret.invalid/env/X"\n'
                 'n: "see https://converge-secret.invalid/env/X"\n', _AT_U, {"X": "v"},
                 "line 2 is not at a position", id="stray-copy"),
    pytest.param('u: "https://converge-secret.invalid/env/Y"\n', _AT_U, {"X": "v"},
                 "does not hold the placeholder", id="other-reference"),
])
def test_secrets_refuse(text: str, positions: dict[str, list[dict[str, str]]],
                        env: dict[str, str], reason: str) -> None:
    with pytest.raises(secrets.SecretError, match=reason):
        secrets.resolve({"a.yaml": text.encode()}, positions, env=env.get,
                        file=lambda _: None)


def _candidate(n: int, target: str = "prometheus") -> bundles.Candidate:
    files = sidecar_bundles.compiled(n)
    return bundles.verify(target=target, manifest_data=files["manifest.json"],
                          files=_target_files(files, target))


def _publisher(tmp_path: Path) -> Publisher:
    publisher = Publisher(dest=tmp_path / "dest", state_dir=tmp_path / "state",
                          target="prometheus")
    publisher.prepare()
    return publisher


def test_publish_swaps_dest_and_keeps_old_and_new(tmp_path: Path) -> None:
    publisher = _publisher(tmp_path)
    versions = []
    for n in (1, 2, 3):
        candidate = _candidate(n)
        version = publisher.stage(candidate=candidate,
                                  resolved=secrets.Resolved(dict(candidate.files), frozenset()))
        publisher.activate(version)
        publisher.mark_good(version)
        publisher.prune()
        versions.append(version)
        assert sorted(p.name for p in (tmp_path / "dest").iterdir()) == sorted(
            [*candidate.files, METADATA])
        assert not os.path.isabs(os.readlink(tmp_path / "dest"))
    kept = sorted(p.name for p in (tmp_path / "state" / "versions").iterdir())
    assert kept == sorted([versions[1].id, versions[2].id])
    assert publisher.good() == versions[2]
    active = publisher.active()
    assert active is not None and active.intact and active.hash == _candidate(3).hash


def test_publish_writes_secret_files_0600(tmp_path: Path) -> None:
    publisher = _publisher(tmp_path)
    candidate = _candidate(1)
    version = publisher.stage(candidate=candidate, resolved=secrets.Resolved(
        dict(candidate.files), frozenset({"g1.yaml"})))
    assert (version.path / "g1.yaml").stat().st_mode & 0o777 == 0o600
    assert (version.path / "g2.yaml").exists() is False


def test_publish_refuses_a_dest_it_does_not_own(tmp_path: Path) -> None:
    (tmp_path / "dest").mkdir()
    (tmp_path / "dest" / "mine.yaml").write_text("groups: []\n")
    with pytest.raises(PublishError, match="not managed"):
        _publisher(tmp_path)
    assert (tmp_path / "dest" / "mine.yaml").exists()


def test_publish_takes_over_an_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "dest").mkdir()
    publisher = _publisher(tmp_path)
    candidate = _candidate(1)
    publisher.activate(publisher.stage(candidate=candidate, resolved=secrets.Resolved(
        dict(candidate.files), frozenset())))
    assert (tmp_path / "dest").is_symlink()


def test_publish_one_sidecar_per_state_dir(tmp_path: Path) -> None:
    first = _publisher(tmp_path)
    with pytest.raises(PublishError, match="another sidecar"):
        _publisher(tmp_path)
    first.close()
    _publisher(tmp_path).close()


def test_publish_start_up_removes_a_crashed_staging_dir(tmp_path: Path) -> None:
    leftover = tmp_path / "state" / "versions" / ".staging-dead"
    leftover.mkdir(parents=True)
    _publisher(tmp_path)
    assert not leftover.exists()


def test_a_tampered_set_is_not_intact(tmp_path: Path) -> None:
    publisher = _publisher(tmp_path)
    candidate = _candidate(1)
    version = publisher.stage(candidate=candidate, resolved=secrets.Resolved(
        dict(candidate.files), frozenset()))
    publisher.activate(version)
    (version.path / "g1.yaml").write_text("groups: []\n")
    active = publisher.active()
    assert active is not None and not active.intact


def test_alertmanager_config_hash_is_six_md5_bytes_little_endian() -> None:
    # md5("") = d4 1d 8c d9 8f 00 0b 04…: the first six bytes read little-endian
    assert expect.alertmanager_config_hash(b"") == float(0x008FD98C1DD4)


def test_loaded_groups_only_under_dest() -> None:
    api = {"data": {"groups": [
        {"name": "a", "file": "/d/a.yaml", "rules": [{"type": "alerting", "name": "A"}]},
        {"name": "mine", "file": "/etc/other/x.yaml", "rules": []}]}}
    loaded = expect.loaded_groups(api, dest="/d", with_query=False)
    assert loaded == {("a.yaml", "a"): [("alerting", "A")]}
    assert expect.compare_groups({("a.yaml", "a"): [("alerting", "A")]}, loaded) is None
    assert "not loaded" in (expect.compare_groups({("b.yaml", "b"): []}, loaded) or "")
    assert "1 rule(s) loaded, 0 expected" in (
        expect.compare_groups({("a.yaml", "a"): []}, loaded) or "")


def test_metric_reads_unlabelled_samples() -> None:
    text = "# HELP x\nfoo_total 3\nfoo 1.5e+14\nbar{a=\"b\"} 2\n"
    assert expect.metric(text, "foo") == 1.5e14
    assert expect.metric(text, "bar") == 2
    assert expect.metric(text, "baz") is None


@pytest.mark.parametrize(("text", "spec"), [
    ("dir:/b", SourceSpec("dir", "/b")),
    ("http://s:9400/", SourceSpec("server", "http://s:9400")),
    ("git+file:///r", SourceSpec("git", "file:///r")),
    ("git+https://h/r.git#main", SourceSpec("git", "https://h/r.git", "main")),
    ("git+https://h/r.git#main:specs/prod", SourceSpec("git", "https://h/r.git", "main",
                                                       "specs/prod")),
    ("git+https://h/r.git:specs", SourceSpec("git", "https://h/r.git", None, "specs")),
    ("git+git@h:org/r.git", SourceSpec("git", "git@h:org/r.git")),
])
def test_parse_source(text: str, spec: SourceSpec) -> None:
    assert parse(text) == spec


@pytest.mark.parametrize("text", ["ftp://x", "dir:", "git+", "git+file:///r#b:../up"])
def test_parse_source_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse(text)


class _Source:
    """A scripted source: each fetch pops the next answer (a candidate, None for 304, or
    an exception to raise)."""

    description = "fake"

    def __init__(self, *answers: object) -> None:
        self.answers = list(answers)
        self.known: list[str | None] = []

    def fetch(self, known: str | None) -> bundles.Candidate | None:
        self.known.append(known)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        assert answer is None or isinstance(answer, bundles.Candidate)
        return answer

    def close(self) -> None:
        pass


class _Target:
    """A target that loads whatever it is told unless `down` or `rejects` says otherwise."""

    name = "prometheus"

    def __init__(self) -> None:
        self.down = False
        self.rejects: set[str | None] = set()
        self.loaded: str | None = None

    def check(self, version: object) -> str | None:
        return None

    def reload(self, version: object) -> None:
        from converge.reconciler.sidecar.targets import TargetError

        if self.down:
            raise TargetError("connection refused", unreachable=True)
        assert hasattr(version, "hash")
        if version.hash in self.rejects:
            raise TargetError("bad rules")
        self.loaded = version.hash

    def verify(self, version: object) -> None:
        from converge.reconciler.sidecar.targets import TargetError

        if self.down or getattr(version, "hash", None) != self.loaded:
            raise TargetError("not loaded")


def _syncer(tmp_path: Path, source: _Source, target: _Target) -> object:
    from converge.reconciler.sidecar.sync import Syncer

    syncer = Syncer(source=source, target=target, publisher=Publisher(
        dest=tmp_path / "dest", state_dir=tmp_path / "state", target="prometheus"),
        env={}.get, files=lambda _: None)
    syncer.start()
    return syncer


def test_sync_uses_304_and_retries_a_failed_bundle_while_the_source_is_down(
        tmp_path: Path) -> None:
    from converge.reconciler.sidecar.sources import SourceError
    from converge.reconciler.sidecar.sync import Syncer

    one, two = _candidate(1), _candidate(2)
    target = _Target()
    target.rejects.add(two.hash)
    source = _Source(one, None, two, SourceError("down"), SourceError("down"))
    syncer = _syncer(tmp_path, source, target)
    assert isinstance(syncer, Syncer)
    assert syncer.sync().result == "success"
    assert syncer.sync().result == "unchanged"
    assert source.known[1] == one.hash  # sent as If-None-Match
    failed = syncer.sync()
    assert failed.result == "failure" and failed.rolled_back and target.loaded == one.hash
    target.rejects.clear()  # e.g. the target was upgraded: the same bundle now loads
    retried = syncer.sync()
    assert retried.step is Step.APPLY and retried.attempted == two.hash
    assert retried.result == "failure" and "unavailable" in retried.reason
    assert target.loaded == two.hash and syncer.state.good == two.hash


def test_sync_leaves_a_first_bundle_for_a_target_that_is_not_up_yet(tmp_path: Path) -> None:
    from converge.reconciler.sidecar.sync import Syncer

    one = _candidate(1)
    target = _Target()
    target.down = True
    syncer = _syncer(tmp_path, _Source(one, None), target)
    assert isinstance(syncer, Syncer)
    first = syncer.sync()
    assert first.result == "failure" and not first.rolled_back
    assert (tmp_path / "dest" / "g1.yaml").is_file()  # what the target will read at start
    target.down = False
    second = syncer.sync()
    assert (second.result, second.step) == ("success", Step.RELOAD)

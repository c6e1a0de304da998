"""Finding 1: `{env: NAME}` / `{file: PATH}` read any variable and any readable file, and
the sidecar replaced placeholder text anywhere in any rendered file. A rule annotation
holding the placeholder of `{file: <the server's token file>}` made Prometheus serve the
token on its unauthenticated /api/v1/rules; a WorkerPool env `{file: …}` copied a host
file into a container whose image the spec chose.

Now each daemon reads only what its operator allows (`--secrets-dir`, `--secret-env`,
`--secret-env-prefix`), only at the positions the manifest marks, and `converge check`
refuses placeholder text anywhere else."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sidecar_bundles
from sidecar_harness import Rig, prometheus_rig, sync
from test_scaler_engine import harness_factory

from converge.compiler.render import secrets as compiler_secrets
from converge.reconciler.core.secretaccess import SecretAccess
from converge.reconciler.notifier import channels
from converge.reconciler.scaler import engine
from converge.reconciler.scaler.config import Pool
from security.cli import converge

__all__ = ["harness_factory", "prometheus_rig"]  # a fixture, used by name

pytestmark = pytest.mark.realtools  # the real Prometheus


def _annotated(token_file: Path) -> dict[str, bytes]:
    """A valid bundle whose rule annotation holds the placeholder of the token file."""
    files = sidecar_bundles.compiled(1)
    leak = compiler_secrets.placeholder({"file": str(token_file)})
    rules = files["prometheus/rules/g1.yaml"].decode()
    assert '"summary": "job1 is down"' in rules
    files["prometheus/rules/g1.yaml"] = rules.replace(
        '"summary": "job1 is down"', f'"summary": "{leak}"').encode()
    return sidecar_bundles.rehashed(files)


def test_prometheus_never_serves_a_secret_from_a_rule_annotation(
        prometheus_rig: Rig, tmp_path: Path) -> None:
    rig = prometheus_rig
    assert rig.process is not None
    token = tmp_path / "server-token"
    token.write_text("very-secret-server-token\n")
    rig.publish_source(_annotated(token))
    sidecar = rig.sidecar(secret_access=SecretAccess(directory=tmp_path))
    report = sync(sidecar)
    assert report.result == "failure"
    assert "not at a position the manifest marks as a secret" in report.reason
    assert "very-secret-server-token" not in rig.process.get("/api/v1/rules").text
    assert not rig.dest.exists()


def test_a_secret_position_reads_only_inside_the_secrets_dir(
        prometheus_rig: Rig, tmp_path: Path) -> None:
    """Even at a real secret position, a file outside --secrets-dir is refused."""
    allowed = tmp_path / "secrets"
    allowed.mkdir()
    outside = tmp_path / "server-token"
    outside.write_text("very-secret-server-token\n")
    (allowed / "link").symlink_to(outside)
    access = SecretAccess(directory=allowed)
    for reference in (str(outside), "link", "../server-token"):
        with pytest.raises(LookupError, match="outside --secrets-dir"):
            access.file(reference)
    (allowed / "hook").write_text("http://127.0.0.1:9/hook\n")
    assert access.file("hook") == access.file(str(allowed / "hook")) == (
        "http://127.0.0.1:9/hook")
    with pytest.raises(LookupError, match="--secret-env"):
        SecretAccess(environ={"HOME": "/root"}).env("HOME")
    assert SecretAccess(env_prefixes=("CONVERGE_",), environ={"CONVERGE_X": "v"}).env(
        "CONVERGE_X") == "v"


def test_check_refuses_placeholder_text_outside_secret_fields(tmp_path: Path) -> None:
    (tmp_path / "converge.yaml").write_text(
        "apiVersion: converge/v1\nkind: Project\nmetadata: {name: demo}\nspec: {}\n")
    (tmp_path / "rules.yaml").write_text(
        "apiVersion: converge/v1\nkind: RuleGroup\nmetadata: {name: leak}\nspec:\n"
        "  rules:\n  - alert: Leak\n    expr: vector(1)\n    annotations:\n"
        "      summary: \"token: https://converge\\x2Dsecret.invalid/file/%2Fetc%2Fconverge"
        "%2Ftoken\"\n")
    done = converge(["check", str(tmp_path)])
    assert done.returncode == 1, done.stdout
    assert ("rules.yaml:9:32: error[secret/placeholder-misplaced]: secret placeholder "
            "text in a spec value") in done.stdout, done.stdout


def test_the_manifest_marks_every_secret_position(tmp_path: Path) -> None:
    files = sidecar_bundles.compiled(1, secret_env="HOOK_URL")
    manifest = json.loads(files["manifest.json"])
    marked = {f["path"]: f.get("secrets") for f in manifest["files"]}
    assert marked["alertmanager/alertmanager.yaml"] == [
        {"pointer": "/receivers/0/webhook_configs/0/url", "env": "HOOK_URL"}]
    assert marked["reconciler/channels.json"] == [
        {"pointer": "/channels/0/spec/urlSecret", "env": "HOOK_URL"}]
    assert marked["prometheus/rules/g1.yaml"] is None


def test_the_scaler_reads_no_host_file_outside_the_secrets_dir(tmp_path: Path) -> None:
    host_file = tmp_path / "id_rsa"
    host_file.write_text("PRIVATE KEY\n")
    pool = Pool(name="p", env=(("KEY", {"file": str(host_file)}),))
    with pytest.raises(engine.SecretError, match="outside --secrets-dir"):
        engine.resolve_env(pool, SecretAccess(directory=tmp_path / "secrets"))
    with pytest.raises(engine.SecretError, match="--secret-env"):
        engine.resolve_env(Pool(name="p", env=(("T", {"env": "CONVERGE_TOKEN"}),)),
                           SecretAccess(environ={"CONVERGE_TOKEN": "t"}))
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "dsn").write_text("mysql://x\n")
    assert engine.resolve_env(Pool(name="p", env=(("DSN", {"file": "dsn"}),)),
                              SecretAccess(directory=tmp_path / "secrets")) == {
        "DSN": "mysql://x"}


def test_the_notifier_reads_only_allowed_variables() -> None:
    document = {"schemaVersion": "converge/reconciler/v1", "channels": [
        {"name": "hook", "type": "webhook", "deliveredBy": "alertmanager",
         "spec": {"type": "webhook", "url": "http://127.0.0.1:9/x",
                  "bearerToken": {"env": "CONVERGE_SERVER_TOKEN"}}}]}
    access = SecretAccess(environ={"CONVERGE_SERVER_TOKEN": "t0ken"})
    found = channels.parse(json.dumps(document).encode(), env=access.env, file=access.file)
    assert found["hook"].secrets == {}
    assert found["hook"].problem is not None and "not allowed" in found["hook"].problem


@pytest.mark.realtools
def test_the_real_scaler_copies_no_host_file_into_a_container(
        harness_factory: Callable[..., Any], tmp_path: Path) -> None:
    """On a real container engine: a pool env naming a host file outside --secrets-dir
    creates no container; one inside it reaches the container's environment."""
    from test_scaler_engine import jobs_pool

    host_file = tmp_path / "id_rsa"
    host_file.write_text("PRIVATE KEY\n")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "dsn").write_text("mysql://app@db/jobs\n")
    pools = [jobs_pool(metrics=(), env=(("KEY", {"file": str(host_file)}),))]
    harness = harness_factory("http://127.0.0.1:9", lambda: pools)
    harness.scaler.secret_access = SecretAccess(directory=secrets)
    for _ in range(3):
        harness.scaler.step()
    assert harness.containers(running=False) == []
    assert "outside --secrets-dir" in str(harness.status.snapshot()["facts"])

    pools[:] = [jobs_pool(metrics=(), env=(("DSN", {"file": "dsn"}),))]
    harness.until(harness.running(1), message="the allowed pool's container")
    [container] = harness.containers()
    env = harness.client.api.inspect_container(container["Id"])["Config"]["Env"]
    assert "DSN=mysql://app@db/jobs" in env and not any("PRIVATE KEY" in e for e in env)


def test_a_vmalert_header_secret_is_filled_at_its_position() -> None:
    import bundles

    from converge.reconciler.sidecar import bundles as sidecar_bundles_module
    from converge.reconciler.sidecar import secrets

    docs = sidecar_bundles.documents(1)
    docs[0]["spec"]["targets"] = {"vmalert": {"version": "1.120"}}
    docs[1]["spec"]["vmalert"] = {"headers": [{"name": "Authorization",
                                               "secret": {"env": "VM_AUTH"}}]}
    files = dict(bundles.build_docs(docs).files)
    candidate = sidecar_bundles_module.verify(
        target="vmalert", manifest_data=files["manifest.json"],
        files={p: d for p, d in files.items() if p.startswith("vmalert/rules/")})
    assert candidate.secrets == {"g1.yaml": ({"pointer": "/groups/0/headers/0",
                                              "env": "VM_AUTH",
                                              "prefix": "Authorization: "},)}
    access = SecretAccess(env_names=frozenset({"VM_AUTH"}),
                          environ={"VM_AUTH": "Bearer s3cret"})
    resolved = secrets.resolve(candidate.files, candidate.secrets, env=access.env,
                               file=access.file)
    import yaml

    group = yaml.safe_load(resolved.files["g1.yaml"])["groups"][0]
    assert group["headers"] == ["Authorization: Bearer s3cret"]


def test_check_refuses_placeholder_text_in_a_one_key_label_map(tmp_path: Path) -> None:
    (tmp_path / "converge.yaml").write_text(
        "apiVersion: converge/v1\nkind: Project\nmetadata: {name: demo}\nspec: {}\n")
    (tmp_path / "rules.yaml").write_text(
        "apiVersion: converge/v1\nkind: RuleGroup\nmetadata: {name: leak}\nspec:\n"
        "  rules:\n  - alert: Leak\n    expr: vector(1)\n    labels:\n"
        "      file: https://converge-secret.invalid/env/HOME\n")
    done = converge(["check", str(tmp_path)])
    assert "rules.yaml:9:21: error[secret/placeholder-misplaced]" in done.stdout, done.stdout

"""Scoped tokens (issue 19): a sidecar token fetches bundles and reports for its own
clusters only, a read token sees the fleet and the console, an admin token triggers; a
plain token line is admin, as before scopes. Tokens are kept as digests."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import server_harness as h

from converge.reconciler.core import tokens
from converge.reconciler.core.tokens import Credential, Grant

SIDECAR, READER, ADMIN = "sidecar-token-1", "reader-token-1", "admin-token-1"


@pytest.mark.parametrize("text, expected", [
    pytest.param("plain\n", [Credential(tokens.digest("plain"), Grant("admin"))],
                 id="plain-is-admin"),
    pytest.param("# c\n\nr read\na admin\n",
                 [Credential(tokens.digest("r"), Grant("read")),
                  Credential(tokens.digest("a"), Grant("admin"))], id="scopes"),
    pytest.param("s sidecar eu,us\ns2 sidecar eu us\n",
                 [Credential(tokens.digest("s"), Grant("sidecar", frozenset({"eu", "us"}))),
                  Credential(tokens.digest("s2"), Grant("sidecar", frozenset({"eu", "us"})))],
                 id="sidecar-clusters"),
    pytest.param(f"sha256:{hashlib.sha256(b'h').hexdigest()} read\n",
                 [Credential(tokens.digest("h"), Grant("read"))], id="hashed"),
])
def test_token_files_with_scopes(text: str, expected: list[Credential]) -> None:
    assert tokens.parse_scoped(text) == expected


@pytest.mark.parametrize("text, message", [
    pytest.param("# none\n", "holds no token", id="empty"),
    pytest.param("t owner\n", "scope 'owner' is not one of", id="unknown-scope"),
    pytest.param("t sidecar\n", "names the clusters", id="sidecar-without-clusters"),
    pytest.param("t read eu\n", "only sidecar tokens name clusters", id="read-with-clusters"),
    pytest.param("sha256:abc read\n", "64 lowercase hex", id="short-digest"),
    pytest.param("t # rotate monthly\n", "line 1: scope '#'", id="trailing-comment"),
])
def test_malformed_token_files_are_refused(text: str, message: str) -> None:
    with pytest.raises(tokens.TokenFileError, match=message):
        tokens.parse_scoped(text)


def test_a_token_is_found_by_its_digest_only() -> None:
    known = tokens.parse_scoped("a admin\nr read\ns sidecar eu\n")
    assert all(len(c.digest) == 32 for c in known)  # never the token itself
    assert tokens.authenticate("r", known) == Grant("read")
    assert tokens.authenticate("s", known) == Grant("sidecar", frozenset({"eu"}))
    assert tokens.authenticate("x", known) is None
    assert tokens.authenticate("", known) is None


@pytest.mark.parametrize("grant, need, allowed", [
    pytest.param(Grant("sidecar", frozenset({"eu"})), "bundles", True, id="sidecar-bundles"),
    pytest.param(Grant("sidecar", frozenset({"eu"})), "report", True, id="sidecar-report"),
    pytest.param(Grant("sidecar", frozenset({"eu"})), "read", False, id="sidecar-read"),
    pytest.param(Grant("read"), "read", True, id="read-read"),
    pytest.param(Grant("read"), "report", False, id="read-report"),
    pytest.param(Grant("read"), "admin", False, id="read-admin"),
    pytest.param(Grant("admin"), "admin", True, id="admin-admin"),
])
def test_scopes_cover(grant: Grant, need: str, allowed: bool) -> None:
    assert grant.allows(need) is allowed


@pytest.fixture
def server(tmp_path: Path) -> Iterator[h.RunningServer]:
    specs = h.SpecsRepo(tmp_path / "specs")
    known = tokens.parse_scoped(f"{ADMIN}\n{READER} read\n{SIDECAR} sidecar c1,c2\n")
    running = h.RunningServer(h.settings(tmp_path, specs.root, tokens=known))
    try:
        h.wait_for(lambda: running.anonymous.get("/health/ready").status_code == 200)
        yield running
    finally:
        running.stop()
        specs.close()


def _as(server: h.RunningServer, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"},
                        timeout=10)


def _report(cluster: str) -> dict[str, object]:
    return {"clusterId": cluster, "target": "prometheus", "hash": "a" * 64, "result": "success",
            "converged": True}


def test_each_scope_reaches_only_its_routes(server: h.RunningServer) -> None:
    with _as(server, SIDECAR) as sidecar, _as(server, READER) as reader, \
            _as(server, ADMIN) as admin:
        assert sidecar.get("/api/v1/bundles/prometheus").status_code == 200
        assert sidecar.post("/api/v1/config/sync/status", json=_report("c1")).status_code == 200
        refused = sidecar.post("/api/v1/config/sync/status", json=_report("c3"))
        assert refused.status_code == 403 and "'c3'" in refused.json()["error"]
        assert sidecar.get("/api/v1/clusters").status_code == 403
        assert sidecar.post("/api/v1/config/sync/trigger", json={}).status_code == 403
        assert sidecar.get("/ui/").status_code == 401

        assert reader.get("/api/v1/clusters").json()["clusters"][0]["clusterId"] == "c1"
        assert reader.get("/api/v1/bundles/prometheus").status_code == 200
        assert reader.get("/ui/").status_code == 200
        assert reader.post("/api/v1/config/sync/status", json=_report("c1")).status_code == 403
        assert reader.post("/api/v1/config/sync/trigger", json={}).status_code == 403

        assert admin.post("/api/v1/config/sync/trigger", json={}).status_code == 202
        assert admin.post("/api/v1/config/sync/status", json=_report("c9")).status_code == 200
    assert server.anonymous.get("/api/v1/bundles/prometheus").status_code == 401


def test_a_sidecar_token_cannot_sign_in_to_the_console(server: h.RunningServer) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as browser:
        assert browser.get(f"/ui/?token={SIDECAR}").status_code == 401
        assert browser.get(f"/ui/?token={READER}").status_code == 303


def test_the_cli_reads_a_scoped_token_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text(f"{ADMIN}\n{SIDECAR} sidecar c1\n", encoding="utf-8")
    assert [c.grant.scope for c in tokens.read_scoped(path)] == ["admin", "sidecar"]
    path.write_text("t sidecar\n", encoding="utf-8")
    with pytest.raises(tokens.TokenFileError, match=f"{path}: line 1"):
        tokens.read_scoped(path)

"""The config server's pure parts: the compile policy, the fleet fold, auth checks, the
published snapshot and the compile step."""

from __future__ import annotations

import gzip
import json
import os
import signal

import pytest
import valid_repo
from server_harness import broken_text

from converge.compiler.sources import SourceFile
from converge.reconciler.core import TemporaryError
from converge.reconciler.server import auth, fleet, published
from converge.reconciler.server.compile import compile_sources
from converge.reconciler.server.compilers import ProcessCompiler
from converge.reconciler.server.reconcile import decide
from converge.reconciler.server.repository import redact
from converge.reconciler.server.state import Attempt


def _attempt(commit: str = "c1", result: str = "success", version: str = "1") -> Attempt:
    return Attempt(1, commit, 0.0, 0.1, result, None, version, None, [])


@pytest.mark.parametrize(("last", "fetched", "serving", "forced", "expected"), [
    pytest.param(None, "c1", False, False, "compile", id="first"),
    pytest.param(_attempt(), "c2", True, False, "compile", id="new-commit"),
    pytest.param(_attempt(), "c1", True, False, "unchanged", id="same-commit"),
    pytest.param(_attempt(), "c1", True, True, "compile", id="forced"),
    pytest.param(_attempt(), "c1", False, False, "compile", id="compiled-but-not-served"),
    pytest.param(_attempt(version="0"), "c1", True, False, "compile", id="new-compiler"),
    pytest.param(_attempt(result="failure"), "c1", True, False, "still-failing", id="broken"),
    pytest.param(_attempt(result="failure"), "c2", True, False, "compile", id="broken-then-new"),
    pytest.param(_attempt(result="error"), "c1", True, False, "still-failing", id="crashed"),
])
def test_decide(last: Attempt | None, fetched: str, serving: bool, forced: bool,
                expected: str) -> None:
    assert decide(fetched=fetched, last=last, version="1", serving=serving,
                  forced=forced) == expected


def _report(**changes: object) -> fleet.SyncReport:
    data = {"clusterId": "c1", "target": "prometheus", "hash": "a" * 64, "result": "success",
            "converged": True}
    return fleet.SyncReport.model_validate({**data, **changes})


def test_fleet_since_moves_only_with_the_hash_and_errors_are_remembered() -> None:
    row, changed = fleet.apply(None, _report(), now=10)
    assert changed and row.since == 10
    row, changed = fleet.apply(row, _report(), now=20)
    assert not changed and (row.since, row.last_report_at) == (10, 20)
    row, changed = fleet.apply(row, _report(result="failure", error="reload refused"), now=30)
    assert changed and row.since == 10 and (row.last_error, row.last_error_at) == (
        "reload refused", 30)
    row, changed = fleet.apply(row, _report(hash="b" * 64), now=40)
    assert changed and row.since == 40 and row.error is None
    assert (row.last_error, row.last_error_at) == ("reload refused", 30)


def test_report_errors_are_clipped_and_unknown_fields_ignored() -> None:
    report = _report(error="x" * 10_000, futureField=1)
    assert report.error is not None and len(report.error) == fleet.MAX_ERROR


@pytest.mark.parametrize(("header", "ok"), [
    pytest.param("Bearer t1", True, id="first"),
    pytest.param("bearer  t2 ", True, id="second-case-and-spaces"),
    pytest.param("Bearer t3", False, id="unknown"),
    pytest.param("Basic t1", False, id="scheme"),
    pytest.param("", False, id="empty"),
    pytest.param(None, False, id="missing"),
    pytest.param("Bearer ", False, id="no-token"),
])
def test_bearer(header: str | None, ok: bool) -> None:
    assert auth.bearer_ok(header, [b"t1", b"t2"]) is ok


def test_signature() -> None:
    body = b'{"ref": "refs/heads/main"}'
    good = auth.sign(b"s3cret", body)
    assert auth.signature_ok(b"s3cret", body, good)
    assert auth.signature_ok(b"s3cret", body, good.upper().replace("SHA256=", "sha256="))
    assert not auth.signature_ok(b"s3cret", body + b" ", good)
    assert not auth.signature_ok(b"other", body, good)
    assert not auth.signature_ok(b"s3cret", body, None)
    assert not auth.signature_ok(b"s3cret", body, good.replace("sha256=", "sha1="))
    assert not auth.signature_ok(b"s3cret", body, "sha256=\u00e9")


def test_token_file_parsing() -> None:
    assert auth.parse_tokens("# rotate monthly\nold\n\n  new  \n") == ["old", "new"]
    with pytest.raises(auth.TokenFileError):
        auth.parse_tokens("# nothing\n\n")


@pytest.mark.parametrize(("header", "matches"), [
    ('"h"', True), ('W/"h"', True), ('"a", "h"', True), ("*", True), ('"a"', False),
    ("", False), ("h", False)])
def test_etag_matching(header: str, matches: bool) -> None:
    assert published.etag_matches(header, '"h"') is matches


def test_compile_reports_diagnostics_with_the_folder_prefix() -> None:
    result = compile_sources([SourceFile("specs.yaml", broken_text().encode())], commit="c" * 40,
                             version="1", prefix="monitoring")
    assert not result.ok and result.error is not None
    assert result.error.startswith("1 error(s); first: monitoring/specs.yaml:")
    assert {d["path"] for d in result.diagnostics} == {"monitoring/specs.yaml"}
    assert compile_sources([], commit="c", version="1").error == (
        "no spec files (*.yaml, *.yml) under the top of the repository")


def test_publish_reuses_unchanged_bodies_and_documents_verify() -> None:
    first = compile_sources([valid_repo.source()], commit="1" * 40, version="1").bundle
    docs = valid_repo.documents()
    docs[1]["spec"]["rules"][0]["thresholds"]["critical"] = 97
    second = compile_sources([valid_repo.source(docs)], commit="2" * 40, version="1").bundle
    assert first is not None and second is not None
    one = published.publish(first, compiled_at=1, previous=None)
    two = published.publish(second, compiled_at=2, previous=one)
    assert two.targets["alertmanager"] is one.targets["alertmanager"]
    assert two.targets["prometheus"].commit == "2" * 40
    assert two.targets["alertmanager"].commit == "1" * 40
    body = two.targets["prometheus"]
    assert gzip.decompress(body.gzipped) == body.body
    document = json.loads(body.body)
    assert document["hash"] == second.manifest["targets"]["prometheus"]["hash"]
    assert set(body.files) == {p.split("/", 1)[1] for p in document["files"]}
    reloaded = published.publish(second, compiled_at=2, previous=None,
                                 first_commits={"alertmanager": "1" * 40})
    assert reloaded.targets["alertmanager"].body == one.targets["alertmanager"].body


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("https://bob:ghp_secret@github.com/a/b.git", "https://***@github.com/a/b.git",
                 id="token"),
    pytest.param("fatal: unable to access 'https://x@h/r/': 403",
                 "fatal: unable to access 'https://***@h/r/': 403", id="in-a-message"),
    pytest.param("/srv/specs", "/srv/specs", id="path"),
    pytest.param("git@github.com:a/b.git", "git@github.com:a/b.git", id="scp-like"),
])
def test_credentials_never_reach_logs_or_status(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_the_chunked_encoding_gives_the_same_bytes_as_json_dumps() -> None:
    document = {"target": "t", "hash": "h", "commit": None, "apiVersion": "v",
                "manifest": {"b": [1, {"z": "\u00e9", "a": "\n"}], "a": 2},
                "files": {"t/b.yaml": "x: \"quoted\"\n\u4e2d\u6587\n", "t/a.yaml": "\t\\"}}
    assert published.encode_document(document) == json.dumps(
        document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def test_a_dead_compiler_process_is_a_temporary_error_and_is_replaced() -> None:
    compiler = ProcessCompiler()
    try:
        assert compiler([valid_repo.source()], commit="1" * 40, version="1").ok
        pool = compiler._pool
        assert pool is not None
        for process in list(pool._processes.values()):  # test-only: kill the worker
            os.kill(process.pid, signal.SIGKILL)
            process.join(10)
        with pytest.raises(TemporaryError, match="compiler process died"):
            compiler([valid_repo.source()], commit="2" * 40, version="1")
        assert compiler([valid_repo.source()], commit="3" * 40, version="1").ok
    finally:
        compiler.close()


def test_an_unchanged_heartbeat_keeps_the_result_and_adds_no_history() -> None:
    row, _ = fleet.apply(None, _report(result="failure", error="reload refused"), now=10)
    beat, changed = fleet.apply(row, _report(result="unchanged"), now=20)
    assert not changed and (beat.result, beat.error, beat.last_report_at) == (
        "failure", "reload refused", 20)
    moved, changed = fleet.apply(beat, _report(result="unchanged", hash="c" * 64), now=30)
    assert changed and moved.result == "unchanged" and moved.since == 30

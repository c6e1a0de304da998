"""Finding 7 of issue 15: one token-file format for every daemon, and no daemon serves
its API without authentication unless told `--insecure-no-auth`, which it then says
loudly at every start.

Seen on the real notifier: `--token-file` took a `# rotate monthly` comment line for a
valid token, and without a token file its `/api/` (events, dead letters) was open with
nothing in the logs; the server with `--insecure-no-auth` on 0.0.0.0 logged nothing.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import notifierkit
import pytest
import server_harness
from engine import free_port

from converge.reconciler.core import tokens
from security.cli import stop, wait_live

EVENT = {"level": "error", "source": "test", "title": "t"}


@pytest.mark.parametrize("text, expected", [
    pytest.param("tok-1\n", ["tok-1"], id="one"),
    pytest.param("# rotate monthly\nold\n\n  new  \n", ["old", "new"], id="comments-blank"),
    pytest.param("  # indented comment\ntok\n", ["tok"], id="indented-comment"),
    pytest.param("tok\r\n", ["tok"], id="crlf"),
])
def test_token_files_parse_the_same_for_every_daemon(text: str, expected: list[str]) -> None:
    assert tokens.parse(text) == expected


@pytest.mark.parametrize("text, message", [
    pytest.param("", "holds no token", id="empty"),
    pytest.param("# rotate monthly\n\n", "holds no token", id="only-comments"),
    pytest.param("tok # the old one\n", "line 1 holds spaces", id="trailing-comment"),
])
def test_a_token_file_without_a_clean_token_is_refused(text: str, message: str) -> None:
    with pytest.raises(tokens.TokenFileError, match=message):
        tokens.parse(text)


def _notifier(tmp_path: Path, *options: str) -> tuple[subprocess.Popen[str], str]:
    bundle = notifierkit.write_bundle(tmp_path / "bundle", {"wc": {
        "type": "wecom", "key": {"env": "WECOM_KEY"}}})
    port = free_port()
    command = [sys.executable, "-c",
               "import sys; from converge.compiler.commands.main import main; sys.exit(main())",
               "notifier", "--bundle", str(bundle), "--db", str(tmp_path / "outbox.db"),
               "--listen", f"127.0.0.1:{port}", "--log-format", "text", *options]
    process = subprocess.Popen(command, env={**os.environ, "WECOM_KEY": "k"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return process, f"http://127.0.0.1:{port}"


def test_the_notifier_refuses_to_start_without_a_token_file(tmp_path: Path) -> None:
    process, _ = _notifier(tmp_path)
    try:
        code = process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        stop(process)
        raise AssertionError("the notifier started with an open /api/") from None
    err = stop(process)
    assert code == 2
    assert "--token-file" in err and "--insecure-no-auth" in err


def test_a_comment_line_is_never_a_notifier_token(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("# rotate monthly\nreal-token\n", encoding="utf-8")
    process, url = _notifier(tmp_path, "--token-file", str(token_file))
    try:
        wait_live(process, url)
        comment = httpx.post(url + "/api/v1/events", json=EVENT, timeout=5,
                             headers={"Authorization": "Bearer # rotate monthly"})
        real = httpx.post(url + "/api/v1/events", json=EVENT, timeout=5,
                          headers={"Authorization": "Bearer real-token"})
    finally:
        stop(process)
    assert comment.status_code == 401
    assert real.status_code == 200, real.text


def test_a_notifier_token_file_holding_only_comments_is_a_usage_error(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("# the token goes here\n", encoding="utf-8")
    process, _ = _notifier(tmp_path, "--token-file", str(token_file))
    try:
        code = process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        stop(process)
        raise AssertionError("a comment was taken for a token") from None
    err = stop(process)
    assert code == 2 and "holds no token" in err


def test_the_notifier_with_insecure_no_auth_is_open_and_says_so(tmp_path: Path) -> None:
    process, url = _notifier(tmp_path, "--insecure-no-auth")
    try:
        wait_live(process, url)
        answer = httpx.post(url + "/api/v1/events", json=EVENT, timeout=5)
    finally:
        err = stop(process)
    assert answer.status_code == 200
    assert "WITHOUT AUTHENTICATION" in err and "--insecure-no-auth" in err


def test_the_server_with_insecure_no_auth_warns_at_start(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    specs = server_harness.SpecsRepo(tmp_path / "specs")
    with caplog.at_level(logging.WARNING, logger="converge"):
        running = server_harness.RunningServer(server_harness.settings(
            tmp_path, specs.root, tokens=None, listen=("0.0.0.0", 9400)))
        try:
            assert running.anonymous.get("/api/v1/bundles").status_code in (200, 503)
        finally:
            running.stop()
            specs.close()
    warnings = [r for r in caplog.records if getattr(r, "event", "") == "insecure-no-auth"]
    assert warnings, "the server logged no warning for --insecure-no-auth"
    assert warnings[0].levelno == logging.WARNING
    assert "WITHOUT AUTHENTICATION on 0.0.0.0:9400" in warnings[0].getMessage()
    assert "beyond loopback" in warnings[0].getMessage()

"""Email through a real SMTP server (aiosmtpd): STARTTLS and implicit TLS with a self-signed
certificate the notifier is told to trust, AUTH, a refused login, a refused recipient."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import notifierkit
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from converge.reconciler.notifier.daemon import Settings
from converge.reconciler.notifier.senders import SmtpSender
from converge.reconciler.notifier.vendors.base import MailRequest

USER, PASSWORD = "notifier", "s3cret"


class Inbox:
    """An aiosmtpd handler that keeps every message and refuses one recipient."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_RCPT(self, server: Any, session: Session, envelope: Envelope,
                          address: str, options: list[str]) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"


def _authenticate(server: Any, session: Session, envelope: Envelope, mechanism: str,
                  data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(certificate[0]), str(certificate[1]))
    return context


def _client_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


@pytest.fixture
def starttls_server(certificate: tuple[Path, Path]) -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port,
                            tls_context=_server_context(certificate), require_starttls=True,
                            auth_required=True, authenticator=_authenticate)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = _free_port()
    # aiosmtpd offers AUTH only after its own STARTTLS: this server takes mail unauthenticated
    controller = Controller(inbox, hostname="127.0.0.1", port=port,
                            ssl_context=_server_context(certificate))
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _channel(port: int, **changes: Any) -> dict[str, Any]:
    return {"type": "email", "to": ["ops@example.com"], "from": "converge@example.com",
            "smarthost": f"127.0.0.1:{port}", "authUsername": USER,
            "authPassword": {"env": "SMTP_PASSWORD"}, "events": {"minLevel": "error"},
            "headers": {"X-Team": "platform"}, **changes}


def test_events_reach_a_real_smtp_server_over_starttls(
        tmp_path: Path, starttls_server: tuple[Inbox, int],
        certificate: tuple[Path, Path]) -> None:
    inbox, port = starttls_server
    bundle = notifierkit.write_bundle(tmp_path / "b", {"mail": _channel(port)})
    settings = Settings(bundle=str(bundle), db=tmp_path / "o.db", listen=("127.0.0.1", 0))

    async def scenario() -> None:
        async with notifierkit.running(settings, environ={"SMTP_PASSWORD": PASSWORD},
                                       smtp_context=_client_context(certificate)) as (_, base):
            import httpx

            async with httpx.AsyncClient(base_url=base) as client:
                event = {"level": "critical", "source": "healer", "title": "db-1 down",
                         "text": "restart budget spent (5 in 5m)", "labels": {"db": "orders"}}
                answer = await client.post("/api/v1/events", json=event)
                assert answer.json()["channels"] == ["mail"]
                await notifierkit.until(lambda: inbox.messages, timeout=30)

    asyncio.run(scenario())
    message = inbox.messages[0]
    assert message["Subject"] == "[FIRING:1] db-1 down"
    assert message["From"] == "converge@example.com" and message["X-Team"] == "platform"
    body = message.get_body()
    assert body is not None and "restart budget spent" in body.get_content()


def _request(port: int, *, to: str = "ops@example.com", password: str | None = PASSWORD,
             security: str = "starttls") -> MailRequest:
    mail = email.message.EmailMessage()
    mail["Subject"], mail["From"], mail["To"] = "s", "converge@example.com", to
    mail.set_content("body")
    return MailRequest("127.0.0.1", port, security, mail, USER, password)  # type: ignore[arg-type]


def test_smtp_outcomes(starttls_server: tuple[Inbox, int], tls_server: tuple[Inbox, int],
                       certificate: tuple[Path, Path]) -> None:
    sender = SmtpSender(timeout=10, context=_client_context(certificate))
    untrusting = SmtpSender(timeout=10)

    async def scenario() -> None:
        ok = await sender.send(_request(starttls_server[1]))
        assert ok.accepted
        implicit = await sender.send(_request(tls_server[1], security="tls", password=None))
        assert implicit.accepted
        bad_login = await sender.send(_request(starttls_server[1], password="wrong"))
        assert (bad_login.accepted, bad_login.code) == (False, 535)
        refused = await sender.send(_request(starttls_server[1], to="nobody@example.com"))
        assert (refused.accepted, refused.code) == (False, 550)
        no_trust = await untrusting.send(_request(starttls_server[1]))
        assert not no_trust.accepted and no_trust.code is None  # retried, not lost
        down = await sender.send(_request(_free_port()))
        assert not down.accepted and down.code is None

    asyncio.run(scenario())
    assert len(starttls_server[0].messages) == 1 and len(tls_server[0].messages) == 1



"""The I/O behind the vendors: HTTP with aiohttp's client, SMTP with the standard library.

Each adapter turns a request into an answer and never raises for what the far side does:
a refused connection or a timeout is an `HttpAnswer` with `error` set, an SMTP failure a
`MailAnswer` with its code, so the vendor modules classify every case.

SMTP uses `smtplib` in a worker thread rather than `aiosmtplib`: mail is a low-volume
channel, each channel's messages go one at a time anyway, and the standard library's
client is the one every SMTP server has been tested against (no extra dependency).
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl

import aiohttp

from converge.reconciler.core import redact
from converge.reconciler.notifier.vendors.base import (
    HttpAnswer,
    HttpRequest,
    MailAnswer,
    MailRequest,
)

TIMEOUT = 15.0
"""Seconds per request (what Flux's notification controller uses)."""


class HttpSender:
    """POSTs JSON through one pooled `aiohttp.ClientSession`.

    aiohttp's client rather than httpx: under sustained load the notifier's own profile
    showed httpx taking about two thirds of the delivery CPU time (about 3 ms a request on
    these machines) where aiohttp's client, already loaded for the server, takes a third of
    that; a notifier sharing two cores with Prometheus needs the difference.
    """

    def __init__(self, *, timeout: float = TIMEOUT, verify: ssl.SSLContext | bool = True) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._verify = verify
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:  # created in the running loop, on first use
            connector = aiohttp.TCPConnector(limit=64, ssl=self._verify)
            self._session = aiohttp.ClientSession(timeout=self._timeout, connector=connector)
        return self._session

    async def send(self, request: HttpRequest) -> HttpAnswer:
        try:
            # Never follow a redirect: the vendor's URL carries its credentials, and a
            # redirect would hand them (and the message) to wherever it points.
            async with self._client().post(request.url, data=request.body,
                                           headers=dict(request.headers),
                                           allow_redirects=False) as response:
                body = await response.read()
                return HttpAnswer(response.status, body, dict(response.headers))
        except TimeoutError as error:
            return HttpAnswer(0, error=redact.text(
                f"no answer within {self._timeout.total}s {error}".strip()), timeout=True)
        except (aiohttp.ClientError, ValueError) as error:  # its text may quote the URL
            return HttpAnswer(0, error=redact.text(f"{type(error).__name__}: {error}"))

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


class SmtpSender:
    """Sends one message per connection with `smtplib`, in a thread."""

    def __init__(self, *, timeout: float = 30.0, context: ssl.SSLContext | None = None) -> None:
        self._timeout = timeout
        self._context = context or ssl.create_default_context()

    async def send(self, request: MailRequest) -> MailAnswer:
        return await asyncio.to_thread(self._send, request)

    def _send(self, request: MailRequest) -> MailAnswer:
        try:
            if request.security == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(request.host, request.port,
                                                        timeout=self._timeout,
                                                        context=self._context)
            else:
                client = smtplib.SMTP(request.host, request.port, timeout=self._timeout)
            with client:
                client.ehlo()
                if request.security == "starttls":
                    client.starttls(context=self._context)
                    client.ehlo()
                if request.username and request.password is not None:
                    client.login(request.username, request.password)
                refused = client.send_message(request.message)
            return MailAnswer(True, refused=tuple(sorted(refused)))
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            return MailAnswer(False, min(codes) if codes else 550, f"recipients refused: "
                              f"{', '.join(sorted(error.recipients))}")
        except smtplib.SMTPResponseException as error:
            text = error.smtp_error.decode("utf-8", "replace") if isinstance(
                error.smtp_error, bytes) else str(error.smtp_error)
            return MailAnswer(False, error.smtp_code, text)
        except smtplib.SMTPNotSupportedError as error:
            return MailAnswer(False, 554, f"server does not support it: {error}")
        except (smtplib.SMTPException, OSError) as error:
            return MailAnswer(False, None, f"{type(error).__name__}: {error}")

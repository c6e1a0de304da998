"""Email over SMTP: implicit TLS on port 465, else STARTTLS (required unless
`requireTls: false`), optional AUTH. Success when the server accepts the message for at
least one recipient; 4xx replies and network failures are retried, 5xx replies (a
refused login, a rejected recipient or message) are permanent.
"""

from __future__ import annotations

import email.message
import email.utils

from converge.reconciler.notifier.channels import Channel
from converge.reconciler.notifier.vendors.base import (
    SUCCESS,
    MailAnswer,
    MailRequest,
    Message,
    Outcome,
    Part,
    Security,
    one_line,
)


def parts(channel: Channel, message: Message) -> list[Part]:
    return [{"subject": one_line(message.title, 900), "body": message.body}]


def request(channel: Channel, part: Part, now: float) -> MailRequest:
    spec = channel.spec
    mail = email.message.EmailMessage()
    mail["Subject"] = part["subject"]
    mail["From"] = str(spec.get("from", ""))
    mail["To"] = ", ".join(spec.get("to") or [])
    mail["Date"] = email.utils.formatdate(now)
    mail["Message-ID"] = email.utils.make_msgid(domain="converge.notifier")
    for name, value in sorted((spec.get("headers") or {}).items()):
        if "{{" not in value and name.lower() not in ("subject", "from", "to"):
            mail[name] = value  # Go-templated headers are Alertmanager's
    mail.set_content(part["body"] or part["subject"])
    host, _, port_text = str(spec.get("smarthost", "")).rpartition(":")
    port = int(port_text or 25)
    security: Security = "tls" if port == 465 else (
        "starttls" if spec.get("requireTls", True) else "none")
    return MailRequest(host, port, security, mail, spec.get("authUsername"),
                       channel.secrets.get("authPassword"))


def classify(answer: MailAnswer) -> Outcome:
    if answer.accepted:
        return SUCCESS
    if answer.code is None:
        return Outcome("retry", f"network: {answer.error}")
    reason = f"SMTP {answer.code}: {answer.error}"
    return Outcome("retry" if 400 <= answer.code < 500 else "permanent", reason)

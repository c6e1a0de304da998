"""Request signatures: DingTalk and Feishu robots, and converge's own webhook header.

Pure functions of the secret, the time and the body, so tests compare them with values
computed independently (the vendor-like test servers verify them on their side).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

WEBHOOK_SIGNATURE = "X-Converge-Signature"
WEBHOOK_TIMESTAMP = "X-Converge-Timestamp"


def dingtalk(secret: str, timestamp_ms: int) -> str:
    """DingTalk's `sign` query parameter (before URL encoding):
    base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}"))."""
    message = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu(secret: str, timestamp_s: int) -> str:
    """Feishu's `sign` body field: base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=""))."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def webhook(secret: str, timestamp_s: int, body: bytes) -> str:
    """The `X-Converge-Signature` header: `sha256=` + hex HMAC-SHA256 over
    `f"{timestamp}." + body`, with the timestamp sent in `X-Converge-Timestamp`."""
    message = f"{timestamp_s}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def webhook_valid(secret: str, *, timestamp: str, body: bytes, signature: str) -> bool:
    """Whether a received webhook's signature is right (for receivers and tests)."""
    try:
        expected = webhook(secret, int(timestamp), body)
    except ValueError:
        return False
    return hmac.compare_digest(expected, signature)

"""Who may call the server: bearer tokens for the API, HMAC signatures for GitHub.

Pure checks (constant-time comparisons with `hmac.compare_digest`) and one middleware.
Health, status and metrics stay open; the webhook carries its own signature instead of
a token.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection, Sequence

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

API_PREFIX = "/api/"
UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Bearer realm="converge"'}


class TokenFileError(ValueError):
    """A token file with no token in it."""


def parse_tokens(text: str) -> list[str]:
    """The tokens of a token file: one a line, blank lines and `#` comments skipped.

    Raises:
        TokenFileError: no token at all (an empty file would lock everybody out).
    """
    tokens = [line.strip() for line in text.splitlines()
              if line.strip() and not line.lstrip().startswith("#")]
    if not tokens:
        raise TokenFileError("holds no token (one token a line)")
    return tokens


def bearer_ok(authorization: str | None, tokens: Sequence[bytes]) -> bool:
    """Whether an `Authorization` header carries one of `tokens`, compared in constant time."""
    if not authorization:
        return False
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        return False
    given = credential.strip().encode("utf-8", "replace")
    found = False
    for token in tokens:  # no early exit: the time does not tell which token matched
        found |= hmac.compare_digest(given, token)
    return found


def signature_ok(secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether `X-Hub-Signature-256` is `sha256=` + HMAC-SHA256(secret, body) in hex."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header[len("sha256="):].strip().lower().encode("ascii", "replace"),
                               expected.encode("ascii"))


def sign(secret: bytes, body: bytes) -> str:
    """The `X-Hub-Signature-256` value GitHub would send (for tests and tools)."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def bearer_middleware(tokens: Sequence[str] | None, *, open_paths: Collection[str]) -> Middleware:
    """Require a bearer token on `/api/` routes except `open_paths`; None disables auth."""
    encoded = [token.encode("utf-8") for token in tokens] if tokens is not None else None

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if (encoded is not None and request.path.startswith(API_PREFIX)
                and request.path not in open_paths
                and not bearer_ok(request.headers.get("Authorization"), encoded)):
            return web.json_response({"error": "missing or wrong bearer token"}, status=401,
                                     headers=UNAUTHORIZED_HEADERS)
        return await handler(request)

    return authenticate

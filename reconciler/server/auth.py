"""Who may call the server: bearer tokens for the API, HMAC signatures for GitHub.

Pure checks (constant-time comparisons with `hmac.compare_digest`) and two middlewares:
one for the API, one for the console (a browser cannot send a bearer header, so
`/ui/?token=T` moves the token into an HttpOnly, SameSite=Strict cookie). Health, status
and metrics stay open; the webhook carries its own signature instead of a token.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection, Sequence

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from converge.reconciler.core import tokens as tokens_

API_PREFIX = "/api/"
CONSOLE_PREFIX = "/ui/"
COOKIE = "converge_token"
UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Bearer realm="converge"'}


TokenFileError = tokens_.TokenFileError
parse_tokens = tokens_.parse
"""The token-file format every daemon shares (`converge.reconciler.core.tokens`)."""


def bearer_ok(authorization: str | None, tokens: Sequence[bytes]) -> bool:
    """Whether an `Authorization` header carries one of `tokens`, compared in constant time."""
    if not authorization:
        return False
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        return False
    return token_ok(credential.strip(), tokens)


def token_ok(given: str | None, tokens: Sequence[bytes]) -> bool:
    """Whether `given` is one of `tokens`, compared in constant time."""
    if not given:
        return False
    encoded = given.encode("utf-8", "replace")
    found = False
    for token in tokens:  # no early exit: the time does not tell which token matched
        found |= hmac.compare_digest(encoded, token)
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


_CONSOLE_401 = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<title>converge: sign in</title></head><body><h1>401: token needed</h1>"
                "<p>Open <code>/ui/?token=YOUR_TOKEN</code> once (a token from the server's "
                "<code>--token-file</code>); the browser then keeps it in a cookie.</p>"
                "</body></html>")


def console_middleware(tokens: Sequence[str] | None) -> Middleware:
    """Guard `/ui/` with the API's tokens: a bearer header, or a cookie set by `?token=`.

    A right `?token=` answers 303 to the same page without it and sets the HttpOnly,
    SameSite=Strict cookie (so the token leaves the address bar and history); a wrong
    one, or none, answers 401. None disables auth.
    """
    encoded = [token.encode("utf-8") for token in tokens] if tokens is not None else None

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if encoded is None or not request.path.startswith(CONSOLE_PREFIX):
            return await handler(request)
        if "token" in request.query:
            given = request.query["token"]
            if not token_ok(given, encoded):
                return _console_unauthorized()
            query = [(key, value) for key, value in request.query.items() if key != "token"]
            response = web.Response(status=303, headers={
                "Location": str(request.rel_url.with_query(query)),
                "Cache-Control": "no-store"})
            response.set_cookie(COOKIE, given, path=CONSOLE_PREFIX, httponly=True,
                                samesite="Strict", secure=request.secure)
            return response
        if (bearer_ok(request.headers.get("Authorization"), encoded)
                or token_ok(request.cookies.get(COOKIE), encoded)):
            return await handler(request)
        return _console_unauthorized()

    return authenticate


def _console_unauthorized() -> web.Response:
    return web.Response(status=401, text=_CONSOLE_401, content_type="text/html",
                        headers={**UNAUTHORIZED_HEADERS, "Cache-Control": "no-store"})

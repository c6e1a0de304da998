"""Who may call the server: bearer tokens for the API, HMAC signatures for GitHub.

Pure checks (constant-time comparisons with `hmac.compare_digest`) and two middlewares:
one for the API, one for the console (a browser cannot send a bearer header, so
`/ui/?token=T` signs the browser in with an HttpOnly, SameSite=Strict session cookie).
Health, status and metrics stay open; the webhook carries its own signature instead of a
token.

Each token has a scope (`tokens.Grant`): `needed` says which one a route asks for; a
token without it gets 403. Sidecar tokens fetch bundles and report for their own clusters
(`api` checks the cluster); read tokens also see the fleet, history and console; admin
tokens also trigger.

The session cookie never holds the token: it is `<expiry>.<HMAC-SHA256(SHA-256(token),
"converge-console|<expiry>")>`, valid for `SESSION_SECONDS` and for the console only, so
a leaked cookie neither reveals a token nor opens the API, and removing a token from the
token file ends its sessions. It is `Secure` when the request came over TLS: directly,
or through a proxy listed as trusted that says so in `X-Forwarded-Proto` (the header is
ignored from anyone else), or always with `cookie_secure`.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import urllib.parse
from collections.abc import Callable, Collection, Sequence

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from converge.reconciler.core import tokens as tokens_

API_PREFIX = "/api/"
CONSOLE_PREFIX = "/ui/"
COOKIE = "converge_session"
SESSION_SECONDS = 12 * 3600
"""How long a console sign-in lasts."""
UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Bearer realm="converge"'}
GRANT = web.RequestKey("converge.grant", tokens_.Grant)
"""The request key under which the middleware leaves the caller's `tokens.Grant`."""


TokenFileError = tokens_.TokenFileError
parse_tokens = tokens_.parse
"""The token-file format every daemon shares (`converge.reconciler.core.tokens`)."""


bearer_ok = tokens_.bearer_ok
token_ok = tokens_.token_ok


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


def needed(method: str, path: str) -> str:
    """The permission a request needs (`tokens.Grant.allows`): `bundles`, `report`,
    `read` or `admin`."""
    if path == "/api/v1/bundles" or path.startswith("/api/v1/bundles/"):
        return "bundles"
    if path == "/api/v1/config/sync/status" and method == "POST":
        return "report"
    if method in ("GET", "HEAD") or path.startswith(CONSOLE_PREFIX):
        return "read"
    return "admin"


def bearer_middleware(tokens: Sequence[str | tokens_.Credential] | None, *,
                      open_paths: Collection[str]) -> Middleware:
    """Require a bearer token whose scope covers the route on `/api/` routes except
    `open_paths` (401 without a known token, 403 beyond its scope); None disables auth."""
    known = tokens_.credentials(tokens) if tokens is not None else None

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if known is None:
            request[GRANT] = tokens_.ADMIN
            return await handler(request)
        if not request.path.startswith(API_PREFIX) or request.path in open_paths:
            return await handler(request)
        grant = tokens_.authenticate(
            tokens_.bearer_token(request.headers.get("Authorization")), known)
        if grant is None:
            return web.json_response({"error": "missing or wrong bearer token"}, status=401,
                                     headers=UNAUTHORIZED_HEADERS)
        need = needed(request.method, request.path)
        if not grant.allows(need):
            return web.json_response(
                {"error": f"this {grant.scope} token may not do that (needs {need})"},
                status=403)
        request[GRANT] = grant
        return await handler(request)

    return authenticate


_CONSOLE_401 = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<title>converge: sign in</title></head><body><h1>401: token needed</h1>"
                "<p>Open <code>/ui/?token=YOUR_TOKEN</code> once (a token from the server's "
                "<code>--token-file</code>); the browser then keeps it in a cookie.</p>"
                "</body></html>")


def session_cookie(token: str, *, now: float, lifetime: float = SESSION_SECONDS) -> str:
    """A console session for `token`, valid until `now + lifetime` (never the token)."""
    expiry = int(now + lifetime)
    return f"{expiry}.{_session_mac(tokens_.digest(token), expiry)}"


def session_ok(cookie: str | None, keys: Sequence[bytes], *, now: float) -> bool:
    """Whether `cookie` is an unexpired session signed with one of `keys` (the SHA-256
    digests of the tokens that may read the console)."""
    if not cookie:
        return False
    expiry_text, _, mac = cookie.partition(".")
    if not expiry_text.isdigit() or len(expiry_text) > 12 or int(expiry_text) <= now:
        return False
    expiry = int(expiry_text)
    found = False
    for key in keys:  # no early exit, as in token_ok
        found |= hmac.compare_digest(mac.encode("ascii", "replace"),
                                     _session_mac(key, expiry).encode("ascii"))
    return found


def _session_mac(key: bytes, expiry: int) -> str:
    return hmac.new(key, f"converge-console|{expiry}".encode(), hashlib.sha256).hexdigest()


def query_token(raw_query: str) -> str | None:
    """`token` of a raw query string, percent-decoded with `+` kept as `+` (base64 tokens
    hold `+`; a browser sends one typed in the address bar as it is)."""
    for pair in raw_query.split("&"):
        key, sep, value = pair.partition("=")
        if urllib.parse.unquote(key) == "token" and sep:
            return urllib.parse.unquote(value)
    return None


def is_https(request: web.BaseRequest, *, trusted_proxies: Collection[str]) -> bool:
    """Whether the browser reached us over TLS: directly, or through a trusted proxy that
    says so in `X-Forwarded-Proto` (anyone else could send that header)."""
    if request.transport is not None and request.transport.get_extra_info("sslcontext"):
        return True
    if request.remote in trusted_proxies:
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        return proto == "https"
    return False


def console_middleware(tokens: Sequence[str | tokens_.Credential] | None, *,
                       cookie_secure: bool = False, trusted_proxies: Collection[str] = (),
                       clock: Callable[[], float] = time.time) -> Middleware:
    """Guard `/ui/` with the API's read and admin tokens: a bearer header, or a session
    cookie set by `?token=`.

    A right `?token=` answers 303 to the same page without it and sets the HttpOnly,
    SameSite=Strict session cookie (so the token leaves the address bar and history); a
    wrong one, or none, answers 401. None disables auth.
    """
    readers = (tuple(c for c in tokens_.credentials(tokens) if c.grant.allows("read"))
               if tokens is not None else None)
    keys = [c.digest for c in readers] if readers is not None else []
    proxies = frozenset(trusted_proxies)

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if readers is None or not request.path.startswith(CONSOLE_PREFIX):
            return await handler(request)
        given = query_token(request.rel_url.raw_query_string)
        if given is not None:
            if tokens_.authenticate(given, readers) is None:
                return _console_unauthorized()
            query = [(key, value) for key, value in request.query.items() if key != "token"]
            response = web.Response(status=303, headers={
                "Location": str(request.rel_url.with_query(query)),
                "Cache-Control": "no-store"})
            secure = cookie_secure or is_https(request, trusted_proxies=proxies)
            response.set_cookie(COOKIE, session_cookie(given, now=clock()),
                                path=CONSOLE_PREFIX, httponly=True, samesite="Strict",
                                secure=secure, max_age=SESSION_SECONDS)
            return response
        bearer = tokens_.bearer_token(request.headers.get("Authorization"))
        if ((bearer is not None and tokens_.authenticate(bearer, readers) is not None)
                or session_ok(request.cookies.get(COOKIE), keys, now=clock())):
            return await handler(request)
        return _console_unauthorized()

    return authenticate


def _console_unauthorized() -> web.Response:
    return web.Response(status=401, text=_CONSOLE_401, content_type="text/html",
                        headers={**UNAUTHORIZED_HEADERS, "Cache-Control": "no-store"})

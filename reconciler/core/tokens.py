"""Bearer tokens for every daemon: one token-file format, one rule for running without.

A token file holds one token a line; blank lines and lines starting with `#` are
comments, never tokens (the notifier once took `# rotate monthly` for a valid token).
A file with no token is an error: it would lock everybody out, or, read leniently,
let everybody in. A daemon serving an API refuses to start without a token file unless
it is told `--insecure-no-auth`, and then `warn_insecure` says so loudly at every start.

The config server's token file may also give each token a scope (`parse_scoped`):

    TOKEN                          # admin, as every token was before scopes
    TOKEN admin                    # trigger, rollouts, everything
    TOKEN read                     # the fleet view, history, compiles, the console
    TOKEN sidecar prod-eu,prod-us  # bundles, and reports for these clusters only
    sha256:HEX sidecar prod-eu     # the same, the token kept only as its SHA-256

Tokens are kept as SHA-256 digests in memory, whichever way the file gives them, and a
token is found by comparing its digest with every digest in constant time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

__all__ = ["SCOPES", "Credential", "Grant", "TokenFileError", "authenticate", "bearer_ok",
           "bearer_token", "credentials", "digest", "parse", "parse_scoped", "read",
           "read_scoped", "token_ok", "warn_insecure"]

SCOPES = ("sidecar", "read", "admin")
"""What a token may do, narrowest first."""

_log = logging.getLogger("converge.auth")
_T = TypeVar("_T")


class TokenFileError(ValueError):
    """A token file that cannot be read or holds no token."""


def parse(text: str) -> list[str]:
    """The tokens of a token file: one a line, blank lines and `#` comments skipped.

    Raises:
        TokenFileError: no token at all, or a line with whitespace inside a token.
    """
    tokens: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        token = line.strip()
        if not token or token.startswith("#"):
            continue
        if any(character.isspace() for character in token):
            raise TokenFileError(f"line {number} holds spaces: one token a line, no comments "
                                 "after a token")
        tokens.append(token)
    if not tokens:
        raise TokenFileError("holds no token (one token a line; # starts a comment line)")
    return tokens


def read(path: Path) -> tuple[str, ...]:
    """The tokens in the file at `path`.

    Raises:
        TokenFileError: unreadable, not UTF-8, or no token in it (the message names it).
    """
    return tuple(_read(path, parse))


def token_ok(given: str | None, tokens: Sequence[bytes]) -> bool:
    """Whether `given` is one of `tokens`, compared in constant time (no early exit: the
    time does not tell which token matched)."""
    if not given:
        return False
    encoded = given.encode("utf-8", "replace")
    found = False
    for token in tokens:
        found |= hmac.compare_digest(encoded, token)
    return found


def bearer_ok(authorization: str | None, tokens: Sequence[bytes]) -> bool:
    """Whether an `Authorization` header carries one of `tokens` (`Bearer <token>`)."""
    if not authorization:
        return False
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        return False
    return token_ok(credential.strip(), tokens)


def warn_insecure(daemon: str, *, routes: str = "/api/",
                  listen: tuple[str, int] | None = None) -> None:
    """Log, at warning level, that `daemon` serves `routes` to anyone who can reach it."""
    where = f" on {listen[0]}:{listen[1]}" if listen is not None else ""
    exposed = listen is not None and listen[0] not in ("127.0.0.1", "::1", "localhost")
    _log.warning(
        "%s serves %s WITHOUT AUTHENTICATION%s (--insecure-no-auth): anyone who can reach "
        "it may call it%s", daemon, routes, where,
        "; it listens beyond loopback" if exposed else "",
        extra={"event": "insecure-no-auth", "daemon_name": daemon, "routes": routes,
               "exposed": exposed})


@dataclasses.dataclass(frozen=True, slots=True)
class Grant:
    """What one token may do: its scope and, for `sidecar`, the clusters it reports for."""

    scope: str
    clusters: frozenset[str] = frozenset()

    def allows(self, need: str) -> bool:
        """Whether this grant covers `need`: `bundles` (any scope), `report` (sidecar or
        admin; the cluster is checked by `may_report`), `read` or `admin`."""
        if self.scope == "admin" or need == "bundles":
            return True
        if need == "report":
            return self.scope == "sidecar"
        return need == "read" and self.scope == "read"

    def may_report(self, cluster_id: str) -> bool:
        """Whether a report for `cluster_id` may be made with this grant."""
        return self.scope == "admin" or (self.scope == "sidecar" and cluster_id in self.clusters)


ADMIN = Grant("admin")


@dataclasses.dataclass(frozen=True, slots=True)
class Credential:
    """A token as kept: its SHA-256 digest and its grant."""

    digest: bytes
    grant: Grant = ADMIN


def digest(token: str) -> bytes:
    """The SHA-256 digest a token is kept as."""
    return hashlib.sha256(token.encode("utf-8", "replace")).digest()


def parse_scoped(text: str) -> list[Credential]:
    """The scoped tokens of a server token file (the format in the module docstring).

    Raises:
        TokenFileError: no token, an unknown scope, a sidecar token without clusters, a
            malformed `sha256:` digest.
    """
    found: list[Credential] = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        token, rest = fields[0], fields[1:]
        scope = rest[0] if rest else "admin"
        if scope not in SCOPES:
            raise TokenFileError(f"line {number}: scope {scope!r} is not one of "
                                 f"{', '.join(SCOPES)}")
        clusters = frozenset(c for field in rest[1:] for c in field.split(",") if c)
        if scope == "sidecar" and not clusters:
            raise TokenFileError(f"line {number}: a sidecar token names the clusters it "
                                 "reports for: TOKEN sidecar CLUSTER[,CLUSTER...]")
        if scope != "sidecar" and len(rest) > 1:
            raise TokenFileError(f"line {number}: only sidecar tokens name clusters")
        if token.startswith("sha256:"):
            hexdigest = token[len("sha256:"):]
            if len(hexdigest) != 64 or any(c not in "0123456789abcdef" for c in hexdigest):
                raise TokenFileError(f"line {number}: sha256: takes 64 lowercase hex digits")
            key = bytes.fromhex(hexdigest)
        else:
            key = digest(token)
        found.append(Credential(key, Grant(scope, clusters)))
    if not found:
        raise TokenFileError("holds no token (one token a line; # starts a comment line)")
    return found


def read_scoped(path: Path) -> tuple[Credential, ...]:
    """The scoped tokens in the file at `path` (`parse_scoped`).

    Raises:
        TokenFileError: unreadable, not UTF-8, or malformed (the message names it).
    """
    return tuple(_read(path, parse_scoped))


def _read(path: Path, parse_text: Callable[[str], list[_T]]) -> list[_T]:
    """`parse_text` of the file's text; every error names the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise TokenFileError(f"{path}: {getattr(error, 'strerror', None) or error}") from None
    try:
        return parse_text(text)
    except TokenFileError as error:
        raise TokenFileError(f"{path}: {error}") from None


def credentials(tokens: Iterable[str | Credential]) -> tuple[Credential, ...]:
    """Credentials from plain tokens (admin, as before scopes) or credentials."""
    return tuple(t if isinstance(t, Credential) else Credential(digest(t)) for t in tokens)


def authenticate(given: str | None, known: Sequence[Credential]) -> Grant | None:
    """The grant of the token `given`, or None: its digest is compared with every known
    digest in constant time, with no early exit."""
    if not given:
        return None
    key = digest(given)
    grant: Grant | None = None
    for credential in known:
        if hmac.compare_digest(key, credential.digest):
            grant = credential.grant
    return grant


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not authorization:
        return None
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        return None
    return credential.strip()

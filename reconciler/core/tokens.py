"""Bearer tokens for every daemon: one token-file format, one rule for running without.

A token file holds one token a line; blank lines and lines starting with `#` are
comments, never tokens (the notifier once took `# rotate monthly` for a valid token).
A file with no token is an error: it would lock everybody out, or, read leniently,
let everybody in. A daemon serving an API refuses to start without a token file unless
it is told `--insecure-no-auth`, and then `warn_insecure` says so loudly at every start.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Sequence
from pathlib import Path

__all__ = ["TokenFileError", "bearer_ok", "parse", "read", "token_ok", "warn_insecure"]

_log = logging.getLogger("converge.auth")


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
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise TokenFileError(f"{path}: {getattr(error, 'strerror', None) or error}") from None
    try:
        return tuple(parse(text))
    except TokenFileError as error:
        raise TokenFileError(f"{path}: {error}") from None


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

"""What every daemon's command line does with `--token-file` and `--insecure-no-auth`: read
the tokens its API accepts, or refuse to start without them unless told it may (the rule
`tokens` states; this is its one command-line form)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import click

from converge.reconciler.core import tokens

_T = TypeVar("_T")

__all__ = ["serving_tokens"]


def serving_tokens(token_file: Path | None, *, insecure_no_auth: bool,
                   read: Callable[[Path], Sequence[_T]], serves: str = "/api/",
                   fallback: Sequence[_T] = ()) -> tuple[_T, ...] | None:
    """The tokens in `token_file` (read by `read`), else `fallback` when it holds any, else
    None with `--insecure-no-auth`.

    Raises:
        click.BadParameter: the token file is unreadable or holds no clean token.
        click.UsageError: no token at all and no `--insecure-no-auth`.
    """
    if token_file is not None:
        try:
            return tuple(read(token_file))
        except tokens.TokenFileError as error:
            raise click.BadParameter(str(error), param_hint="--token-file") from None
    if fallback:
        return tuple(fallback)
    if insecure_no_auth:
        return None
    raise click.UsageError(f"refusing to serve {serves} without authentication: give "
                           "--token-file FILE (bearer tokens, one a line), or "
                           "--insecure-no-auth for a trusted setup")

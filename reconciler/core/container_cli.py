"""The command-line options the healer and the scaler share, and their `history` tables.

`options` adds `--bundle`, `--docker-host`, `--listen`, `--db`, `--notifier-url`,
`--notifier-token-file`, `--token-file` and the logging options every daemon has;
`common` turns them into `container_daemon.Common`. Tokens are read from a file
(`--token-file`: the history API's bearer tokens, the first also sent to the config
server), never from argv; `$CONVERGE_TOKEN` is the documented fallback for environments
that inject secrets as variables. Without either, the daemon refuses to start unless told
`--insecure-no-auth`, as every converge daemon does.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from converge.compiler.commands import conventions
from converge.reconciler.core import cli_tokens, tokens

if TYPE_CHECKING:
    from converge.reconciler.core.container_daemon import Common

TOKEN_ENV = "CONVERGE_TOKEN"
"""Fallback for the config server's token when no `--token-file` is given."""

_F = TypeVar("_F", bound=Callable[..., Any])

__all__ = ["TOKEN_ENV", "common", "duration_text", "options", "table", "timestamp"]


def options(*, listen: str, db: str, db_help: str) -> Callable[[_F], _F]:
    """The shared options, with this daemon's default `--listen` and `--db`."""

    def decorate(function: _F) -> _F:
        for option in reversed([
            click.option("--bundle", metavar="DIR|URL",
                         help="Compiled bundle directory, or the config server's URL."),
            click.option("--docker-host", metavar="URL", envvar="DOCKER_HOST",
                         help="Docker Engine API (unix:///run/podman/podman.sock, tcp://…); "
                              "default $DOCKER_HOST, else /var/run/docker.sock."),
            click.option("--listen", default=listen, show_default=True, metavar="ADDR",
                         help="HOST:PORT for /health, /status, /metrics and the history "
                              "API."),
            click.option("--db", type=click.Path(dir_okay=False, path_type=Path),
                         default=db, show_default=True, help=db_help),
            click.option("--notifier-url", metavar="URL", envvar="CONVERGE_NOTIFIER_URL",
                         help="converge notifier base URL for events (default: events are "
                              "only logged)."),
            click.option("--notifier-token-file",
                         type=click.Path(dir_okay=False, path_type=Path),
                         help="File holding the notifier's bearer token (its --token-file)."),
            click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path),
                         help="Bearer tokens for /api/ (the history API), one a line (# "
                              "comments); the first is also sent to the config server. "
                              f"Default ${TOKEN_ENV}; required unless --insecure-no-auth."),
            click.option("--insecure-no-auth", is_flag=True,
                         help="Serve /api/ without authentication (trusted setups only; "
                              "logged at every start)."),
            conventions.log_options,
        ]):
            function = option(function)
        return function

    return decorate


def common(*, bundle: str | None, docker_host: str | None, listen: str, db: Path,
           notifier_url: str | None, notifier_token_file: Path | None,
           token_file: Path | None, insecure_no_auth: bool, log_format: str,
           log_level: str) -> Common:
    """`container_daemon.Common` from the shared options.

    Raises:
        click.UsageError: no `--bundle`, or no token and no `--insecure-no-auth`.
        click.BadParameter: a bad `--listen` or an unusable `--token-file`.
    """
    from converge.reconciler.core import runner
    from converge.reconciler.core.container_daemon import Common

    if not bundle:
        raise click.UsageError("--bundle DIR|URL is required")
    try:
        address = runner.parse_listen(listen)
    except runner.ListenError as error:
        raise click.BadParameter(str(error), param_hint="--listen") from None
    from_env = os.environ.get(TOKEN_ENV, "").strip()
    found = cli_tokens.serving_tokens(token_file, insecure_no_auth=insecure_no_auth,
                                      read=tokens.read,
                                      fallback=(from_env,) if from_env else ()) or ()
    return Common(bundle=bundle, listen=address, db=db, docker_host=docker_host,
                  notifier_url=notifier_url, notifier_token_file=notifier_token_file,
                  tokens=found, log_format=log_format, log_level=log_level)


def table(header: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell, no trailing spaces; "" without rows."""
    if not rows:
        return ""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
                     .rstrip() for row in [header, *rows])


def timestamp(value: Any) -> str:
    """A Unix time as RFC 3339 UTC to the second; `-` for none."""
    if value is None:
        return "-"
    moment = datetime.datetime.fromtimestamp(float(value), datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def duration_text(seconds: float) -> str:
    """`1h2m3s`, `4m0s`, `5s`."""
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + f"{secs}s"

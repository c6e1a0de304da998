"""`converge serve`: the config server's command line (see docs/server.md)."""

from __future__ import annotations

from pathlib import Path

import click

from converge.compiler.commands import conventions
from converge.specs.common import parse_duration

DEFAULT_LISTEN = "127.0.0.1:9400"
DEFAULT_STATE = Path(".converge-serve")


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> float:
    try:
        seconds = parse_duration(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a duration such as 30s, 500ms or 5m") from None
    if seconds <= 0:
        raise click.BadParameter("must be more than 0s")
    return seconds


def _listen(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, int]:
    from converge.reconciler.core import runner

    try:
        return runner.parse_listen(value)
    except runner.ListenError as error:
        raise click.BadParameter(str(error)) from None


def _daemons(ctx: click.Context, param: click.Parameter,
             value: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    found: dict[str, str] = {}
    for item in value:
        name, sep, url = item.partition("=")
        name, url = name.strip(), url.strip()
        if not sep or not name or not url.startswith(("http://", "https://")):
            raise click.BadParameter(f"{item!r} is not NAME=URL "
                                     "(for example notifier=http://127.0.0.1:9404)")
        if name in found:
            raise click.BadParameter(f"{name!r} is given twice")
        found[name] = url.rstrip("/")
    return tuple(found.items())


def _database(ctx: click.Context, param: click.Parameter, value: str) -> Path | str:
    if value.startswith(("postgresql://", "postgres://")):
        return value
    if "://" in value:
        raise click.BadParameter(f"{value.split('://')[0]}:// is not a database converge "
                                 "knows: give a SQLite file path or a postgresql:// URL")
    return Path(value)


def _read_secret(path: Path, option: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise click.BadParameter(f"{path}: {getattr(error, 'strerror', None) or error}",
                                 param_hint=option) from None


@click.command("serve")
@click.option("--repo", required=True, metavar="PATH|URL",
              help="The specs repository: a local path or any URL git fetch takes.")
@click.option("--branch", default=None, metavar="B",
              help="The branch to serve (default: the remote's default branch).")
@click.option("--path", "subdir", default="", metavar="SUBDIR",
              help="The folder holding converge.yaml inside the repository.")
@click.option("--listen", default=DEFAULT_LISTEN, show_default=True, callback=_listen,
              metavar="ADDR", help="HOST:PORT to serve on.")
@click.option("--interval", default="30s", show_default=True, callback=_duration,
              metavar="DURATION", help="How often to fetch and compile.")
@click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Bearer tokens for the API, one a line: TOKEN (admin), TOKEN read, or "
                   "TOKEN sidecar CLUSTER[,CLUSTER]; sha256:HEX in place of TOKEN keeps it "
                   "hashed.")
@click.option("--insecure-no-auth", is_flag=True,
              help="Serve the API without authentication (trusted setups only).")
@click.option("--webhook-secret-file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="The GitHub webhook secret (enables the webhook).")
@click.option("--db", default=str(DEFAULT_STATE / "state.db"), show_default=True,
              metavar="PATH|URL", callback=_database,
              help="The state database: a SQLite file (one server), or a postgresql:// URL "
                   "that any number of replicas share (docs/server.md, High availability).")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              default=DEFAULT_STATE / "git", show_default=True,
              help="Where the bare clone of the repository is kept.")
@click.option("--compile-in", type=click.Choice(["process", "thread"]), default="process",
              show_default=True,
              help="Compile in a child process (HTTP keeps its CPU) or in a thread.")
@click.option("--daemon", "daemons", multiple=True, callback=_daemons, metavar="NAME=URL",
              help="A daemon (notifier, healer, scaler) whose /status the console shows; "
                   "repeatable.")
@click.option("--cookie-secure", is_flag=True,
              help="Always mark the console's session cookie Secure (TLS ends in a proxy "
                   "in front of the server).")
@click.option("--trusted-proxy", "trusted_proxies", multiple=True, metavar="ADDR",
              help="A proxy address whose X-Forwarded-Proto is believed (for the console "
                   "cookie's Secure flag); repeatable.")
@conventions.log_options
def serve(repo: str, branch: str | None, subdir: str, listen: tuple[str, int], interval: float,
          token_file: Path | None, insecure_no_auth: bool, webhook_secret_file: Path | None,
          db: Path | str, cache_dir: Path, compile_in: str, daemons: tuple[tuple[str, str], ...],
          cookie_secure: bool, trusted_proxies: tuple[str, ...], log_format: str,
          log_level: str) -> None:
    """Compile a Git repository of specs and serve each target's bundle to sidecars.

    Fetches BRANCH of REPO every INTERVAL and on each GitHub push webhook, compiles new
    commits (a commit that fails is recorded with its diagnostics and never served), and
    serves every target at /api/v1/bundles/{target} with ETag = the target hash. Takes
    sync-status reports and keeps the fleet view, shown with the last compiles and the
    --daemon's status in a read-only web console at /ui/. Stops gracefully on SIGTERM
    (exit 0).
    """
    from converge.reconciler.core import StoreError, cli_tokens, logs
    from converge.reconciler.core import tokens as core_tokens
    from converge.reconciler.core.runtime import package_version
    from converge.reconciler.server.daemon import ConfigServer, Settings

    tokens = cli_tokens.serving_tokens(token_file, insecure_no_auth=insecure_no_auth,
                                       read=core_tokens.read_scoped, serves="the API")
    secret = None
    if webhook_secret_file is not None:
        secret = _read_secret(webhook_secret_file, "--webhook-secret-file").strip().encode()
        if not secret:
            raise click.BadParameter(f"{webhook_secret_file} is empty",
                                     param_hint="--webhook-secret-file")
    logs.configure(daemon="server", level=log_level, json_lines=log_format == "json")
    settings = Settings(repo=repo, branch=branch, path=subdir.strip("/"), db=db,
                        cache_dir=cache_dir, interval=interval, tokens=tokens,
                        webhook_secret=secret, version=package_version(), compile_in=compile_in,
                        daemons=daemons, listen=listen, cookie_secure=cookie_secure,
                        trusted_proxies=tuple(trusted_proxies))
    try:
        server = ConfigServer(settings)
    except StoreError as error:
        raise click.ClickException(str(error)) from None
    try:
        status = server.runtime.run(server.app(), listen=listen)
    finally:
        server.close()
    raise SystemExit(status)

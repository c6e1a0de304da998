"""`converge sidecar`: keep one Prometheus, Alertmanager or vmalert on the compiled bundle.

Loaded lazily by `converge.compiler.commands.main`, so `converge check` never imports the
daemon runtime.
"""

from __future__ import annotations

import re
from pathlib import Path

import click

from converge.compiler.commands import conventions
from converge.reconciler.core import secretaccess, tokens
from converge.reconciler.sidecar.bundles import TARGETS

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """`500ms`, `1s`, `30s`, `5m`, `1h` → seconds.

    Raises:
        click.BadParameter: anything else, or not above zero.
    """
    match = _DURATION.match(text.strip())
    if match is None or float(match.group(1)) <= 0:
        raise click.BadParameter(f"{text!r} is not a duration such as 1s, 30s or 5m")
    return float(match.group(1)) * _UNITS[match.group(2)]


def read_token(path: Path) -> str:
    """The first token of a token file (the format every daemon shares)."""
    try:
        return tokens.read(path)[0]
    except tokens.TokenFileError as error:
        raise click.BadParameter(str(error), param_hint="--token-file") from None


@click.command("sidecar")
@click.option("--source", required=True, metavar="URL|git+URL|dir:PATH",
              help="The config server URL (or several replicas' URLs separated by commas: "
                   "failover), a Git repository (git+URL[#branch][:subdir], compiled here) "
                   "or a directory holding a compiled bundle (dir:PATH).")
@click.option("--target", required=True, type=click.Choice(TARGETS),
              help="Which target this sidecar keeps.")
@click.option("--dest", required=True, type=click.Path(path_type=Path),
              help="The directory the target reads; the sidecar makes it a symlink to the "
                   "published set (rule_files: [DEST/*.yaml], "
                   "--config.file=DEST/alertmanager.yaml).")
@click.option("--reload-url", required=True, metavar="URL",
              help="The target's reload endpoint, e.g. http://127.0.0.1:9090/-/reload.")
@click.option("--cluster-id", default="default", show_default=True,
              help="Reported to the config server.")
@click.option("--interval", default="30s", show_default=True,
              help="How often to check the source (a duration: 1s, 30s, 5m).")
@click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Bearer token for the config server (first non-comment line).")
@click.option("--listen", default="127.0.0.1:9401", show_default=True,
              help="HOST:PORT for /health, /status and /metrics (':9401' for all).")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Published sets and markers [default: .<dest name>.converge beside DEST].")
@click.option("--target-dest", metavar="PATH",
              help="DEST as the target sees it, when it mounts the directory elsewhere "
                   "(matched against the `file` of its rule groups) [default: DEST].")
@click.option("--notifier-url", metavar="URL", envvar="CONVERGE_NOTIFIER_URL",
              help="converge notifier base URL: sync failures, rollbacks and recoveries are "
                   "sent as events (default: only logged).")
@click.option("--notifier-token-file", type=click.Path(dir_okay=False, path_type=Path),
              help="File holding the notifier's bearer token (its --token-file).")
@conventions.log_options
@click.option("--once", is_flag=True,
              help="Sync once and exit: 0 when the target runs the bundle, 1 otherwise.")
@click.option("--no-validate", is_flag=True, hidden=True,
              help="Testing only: skip promtool/amtool/vmalert -dryRun before publishing.")
@secretaccess.options
def sidecar(source: str, target: str, dest: Path, reload_url: str, cluster_id: str,
            interval: str, token_file: Path | None, listen: str, state_dir: Path | None,
            target_dest: str | None, notifier_url: str | None,
            notifier_token_file: Path | None, log_format: str, log_level: str, once: bool,
            no_validate: bool, secrets_dir: Path | None, secret_env_names: tuple[str, ...],
            secret_env_prefixes: tuple[str, ...]) -> None:
    """Pull the compiled bundle, publish it atomically under DEST, reload the target and
    verify what it loaded; roll back to the last good bundle when anything fails.

    See docs/sidecar.md. Exit status 2 for a usage error (a bad --source or --listen, a
    DEST that is not the sidecar's), 0 after SIGTERM or SIGINT.
    """
    from converge.reconciler.core import logs, runner
    from converge.reconciler.core.runtime import package_version
    from converge.reconciler.sidecar import daemon, sources
    from converge.reconciler.sidecar.publish import PublishError

    try:
        sources.parse(source)
        address = runner.parse_listen(listen)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    options = daemon.Options(
        source=source, target=target, dest=dest, reload_url=reload_url,
        cluster_id=cluster_id, interval=parse_duration(interval),
        token=read_token(token_file) if token_file else None, state_dir=state_dir,
        target_dest=target_dest, validate=not no_validate, notifier_url=notifier_url,
        notifier_token_file=notifier_token_file,
        secret_access=secretaccess.from_options(
            secrets_dir=secrets_dir, secret_env_names=secret_env_names,
            secret_env_prefixes=secret_env_prefixes))
    logs.configure(daemon="sidecar", level=log_level, json_lines=log_format == "json")
    sidecar = daemon.Sidecar(options, version=package_version())
    try:
        try:
            sidecar.start()
        except PublishError as error:
            click.echo(f"converge: error: {error}", err=True)
            raise SystemExit(2) from None
        if once:
            report = sidecar.syncer.sync()
            click.echo(f"{report.result}: {report.reason}")
            raise SystemExit(1 if report.result == "failure" else 0)
        raise SystemExit(sidecar.runtime.run(sidecar.runtime.app(), listen=address))
    finally:
        sidecar.close()

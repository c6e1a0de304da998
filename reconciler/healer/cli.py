"""`converge healer` (run the daemon) and `converge healer history` (read its records)."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import click

DEFAULT_DB = "converge-healer.db"
DEFAULT_LISTEN = "127.0.0.1:9404"
EXIT_USAGE = 2

__all__ = ["healer_group"]


@click.group("healer", invoke_without_command=True)
@click.option("--bundle", metavar="DIR|URL",
              help="Compiled bundle directory, or the config server's URL.")
@click.option("--docker-host", metavar="URL", envvar="DOCKER_HOST",
              help="Docker Engine API (unix:///run/podman/podman.sock, tcp://…); "
                   "default $DOCKER_HOST, else /var/run/docker.sock.")
@click.option("--listen", default=DEFAULT_LISTEN, show_default=True, metavar="ADDR",
              help="HOST:PORT for /health, /status, /metrics and the history API.")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_DB,
              show_default=True, help="SQLite file: failure records, health, budgets.")
@click.option("--notifier-url", metavar="URL", envvar="CONVERGE_NOTIFIER_URL",
              help="converge notifier base URL for events (default: events are only logged).")
@click.option("--notifier-token-file", type=click.Path(dir_okay=False, path_type=Path),
              help="File holding the notifier's bearer token (its --token-file).")
@click.option("--token", envvar="CONVERGE_TOKEN", metavar="TOKEN",
              help="Bearer token for the config server (default $CONVERGE_TOKEN).")
@click.option("--workers", type=click.IntRange(1, 256), default=16, show_default=True,
              help="Checks and restarts run in parallel on this many threads.")
@click.option("--log-format", type=click.Choice(["json", "text"]), default="json",
              show_default=True)
@click.pass_context
def healer_group(ctx: click.Context, bundle: str | None, docker_host: str | None, listen: str,
                 db: Path, notifier_url: str | None, notifier_token_file: Path | None,
                 token: str | None, workers: int, log_format: str) -> None:
    """Watch containers, restart failed ones within a budget, record every failure.

    Applies the HealingPolicy specs of the bundle to the containers each selects. See
    docs/healer.md.
    """
    if ctx.invoked_subcommand is not None:
        return
    if not bundle:
        raise click.UsageError("--bundle DIR|URL is required")
    from converge.reconciler.core import runner
    from converge.reconciler.healer import daemon
    try:
        address = runner.parse_listen(listen)
    except runner.ListenError as error:
        raise click.BadParameter(str(error), param_hint="--listen") from None
    raise SystemExit(daemon.run(daemon.Options(
        bundle=bundle, listen=address, db=db, docker_host=docker_host,
        notifier_url=notifier_url, notifier_token_file=notifier_token_file, token=token,
        workers=workers, log_format=log_format)))


@healer_group.command("history")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_DB,
              show_default=True, help="The healer's SQLite file.")
@click.option("--container", metavar="NAME|ID", help="Only this container (name or id prefix).")
@click.option("--service", help="Only this service.")
@click.option("--limit", type=click.IntRange(1, 100000), default=50, show_default=True)
@click.option("--format", "output_format", type=click.Choice(["text", "json"]),
              default="text", show_default=True)
def history(db: Path, container: str | None, service: str | None, limit: int,
            output_format: str) -> None:
    """Failure records (newest first), each container's health, and MTBF per service."""
    from converge.reconciler.core.store import StoreError
    from converge.reconciler.healer.records import Records
    if not db.exists():
        click.echo(f"converge: error: {db}: no such database (see --db)", err=True)
        raise SystemExit(EXIT_USAGE)
    try:
        records = Records(db)
    except StoreError as error:
        click.echo(f"converge: error: {error}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    try:
        found = records.history(container=container, service=service, limit=limit)
        health = records.health()
        mtbf = records.mtbf()
    finally:
        records.close()
    if output_format == "json":
        click.echo(json.dumps({"records": found, "health": health, "mtbf": mtbf}, indent=2))
        return
    click.echo(_table(["DETECTED", "CONTAINER", "TYPE", "ACTION", "RESULT", "RESOLVED",
                       "MESSAGE"],
                      [[_time(r["detected_at"]), r["container_name"], r["failure_type"],
                        r["action"], r["action_result"], _time(r["resolved_at"]),
                        r["message"]] for r in found]) or "no failure records")
    click.echo("")
    click.echo(_table(["CONTAINER", "SERVICE", "POLICY", "STATUS", "PHASE", "FAILURES",
                       "RESTARTS", "LAST RESTART"],
                      [[h["container_name"], h["service"], h["policy"], h["status"],
                        h["phase"], str(h["consecutive_failures"]), str(h["total_restarts"]),
                        _time(h["last_restart"])] for h in health]) or "no containers")
    if mtbf:
        click.echo("")
        click.echo(_table(["SERVICE", "MTBF"], [[s, _duration(v)] for s, v in mtbf.items()]))


def _table(header: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return ""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             .rstrip() for row in [header, *rows]]
    return "\n".join(lines)


def _time(value: Any) -> str:
    if value is None:
        return "-"
    moment = datetime.datetime.fromtimestamp(float(value), datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + f"{secs}s"
